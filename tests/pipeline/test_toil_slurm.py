"""`genoflow server` with Toil on a real one-node Slurm cluster (tests/slurm_cluster.py).

The run's jobs are seen in ``squeue`` while it runs and in the cluster's jobcomp/filetxt record
after (accounting is off, so there is no ``sacct``); its calls are cwltool's; a cancelled run
leaves nothing in ``squeue``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from genoflow.demo import DemoData, simulate
from genoflow.pipelines import (
    TOIL_REQUIREMENT,
    ReferenceFiles,
    collect_outputs,
    engine_command,
    engine_environment,
    entry_point,
)
from genoflow.transfer import download_blob
from tests.harness import Azurite, run_cli, run_cli_subprocess
from tests.pipeline.conftest import EngineRun, needs_tools
from tests.pipeline.test_sharding import (  # noqa: F401 - fixtures: the sharding test's sample
    bam_records,
    repeat_reference,
    sharded_job,
    vcf_records,
    whole,
)
from tests.server.conftest import LiveServer, make_server
from tests.server.test_e2e import _env, _final_run, _store, _submit, output_name
from tests.slurm_cluster import SlurmCluster, start_cluster, unavailable_reason

TOIL = shutil.which("toil-cwl-runner")
SLURM_MISSING = unavailable_reason()

pytestmark = [
    pytest.mark.azurite,
    pytest.mark.pipeline,
    pytest.mark.slow,
    needs_tools,
    pytest.mark.skipif(
        TOIL is None,
        reason=f"toil-cwl-runner is not on PATH ('make test' installs {TOIL_REQUIREMENT} into "
        ".venv-toil and puts it on PATH)",
    ),
    pytest.mark.skipif(SLURM_MISSING is not None, reason=f"no Slurm cluster: {SLURM_MISSING}"),
]


@pytest.fixture(scope="module")
def slurm() -> Iterator[SlurmCluster]:
    cluster = start_cluster()
    yield cluster
    cluster.stop()


def _slurm_server(
    tmp_path: Path, azurite: Azurite, demo: DemoData, cluster: SlurmCluster
) -> LiveServer:
    """A live server whose Toil submits to ``cluster``: SLURM_CONF comes from its config only."""
    server = make_server(
        tmp_path / "srv",
        azurite,
        demo,
        engine="toil",
        toil={
            "batch_system": "slurm",
            "environment": {"SLURM_CONF": str(cluster.conf)},
            "job_store_dir": str(tmp_path / "shared" / "jobstores"),
            "default_memory": "1Gi",
            "caching": False,
        },
    )
    server.env.pop("SLURM_CONF", None)
    return server


class QueueWatch:
    """Polls ``squeue`` in a thread: the jobs (id -> (name, work dir)) it has listed."""

    def __init__(self, cluster: SlurmCluster) -> None:
        self._cluster = cluster
        self.seen: dict[str, tuple[str, str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> QueueWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        self.most_running = 0
        while not self._stop.wait(0.3):
            out = self._cluster.run("squeue", "--noheader", "--format=%i|%T|%j|%Z")
            running = 0
            for line in out.splitlines():
                job, state, name, workdir = line.split("|", 3)
                self.seen[job] = (name, workdir)
                running += state == "RUNNING"
            self.most_running = max(self.most_running, running)


def _records(vcf: Path) -> list[str]:
    """The VCF's records as ``bcftools view -H`` prints them."""
    return subprocess.run(
        ["bcftools", "view", "-H", str(vcf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()


def test_server_runs_the_pipeline_through_slurm_with_cwltools_calls(
    tmp_path: Path,
    azurite: Azurite,
    demo: DemoData,
    fastq_run: EngineRun,
    slurm: SlurmCluster,
    unique_name: str,
) -> None:
    server = _slurm_server(tmp_path, azurite, demo, slurm)
    server.start()
    try:
        env = _env(server, azurite, unique_name, "msgenomics")
        with QueueWatch(slurm) as watch:
            code, documents, stderr = _submit(
                env, "-b1", str(demo.fastq_r1), "-b2", str(demo.fastq_r2), "--wait"
            )
        assert code == 0, stderr + server.log_text()[-3000:]
        run = _final_run(documents)
        assert run["state"] == "succeeded"
    finally:
        server.stop()
    workdir = str((server.data_dir / "work" / str(run["id"])).resolve())
    # squeue listed the run's jobs while it ran; slurmctld's record has them finished
    listed = sorted(name for name, directory in watch.seen.values() if directory == workdir)
    assert any("align" in name for name in listed), (listed, watch.seen)
    assert any("call" in name for name in listed), listed
    finished = [job for job in slurm.finished() if job.get("WorkDir") == workdir]
    assert {job["Name"] for job in finished} >= set(listed)
    assert all(job["JobState"] == "COMPLETED" for job in finished), finished
    assert not (tmp_path / "shared" / "jobstores" / str(run["id"])).exists()  # --clean always
    # the same calls as cwltool's run of the same sample
    out = f"{unique_name}-out"
    vcf = output_name(azurite, out, demo.sample, ".vcf")
    local = Path(download_blob(_store(azurite), out, vcf, tmp_path / "out").path)
    records = _records(local)
    assert len(records) > 300
    assert records == _records(fastq_run.outputs.vcf)


@pytest.fixture(scope="module")
def slow_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    """Enough reads that the alignment job runs for several seconds: time to cancel it."""
    return simulate(
        tmp_path_factory.mktemp("slurmslow"),
        seed=5,
        reference_length=60_000,
        read_pairs=80_000,
        snvs=40,
        indels=10,
    )


def test_cancelled_run_leaves_no_slurm_job(
    tmp_path: Path, azurite: Azurite, slow_demo: DemoData, slurm: SlurmCluster, unique_name: str
) -> None:
    server = _slurm_server(tmp_path, azurite, slow_demo, slurm)
    server.start()
    try:
        env = _env(server, azurite, unique_name, "msgenomics")
        proc = run_cli_subprocess(
            ["submit", "-b1", str(slow_demo.fastq_r1), "-b2", str(slow_demo.fastq_r2), "--json"],
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        run_id = str(json.loads(proc.stdout.splitlines()[0])["run"]["id"])
        workdir = str((server.data_dir / "work" / run_id).resolve())
        _wait_for_running_job(slurm, workdir)
        result = run_cli(["cancel", run_id], env=env)
        assert result.exit_code == 0, result.stderr
        _wait_state(env, run_id, "cancelled")
        assert slurm.queue() == []
        assert not (tmp_path / "shared" / "jobstores" / run_id).exists()
    finally:
        server.stop()
    cancelled = [job for job in slurm.finished() if job.get("WorkDir") == workdir]
    assert cancelled and all(job["JobState"] == "CANCELLED" for job in cancelled), cancelled


def test_a_restarted_server_cancels_the_jobs_of_a_run_cancelled_while_it_was_down(
    tmp_path: Path, azurite: Azurite, demo: DemoData, slurm: SlurmCluster
) -> None:
    """A server killed while a run was CANCELLING: its Slurm jobs outlive it; at start the
    server's recovery cancels them (found by the run's work dir) and ends the run CANCELLED."""
    from genoflow.model.runs import RunState
    from genoflow.server.store import RunStore

    server = _slurm_server(tmp_path, azurite, demo, slurm)
    store = RunStore(server.data_dir / "runs.sqlite", work_root=server.data_dir / "work")
    run = store.create("msgenomics", {"submit": {}})
    store.update(run.id, state=RunState.CANCELLING, attempts=1)
    # another leftover run (out of attempts: failed, not run again); both released at once
    spent = store.create("msgenomics", {"submit": {}})
    store.update(spent.id, state=RunState.RUNNING, attempts=2)
    for left in (run, spent):
        workdir = (server.data_dir / "work" / str(left.id)).resolve()
        workdir.mkdir(parents=True)
        _sleeping_job(slurm, workdir)
    assert len(slurm.queue()) == 2
    store.close()
    server.start()
    try:
        assert slurm.queue() == []
        runs = RunStore(server.data_dir / "runs.sqlite")
        assert runs.get(run.id).state is RunState.CANCELLED
        assert runs.get(spent.id).state is RunState.FAILED
    finally:
        server.stop()


def _sleeping_job(slurm: SlurmCluster, directory: Path) -> None:
    """An sbatch job submitted from ``directory`` (how the server tells a run's jobs apart)."""
    subprocess.run(
        ["sbatch", "--mem=100", "--wrap=sleep 300", "--output=/dev/null"],
        cwd=directory,
        env=slurm.env(),
        check=True,
        capture_output=True,
    )


def _wait_for_running_job(cluster: SlurmCluster, workdir: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = cluster.run("squeue", "--noheader", "--format=%T|%Z")
        if any(line == f"RUNNING|{workdir}" for line in out.splitlines()):
            return
        time.sleep(0.2)
    raise AssertionError(f"no running Slurm job of {workdir}: {cluster.log_text()[-2000:]}")


def _wait_state(env: dict[str, str], run_id: str, state: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = json.loads(run_cli(["status", run_id, "--json"], env=env).stdout)
        run = document[0] if isinstance(document, list) else document
        if run["state"] == state:
            return
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not reach {state}")


def test_sweep_cancels_the_jobs_a_killed_leader_left(tmp_path: Path, slurm: SlurmCluster) -> None:
    """What the executor does before and after each Toil run: the leader may have been
    SIGKILLed (grace over, or the server killed) and left its jobs queued or running."""
    from genoflow.server.batch import cancel_slurm_jobs, slurm_jobs_of

    left, other = tmp_path / "run-7", tmp_path / "run-8"
    left.mkdir()
    other.mkdir()
    for directory in (left, left, other):
        _sleeping_job(slurm, directory)
    mine = slurm_jobs_of(left, slurm.env())
    assert len(mine) == 2
    assert sorted(cancel_slurm_jobs(left, slurm.env())) == sorted(mine)
    assert slurm_jobs_of(left, slurm.env()) == []
    assert len(slurm_jobs_of(other, slurm.env())) == 1  # another run's job is left alone
    assert cancel_slurm_jobs(other, slurm.env())
    assert slurm.queue() == []


def test_the_jobs_of_many_work_dirs_go_in_one_scancel(tmp_path: Path, slurm: SlurmCluster) -> None:
    """What a restarted server's recovery does: one scancel, one shared wait for all runs."""
    from genoflow.server.batch import cancel_slurm_jobs_of, slurm_jobs_of

    dirs = [tmp_path / f"run-{n}" for n in (1, 2, 3)]
    for directory in dirs:
        directory.mkdir()
        _sleeping_job(slurm, directory)
    shim, calls = tmp_path / "bin", tmp_path / "scancel-calls"
    shim.mkdir()
    real = shutil.which("scancel")
    (shim / "scancel").write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {real} "$@"\n')
    (shim / "scancel").chmod(0o755)
    env = {**slurm.env(), "PATH": f"{shim}:{slurm.env().get('PATH', '')}"}
    started = time.monotonic()
    cancelled = cancel_slurm_jobs_of([*dirs[:2], tmp_path / "no-jobs"], env)
    assert sorted(cancelled) == dirs[:2] and all(len(ids) == 1 for ids in cancelled.values())
    assert len(calls.read_text().splitlines()) == 1  # one scancel for both runs
    assert time.monotonic() - started < 30
    assert slurm_jobs_of(dirs[0], env) == slurm_jobs_of(dirs[1], env) == []
    assert len(slurm_jobs_of(dirs[2], env)) == 1  # another run's job is left alone
    assert cancel_slurm_jobs_of([dirs[2]], env)
    assert slurm.queue() == []


def test_shards_run_as_parallel_slurm_jobs_with_the_unsharded_records(
    demo: DemoData,
    repeat_reference: ReferenceFiles,  # noqa: F811 - the fixture imported above
    whole: EngineRun,  # noqa: F811
    slurm: SlurmCluster,
    tmp_path: Path,
) -> None:
    """The sharding test's job (3 alignment parts, 4 calling shards) on Slurm: every shard is
    a Slurm job, calling shards (one core each) run two at a time on the 2-core node, and the
    BAM and VCF records are the unsharded cwltool run's."""
    job = sharded_job(demo, repeat_reference).write(tmp_path / "job.json")
    workdir = tmp_path / "work"
    workdir.mkdir()
    assert TOIL is not None
    command = engine_command(
        "toil",
        entry_point("analysis"),
        job,
        tmp_path / "out",
        workdir,
        ["--batchSystem", "slurm", "--caching=false"],
        executable=TOIL,
    )
    with QueueWatch(slurm) as watch:
        done = subprocess.run(
            command,
            cwd=workdir,
            env=slurm.env(engine_environment(command)),
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    run = EngineRun(collect_outputs(done.stdout[done.stdout.find("{") :]), done.stderr)
    names = [j["Name"] for j in slurm.finished() if j.get("WorkDir") == str(workdir)]
    assert sum("align_shard" in n for n in names) == 3, names
    assert sum("call_bcftools" in n for n in names) == 4, names
    assert watch.most_running >= 2
    assert bam_records(run) == bam_records(whole)
    assert vcf_records(run) == vcf_records(whole)
