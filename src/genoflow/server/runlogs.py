"""Each run's log, kept in ``<data_dir>/logs`` after its work dir is gone and served by both
APIs while the run runs and after.

``<id>.log`` (the ``stderr`` stream): genoflow's own lines, the engine's stderr as it is
written, and the failing tool's log; ``<id>.out`` (``stdout``): the engine's standard output.
Append-only (byte offsets stay valid for readers that follow), mode 0600, every line redacted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from fastapi import Response

from genoflow.protocols.extensions import LOG_OFFSET_HEADER
from genoflow.redact import redact
from genoflow.server.engine import tail_text

log = logging.getLogger(__name__)

Stream = Literal["stdout", "stderr"]
_SUFFIX: dict[Stream, str] = {"stderr": ".log", "stdout": ".out"}
FOLLOW_SECONDS = 0.5


def log_path(root: Path, run_id: int, stream: Stream = "stderr") -> Path:
    return root / f"{run_id}{_SUFFIX[stream]}"


def append(path: Path, text: str) -> None:
    """Append redacted ``text``; a log that cannot be written is a warning, never a failure."""
    if not text:
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(redact(text))
    except OSError as exc:
        log.warning("cannot write %s: %s", path, exc.strerror)


def read(path: Path, offset: int, limit: int) -> bytes:
    """At most ``limit`` bytes from ``offset`` (nothing when there is no log yet)."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(limit)
    except FileNotFoundError:
        return b""


class _Follower:
    """Copies complete lines a file gains into the kept log (redacted), until stopped."""

    def __init__(self, source: Path, target: Path) -> None:
        self.source, self.target = source, target
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="log follower", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(FOLLOW_SECONDS):
            self.copy(whole_lines=True)

    def copy(self, whole_lines: bool) -> None:
        data = read(self.source, self._offset, 1 << 20)
        if whole_lines:
            data = data[: data.rfind(b"\n") + 1]
        if data:
            self._offset += len(data)
            append(self.target, data.decode("utf-8", errors="replace"))

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        self._thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._thread.join()
            while read(self.source, self._offset, 1):  # the rest, a last partial line too
                self.copy(whole_lines=False)


def log_response(data: bytes, offset: int) -> Response:
    """A piece of a run's log as text, saying at which byte it starts (clients follow with
    ``?offset=`` + what they got)."""
    return Response(
        data, media_type="text/plain; charset=utf-8", headers={LOG_OFFSET_HEADER: str(offset)}
    )


def following(source: Path, target: Path) -> contextlib.AbstractContextManager[None]:
    """While the block runs, ``source`` (e.g. the engine's stderr) is copied into ``target``."""
    return _Follower(source, target).running()


__all__ = ["Stream", "append", "following", "log_path", "log_response", "read", "tail_text"]
