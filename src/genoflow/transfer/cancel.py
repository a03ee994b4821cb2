"""Stopping a transfer from another thread: checked between blocks and before the commit.

A request already on the wire is not interrupted (its timeouts bound it); what matters is that a
stopped transfer sends no further block and never commits or renames into place.
"""

from __future__ import annotations

import threading

from genoflow.errors import ExitCode, GenoflowError


class TransferCancelled(GenoflowError):
    """The transfer was stopped through its cancel event; nothing was committed."""

    exit_code = ExitCode.INTERRUPTED


def check_cancel(cancel: threading.Event | None, what: str) -> None:
    """Raise :class:`TransferCancelled` when ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise TransferCancelled(f"{what}: stopped before completion; nothing was committed")
