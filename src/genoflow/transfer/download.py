"""Resumable, verified, parallel download of one blob.

Ranges are fetched in parallel, each pinned to the blob's ETag (a blob replaced mid-way fails
instead of mixing versions), each body read straight from the socket into a small per-thread
buffer, a piece at a time, and written with ``pwrite`` into ``NAME.part``, preallocated to the
blob's size (so a full disk shows at the start, not midway). Memory is the pieces in flight,
whatever the range size. A journal ``NAME.part.log`` records the blob's ETag/size/range size and
each range written, so a rerun after a kill (or a full disk) fetches only the missing ranges.
The MD5 is computed by a helper thread as the ranges complete in order (from the page cache,
while later ranges are still arriving), compared with the blob's Content-MD5 (when the blob
has one), and only then is ``.part`` (flushed to disk) renamed into place. Each range hashed is
handed to the kernel to write back at once, and dropped from the page cache: the final flush
has little left to do, and a 100 GB download does not evict the machine's cache. A mismatch
removes the ``.part`` file and fails with exit 8.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from genoflow.errors import IntegrityError, UsageError
from genoflow.storage.base import REHYDRATE_HINT, BlobInfo, BlobStore
from genoflow.transfer.blocks import MIB, transfer_summary
from genoflow.transfer.cancel import check_cancel
from genoflow.transfer.disk import DiskFullError, free_bytes, is_disk_full, preallocate
from genoflow.transfer.names import check_blob_path
from genoflow.transfer.progress import Tracker, ending, tracker
from genoflow.transfer.upload import DEFAULT_CONCURRENCY, Progress, file_md5

DEFAULT_CHUNK = 16 * MIB
PIECE = MIB  # read from the socket, written and hashed at a time (stays in the CPU's cache)


@dataclass(frozen=True)
class DownloadResult:
    name: str
    container: str
    path: str
    bytes: int
    seconds: float
    md5: str
    verified: bool  # False only when the blob has no Content-MD5 to compare with
    skipped: bool = False
    chunks_fetched: int = 0
    chunks_reused: int = 0
    bytes_sent: int = 0  # fetched by this run: less than ``bytes`` when resumed, 0 when skipped

    def as_dict(self) -> dict[str, Any]:
        return transfer_summary(self, "skipped" if self.skipped else "downloaded")


def target_path(name: str, dest: Path) -> Path:
    """``dest`` itself, or ``dest/<last part of the blob name>`` when ``dest`` is a directory."""
    if dest.is_dir() or str(dest).endswith(("/", os.sep)):
        return dest / name.rsplit("/", 1)[-1]
    return dest


def download_blob(
    store: BlobStore,
    container: str,
    name: str,
    dest: Path | str,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    chunk_size: int = DEFAULT_CHUNK,
    overwrite: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> DownloadResult:
    """Download ``container/name`` into ``dest`` (a directory or a file path), verified.

    ``cancel`` set from another thread stops it between chunks (:class:`TransferCancelled`);
    once set, nothing is renamed into place. Too little disk space, before or during the
    download, raises :class:`DiskFullError` (an ``OSError`` with ``ENOSPC``) and keeps what
    was written for a rerun.
    """
    check_blob_path(name)
    with ending(tracker(progress)) as track:
        started = time.monotonic()
        info = store.get_blob(container, name)
        if info.archived:
            raise UsageError(
                f"cannot download {container}/{name}: the blob is in the Archive tier"
                f"{' (' + info.archive_status + ')' if info.archive_status else ''}",
                hint=REHYDRATE_HINT.format(container=container, name=name),
            )
        check_cancel(cancel, f"downloading {container}/{name}")
        final = target_path(name, Path(dest))
        final.parent.mkdir(parents=True, exist_ok=True)
        skipped = _skip_or_refuse(final, info, overwrite, track)
        if skipped is not None:
            track.resumed(info.size)
            seconds = time.monotonic() - started
            return DownloadResult(
                name, container, str(final), info.size, seconds, skipped, True, True
            )
        job = _RangedDownload(store, info, final, chunk_size, track, cancel)
        md5, fetched, reused = job.run(concurrency)
        check_cancel(cancel, f"downloading {container}/{name}")
        _verify_and_place(job.part, job.journal, final, info, md5)
        seconds = time.monotonic() - started
        verified = info.md5 is not None
        return DownloadResult(
            name,
            container,
            str(final),
            info.size,
            seconds,
            md5,
            verified,
            False,
            fetched,
            reused,
            job.fetched_bytes,
        )


def _skip_or_refuse(final: Path, info: BlobInfo, overwrite: bool, track: Tracker) -> str | None:
    """The local MD5 when ``final`` already holds the blob; raises when it may not be replaced."""
    where = f"{info.container}/{info.name}"
    if final.is_dir():
        raise UsageError(
            f"{final} is a directory: cannot download {where} onto it",
            hint="remove or rename the directory, or choose another -o",
        )
    if not final.exists():
        return None
    if final.stat().st_size == info.size and info.md5:
        track.phase("hashing")  # is the local file already this blob?
    local = _existing_matches(final, info)
    if local is None and not overwrite:
        raise UsageError(
            f"{final} exists and differs from {where}",
            hint="remove it, pass --overwrite, or choose another -o",
        )
    return local


def _existing_matches(path: Path, info: BlobInfo) -> str | None:
    if path.stat().st_size != info.size or not info.md5:
        return None
    local = file_md5(path)
    return local if local == info.md5 else None


class _RangedDownload:
    def __init__(
        self,
        store: BlobStore,
        info: BlobInfo,
        final: Path,
        chunk_size: int,
        progress: Tracker,
        cancel: threading.Event | None = None,
    ) -> None:
        self.store, self.info, self.chunk_size, self.progress = store, info, chunk_size, progress
        self.cancel = cancel
        self.part = final.with_name(final.name + ".part")
        self.journal = final.with_name(final.name + ".part.log")
        self._lock = threading.Lock()
        self._buffers = threading.local()
        self._failed = threading.Event()
        self._count = -(-info.size // chunk_size)
        self._missing = 0  # bytes of the ranges not written yet
        self.fetched_bytes = 0  # bytes fetched by this run

    def run(self, concurrency: int) -> tuple[str, int, int]:
        """(MD5 hex of the whole file, ranges fetched, ranges reused from an earlier run)."""
        done = self._resume_state()
        todo = [index for index in range(self._count) if index not in done]
        if done:
            self.progress.resumed(sum(self._length(index) for index in done))
        self.progress.phase("downloading")
        self._missing = sum(self._length(index) for index in todo)
        fd = self._open_part(bool(done), self._missing)
        try:
            with self.journal.open("a") as journal:
                if not done:
                    journal.write(json.dumps(self._header()) + "\n")
                    journal.flush()
                hasher = _InOrderHasher(fd, self._count, self.chunk_size, self.info.size, done)
                try:
                    self._fetch_all(fd, journal, todo, hasher, concurrency)
                except BaseException:
                    hasher.abort()  # joined before the file is closed under it
                    raise
                self.progress.phase("verifying")
                md5 = hasher.result()
            os.fsync(fd)
        finally:
            os.close(fd)
        return md5, len(todo), len(done)

    def _open_part(self, resuming: bool, missing: int) -> int:
        """The ``.part`` file, sized and (where the filesystem can) allocated up front."""
        free = free_bytes(self.part.parent)
        if free < missing:
            raise DiskFullError(self.part, missing, free)
        flags = os.O_RDWR | os.O_CREAT | (0 if resuming else os.O_TRUNC)
        fd = os.open(self.part, flags, 0o644)
        try:
            os.ftruncate(fd, self.info.size)
            preallocate(fd, self.info.size)
        except OSError as exc:
            os.close(fd)
            if is_disk_full(exc):
                raise DiskFullError(self.part, missing, free_bytes(self.part.parent)) from exc
            raise
        return fd

    def _fetch_all(
        self,
        fd: int,
        journal: IO[str],
        todo: list[int],
        hasher: _InOrderHasher,
        concurrency: int,
    ) -> None:
        with ThreadPoolExecutor(max(1, concurrency)) as pool:
            futures = [pool.submit(self._fetch, index, fd, journal, hasher) for index in todo]
            try:
                for future in futures:
                    future.result()  # the first failure, in range order
            except BaseException:
                self._failed.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def _header(self) -> dict[str, Any]:
        return {"etag": self.info.etag, "size": self.info.size, "chunk": self.chunk_size}

    def _resume_state(self) -> set[int]:
        """Chunks already written by an interrupted download of this same blob version."""
        if not (self.part.exists() and self.journal.exists()):
            return set()
        lines = self.journal.read_text().splitlines()
        try:
            if not lines or json.loads(lines[0]) != self._header():
                return set()
            return {int(line) for line in lines[1:] if line.strip().isdigit()}
        except ValueError:
            return set()

    def _length(self, index: int) -> int:
        return min(self.chunk_size, self.info.size - index * self.chunk_size)

    def _buffer(self) -> memoryview:
        """This thread's piece buffer: allocated once, reused for every range it fetches."""
        buffer: memoryview | None = getattr(self._buffers, "view", None)
        if buffer is None:
            buffer = self._buffers.view = memoryview(bytearray(min(PIECE, self.chunk_size)))
        return buffer

    def _fetch(self, index: int, fd: int, journal: IO[str], hasher: _InOrderHasher) -> None:
        if self._failed.is_set():
            return
        check_cancel(self.cancel, f"downloading {self.info.container}/{self.info.name}")
        offset, length = index * self.chunk_size, self._length(index)

        def write(at: int, piece: memoryview) -> None:
            self._write(fd, piece, at)

        self.store.read_range_to(
            self.info.container,
            self.info.name,
            offset,
            length,
            write,
            self._buffer(),
            etag=self.info.etag,
        )
        with self._lock:
            journal.write(f"{index}\n")
            journal.flush()
            self._missing -= length
            self.fetched_bytes += length
        hasher.completed(index)
        self.progress(length)

    def _write(self, fd: int, view: memoryview, offset: int) -> None:
        check_cancel(self.cancel, f"downloading {self.info.container}/{self.info.name}")
        written = 0
        try:
            while written < len(view):
                written += os.pwrite(fd, view[written:], offset + written)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            with self._lock:
                missing = self._missing
            raise DiskFullError(self.part, missing, free_bytes(self.part.parent)) from exc


