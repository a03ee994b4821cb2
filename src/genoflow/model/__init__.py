"""Pure models shared by client, server and tiering (no I/O)."""
