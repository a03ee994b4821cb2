"""A real one-node Slurm cluster on loopback, from the OS packages (slurm-wlm, munge).

No systemd and nothing machine-wide: a private ``munged`` (its own socket, the machine's key),
``slurmctld`` and ``slurmd`` in the foreground with a generated ``slurm.conf``, every state,
spool, pid and log file in one directory. Clients (sbatch, squeue, Toil) find the cluster
through ``SLURM_CONF``. Needs root (slurmd runs jobs as their user; SlurmUser=root).

Accounting is off (no slurmdbd, so no ``sacct``); ``jobcomp/filetxt`` writes one line per
finished job to :attr:`SlurmCluster.jobcomp_log`, the record of what ran through Slurm.

Also a command for people: ``python -m tests.slurm_cluster DIR`` starts one and prints the
``export SLURM_CONF=...`` line; Ctrl-C stops it.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "scontrol", "sinfo", "srun")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_USER = "munge"
MEMORY_MB = 8000  # what the node offers Slurm (jobs ask Toil's --defaultMemory and less)


def unavailable_reason() -> str | None:
    """Why a cluster cannot start here, or None ('make test' installs the packages as root)."""
    missing = [tool for tool in (*DAEMONS, *CLIENTS) if shutil.which(tool) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "a one-node Slurm cluster needs root (slurmd runs jobs as their owner)"
    try:
        pwd.getpwnam(MUNGE_USER)
    except KeyError:
        return f"no {MUNGE_USER} user (the munge package creates it)"
    return None


@dataclass
class SlurmCluster:
    """A running cluster; :meth:`stop` ends its daemons by pid."""

    root: Path
    node: str
    remove_root: bool = False  # a temp dir we made: removed by stop()
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def jobcomp_log(self) -> Path:
        return self.root / "jobcomp.log"

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment whose Slurm clients talk to this cluster."""
        return {**(os.environ if base is None else base), "SLURM_CONF": str(self.conf)}

    def run(self, *command: str, timeout: float = 30) -> str:
        done = subprocess.run(
            command, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip() or done.stdout}")
        return done.stdout

    def queue(self) -> list[dict[str, str]]:
        """Jobs slurmctld knows as pending or running: id, name, state, comment."""
        out = self.run("squeue", "-h", "-o", "%i|%j|%T|%k")
        keys = ("id", "name", "state", "comment")
        return [dict(zip(keys, line.split("|", 3), strict=True)) for line in out.splitlines()]

    def finished(self) -> list[dict[str, str]]:
        """Finished jobs from the jobcomp/filetxt log (``Key=value`` words per line)."""
        if not self.jobcomp_log.exists():
            return []
        return [_fields(line) for line in self.jobcomp_log.read_text().splitlines() if line]

    def log_text(self) -> str:
        return "".join(
            (self.root / f"{name}.log").read_text(errors="replace")
            for name in DAEMONS
            if (self.root / f"{name}.log").exists()
        )

    def stop(self, grace: float = 10.0) -> None:
        """Cancel what is left in the queue (a job's processes outlive slurmd), then SIGTERM
        each daemon we started (slurmd first), SIGKILL it after ``grace``."""
        self._cancel_all(grace)
        for name in reversed(DAEMONS):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.remove_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _cancel_all(self, grace: float) -> None:
        controller = self.processes.get("slurmctld")
        if controller is None or controller.poll() is not None:
            return
        deadline = time.monotonic() + grace
        with suppress(RuntimeError, subprocess.TimeoutExpired):
            self.run("scancel", "--partition=main", timeout=grace)
            while self.queue() and time.monotonic() < deadline:
                time.sleep(0.2)


