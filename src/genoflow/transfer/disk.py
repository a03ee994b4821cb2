"""Local disk space for downloads: free space, preallocation, and the disk-full error.

A download checks the free space before it starts and preallocates its ``.part`` file, so a
full disk shows up front; where the filesystem cannot preallocate, a full disk midway raises
the same error. :class:`DiskFullError` is an ``OSError`` (``ENOSPC``) so that callers that
already handle a full disk (the server's executor) keep doing so; the CLI turns it into
:class:`NoSpaceError` (exit 6).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from pathlib import Path

from genoflow.errors import ExitCode, GenoflowError
from genoflow.units import format_size

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_fallocate = getattr(_libc, "fallocate64", None) or getattr(_libc, "fallocate", None)
if _fallocate is not None:
    _fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    _fallocate.restype = ctypes.c_int


def free_bytes(directory: Path) -> int:
    """Bytes an unprivileged writer may still use in ``directory``'s filesystem."""
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def preallocate(fd: int, size: int) -> bool:
    """Reserve ``size`` bytes for ``fd`` (Linux fallocate, no zero-filling emulation).

    False where the filesystem cannot (the file then stays sparse); raises OSError(ENOSPC)
    when the space is not there.
    """
    if _fallocate is None or size == 0:
        return False
    if _fallocate(fd, 0, 0, size) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
        return False
    raise OSError(code, os.strerror(code))


class DiskFullError(OSError):
    """Not enough space for a download; what was written is kept for a rerun."""

    def __init__(self, part: Path, needed: int, free: int) -> None:
        super().__init__(errno.ENOSPC, os.strerror(errno.ENOSPC), str(part))
        self.part, self.needed, self.free = part, needed, free

    def one_line(self) -> str:
        return (
            f"no space left in {self.part.parent} for {self.part.name}: needs "
            f"{format_size(self.needed)} more, {format_size(self.free)} free"
        )


class NoSpaceError(GenoflowError):
    """The CLI's form of :class:`DiskFullError` (exit 6)."""

    exit_code = ExitCode.UNAVAILABLE

    @classmethod
    def of(cls, exc: DiskFullError) -> NoSpaceError:
        return cls(
            exc.one_line(),
            hint="free some space (or choose another -o) and run the same command again: "
            "it resumes from the partial file",
        )
