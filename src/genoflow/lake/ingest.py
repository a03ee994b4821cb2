"""``genoflow lake add``: a succeeded run's calls appended to the lake, once.

For each run: its record comes from the service; its VCF is found, downloaded and checked
against the MD5 the run recorded by :func:`genoflow.orchestration.fetch.fetch_outputs`; the
VCF is streamed (pysam, Arrow batches) into one ``calls`` commit, then the run's record into
one ``runs`` commit, then its QC record (when the run has a qc.json) into one ``qc`` commit,
each keyed by the run (see :mod:`genoflow.lake.tables`). A run already in
both tables is skipped without downloading anything; one whose calls are in but whose record
is not (a process killed between the two commits) gets its record. Nothing is committed
before the whole VCF has been read: a failure midway leaves both tables as they were.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from genoflow.errors import GenoflowError, UsageError
from genoflow.lake.counts import CallCounts
from genoflow.lake.fetching import FetchedVcf, Sources, download_vcf, tag_in_lake
from genoflow.lake.location import Lake, mapped
from genoflow.lake.parallel import ParsePool, release_freed_memory, use_system_allocator
from genoflow.lake.pipe import prefetched
from genoflow.lake.qc import add_qc
from genoflow.lake.schema import (
    CALLS_PARTITIONS,
    CALLS_SCHEMA,
    CALLS_TABLE,
    CLASSES,
    QC_SCHEMA,
    QC_TABLE,
    RUNS_SCHEMA,
    RUNS_TABLE,
)
from genoflow.lake.tables import commit_run, compact_if_fragmented, holds, open_table
from genoflow.lake.vcf import BATCH_ROWS, Origin
from genoflow.model.runs import Run, RunState
from genoflow.model.tags import run_word

if TYPE_CHECKING:
    from genoflow.protocols.base import ServiceClient
    from genoflow.storage.base import BlobInfo, BlobStore

Progress = Callable[[str], None]
PROGRESS_SECONDS = 1.0  # at most one "records read" line a second
# Written in the lake container to prove the credential may write there before anything else.
# (under .genoflow/, which tiering never inventories).
PROBE_BLOB = ".genoflow/lake-write-probe"


@dataclass(frozen=True)
class AddResult:
    run: str  # <service>:<id>
    sample: str
    status: str  # added | already in the lake | record completed
    records: int
    variants: int
    seconds: float
    vcf: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "sample": self.sample,
            "status": self.status,
            "records": self.records,
            "variants": self.variants,
            "seconds": round(self.seconds, 3),
            "vcf": self.vcf,
        }


class LakeWriter:
    """The lake's two tables, opened (and created if missing) once for a batch of runs, and
    the worker processes that parse VCFs (close it, or use it as a context manager)."""

    def __init__(self, lake: Lake, store: BlobStore, workers: int | None = None) -> None:
        self.lake = lake
        use_system_allocator()
        self.parser = ParsePool(workers)
        store.ensure_container(lake.container)
        store.put_blob(lake.container, PROBE_BLOB, b"")  # AuthError (7) before anything else
        self.calls = open_table(lake, CALLS_TABLE, CALLS_SCHEMA, CALLS_PARTITIONS)
        self.runs = open_table(lake, RUNS_TABLE, RUNS_SCHEMA, [])
        self.qc = open_table(lake, QC_TABLE, QC_SCHEMA, [])

    def close(self) -> None:
        self.parser.close()

    def __enter__(self) -> LakeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, run: Run) -> bool:
        """Whether the calls and runs tables (as last read) hold the run (its QC record, if
        missing, needs no VCF: add_run adds it)."""
        word = run_word(run.service, run.id)
        return holds(self.calls, word) and holds(self.runs, word)

    def refresh(self) -> None:
        with mapped("reading the lake", self.lake):
            self.calls.update_incremental()
            self.runs.update_incremental()
            self.qc.update_incremental()


def succeeded_runs(client: ServiceClient, run_ids: Sequence[str]) -> list[Run]:
    """The runs' records; UsageError (exit 2) naming any run that has not succeeded."""
    runs = [client.get(run_id) for run_id in run_ids]
    bad = [run for run in runs if run.state is not RunState.SUCCEEDED]
    if bad:
        listed = ", ".join(f"{run.id} ({run.state.display_name.lower()})" for run in bad)
        raise UsageError(
            f"only succeeded runs go into the lake: run {listed}",
            hint="wait for running runs with 'genoflow wait'; failed runs have no calls",
        )
    return runs


