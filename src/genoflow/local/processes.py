"""Background services with pid files: start detached, check, and stop leaving nothing behind.

A pid file records the pid *and* the process start time, so that a pid reused by an unrelated
process after a reboot is never taken for ours (and never signalled). Each service runs in its
own session (process group); the server also starts engine process groups of its own, so stopping
collects every descendant first and verifies that all of them are gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STOP_GRACE_SECONDS = 25.0  # the server stops its engine groups itself (10 s grace each)
KILL_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class PidRecord:
    pid: int
    started: float  # psutil create_time()
    command: list[str]

    def to_json(self) -> str:
        return json.dumps({"pid": self.pid, "started": self.started, "command": self.command})


def read_pid_file(path: Path) -> PidRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PidRecord(int(data["pid"]), float(data["started"]), list(data["command"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def start_detached(
    command: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> PidRecord:
    """Start ``command`` in a new session, output to ``log_file``, and record it in ``pid_file``."""
    import psutil

    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    record = PidRecord(process.pid, psutil.Process(process.pid).create_time(), list(command))
    pid_file.write_text(record.to_json(), encoding="utf-8")
    return record


def live_process(record: PidRecord | None) -> Any:
    """The psutil.Process of ``record`` if that very process still runs (not a zombie)."""
    import psutil

    if record is None:
        return None
    try:
        process = psutil.Process(record.pid)
        if abs(process.create_time() - record.started) > 1.0:
            return None  # the pid was reused
        if process.status() == psutil.STATUS_ZOMBIE:
            _reap(record.pid)
            return None
        return process
    except psutil.Error:
        return None


def stop(record: PidRecord, *, grace: float = STOP_GRACE_SECONDS) -> list[int]:
    """SIGTERM the service (and its group), SIGKILL what is left; return pids still alive."""
    import psutil

    process = live_process(record)
    if process is None:
        return []
    tree = _tree(process)
    _signal_groups(tree, signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=grace, callback=lambda p: _reap(p.pid))
    alive = [p for p in alive if _running(p)]
    if alive:
        for leftover in alive:
            _signal_groups([leftover], signal.SIGKILL)
        _, alive = psutil.wait_procs(alive, timeout=KILL_GRACE_SECONDS)
    return [p.pid for p in alive if _running(p)]


def _tree(process: Any) -> list[Any]:
    """The process, its descendants and every member of their process groups."""
    import psutil

    found = {process.pid: process}
    try:
        for child in process.children(recursive=True):
            found[child.pid] = child
    except psutil.Error:
        pass
    groups = {_pgid(p.pid) for p in found.values()} - {None, os.getpgid(0)}
    for candidate in psutil.process_iter():
        if candidate.pid not in found and _pgid(candidate.pid) in groups:
            found[candidate.pid] = candidate
    return list(found.values())


def _signal_groups(processes: Sequence[Any], sig: signal.Signals) -> None:
    """Signal each process's group when it is a group of its own, else the process alone."""
    own = os.getpgid(0)
    signalled: set[int] = set()
    for process in processes:
        pgid = _pgid(process.pid)
        try:
            if pgid == own:
                os.kill(process.pid, sig)  # never signal the caller's own group
            elif pgid is not None and pgid not in signalled:
                os.killpg(pgid, sig)
                signalled.add(pgid)
        except (ProcessLookupError, PermissionError):
            pass


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def _running(process: Any) -> bool:
    import psutil

    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _reap(pid: int) -> None:
    """Collect the exit status of a child of ours (when tests start services in-process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    alive: Callable[[], bool],
    interval: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Poll ``check`` until it is true; False on timeout or as soon as ``alive`` is false."""
    deadline = clock() + timeout
    while clock() < deadline:
        if check():
            return True
        if not alive():
            return False
        sleep(interval)
    return check()
