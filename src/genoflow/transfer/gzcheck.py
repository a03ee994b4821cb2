"""Whole-file gzip integrity, checked in the upload's single read pass.

The upload reads each block once (for its MD5 and to send it); the same bytes are handed to a
helper thread that inflates them (ISA-L's inflate when the ``isal`` package is installed, else
``zlib``; both release the GIL), member after member
(bgzip and BAM files are many gzip members), and throws the output away. zlib checks every
member's CRC-32 and length, so at the end of the file the check knows whether the gzip stream
is whole: a file cut short (the member still open), corrupt data or trailing bytes that are not
gzip raise :class:`~genoflow.errors.IntegrityError` (exit 8) before anything is committed. A
BAM must also end with BGZF's end-of-file block.
"""

from __future__ import annotations

import hashlib
import importlib
import queue
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from genoflow.errors import IntegrityError


def _inflater() -> ModuleType:
    """ISA-L's inflate (package "isal", optional), ~3x zlib's speed, else zlib: the same API."""
    try:
        return importlib.import_module("isal.isal_zlib")
    except ImportError:  # pragma: no cover - depends on the environment
        return zlib


INFLATE = _inflater()


GZIP_WBITS = 31  # gzip header and trailer
# Input fed at a time: its output (~2.5x for FASTQ) stays small enough for malloc to reuse the
# same memory call after call; at 256 KiB every call's output was fresh pages from the kernel
# (+10% CPU: 0.45 s of page faults per GiB).
_SLICE = 64 * 1024
_MAX_OUT = 4 * 1024 * 1024  # inflated bytes produced per call (bounds a "zip bomb")
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_QUEUED = 4  # blocks waiting at most: a slow check slows the reader, never grows memory


def needs_gzip_check(path: Path) -> bool:
    """FASTQ.gz, BAM and any other ``.gz``: files whose gzip stream can be checked end to end."""
    return path.name.endswith((".gz", ".bam"))


class _Consumer:
    """One helper thread working through the file's blocks in order (bounded queue)."""

    def __init__(self, name: str, consume: Callable[[bytes], None], end: Callable[[], None]):
        self._consume, self._end = consume, end
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED)
        self._aborted = threading.Event()
        self.error: IntegrityError | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, data: bytes | None) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(data)

    def join(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        """Let the thread end now, whatever is queued."""
        self._aborted.set()
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        self._queue.put_nowait(None)

    def _run(self) -> None:
        ended = False  # the closing None was taken
        try:
            while (data := self._queue.get()) is not None:
                if not self._aborted.is_set():
                    self._consume(data)
            ended = True
            if not self._aborted.is_set():
                self._end()
        except IntegrityError as exc:
            self.error = exc
            while not ended and self._queue.get() is not None:
                pass  # unblock a reader waiting to queue more: its next put raises


class StreamPass:
    """The helper threads of an upload's read pass: the whole-file MD5 in one, and when
    ``gzip``, the gzip check in another (each is serial work: apart they run side by side).
    Feed it the file's bytes in order (:meth:`feed`), then :meth:`finish` (the MD5 digest;
    raises IntegrityError when the gzip stream is not whole)."""

    def __init__(self, path: Path, gzip: bool) -> None:
        self._md5 = hashlib.md5()
        self._workers = [_Consumer("upload-md5", self._md5.update, lambda: None)]
        if gzip:
            check = GzipCheck(path)
            self._workers.append(_Consumer("gzip-check", check.consume, check.end))

    def feed(self, data: bytes) -> None:
        """Queue the next bytes; raises at once when the check already failed."""
        for worker in self._workers:
            worker.put(data)

    def finish(self) -> bytes:
        """The file's MD5, once all is hashed (and checked, raising if the check failed)."""
        try:
            for worker in self._workers:
                worker.put(None)
            for worker in self._workers:
                worker.join()
        except BaseException:
            self.abort()
            raise
        return self._md5.digest()

    def abort(self) -> None:
        """The upload failed: let the threads end without the rest."""
        for worker in self._workers:
            worker.abort()


class GzipCheck:
    """Inflates a gzip stream given in pieces, member after member; :meth:`end` says whether
    it was whole. Raises IntegrityError (corrupt data at once, truncation at the end)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._bam = path.name.endswith(".bam")
        self._inflate = INFLATE.decompressobj(GZIP_WBITS)
        self._in_member = False  # bytes of a member seen, its end not yet
        self._members = 0
        self._offset = 0  # bytes checked so far
        self._tail = b""  # the last bytes of the file (BGZF end-of-file block)

    def consume(self, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(view), _SLICE):
            self._inflate_slice(view[start : start + _SLICE])
        self._tail = (self._tail + bytes(view[-len(_BGZF_EOF) :]))[-len(_BGZF_EOF) :]

    def _inflate_slice(self, data: memoryview | bytes) -> None:
        while data:
            try:
                self._inflate.decompress(data, _MAX_OUT)
            except INFLATE.error as exc:
                raise self._corrupt(str(exc)) from None
            self._in_member = True
            if self._inflate.eof:
                consumed = len(data) - len(self._inflate.unused_data)
                self._offset += consumed
                data = self._inflate.unused_data
                self._members += 1
                self._in_member = False
                self._inflate = INFLATE.decompressobj(GZIP_WBITS)
            else:
                tail = self._inflate.unconsumed_tail
                self._offset += len(data) - len(tail)
                data = tail

    def end(self) -> None:
        if self._in_member or self._members == 0:
            raise IntegrityError(
                f"{self.path}: the gzip stream is truncated (it ends inside a gzip member, "
                f"after {self._offset} bytes); nothing was committed",
                hint="the file is incomplete: copy or download it again, then upload it",
            )
        if self._bam and self._tail != _BGZF_EOF:
            raise IntegrityError(
                f"{self.path}: the BAM has no BGZF end-of-file block (truncated?); "
                "nothing was committed",
                hint="check it with 'samtools quickcheck'; regenerate or copy it again",
            )

    def _corrupt(self, problem: str) -> IntegrityError:
        return IntegrityError(
            f"{self.path}: corrupt gzip data near byte {self._offset} ({problem}); "
            "nothing was committed",
            hint="the file is damaged: copy or download it again, then upload it",
        )