def add_runs(
    sources: Sources,
    writer: LakeWriter,
    runs: Sequence[Run],
    *,
    now: datetime,
    progress: Progress | None = None,
) -> Iterator[AddResult]:
    """Add succeeded runs in turn. The next run's VCF is downloaded (in a thread: I/O) while
    this one is read and written, and the workers start on it as soon as this one's calls are
    committed: downloads and commits do not hold the parsers up."""
    writer.refresh()
    needed = [run for run in runs if not writer.has(run)]
    position = {id(run): index for index, run in enumerate(needed)}
    with ThreadPoolExecutor(1, thread_name_prefix="genoflow-lake-fetch") as pool:
        ahead = _Ahead(pool, sources, writer, needed, now, progress)
        try:
            for run in runs:
                index = position.get(id(run))
                if index is None:  # in the lake already: add_run says so, nothing downloaded
                    yield add_run(sources, writer, run, now=now, progress=progress)
                    continue
                fetched, then = ahead.take(index), ahead.start_after(index)
                yield add_run(
                    sources,
                    writer,
                    run,
                    now=now,
                    progress=progress,
                    fetched=fetched,
                    calls_done=then,
                )
                release_freed_memory()
        finally:
            _discard(ahead.downloads.values())
    try:
        compact_if_fragmented(writer.lake, writer.runs)
    except GenoflowError as exc:  # the runs are in; compaction is only housekeeping
        if progress:
            progress(f"note: the runs table was not compacted: {exc.one_line()}")


class _Ahead:
    """The runs to add, one download ahead of the one being added."""

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        sources: Sources,
        writer: LakeWriter,
        runs: list[Run],
        now: datetime,
        progress: Progress | None,
    ) -> None:
        self.pool, self.sources, self.writer = pool, sources, writer
        self.runs, self.now, self.progress = runs, now, progress
        self.downloads: dict[int, Future[FetchedVcf]] = {}

    def take(self, index: int) -> FetchedVcf:
        """Run ``index``'s VCF (downloading it if not yet), the next one's download started."""
        for wanted in (index, index + 1):
            if wanted < len(self.runs) and wanted not in self.downloads:
                task = (self.sources, self.runs[wanted], self.now, self.progress)
                self.downloads[wanted] = self.pool.submit(download_vcf, *task)
        return self.downloads.pop(index).result()

    def start_after(self, index: int) -> Callable[[], None]:
        """What to do once run ``index``'s calls are in: start the workers on the next run."""

        def start() -> None:
            following = self.downloads.get(index + 1)
            if following is not None:
                _prepare(self.writer, following, self.runs[index + 1], self.now)

        return start


def _prepare(writer: LakeWriter, download: Future[FetchedVcf], run: Run, now: datetime) -> None:
    """Start parsing ``run``'s VCF (once downloaded); a failed download is left for its run
    to report."""
    try:
        fetched = download.result()
    except Exception:
        return
    writer.parser.prepare(fetched.path, Origin(run_word(run.service, run.id), run.service, now))


def _discard(futures: Iterable[Future[FetchedVcf]]) -> None:
    """Downloads no longer wanted (an earlier run failed): cancelled, or removed when done."""
    for future in futures:
        if not future.cancel() and future.exception() is None:
            future.result().cleanup()


