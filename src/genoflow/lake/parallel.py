"""Parsing one VCF in several processes: its indexed regions read by a pool of workers.

Python's per-record work (moving htslib's values into lists) is what limits a single reader,
so a bgzipped VCF with its index is cut into windows of the contigs and each window is read
by a worker process (``spawn``: the parent's Rust and reader threads are not forked); the
parent yields the batches in window order, at most ``ahead`` windows being read or waiting,
so memory stays bounded. A window keeps the records that *start* in it (a deletion that spans
two windows is read once). A VCF without an index is read in the parent, as one stream.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pyarrow as pa

from genoflow.errors import IntegrityError
from genoflow.lake.counts import CallCounts
from genoflow.lake.vcf import BATCH_ROWS, Origin, read_batches

# Records a window should hold (estimated from the file's size): enough to amortise a task,
# few enough that the windows in flight stay small.
WINDOW_RECORDS = 20_000
BYTES_PER_RECORD = 30  # a bgzipped single-sample VCF record, roughly
MIN_WINDOW, MAX_WINDOW = 100_000, 64_000_000
CONTIG_END = 2**31 - 1  # the largest end a region may have (htslib: int32)


@dataclass(frozen=True)
class Window:
    contig: str
    start: int  # 0-based, inclusive
    end: int  # exclusive


@dataclass
class _Result:
    batches: list[pa.RecordBatch] = field(default_factory=list)
    counts: CallCounts = field(default_factory=CallCounts)


def use_system_allocator() -> None:
    """Arrow's buffers from malloc: mimalloc (pyarrow's default) keeps freed batches' pages,
    about 100 MiB more per process here at equal speed."""
    pa.set_memory_pool(pa.system_memory_pool())


def _worker_started() -> None:
    """In each worker: malloc for Arrow, and exit when the parent is gone (a ``lake add`` killed
    with SIGKILL cannot stop its workers; they would wait for tasks forever)."""
    use_system_allocator()
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="genoflow-lake-parent", daemon=True).start()


def release_freed_memory() -> None:
    """Give freed heap pages back to the OS (glibc's malloc_trim; a no-op elsewhere): between
    runs, the writer's threads leave freed arenas that would otherwise count in the RSS."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    # The process's own symbols (dlopen(NULL)): ctypes.util.find_library would fork ldconfig.
    import ctypes

    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class _Reading:
    """One VCF's windows: those not yet submitted, and the futures of those in flight."""

    path: Path
    origin: Origin
    batch_rows: int
    windows: Iterator[Window]
    pending: deque[Future[_Result]] = field(default_factory=deque)


class ParsePool:
    """Worker processes that read VCF windows; one pool serves every run of a command."""

    def __init__(
        self,
        workers: int | None = None,
        window_records: int = WINDOW_RECORDS,
        min_window: int = MIN_WINDOW,
    ) -> None:
        self.workers = workers or default_workers()
        self.window_records, self.min_window = window_records, min_window
        self._pool: ProcessPoolExecutor | None = None
        self._prepared: dict[Path, _Reading] = {}

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=get_context("spawn"), initializer=_worker_started
            )
        return self._pool

    def close(self) -> None:
        for path in list(self._prepared):
            self.forget(path)
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def prepare(self, path: Path, origin: Origin, batch_rows: int = BATCH_ROWS) -> None:
        """Start reading ``path``'s first windows now (while the previous run's commits go on);
        :meth:`batches` then takes them up."""
        reading = self._start(path, origin, batch_rows)
        if reading is not None:
            self._fill(reading)
            self._prepared[path] = reading

    def forget(self, path: Path) -> None:
        """Drop what was prepared for ``path`` (its run turned out not to need it)."""
        reading = self._prepared.pop(path, None)
        if reading is not None:
            _cancel(reading)

    def batches(
        self, path: Path, origin: Origin, counts: CallCounts, batch_rows: int = BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """``path``'s calls as batches (see the module docstring); ``counts`` filled as the
        batches are yielded."""
        reading = self._prepared.pop(path, None)
        if reading is not None and (reading.origin, reading.batch_rows) != (origin, batch_rows):
            _cancel(reading)
            reading = None
        reading = reading or self._start(path, origin, batch_rows)
        if reading is None:
            yield from read_batches(path, origin, counts, batch_rows)
            return
        try:
            while self._fill(reading) or reading.pending:
                yield from _take(reading.pending.popleft(), counts)
        finally:
            _cancel(reading)

    def _start(self, path: Path, origin: Origin, batch_rows: int) -> _Reading | None:
        if self.workers < 2:
            return None
        windows = plan_windows(path, self.window_records, self.min_window)
        return _Reading(path, origin, batch_rows, iter(windows)) if windows else None

    def _fill(self, reading: _Reading) -> bool:
        """Submit windows until 2 per worker are in flight; whether any was submitted."""
        submitted = False
        while len(reading.pending) < 2 * self.workers:
            window = next(reading.windows, None)
            if window is None:
                break
            task = (reading.path, window, reading.origin, reading.batch_rows)
            reading.pending.append(self.pool().submit(read_window, *task))
            submitted = True
        return submitted


def _cancel(reading: _Reading) -> None:
    for future in reading.pending:
        future.cancel()


def _take(future: Future[_Result], counts: CallCounts) -> Iterator[pa.RecordBatch]:
    result = future.result()
    counts.records += result.counts.records
    counts.classes.update(result.counts.classes)
    counts.samples.update(result.counts.samples)
    yield from result.batches


def plan_windows(
    path: Path, window_records: int = WINDOW_RECORDS, min_window: int = MIN_WINDOW
) -> list[Window] | None:
    """Windows covering every contig that has records (as the index says), or None when the
    VCF has no index, or records on a contig the header gives no length (then it is read as one
    stream). A contig's last window runs to the end of what an index can hold, so records past
    a contig's declared length are read too."""
    import pysam

    pysam.set_verbosity(0)
    try:
        with pysam.VariantFile(str(path)) as vcf:
            if vcf.index is None:
                return None
            indexed = [str(name) for name in vcf.index]
            declared = {str(name): record.length for name, record in vcf.header.contigs.items()}
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"{path.name} is not a readable VCF: {exc}") from None
    if any(declared.get(name) is None for name in indexed):
        return None
    lengths = [(name, int(declared[name] or 0)) for name in indexed]
    total = max(1, sum(length for _, length in lengths))
    records = max(1, path.stat().st_size // BYTES_PER_RECORD)
    size = min(MAX_WINDOW, max(min_window, total * window_records // records))
    return [window for name, length in lengths for window in _windows(name, length, size)]


def _windows(contig: str, length: int, size: int) -> list[Window]:
    starts = list(range(0, max(length, 1), size))
    ends = [*starts[1:], CONTIG_END]
    return [Window(contig, start, end) for start, end in zip(starts, ends, strict=True)]


def read_window(path: Path, window: Window, origin: Origin, batch_rows: int) -> _Result:
    """In a worker: the window's records as batches, and their counts."""
    result = _Result()
    region = (window.contig, window.start, window.end)
    for batch in read_batches(path, origin, result.counts, batch_rows, region=region):
        result.batches.append(batch)
    return result
