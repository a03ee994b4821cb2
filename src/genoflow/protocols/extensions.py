"""genoflow's extensions shared by both wire protocols (constants only; no HTTP library), so
that ``genoflow server`` and the clients name them once. Documented in docs/protocols.md."""

from __future__ import annotations

# Every answer of genoflow server names the server (its service identity), even an empty list.
SERVICE_ID_HEADER = "Genoflow-Service-Id"
# A run log answer: the byte offset its body starts at (a server that ignores ``?offset=``
# sends the whole log without it, and the client skips what it already has).
LOG_OFFSET_HEADER = "Genoflow-Log-Offset"
# The most a log answer carries; the client asks again from the next offset.
LOG_CHUNK_BYTES = 1 << 20

__all__ = ["LOG_CHUNK_BYTES", "LOG_OFFSET_HEADER", "SERVICE_ID_HEADER"]
