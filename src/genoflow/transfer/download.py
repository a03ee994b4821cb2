"""Resumable, verified, parallel download of one blob.

Ranges are fetched in parallel (each pinned to the blob's ETag, so a blob replaced mid-way fails
instead of mixing versions) and written into ``NAME.part``; a journal ``NAME.part.log`` records
the blob's ETag/size/chunk size and each chunk written, so a rerun after a kill fetches only the
missing chunks. When all are there, the ``.part`` file is hashed and compared with the blob's
Content-MD5 (when the blob has one), and only then renamed into place (atomic on one
filesystem). A mismatch removes the ``.part`` file and fails with exit 8.
"""

from __future__ import annotations

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
from genoflow.transfer.upload import DEFAULT_CONCURRENCY, HASH_CHUNK, Progress, file_md5

DEFAULT_CHUNK = 8 * MIB


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
    once set, nothing is renamed into place.
    """
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
    if final.exists():
        local = _existing_matches(final, info)
        if local:
            if progress:
                progress(info.size)
            return DownloadResult(
                name,
                container,
                str(final),
                info.size,
                time.monotonic() - started,
                local,
                True,
                skipped=True,
            )
        if not overwrite:
            raise UsageError(
                f"{final} exists and differs from {container}/{name}",
                hint="remove it, pass --overwrite, or choose another -o",
            )
    job = _RangedDownload(store, info, final, chunk_size, progress, cancel)
    fetched, reused = job.run(concurrency)
    check_cancel(cancel, f"downloading {container}/{name}")
    md5 = _verify_and_place(job.part, job.journal, final, info)
    return DownloadResult(
        name,
        container,
        str(final),
        info.size,
        time.monotonic() - started,
        md5,
        info.md5 is not None,
        False,
        fetched,
        reused,
    )


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
        progress: Progress | None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.store, self.info, self.chunk_size, self.progress = store, info, chunk_size, progress
        self.cancel = cancel
        self.part = final.with_name(final.name + ".part")
        self.journal = final.with_name(final.name + ".part.log")
        self._lock = threading.Lock()

    def run(self, concurrency: int) -> tuple[int, int]:
        chunks = -(-self.info.size // self.chunk_size)
        done = self._resume_state()
        todo = [index for index in range(chunks) if index not in done]
        if self.progress and done:
            self.progress(sum(self._length(index) for index in done))
        mode = "r+b" if self.part.exists() and done else "w+b"
        with self.part.open(mode) as part, self.journal.open("a") as journal:
            part.truncate(self.info.size)
            if not done:
                journal.write(json.dumps(self._header()) + "\n")
                journal.flush()
            with ThreadPoolExecutor(max(1, concurrency)) as pool:
                for _ in pool.map(lambda index: self._fetch(index, part, journal), todo):
                    pass
        return len(todo), len(done)

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

    def _fetch(self, index: int, part: IO[bytes], journal: IO[str]) -> None:
        offset = index * self.chunk_size
        check_cancel(self.cancel, f"downloading {self.info.container}/{self.info.name}")
        data = self.store.read_range(
            self.info.container, self.info.name, offset, self._length(index), etag=self.info.etag
        )
        if len(data) != self._length(index):
            raise IntegrityError(
                f"short read of {self.info.container}/{self.info.name} at "
                f"{offset}: {len(data)} bytes"
            )
        with self._lock:
            part.seek(offset)
            part.write(data)
            part.flush()
            journal.write(f"{index}\n")
            journal.flush()
        if self.progress:
            self.progress(len(data))


def _verify_and_place(part: Path, journal: Path, final: Path, info: BlobInfo) -> str:
    digest = hashlib.md5()
    with part.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
        os.fsync(stream.fileno())
    md5 = digest.hexdigest()
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
    return md5