class _InOrderHasher:
    """Hashes the ``.part`` file range by range, in order, as the ranges are written.

    Runs in its own thread (hashlib releases the GIL), a few ranges behind the downloads: the
    bytes are still in the page cache, so this is a memory read, not a second pass over the disk.
    A range hashed is written back and dropped from the page cache (it is not read again).
    """

    def __init__(self, fd: int, count: int, chunk: int, size: int, done: set[int]) -> None:
        self._fd, self._count, self._chunk, self._size = fd, count, chunk, size
        self._ready = set(done)
        self._next = 0
        self._stopped = False
        self._cond = threading.Condition()
        self._digest = hashlib.md5()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="download-md5", daemon=True)
        self._thread.start()

    def completed(self, index: int) -> None:
        with self._cond:
            self._ready.add(index)
            self._cond.notify()

    def abort(self) -> None:
        """Stop now (the download failed) and wait for the thread to end."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()

    def result(self) -> str:
        """The MD5 hex once every range is in (call after the last range completed)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._next != self._count:
            raise IntegrityError("the download ended before every range was hashed")
        return self._digest.hexdigest()

    def _run(self) -> None:
        buffer = memoryview(bytearray(min(PIECE, self._chunk, max(self._size, 1))))
        try:
            while self._wait_for_next() and not self._stopped:
                offset = self._next * self._chunk
                length = min(self._chunk, self._size - offset)
                self._hash_range(buffer, offset, length)
                _write_back(self._fd, offset, length)
                self._next += 1
        except BaseException as exc:  # re-raised by result() in the caller's thread
            self._error = exc

    def _hash_range(self, buffer: memoryview, offset: int, length: int) -> None:
        for start in range(offset, offset + length, len(buffer)):
            piece = buffer[: min(len(buffer), offset + length - start)]
            if os.preadv(self._fd, [piece], start) != len(piece):
                raise IntegrityError(f"short read of the partial file at {start}")
            self._digest.update(piece)

    def _wait_for_next(self) -> bool:
        with self._cond:
            while self._next < self._count and self._next not in self._ready:
                if self._stopped:
                    return False
                self._cond.wait()
            return self._next < self._count


def _write_back(fd: int, offset: int, length: int) -> None:
    """Start writing the range to disk now and let its pages go (where the OS can: Linux's
    fadvise starts the write-back of dirty pages and drops the clean ones)."""
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):  # only advice: a filesystem may not take it
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _verify_and_place(part: Path, journal: Path, final: Path, info: BlobInfo, md5: str) -> None:
    if info.md5 and md5 != info.md5:
        part.unlink(missing_ok=True)
        journal.unlink(missing_ok=True)
        raise IntegrityError(
            f"{info.container}/{info.name}: downloaded data has MD5 {md5}, the "
            f"blob's Content-MD5 is {info.md5}; nothing was written to {final}",
            hint="download it again; if it fails again the blob is corrupt",
        )
    os.replace(part, final)
    journal.unlink(missing_ok=True)
