"""Toil's batch system settings, and the Slurm jobs of a run (found, cancelled).

Toil's leader runs in the server's engine process group, but on Slurm its jobs run under
slurmd, outside that group: stopping the group does not stop them. The leader cancels its
jobs when it exits on SIGTERM, but it can be SIGKILLed first, and a killed server leaves
them running. A run's jobs are recognised by their working directory: Toil submits them from
the leader's, which is the run's work dir (``squeue`` ``%Z``).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from genoflow.server.config import ServerConfig, ToilConfig

if TYPE_CHECKING:  # the pipelines package is imported once a run starts, as in the executor
    from genoflow.pipelines.job import Sharding

log = logging.getLogger(__name__)

SLURM_COMMAND_SECONDS = 30.0
SLURM_DRAIN_SECONDS = 60.0


def toil_args(config: ToilConfig, workdir: Path) -> list[str]:
    """toil-cwl-runner arguments from the ``toil:`` settings (``args`` last: they win)."""
    args = ["--batchSystem", config.batch_system]
    if config.job_store_dir is not None:
        # later than engine_command's own --jobStore: the last one given wins
        args += ["--jobStore", str(job_store(config, workdir))]
    if config.work_dir is not None:
        args += ["--workDir", str(config.work_dir)]
    options: list[tuple[str, object]] = [
        ("--defaultMemory", config.default_memory),
        ("--maxCores", config.max_cores),
        ("--slurmTime", config.slurm_time),
        ("--slurmArgs", config.slurm_args),
        ("--statePollingWait", config.state_polling_wait),
        ("--caching", None if config.caching is None else str(config.caching).lower()),
    ]
    args += [f"{flag}={value}" for flag, value in options if value is not None]
    return [*args, *config.args]


def sharding(config: ServerConfig) -> Sharding:
    """Shards are planned from the cores that run them: a cluster's under Toil when given."""
    from genoflow.pipelines.job import Sharding

    cores = config.toil.cores if config.engine == "toil" else None
    return Sharding(cores=cores)


def job_store(config: ToilConfig, workdir: Path) -> Path:
    """A run's job store: ``<job_store_dir>/<run id>``, or ``jobstore`` in its work dir."""
    if config.job_store_dir is None:
        return workdir / "jobstore"
    return config.job_store_dir.resolve() / workdir.name


def toil_environment(config: ToilConfig, base: Mapping[str, str]) -> dict[str, str]:
    """The engine's environment with the configured variables (e.g. SLURM_CONF) set."""
    return {**base, **config.environment}


def reset_job_store(config: ToilConfig, workdir: Path) -> None:
    """No job store left (a stale one fails the next attempt at once); its parent exists."""
    if config.job_store_dir is not None:
        store = job_store(config, workdir)
        shutil.rmtree(store, ignore_errors=True)
        store.parent.mkdir(parents=True, exist_ok=True)


def slurm_environment(config: ToilConfig, base: Mapping[str, str]) -> dict[str, str]:
    """The environment the executor gives the engine (and its Slurm clients): the toil
    settings' variables and toil-cwl-runner's directory first on PATH."""
    from genoflow.pipelines import engine_environment

    environment = toil_environment(config, base)
    program = shutil.which("toil-cwl-runner", path=base.get("PATH"))
    return engine_environment([program], environment) if program else environment


def slurm_jobs_of(workdir: Path, env: Mapping[str, str]) -> list[str]:
    """Ids of the pending or running Slurm jobs submitted from ``workdir``."""
    return _slurm_jobs_in([workdir], env).get(workdir, [])


def _slurm_jobs_in(workdirs: Sequence[Path], env: Mapping[str, str]) -> dict[Path, list[str]]:
    """One ``squeue``: work dir -> its pending or running jobs (only dirs that have some)."""
    targets = {str(workdir): workdir for workdir in workdirs}
    listing = _slurm(["squeue", "--noheader", "--format=%i|%Z"], env)
    found: dict[Path, list[str]] = {}
    for job, _, directory in (line.partition("|") for line in listing.splitlines()):
        workdir = targets.get(directory.rstrip("/"))
        if workdir is not None:
            found.setdefault(workdir, []).append(job)
    return found


def cancel_slurm_jobs(
    workdir: Path, env: Mapping[str, str], drain: float = SLURM_DRAIN_SECONDS
) -> list[str]:
    """scancel the run's jobs, then wait until ``squeue`` lists none of them."""
    return cancel_slurm_jobs_of([workdir], env, drain).get(workdir, [])


def cancel_slurm_jobs_of(
    workdirs: Sequence[Path], env: Mapping[str, str], drain: float = SLURM_DRAIN_SECONDS
) -> dict[Path, list[str]]:
    """The jobs of all ``workdirs`` cancelled with one ``scancel``, then one wait (at most
    ``drain`` seconds in all) until ``squeue`` lists none of them; work dir -> its jobs."""
    jobs = _slurm_jobs_in(workdirs, env)
    if not jobs:
        return {}
    for workdir, ids in jobs.items():
        log.info("cancelling Slurm jobs %s of %s", " ".join(ids), workdir.name)
    _slurm(["scancel", *(job for ids in jobs.values() for job in ids)], env)
    deadline = time.monotonic() + drain
    while _slurm_jobs_in(workdirs, env) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = [job for ids in _slurm_jobs_in(workdirs, env).values() for job in ids]
    if left:
        log.warning("Slurm jobs %s still listed %.0fs after scancel", " ".join(left), drain)
    return jobs


def _slurm(command: list[str], env: Mapping[str, str]) -> str:
    """A Slurm client's output; "" when Slurm cannot be asked (logged, never raised)."""
    try:
        done = subprocess.run(
            command,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=SLURM_COMMAND_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("%s: %s", command[0], exc)
        return ""
    if done.returncode != 0:
        log.warning("%s exited %s: %s", command[0], done.returncode, done.stderr.strip()[:300])
    return done.stdout


def is_slurm(config: ToilConfig) -> bool:
    return config.batch_system == "slurm"
