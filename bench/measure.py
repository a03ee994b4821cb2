"""Wall time, CPU time and peak RSS of a benchmark's child process.

The peak RSS is the child's own high-water mark (``VmHWM`` in ``/proc/PID/status``), sampled
every 20 ms until it exits: ``ru_maxrss`` from ``wait4`` would not do, as Linux carries the
parent's high-water mark into the child across fork and exec (a benchmark that built a large
file in memory would see its own size reported as the child's)."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.02


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float  # wall clock from start to exit
    peak_rss_mib: float
    cpu_seconds: float  # user + system


def wait_measured(child: subprocess.Popen[bytes], started: float) -> Measured:
    """Wait for ``child`` (started at ``time.monotonic()`` ``started``), sampling its RSS.
    The child's output must go to files or be drained elsewhere: pipes left unread would
    block it."""
    peak_kib = 0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        peak_kib = max(peak_kib, high_water_kib(child.pid))
        time.sleep(SAMPLE_SECONDS)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Measured(
        child.returncode,
        time.monotonic() - started,
        peak_kib / 1024,
        usage.ru_utime + usage.ru_stime,
    )


def high_water_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM) so far; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
