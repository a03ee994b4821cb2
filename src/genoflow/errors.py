"""The exception tree and the exit codes it maps to.

Every error genoflow raises on purpose derives from :class:`GenoflowError` and carries the exit
code the CLI returns for it. The CLI (``genoflow.cli.main``) is the one place that turns an
exception into a one-line message and that code; library code only raises.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes: stable, documented in README.md and docs/exit-codes.md."""

    OK = 0
    INTERNAL = 1  # a bug: please report it, with --debug output
    USAGE = 2  # bad command line, config or input, detected before anything was sent
    RUN_FAILED = 3  # the workflow ran and failed
    RUN_CANCELLED = 4  # the workflow was cancelled
    TIMEOUT = 5  # gave up waiting (genoflow wait --timeout)
    UNAVAILABLE = 6  # service or storage unreachable / failing after retries
    AUTH = 7  # authentication or permission refused
    INTEGRITY = 8  # checksum mismatch, truncated or corrupt data
    QC_FAILED = 9  # genoflow qc: a run's QC is outside the lab's thresholds (qc.thresholds)
    QUEUED = 10  # status: the run is queued (as the old msgen client)
    IN_PROGRESS = 20  # status: the run is in progress (as the old msgen client)
    INTERRUPTED = 130  # Ctrl-C / SIGINT


class GenoflowError(Exception):
    """Base of every deliberate genoflow error.

    ``message`` is one line that says what is wrong; ``hint`` (optional) says how to fix it.
    """

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())


class UsageError(GenoflowError):
    """Bad arguments or input detected before anything was sent."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The configuration is malformed, incomplete or inconsistent."""


class InputError(UsageError):
    """A local input file or blob is not what it must be (e.g. not FASTQ)."""


class RunFailedError(GenoflowError):
    exit_code = ExitCode.RUN_FAILED


class RunCancelledError(GenoflowError):
    exit_code = ExitCode.RUN_CANCELLED


class WaitTimeoutError(GenoflowError):
    exit_code = ExitCode.TIMEOUT


class UnavailableError(GenoflowError):
    """The service or storage could not be reached, or kept failing after retries."""

    exit_code = ExitCode.UNAVAILABLE


class AuthError(GenoflowError):
    """Credentials were refused or lack a permission."""

    exit_code = ExitCode.AUTH


class IntegrityError(GenoflowError):
    """Data did not verify: checksum mismatch, truncated transfer, corrupt file."""

    exit_code = ExitCode.INTEGRITY


class ServiceError(GenoflowError):
    """The service answered with an error that is not one of the specific kinds above.

    Carries the HTTP status so callers can branch on it (e.g. 404 = no such run).
    """

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class NotFoundError(ServiceError):
    """A run, blob or container that does not exist."""

    exit_code = ExitCode.USAGE
