"""Resumable, verified, parallel upload of one file as a block blob.

How integrity is kept end to end (see docs/transfer.md):

1. The file is read once, in order. Each block's bytes feed both the block's MD5 and the
   whole-file MD5, and exactly those bytes are sent.
2. Each block is staged with its MD5 as the transactional Content-MD5: the service rejects a
   block corrupted on the way (IntegrityError, exit 8).
3. The block id carries the block's index, the block size and its MD5. On a rerun after a kill,
   the uncommitted block list says which blocks are staged *and what they contain*: a block whose
   local bytes hash to the staged id's MD5 is not sent again; a block whose local bytes now hash
   differently means the file changed since the interrupted upload -> IntegrityError, nothing
   committed.
4. So the committed blob is exactly the bytes read now, and its Content-MD5 is the MD5 of those
   bytes. The file's size and mtime are compared before and after reading (a file changed during
   the upload fails), and after the commit the service's size, Content-MD5 and committed block
   list are compared with ours; a mismatch deletes the blob (nothing corrupt stays under the
   final name) and fails with exit 8.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from genoflow.errors import IntegrityError, UsageError
from genoflow.storage.base import BlobInfo, BlobStore
from genoflow.transfer.blocks import (
    MIB,
    block_count,
    block_id,
    choose_block_size,
    in_flight_limit,
    parse_block_id,
    transfer_summary,
)
from genoflow.transfer.cancel import check_cancel
from genoflow.transfer.gzcheck import StreamPass
from genoflow.transfer.names import check_blob_name
from genoflow.transfer.progress import Tracker, ending, tracker

Progress = Callable[[int], None]
DEFAULT_CONCURRENCY = 16
# Test-only: seconds to sleep before staging each block, so a kill test can stop an upload
# midway deterministically. Never set it in production.
THROTTLE_ENV = "GENOFLOW_TEST_STAGE_DELAY"
HASH_CHUNK = 8 * MIB


@dataclass(frozen=True)
class UploadResult:
    """What one upload did; ``as_dict()`` is the ``--json`` summary line."""

    name: str
    container: str
    path: str
    bytes: int
    seconds: float
    md5: str
    skipped: bool
    block_size: int = 0
    blocks: int = 0
    blocks_sent: int = 0
    blocks_reused: int = 0
    bytes_sent: int = 0  # moved by this run: less than ``bytes`` when resumed, 0 when skipped

    def as_dict(self) -> dict[str, Any]:
        return transfer_summary(self, "skipped" if self.skipped else "uploaded")


def file_md5(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.md5()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def upload_file(
    store: BlobStore,
    path: Path | str,
    container: str,
    blob_name: str,
    *,
    overwrite: bool = False,
    tier: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    block_size: int | None = None,
    metadata: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    restart: bool = False,
    cancel: threading.Event | None = None,
    check_gzip: bool = False,
) -> UploadResult:
    """Upload ``path`` to ``container/blob_name``; resumes an interrupted upload of it.

    Skips (``skipped=True``) when the blob exists with the same size and MD5; refuses to replace a
    different blob unless ``overwrite``. ``restart`` ignores blocks staged by an earlier attempt.
    ``cancel`` set from another thread stops it between blocks (:class:`TransferCancelled`);
    once set, the blob is never committed. ``check_gzip`` (for a ``.gz`` or ``.bam`` file:
    see :func:`needs_gzip_check`) inflates the whole gzip stream in the same read pass: a
    truncated or corrupt file fails with IntegrityError before the commit. ``progress``: a
    byte counter or a :class:`~genoflow.transfer.progress.Tracker` (phases, resumed bytes).
    """
    path = Path(path)
    check_blob_name(blob_name)
    with ending(tracker(progress)) as track:
        started = time.monotonic()
        size = path.stat().st_size
        chosen = choose_block_size(size, block_size)
        local_md5 = _skip_or_refuse(store, path, size, container, blob_name, overwrite, track)
        if local_md5 is not None:
            track.resumed(size)
            seconds = time.monotonic() - started
            return UploadResult(
                blob_name, container, str(path), size, seconds, local_md5, True, chosen
            )
        staged = {} if restart else _staged_md5s(store, container, blob_name, chosen)
        # Staged blocks of an interrupted upload are not sent again (they are checked as read).
        if staged:
            track.resumed(sum(length for _, length in staged.values()))
        track.phase("uploading")
        job = _BlockUpload(
            store, container, blob_name, chosen, concurrency, staged, track, cancel, check_gzip
        )
        ids, digest = job.run(path, size)
        check_cancel(cancel, f"uploading {container}/{blob_name}")
        track.phase("verifying")
        _commit_verified(store, container, blob_name, ids, digest, size, tier, metadata, tags)
        return UploadResult(
            blob_name,
            container,
            str(path),
            size,
            time.monotonic() - started,
            digest.hex(),
            False,
            chosen,
            len(ids),
            job.sent,
            job.reused,
            job.sent_bytes,
        )


def _skip_or_refuse(
    store: BlobStore,
    path: Path,
    size: int,
    container: str,
    name: str,
    overwrite: bool,
    track: Tracker,
) -> str | None:
    """The local MD5 when the blob already holds the file; raises when it may not be replaced."""
    existing = store.find_blob(container, name)
    if existing is None:
        return None
    track.phase("hashing")  # is the blob already this file? (a whole read of a big file)
    local_md5 = _same_as_existing(path, size, existing)
    if local_md5 is None and not overwrite:
        raise UsageError(
            f"{container}/{name} already exists with different content "
            f"({existing.size} bytes, md5 {existing.md5 or 'unknown'})",
            hint="pass --overwrite to replace it, or choose another --prefix",
        )
    return local_md5


def _same_as_existing(path: Path, size: int, existing: BlobInfo) -> str | None:
    """The local MD5 when the existing blob already holds this file, else None."""
    if existing.size != size or not existing.md5:
        return None
    local = file_md5(path)
    return local if local == existing.md5 else None


def _staged_md5s(
    store: BlobStore, container: str, name: str, block_size: int
) -> dict[int, tuple[str, int]]:
    """index -> (md5 hex, size) of our blocks already staged with this block size."""
    staged: dict[int, tuple[str, int]] = {}
    for block in store.uncommitted_blocks(container, name):
        parsed = parse_block_id(block.block_id)
        if parsed and parsed.block_size == block_size:
            staged[parsed.index] = (parsed.md5_hex, block.size)
    return staged


class _BlockUpload:
    """Reads the file once, in order, and stages the blocks that are not staged yet."""

    def __init__(
        self,
        store: BlobStore,
        container: str,
        name: str,
        block_size: int,
        concurrency: int,
        staged: Mapping[int, tuple[str, int]],
        progress: Tracker,
        cancel: threading.Event | None = None,
        check_gzip: bool = False,
    ) -> None:
        self.store, self.container, self.name = store, container, name
        self.cancel = cancel
        self.check_gzip = check_gzip
        self.block_size = block_size
        self.concurrency = max(1, concurrency)
        self.staged = staged
        self.progress = progress
        self.sent = 0
        self.sent_bytes = 0
        self.reused = 0
        self._slots = threading.BoundedSemaphore(in_flight_limit(block_size, self.concurrency))
        self._failed = threading.Event()
        self._count_lock = threading.Lock()
        self._throttle = float(os.environ.get(THROTTLE_ENV, "0") or 0)

    def run(self, path: Path, size: int) -> tuple[list[str], bytes]:
        before = _fingerprint(path)
        ids: list[str] = []
        futures: list[Future[None]] = []
        stream_pass = StreamPass(path, gzip=self.check_gzip)
        with path.open("rb") as stream, ThreadPoolExecutor(self.concurrency) as pool:
            try:
                for index in range(block_count(size, self.block_size)):
                    self._slots.acquire()
                    check_cancel(self.cancel, f"uploading {self.container}/{self.name}")
                    if self._failed.is_set():
                        break
                    ids.append(self._next_block(stream, index, pool, futures, stream_pass))
            except BaseException:
                self._failed.set()
                stream_pass.abort()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            digest = self._finish(futures, stream_pass, pool)
        if _fingerprint(path) != before or len(ids) != block_count(size, self.block_size):
            raise IntegrityError(
                f"{path} changed while it was being uploaded; nothing was committed",
                hint="upload it again once it is complete",
            )
        return ids, digest

    def _finish(
        self, futures: list[Future[None]], stream_pass: StreamPass, pool: ThreadPoolExecutor
    ) -> bytes:
        """The file's MD5 once the blocks in flight and the read pass's thread are done; the
        first failure (a block, the gzip check) is raised."""
        try:
            digest = stream_pass.finish()
        except BaseException:
            self._failed.set()  # the blocks not sent yet are not sent
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        for future in futures:
            future.result()  # re-raises the first failure of a block
        return digest

    def _next_block(
        self,
        stream: BinaryIO,
        index: int,
        pool: ThreadPoolExecutor,
        futures: list[Future[None]],
        stream_pass: StreamPass,
    ) -> str:
        data = stream.read(self.block_size)
        stream_pass.feed(data)  # whole-file MD5 (and gzip check) in its thread, same bytes
        digest = hashlib.md5(data)
        this_id = block_id(index, self.block_size, digest.hexdigest())
        staged = self.staged.get(index)
        if staged is not None:
            self._slots.release()  # nothing goes in flight for a block that is already staged
        if staged is not None and staged == (digest.hexdigest(), len(data)):
            self.reused += 1  # counted as resumed before the read began
            return this_id
        if staged is not None:
            raise IntegrityError(
                f"{stream.name}: block {index} differs from the block staged by the "
                "interrupted upload: the file changed since then; nothing was committed",
                hint="check the file; to upload it as it is now, rerun with --restart",
            )
        futures.append(pool.submit(self._stage, this_id, data, digest.digest()))
        return this_id

    def _stage(self, this_id: str, data: bytes, md5: bytes) -> None:
        try:
            if self._throttle:
                time.sleep(self._throttle)
            check_cancel(self.cancel, f"uploading {self.container}/{self.name}")
            self.store.stage_block(self.container, self.name, this_id, data, md5)
            with self._count_lock:
                self.sent += 1
                self.sent_bytes += len(data)
        except BaseException:
            self._failed.set()
            raise
        finally:
            self._slots.release()
        self._done(len(data))

    def _done(self, count: int) -> None:
        if not self._failed.is_set():
            self.progress(count)


def _fingerprint(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _commit_verified(
    store: BlobStore,
    container: str,
    name: str,
    ids: list[str],
    md5: bytes,
    size: int,
    tier: str | None,
    metadata: Mapping[str, str] | None,
    tags: Mapping[str, str] | None,
) -> BlobInfo:
    info = store.commit_blocks(
        container, name, ids, content_md5=md5, tier=tier, metadata=metadata, tags=tags
    )
    problems = []
    if info.size != size:
        problems.append(f"size {info.size} != {size}")
    if info.md5 != md5.hex():
        problems.append(f"Content-MD5 {info.md5} != {md5.hex()}")
    if store.committed_block_ids(container, name) != ids:
        problems.append("committed block list differs from the blocks read")
    if problems:
        store.delete_blobs(container, [name])
        raise IntegrityError(
            f"{container}/{name} did not verify after the commit "
            f"({'; '.join(problems)}); the blob was deleted",
            hint="upload it again",
        )
    return info
