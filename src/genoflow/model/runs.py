"""The one model of a run that both protocols map onto, and the filters used to list runs.

Pure: no I/O. Each protocol's ``wire`` module owns the table from its own states to
:class:`RunState`; everything above the protocols (CLI, wait, tiering) only sees this model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from genoflow.errors import ExitCode
from genoflow.model import tags
from genoflow.model.outputs import RunOutput
from genoflow.units import iso_z


class RunState(str, Enum):
    """The state of a run, whatever protocol reported it."""

    UNKNOWN = "unknown"
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def display_name(self) -> str:
        """The name the old service used (what scripts grep for: "Failed", "Cancelled"...)."""
        return _DISPLAY_NAMES[self]

    @property
    def exit_code(self) -> ExitCode:
        """What ``genoflow status`` returns for a run in this state (the old client's codes)."""
        return _EXIT_CODES[self]


TERMINAL_STATES = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})

_DISPLAY_NAMES = {
    RunState.UNKNOWN: "Unknown",
    RunState.QUEUED: "Queued",
    RunState.RUNNING: "In progress",
    RunState.CANCELLING: "Cancellation requested",
    RunState.SUCCEEDED: "Completed successfully",
    RunState.FAILED: "Failed",
    RunState.CANCELLED: "Cancelled",
}

_EXIT_CODES = {
    RunState.UNKNOWN: ExitCode.IN_PROGRESS,
    RunState.QUEUED: ExitCode.QUEUED,
    RunState.RUNNING: ExitCode.IN_PROGRESS,
    RunState.CANCELLING: ExitCode.IN_PROGRESS,
    RunState.SUCCEEDED: ExitCode.OK,
    RunState.FAILED: ExitCode.RUN_FAILED,
    RunState.CANCELLED: ExitCode.RUN_CANCELLED,
}

# When several runs are reported at once, the exit code of the most alarming one wins.
_EXIT_PRIORITY = (
    ExitCode.RUN_FAILED,
    ExitCode.RUN_CANCELLED,
    ExitCode.IN_PROGRESS,
    ExitCode.QUEUED,
    ExitCode.OK,
)


def combined_exit_code(states: list[RunState]) -> ExitCode:
    codes = {state.exit_code for state in states}
    return next((code for code in _EXIT_PRIORITY if code in codes), ExitCode.OK)


@dataclass(frozen=True)
class Run:
    """One run as genoflow sees it. ``id`` is a string for both protocols (msgenomics ids are
    integers on the wire)."""

    id: str
    state: RunState
    message: str | None = None
    failure_code: int | None = None
    created: datetime | None = None
    ended: datetime | None = None
    description: str | None = None
    process: str | None = None
    sample: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    # What the producer recorded for each committed output (both protocols carry it).
    outputs: tuple[RunOutput, ...] = ()
    # A WES server's ``outputs`` as it answered them, unparsed (foreign servers list files
    # in their own shapes; consumers look for blob URLs in it).
    output_document: Any = None
    bases_processed: int | None = None
    input_container: str | None = None  # where ``inputs`` are, when the service says
    summary: bool = False  # from a listing that leaves out inputs, outputs and bases
    service: str | None = None  # the identity of the service that holds the run

    def output(self, kind: str) -> RunOutput | None:
        """The recorded output of ``kind``, if there is one."""
        return next((output for output in self.outputs if output.kind == kind), None)

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, state={self.state.value})"

    @property
    def wall_time(self) -> timedelta | None:
        if self.created is None or self.ended is None:
            return None
        return self.ended - self.created

    def to_dict(self) -> dict[str, Any]:
        """The run record (schemas/run.schema.json): stable keys, ISO 8601 UTC times with Z."""
        wall = self.wall_time
        return {
            "id": self.id,
            "state": self.state.value,
            "state_name": self.state.display_name,
            "message": self.message,
            "failure_code": self.failure_code,
            "created": iso_z(self.created),
            "ended": iso_z(self.ended),
            "wall_seconds": round(wall.total_seconds()) if wall is not None else None,
            "description": self.description,
            "process": self.process,
            "sample": self.sample,
            # Tags that restate a field (sample, process, description: WES carries them as
            # tags, the Microsoft Genomics API as fields) are left out, and so is a WES
            # server's raw outputs document: one run reads as the same record over both.
            "tags": {k: v for k, v in self.tags.items() if k not in _FIELD_TAGS},
            "inputs": list(self.inputs),
            "outputs": [output.to_dict() for output in self.outputs],
            "service": self.service,
            "bases_processed": self.bases_processed,
        }


# the WES wire's sample, PROCESS_TAG and DESCRIPTION_TAG tags
_FIELD_TAGS = frozenset({tags.SAMPLE, "genoflow-process", "genoflow-description"})


class Outcome(str, Enum):
    pass_ = "pass"
    fail = "fail"


@dataclass(frozen=True)
class RunFilters:
    """What ``list`` asks for. Protocols push what their server understands to the server and
    the rest is applied by :meth:`matches` on the client."""

    states: frozenset[RunState] = frozenset()
    description: str | None = None
    process: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # created at or before (client-side)
    newest_first: bool = True

    def matches(self, run: Run) -> bool:
        if self.states and run.state not in self.states:
            return False
        if self.description and self.description not in (run.description or ""):
            return False
        if self.process and self.process not in (run.process or ""):
            return False
        if self.until and run.created and run.created > self.until:
            return False
        return not (self.since and run.created and run.created < self.since)


OUTCOME_STATES = {Outcome.pass_: RunState.SUCCEEDED, Outcome.fail: RunState.FAILED}


# --- time helpers shared by both wire formats ---------------------------------------------------


def format_duration(delta: timedelta | None) -> str:
    """``0h 26m 21s``, the old client's wall-clock format."""
    if delta is None:
        return ""
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds // 3600}h {seconds % 3600 // 60}m {seconds % 60}s"


def format_bases(bases: int | None) -> str:
    """``1,348,613,600 (1 GBase)``, the old client's format."""
    if bases is None:
        return ""
    return f"{bases:,} ({bases // 1_000_000_000} GBase)"
