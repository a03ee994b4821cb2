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
import re
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


# --- why the engine failed ---------------------------------------------------------------------
_JOB = re.compile(r"\[job ([^\]]+)\]")
_EXITED = re.compile(r"\[job ([^\]]+)\] exited with status: (-?\d+)")
_PERMANENT_FAIL = re.compile(r"\[job ([^\]]+)\] completed permanentFail")
_LOG_REDIRECT = re.compile(r" 2> (\S+)")
_KILLED = re.compile(r"^\S+: line \d+: +\d+ Killed ", re.MULTILINE)  # bash's job report
NO_SPACE = "No space left on device"
TAIL_LINES = 5
TAIL_BYTES = 64 * 1024
MAX_MESSAGE = 1000


@dataclass(frozen=True)
class EngineFailure:
    """The failing step of an engine run, its exit status and the tail of its tool log."""

    step: str | None
    status: int | None
    log_name: str | None
    tail: list[str]
    disk_full: bool
    killed: bool = False  # the tool log says a process was killed (bash: "... Killed ...")

    def describe(self) -> str:
        """One paragraph: which step, how it ended (and what that likely means), its log tail."""
        where = f"in step {self.step}" if self.step else "in the workflow engine"
        status = "" if self.status is None else f" (exit status {self.status}{_meaning(self)})"
        log_name = self.log_name or "the engine log"
        tail = f"; last lines of {log_name}: {' | '.join(self.tail)}" if self.tail else ""
        return f"the pipeline failed {where}{status}{tail}"


def describe_engine_failure(stderr: Path) -> EngineFailure:
    """Read the engine's stderr (cwltool's ``[job NAME]`` lines) and the failing tool's log."""
    text = tail_text(stderr)
    step, status = _failed_job(text)
    log_path = _tool_logs(text).get(step) if step else None
    tool_text = tail_text(log_path) if log_path else ""
    log_name = log_path.name if log_path and tool_text else None
    if not tool_text and step:
        tool_text = _toil_echoed_stderr(text, step)
        log_name = f"{step}.stderr" if tool_text else None
    tail = _last_lines(tool_text or text)
    full = NO_SPACE in tool_text or NO_SPACE in text
    killed = bool(_KILLED.search(tool_text))
    return EngineFailure(step, status, log_name, tail, full, killed)


def _toil_echoed_stderr(text: str, step: str) -> str:
    """A failed Toil job's tool stderr, as the leader echoes it (its worker dir is gone).

    Toil logs ``<step>.stderr follows:``, a ``=========>`` line, the lines tab-indented, and
    ``<=========``; the last such block of the step is the failing attempt's.
    """
    # the whole name (not ``call`` inside ``shard_call``); tab-indented lines between the markers
    block = re.compile(
        rf"(?<!\S){re.escape(step)}\.stderr follows:[^\n]*\n"
        r"=========>\n((?:(?:\t[^\n]*)?\n)*)<========="
    )
    blocks = block.findall(text)
    if not blocks:
        return ""
    return "\n".join(line.removeprefix("\t") for line in blocks[-1].splitlines())


def failing_tool_log(stderr: Path) -> Path | None:
    """The log file of the step the engine says failed, if it names one that exists."""
    text = tail_text(stderr)
    step, _ = _failed_job(text)
    path = _tool_logs(text).get(step) if step else None
    return path if path is not None and path.is_file() else None


def _failed_job(text: str) -> tuple[str | None, int | None]:
    exited = _EXITED.search(text)
    if exited:
        return exited[1], int(exited[2])
    failed = _PERMANENT_FAIL.search(text)
    return (failed[1], None) if failed else (None, None)


def _tool_logs(text: str) -> dict[str, Path]:
    """job name -> the file its stderr went to (the ``2> path`` ending its command line)."""
    logs: dict[str, Path] = {}
    job = None
    for line in text.splitlines():
        named = _JOB.search(line)
        if named:
            job = named[1]
        redirect = _LOG_REDIRECT.search(line)
        if job and redirect:
            logs[job] = Path(redirect[1])
    return logs


def tail_text(path: Path, limit: int = TAIL_BYTES) -> str:
    """The last ``limit`` bytes of a log (tool logs of a whole genome run are large)."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - limit))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _last_lines(text: str) -> list[str]:
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    return [line[:160] for line in lines[-TAIL_LINES:]]


def _meaning(failure: EngineFailure) -> str:
    """What an exit status likely means: a signal (137: killed, out of memory?)."""
    status = failure.status
    if status is None:
        return ""
    # 128 + N is a shell's "killed by signal N"; 255 and the like are plain exit codes
    number = -status if status < 0 else status - 128 if 128 < status <= 128 + 64 else 0
    if number == signal.SIGKILL:
        return ": killed (SIGKILL), most likely out of memory"
    if failure.killed:
        return "; a tool in it was killed (SIGKILL), most likely out of memory"
    if number > 0:
        try:
            return f": ended by signal {signal.Signals(number).name}"
        except ValueError:
            return f": ended by signal {number}"
    return ""
