"""Run store and scheduler state machine (real SQLite, real threads, a scripted execution)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from genoflow.model.outputs import RunOutput
from genoflow.model.runs import RunState
from genoflow.server.api_msgenomics import parse_filter
from genoflow.server.scheduler import Outcome, RunFailure, Scheduler
from genoflow.server.service import RequestRejected
from genoflow.server.store import RunStore, StoredRun


def _wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


class Script:
    """An execution whose behaviour each test sets: succeed, fail, or block until cancelled."""

    def __init__(self) -> None:
        self.mode = "succeed"
        self.started = threading.Event()
        self.concurrent = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, run: StoredRun, cancel: threading.Event) -> Outcome:
        with self._lock:
            self.concurrent += 1
            self.peak = max(self.peak, self.concurrent)
        self.started.set()
        try:
            if self.mode == "fail":
                raise RunFailure("Error Code [308]: Encountered an unmatched read", 308)
            if self.mode == "block":
                cancel.wait(10)
            if self.mode == "slow":
                time.sleep(0.2)
            bam = RunOutput(f"{run.id}.bam", "bam", 3, "ab" * 16, "outs")
            return Outcome(outputs=(bam,), bases_processed=300)
        finally:
            with self._lock:
                self.concurrent -= 1


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite")


def _scheduler(
    store: RunStore, script: Script, tmp_path: Path, max_concurrent: int = 1
) -> Scheduler:
    return Scheduler(
        store,
        script,
        max_concurrent=max_concurrent,
        workdir_of=lambda run_id: tmp_path / str(run_id),
    )


def test_database_is_private(store: RunStore, tmp_path: Path) -> None:
    assert (tmp_path / "runs.sqlite").stat().st_mode & 0o077 == 0


def test_run_succeeds_and_fails_with_code(store: RunStore, tmp_path: Path) -> None:
    script = Script()
    scheduler = _scheduler(store, script, tmp_path)
    scheduler.start()
    ok = store.create("msgenomics", {"submit": {}})
    scheduler.notify()
    _wait_for(lambda: store.get(ok.id).state is RunState.SUCCEEDED)
    done = store.get(ok.id)
    assert done.bases_processed == 300
    assert done.outputs == (RunOutput(f"{ok.id}.bam", "bam", 3, "ab" * 16, "outs"),)
    assert done.ended is not None and done.started is not None
    script.mode = "fail"
    bad = store.create("wes", {"submit": {}})
    scheduler.notify()
    _wait_for(lambda: store.get(bad.id).state is RunState.FAILED)
    failed = store.get(bad.id)
    assert failed.failure_code == 308 and failed.message.startswith("Error Code [308]")
    scheduler.stop()


def test_concurrency_cap_is_respected(store: RunStore, tmp_path: Path) -> None:
    script = Script()
    script.mode = "slow"
    scheduler = _scheduler(store, script, tmp_path, max_concurrent=2)
    scheduler.start()
    ids = [store.create("msgenomics", {"submit": {}}).id for _ in range(6)]
    scheduler.notify()
    _wait_for(lambda: all(store.get(i).state is RunState.SUCCEEDED for i in ids))
    assert script.peak == 2
    scheduler.stop()


def test_cancel_queued_and_running(store: RunStore, tmp_path: Path) -> None:
    script = Script()
    script.mode = "block"
    scheduler = _scheduler(store, script, tmp_path)
    scheduler.start()
    running = store.create("msgenomics", {"submit": {}})
    queued = store.create("msgenomics", {"submit": {}})
    scheduler.notify()
    assert script.started.wait(5)
    assert scheduler.cancel(queued.id).state is RunState.CANCELLED
    assert scheduler.cancel(running.id).state is RunState.CANCELLING
    _wait_for(lambda: store.get(running.id).state is RunState.CANCELLED)
    # idempotent on a finished run
    assert scheduler.cancel(running.id).state is RunState.CANCELLED
    scheduler.stop()


def test_recovery_requeues_then_gives_up(store: RunStore, tmp_path: Path) -> None:
    run = store.create("msgenomics", {"submit": {}})
    store.update(run.id, state=RunState.RUNNING, attempts=1)
    cancelling = store.create("msgenomics", {"submit": {}})
    store.update(cancelling.id, state=RunState.CANCELLING, attempts=1)
    scheduler = _scheduler(store, Script(), tmp_path)
    scheduler.recover()
    assert store.get(run.id).state is RunState.QUEUED
    assert "restarted" in (store.get(run.id).message or "")
    assert store.get(cancelling.id).state is RunState.CANCELLED
    store.update(run.id, state=RunState.RUNNING, attempts=2)
    scheduler.recover()
    failed = store.get(run.id)
    assert failed.state is RunState.FAILED and failed.failure_code == 900


def test_recovery_releases_all_leftover_runs_batch_jobs_at_once(
    store: RunStore, tmp_path: Path
) -> None:
    """One release (one scancel, one shared drain on Slurm) for every run a dead server left,
    not one per run before the dispatcher may start."""
    left = [store.create("msgenomics", {"submit": {}}) for _ in range(3)]
    states = [RunState.RUNNING, RunState.CANCELLING, RunState.RUNNING]
    for run, state in zip(left, states, strict=True):
        store.update(run.id, state=state, attempts=1)
    store.create("msgenomics", {"submit": {}})  # queued: no jobs of it anywhere
    calls: list[list[Path]] = []
    scheduler = Scheduler(
        store,
        Script(),
        max_concurrent=1,
        workdir_of=lambda run_id: tmp_path / str(run_id),
        release_leftovers=lambda workdirs: calls.append(list(workdirs)),
    )
    scheduler.recover()
    assert calls == [[tmp_path / str(run.id) for run in left]]
    assert [store.get(run.id).state for run in left] == [
        RunState.QUEUED,
        RunState.CANCELLED,
        RunState.QUEUED,
    ]
    scheduler.recover()  # nothing left over: nothing to release
    assert len(calls) == 1


def test_recovery_asks_slurm_with_the_engines_path(tmp_path: Path) -> None:
    """Slurm's clients run as the executor runs the engine: toil-cwl-runner's dir first on
    PATH, the toil settings' variables set."""
    from genoflow.server.batch import slurm_environment
    from genoflow.server.config import ToilConfig

    engine_dir = tmp_path / "venv-toil" / "bin"
    engine_dir.mkdir(parents=True)
    (engine_dir / "toil-cwl-runner").write_text("#!/bin/sh\n")
    (engine_dir / "toil-cwl-runner").chmod(0o755)
    config = ToilConfig(batch_system="slurm", environment={"SLURM_CONF": "/etc/x.conf"})
    env = slurm_environment(config, {"PATH": f"/usr/bin:{engine_dir}", "HOME": "/h"})
    assert env["PATH"].split(":")[0] == str(engine_dir)
    assert env["SLURM_CONF"] == "/etc/x.conf" and env["HOME"] == "/h"


def test_odata_filter_parsing() -> None:
    assert parse_filter("substringof('NA12878', Description) and Status eq '50000'") == [
        ("Description", "NA12878"),
        ("Status", "50000"),
    ]
    assert parse_filter("substringof('it''s', Process)") == [("Process", "it's")]
    assert parse_filter(None) == []
    with pytest.raises(RequestRejected):
        parse_filter("Id gt 5")


def test_server_refuses_non_loopback_without_keys(tmp_path: Path) -> None:
    from genoflow.errors import ConfigError
    from genoflow.server.config import load_server_config

    with pytest.raises(ConfigError, match="without API keys"):
        load_server_config(None, {"host": "0.0.0.0"}, environ={})
    config = load_server_config(
        None, {"host": "0.0.0.0"}, environ={"GENOFLOW_SERVER_API_KEYS": "k1-aaaaaaaa, k2-bbbbbbbb"}
    )
    assert config.api_keys == ["k1-aaaaaaaa", "k2-bbbbbbbb"]
    assert load_server_config(None, {}, environ={}).is_loopback()
    assert config.endpoint_for("acct") == "https://acct.blob.core.windows.net"
