"""Running the workflow engine (cwltool or toil-cwl-runner) as a child process group.

The engine starts its own session so that cancellation can stop the whole tree (engine, bwa,
samtools, bcftools...) with one signal, and a restarted server can find and stop what a killed
one left behind.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

TERMINATE_GRACE_SECONDS = 10.0


@functools.cache
def engine_version(engine: str) -> str:
    """The installed version of ``engine`` (cwltool or toil) for service-info, or "unknown"."""
    try:
        return importlib.metadata.version(engine)
    except importlib.metadata.PackageNotFoundError:
        pass
    # Toil usually lives in a virtualenv of its own and is only on PATH.
    executable = shutil.which(engine)
    if executable is None:
        return "unknown"
    try:
        answer = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    words = answer.stdout.split()
    return words[-1] if answer.returncode == 0 and words else "unknown"


@dataclass(frozen=True)
class EngineResult:
    exit_code: int
    cancelled: bool
    seconds: float


def run_engine(
    command: Sequence[str],
    *,
    cwd: Path,
    stdout: Path,
    stderr: Path,
    cancel: threading.Event,
    on_start: Callable[[int], None],
    env: dict[str, str] | None = None,
) -> EngineResult:
    """Run ``command`` in a new process group; stop the whole group when ``cancel`` is set."""
    started = time.monotonic()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        on_start(process.pid)  # the pid is also the process group id (new session)
        while True:
            try:
                code = process.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if cancel.is_set():
                    stop_process_group(process.pid)
                    code = process.wait()
                    break
    return EngineResult(code, cancel.is_set(), time.monotonic() - started)


def stop_process_group(pgid: int, grace: float = TERMINATE_GRACE_SECONDS) -> None:
    """SIGTERM the group, then SIGKILL whatever is left after ``grace`` seconds."""
    if not _group_alive(pgid):
        return
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return
        time.sleep(0.1)
    _signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.1)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """True while any process of the group exists (zombies of our own children excluded)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(_state_of(pid) not in ("Z", None) for pid in group_members(pgid))


def group_members(pgid: int) -> list[int]:
    """Pids whose process group is ``pgid`` (Linux /proc; empty elsewhere)."""
    members = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _state_of(pid: int) -> str | None:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def stop_leftover_group(pgid: int | None, workdir: Path) -> bool:
    """After a crash: stop a recorded engine group if it still runs *our* command.

    The pid could have been reused by an unrelated process; only a group whose leader's command
    line mentions the run's work dir is ours.
    """
    if not pgid or not _group_alive(pgid):
        return False
    try:
        cmdline = (Path("/proc") / str(pgid) / "cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        cmdline = b""
    if cmdline and str(workdir).encode() not in cmdline:
        log.warning("process group %s is not this run's engine; leaving it alone", pgid)
        return False
    stop_process_group(pgid)
    return True
