"""A cancelled run's input checks stop with it: the check thread reads no more of the inputs
and writes nothing more to the run's log once the run has returned (a re-queued attempt
reuses the work dir's path). Real files, the real checks and the executor's real threads;
only storage and the engine are replaced (the engine "runs" until the user cancels)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pysam
import pytest

from genoflow.model.submission import InputKind
from genoflow.pipelines.checks import ChecksStopped, check_inputs
from genoflow.server.deadlines import StorageBudget
from genoflow.server.executor import RunExecutor, RunLog, _EitherEvent
from genoflow.server.references import ReferenceRegistry
from genoflow.server.store import RunStore, StoredRun
from tests.server.inproc import inproc_config, sample_request, wait_for

READS = 200_000  # ~45 MB a file: the checks take a second or more


def _fastq(path: Path, mate: int, reads: int = READS) -> Path:
    sequence, quality = "ACGT" * 25, "I" * 100
    with path.open("w") as out:
        for start in range(0, reads, 10_000):
            out.write(
                "".join(
                    f"@r{i}/{mate}\n{sequence}\n+\n{quality}\n"
                    for i in range(start, min(reads, start + 10_000))
                )
            )
    return path


class _StopsAfter(threading.Event):
    """Reads as set from its ``n``-th look on: the checks are stopped mid-way, every time."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.looks, self.n = 0, n

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks >= self.n


def test_checks_stop_between_batches_of_a_fastq_pair(tmp_path: Path) -> None:
    pair = (_fastq(tmp_path / "r1.fq", 1), _fastq(tmp_path / "r2.fq", 2))
    assert check_inputs(fastq_pairs=[pair]).reads == 2 * READS
    with pytest.raises(ChecksStopped):
        check_inputs(fastq_pairs=[pair], stop=_StopsAfter(3))


def test_checks_stop_between_reads_of_a_bam(tmp_path: Path) -> None:
    path = tmp_path / "in.bam"
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}}
    with pysam.AlignmentFile(str(path), "wb", header=header) as bam:
        for i in range(150_000):
            read = pysam.AlignedSegment()
            read.query_name, read.flag = f"r{i}", 4
            read.query_sequence = "ACGT" * 10
            read.query_qualities = pysam.qualitystring_to_array("I" * 40)
            bam.write(read)
    assert check_inputs(bam=path).reads == 150_000
    with pytest.raises(ChecksStopped):
        check_inputs(bam=path, stop=_StopsAfter(2))


class _CancelledMidEngine(RunExecutor):
    """Inputs already local; the engine is cancelled by the user as soon as it starts."""

    def __init__(self, *args: Any, inputs: list[Path], cancel: threading.Event) -> None:
        super().__init__(*args)
        self.inputs, self.cancel = inputs, cancel

    def _output_container(self, request: Any) -> Any:
        return None

    def _refuse_existing(self, *args: Any) -> None:
        return None

    def _reference(self, request: Any) -> Path:
        return Path("/nonexistent/ref.fa")

    def _open_inputs(self, *args: Any) -> list[Any]:
        return []

    def _check_disk(self, *args: Any) -> None:
        return None

    def _download_inputs(self, *args: Any) -> list[Path]:
        return self.inputs

    def _run_pipeline(self, *args: Any) -> tuple[Any, list[str]]:
        time.sleep(0.2)  # the checks are under way
        self.cancel.set()
        return None, []


def test_a_cancelled_runs_checks_are_stopped_before_it_returns(tmp_path: Path) -> None:
    pair = [_fastq(tmp_path / "r1.fq", 1), _fastq(tmp_path / "r2.fq", 2)]
    config = inproc_config(tmp_path / "server")
    store = RunStore(config.database, work_root=config.work_root)
    try:
        run: StoredRun = store.create("msgenomics", {"submit": {}})
        cancel = threading.Event()
        executor = _CancelledMidEngine(
            config,
            store,
            ReferenceRegistry(config.reference_root, config.references),
            inputs=pair,
            cancel=cancel,
        )
        workdir = tmp_path / "work"
        workdir.mkdir()
        run_log = RunLog(workdir / "genoflow.log")
        request = sample_request()
        assert request.kind is InputKind.FASTQ
        outcome = executor._execute(run, request, workdir, run_log, StorageBudget(cancel, 600.0))
        assert outcome.outputs == ()
        assert wait_for(
            lambda: not [t for t in threading.enumerate() if t.name == f"checks-{run.id}_0"],
            timeout=1.0,
        )
        time.sleep(3.0)  # long enough for the whole check, had it gone on
        log_text = run_log.path.read_text() if run_log.path.exists() else ""
        assert "input checks passed" not in log_text
    finally:
        store.close()


def test_either_event_wait_wakes_on_the_other_event() -> None:
    other = threading.Event()
    either = _EitherEvent(other)
    assert either.wait(0.05) is False
    threading.Timer(0.1, other.set).start()
    started = time.monotonic()
    assert either.wait(5.0) is True
    assert time.monotonic() - started < 1.0