def add_run(
    sources: Sources,
    writer: LakeWriter,
    run: Run,
    *,
    now: datetime,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
    fetched: FetchedVcf | None = None,
    calls_done: Callable[[], None] | None = None,
) -> AddResult:
    """Add one succeeded run (see the module docstring); ``fetched``: its VCF, if already
    downloaded (removed when done); ``calls_done``: called once its calls are committed."""
    started = time.monotonic()
    word = run_word(run.service, run.id)
    writer.refresh()
    in_calls, in_runs = holds(writer.calls, word), holds(writer.runs, word)
    if in_calls and in_runs:
        if fetched is not None:
            writer.parser.forget(fetched.path)
            fetched.cleanup()
        added = _add_qc(writer, sources, run, word, now, progress)
        status = "QC record added" if added else "already in the lake"
        return AddResult(word, run.sample or "", status, 0, 0, time.monotonic() - started)
    vcf = fetched or download_vcf(sources, run, now, progress)
    try:
        counts, wrote = _write_calls(
            writer, vcf, Origin(word, run.service, now), in_calls, batch_rows, progress
        )
    finally:
        writer.parser.forget(vcf.path)
        vcf.cleanup()
    if calls_done is not None:
        calls_done()
    sample = run.sample or ""
    if len(counts.samples) == 1:  # the name the calls table has (the run may say otherwise)
        sample = next(iter(counts.samples))
    record = run_record(run, word, sample, vcf.blob, counts, writer.calls.version(), now)
    recorded = commit_run(
        writer.lake, writer.runs, word, lambda: iter([record]), RUNS_SCHEMA, [], {}
    )
    _add_qc(writer, sources, run, word, now, progress)  # when the run measured its QC
    tag_in_lake(sources.store, vcf.blob.container, vcf.names, now, progress)
    # Calls not written here: another writer committed them first; this process either
    # completed that writer's missing run record or found it written meanwhile.
    status = "added" if wrote else "record completed" if recorded else "already in the lake"
    name = f"{vcf.blob.container}/{vcf.blob.name}"
    seconds = time.monotonic() - started
    return AddResult(word, sample, status, counts.records, counts.variants, seconds, name)


def _add_qc(
    writer: LakeWriter,
    sources: Sources,
    run: Run,
    word: str,
    now: datetime,
    progress: Progress | None,
) -> bool:
    """The run's QC row, if it has one; a qc.json that cannot be read (newer schema, replaced
    since the run, ...) is said and skipped: the run's calls and record are added all the same,
    and a rerun does not fail on it (as ``list --qc`` does)."""
    try:
        return add_qc(writer.lake, writer.qc, sources, run, word, now)
    except GenoflowError as exc:
        if progress is not None:
            progress(f"run {word}: QC not added: {exc.one_line()}")
        return False


def _write_calls(
    writer: LakeWriter,
    vcf: FetchedVcf,
    origin: Origin,
    in_calls: bool,
    batch_rows: int,
    progress: Progress | None,
) -> tuple[CallCounts, bool]:
    """The calls' commit (unless the table has them: then they are only counted again for the
    run's record); with the counts and whether this process wrote them."""
    counted = _Counted()
    batches = _batches_of(writer.parser, vcf.path, origin, counted, batch_rows, progress)
    if in_calls:
        for _ in batches():
            pass
        return counted.last, False
    blob = f"{vcf.blob.container}/{vcf.blob.name}"
    metadata = {"genoflow.run": origin.run_id, "genoflow.vcf": blob}
    wrote = commit_run(
        writer.lake, writer.calls, origin.run_id, batches, CALLS_SCHEMA, CALLS_PARTITIONS, metadata
    )
    return counted.last, wrote


class _Counted:
    """The counts of the latest pass over the VCF (a retried commit reads it again)."""

    def __init__(self) -> None:
        self.last = CallCounts()

    def fresh(self) -> CallCounts:
        self.last = CallCounts()
        return self.last


def _batches_of(
    parser: ParsePool,
    vcf: Path,
    origin: Origin,
    counted: _Counted,
    rows: int,
    progress: Progress | None,
) -> Callable[[], Iterator[pa.RecordBatch]]:
    def batches() -> Iterator[pa.RecordBatch]:
        counts = counted.fresh()
        said = time.monotonic()
        for batch in prefetched(parser.batches(vcf, origin, counts, rows)):
            yield batch
            if progress and time.monotonic() - said >= PROGRESS_SECONDS:
                said = time.monotonic()
                progress(f"run {origin.run_id}: {counts.records} records read")

    return batches


def run_record(
    run: Run,
    word: str,
    sample: str,
    blob: BlobInfo,
    counts: CallCounts,
    calls_version: int,
    now: datetime,
) -> pa.RecordBatch:
    recorded = next((o for o in run.outputs if o.name == blob.name), None)
    row: dict[str, Any] = {
        "runId": word,
        "service": run.service,
        "serviceRunId": run.id,
        "sampleId": sample,
        "runCreated": run.created,
        "runEnded": run.ended,
        "vcf": f"{blob.container}/{blob.name}",
        "vcfMd5": recorded.md5 if recorded else blob.md5,
        "records": counts.records,
        "variants": counts.variants,
        **{f"{name}Count": counts.classes.get(name, 0) for name in CLASSES},
        "callsVersion": calls_version,
        "ingestedAt": now,
    }
    return pa.RecordBatch.from_pylist([row], schema=RUNS_SCHEMA)