def _fields(line: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in line.split() if "=" in word)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def slurm_conf(root: Path, node: str, cpus: int, memory_mb: int = MEMORY_MB) -> str:
    """A one-node slurm.conf: loopback, free ports, no cgroups, no accounting."""
    return "\n".join(
        [
            "ClusterName=genoflow-test",
            f"SlurmctldHost={node}(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={root / 'munge' / 'munge.socket'}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "MpiDefault=none",
            "ReturnToService=2",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={root / 'jobcomp.log'}",
            f"StateSaveLocation={root / 'state'}",
            f"SlurmdSpoolDir={root / 'spool'}",
            f"SlurmctldPidFile={root / 'slurmctld.pid'}",
            f"SlurmdPidFile={root / 'slurmd.pid'}",
            f"SlurmctldLogFile={root / 'slurmctld.log'}",
            f"SlurmdLogFile={root / 'slurmd.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            # finished jobs stay visible to `scontrol show job` (Toil reads exit codes there
            # when sacct has no accounting to ask)
            "MinJobAge=600",
            "SchedulerParameters=sched_interval=1",
            f"NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
            f"PartitionName=main Nodes={node} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def start_cluster(root: Path | None = None, timeout: float = 60.0) -> SlurmCluster:
    """Start munged, slurmctld and slurmd; return once ``srun hostname`` answers."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    # munged (user munge) must traverse to its socket: not under pytest's 0700 tmp dirs
    made = root is None
    root = Path(tempfile.mkdtemp(prefix="slurm-")) if root is None else root
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    node = socket.gethostname().split(".")[0]
    for name in ("state", "spool"):
        (root / name).mkdir(exist_ok=True)
    (root / "slurm.conf").write_text(slurm_conf(root, node, os.cpu_count() or 1))
    cluster = SlurmCluster(root=root, node=node, remove_root=made)
    try:
        _start_munged(cluster)
        for name in ("slurmctld", "slurmd"):
            with (root / f"{name}.out").open("wb") as out:  # before its log file opens
                cluster.processes[name] = subprocess.Popen(
                    [name, "-D", "-c"] if name == "slurmctld" else [name, "-D"],
                    env=cluster.env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        _wait_ready(cluster, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _start_munged(cluster: SlurmCluster) -> None:
    munge = pwd.getpwnam(MUNGE_USER)
    directory = cluster.root / "munge"
    directory.mkdir(exist_ok=True)
    directory.chmod(0o755)  # munged wants its socket's directory searchable by all
    os.chown(directory, munge.pw_uid, munge.pw_gid)
    key = MUNGE_KEY
    if not key.exists():  # the munge package makes one; a bare image may not have it
        key = directory / "munge.key"
        key.write_bytes(secrets.token_bytes(128))
        os.chown(key, munge.pw_uid, munge.pw_gid)
        key.chmod(0o400)
    with (cluster.root / "munged.log").open("wb") as err:
        cluster.processes["munged"] = subprocess.Popen(
            [
                "munged",
                "--foreground",
                f"--key-file={key}",
                f"--socket={directory / 'munge.socket'}",
                f"--pid-file={directory / 'munged.pid'}",
                f"--log-file={directory / 'munged.log'}",
                f"--seed-file={directory / 'munged.seed'}",
            ],
            user=munge.pw_uid,
            group=munge.pw_gid,
            extra_groups=[],
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    _wait_for(lambda: (directory / "munge.socket").exists(), cluster, 10, "munged's socket")


def _wait_ready(cluster: SlurmCluster, timeout: float) -> None:
    def node_idle() -> bool:
        try:
            return "idle" in cluster.run("sinfo", "-h", "-o", "%T", timeout=5)
        except (RuntimeError, subprocess.TimeoutExpired):
            return False

    _wait_for(node_idle, cluster, timeout, "an idle node in sinfo")
    answer = cluster.run("srun", "--time=1", "hostname", timeout=timeout).strip()
    if answer != socket.gethostname():
        raise RuntimeError(f"srun hostname answered {answer!r}")


def _wait_for(ready: Callable[[], bool], cluster: SlurmCluster, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in cluster.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {cluster.log_text()[-2000:]}")
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"no {what} after {timeout:.0f}s: {cluster.log_text()[-2000:]}")


@contextmanager
def running_cluster(root: Path | None = None) -> Iterator[SlurmCluster]:
    cluster = start_cluster(root)
    try:
        yield cluster
    finally:
        cluster.stop()


def main() -> int:
    """``python -m tests.slurm_cluster [DIR]``: start a cluster, stop it on Ctrl-C or SIGTERM."""
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
        signal.signal(sig, lambda *_: stop.set())
    with running_cluster(root) as cluster:
        print(f"export SLURM_CONF={cluster.conf}", flush=True)
        print(f"cluster up on {cluster.node} (logs in {cluster.root}); Ctrl-C stops it", flush=True)
        while not stop.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
