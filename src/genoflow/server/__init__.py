"""genoflow.server."""
