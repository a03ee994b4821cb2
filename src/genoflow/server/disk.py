"""Disk space for runs: the check before a run starts, and disk-full errors named by step."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from genoflow.server.engine import NO_SPACE
from genoflow.server.scheduler import RunFailure

CODE_DISK_FULL = 104
GIB = 1024**3
_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(count: float) -> str:
    """``1536`` -> ``1.5 KiB``; whole bytes below 1 KiB."""
    unit = 0
    while count >= 1024 and unit < len(_UNITS) - 1:
        count /= 1024
        unit += 1
    return f"{int(count)} bytes" if unit == 0 else f"{count:.1f} {_UNITS[unit]}"


def free_bytes(directory: Path) -> int:
    """Bytes an unprivileged process may still write under ``directory``."""
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def needed_bytes(input_bytes: int, factor: float, minimum_gib: float) -> int:
    """Inputs, the BAM and the sort's temporary files scale with the input size."""
    return int(input_bytes * factor + minimum_gib * GIB)


def check_free_space(directory: Path, needed: int) -> None:
    """Fail the run (code 104) when ``directory`` has less than ``needed`` bytes free."""
    free = free_bytes(directory)
    if free < needed:
        raise RunFailure(
            f"Error Code [{CODE_DISK_FULL}]: not enough disk space in {directory}: needed "
            f"~{human_size(needed)}, free {human_size(free)}",
            CODE_DISK_FULL,
        )


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def disk_full(step: str, directory: Path) -> RunFailure:
    """The failure of a run whose ``step`` ran out of space in ``directory``."""
    try:
        free = f"; free now {human_size(free_bytes(directory))}"
    except OSError:
        free = ""
    return RunFailure(
        f"Error Code [{CODE_DISK_FULL}]: disk full in {directory} while {step} ({NO_SPACE}){free}",
        CODE_DISK_FULL,
    )
