"""A stub executor beside the real one (dsub's ``stub`` provider): no transfer, no engine.

The scheduler calls it exactly as it calls :class:`~genoflow.server.executor.RunExecutor`, so the
whole run path (API, store, scheduler, state machine) is exercised in-process, in milliseconds.
Its behaviour is set per test: succeed with given outputs, fail with a ``RunFailure`` code, block
until cancelled (or released), or sleep. Every run it saw is recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from genoflow.model.outputs import RunOutput
from genoflow.server.scheduler import Outcome, RunFailure
from genoflow.server.store import StoredRun

Mode = Literal["succeed", "fail", "block", "sleep"]


@dataclass
class StubExecutor:
    """``execute(run, cancel) -> Outcome`` whose outcome the caller configures."""

    mode: Mode = "succeed"
    outputs: tuple[RunOutput, ...] = ()
    bases_processed: int = 300
    failure_message: str = "Error Code [308]: Encountered an unmatched read"
    failure_code: int = 308
    failure_outputs: tuple[RunOutput, ...] = ()  # what a failing run committed (its logs.zip)
    seconds: float = 0.0
    seen: list[StoredRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._started = threading.Condition(self._lock)
        self._release = threading.Event()

    # --- configuration ---------------------------------------------------------------------
    def succeed(self, outputs: Sequence[RunOutput] = ()) -> StubExecutor:
        self.mode, self.outputs = "succeed", tuple(outputs)
        return self

    def fail(self, message: str, code: int) -> StubExecutor:
        self.mode, self.failure_message, self.failure_code = "fail", message, code
        return self

    def block(self) -> StubExecutor:
        """Runs wait until cancelled (or :meth:`release`), then succeed unless cancelled."""
        self.mode = "block"
        self._release.clear()
        return self

    def sleep(self, seconds: float) -> StubExecutor:
        self.mode, self.seconds = "sleep", seconds
        return self

    def release(self) -> None:
        self._release.set()

    # --- observation -----------------------------------------------------------------------
    def wait_started(self, count: int = 1, timeout: float = 10.0) -> bool:
        """True once ``count`` executions have started (re-runs of one run count again)."""
        with self._started:
            return self._started.wait_for(lambda: len(self.seen) >= count, timeout)

    def seen_ids(self) -> list[int]:
        with self._lock:
            return [run.id for run in self.seen]

    # --- the Execute callable --------------------------------------------------------------
    def __call__(self, run: StoredRun, cancel: threading.Event) -> Outcome:
        with self._started:
            self.seen.append(run)
            self._started.notify_all()
        if self.mode == "fail":
            raise RunFailure(self.failure_message, self.failure_code, self.failure_outputs)
        if self.mode == "block":
            while not cancel.is_set() and not self._release.wait(0.01):
                pass
        elif self.mode == "sleep":
            deadline = time.monotonic() + self.seconds
            while not cancel.is_set() and time.monotonic() < deadline:
                time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
        outputs = self.outputs or (RunOutput(f"{run.id}.bam", "bam", 3, "0" * 32, "outputs"),)
        return Outcome(outputs=outputs, bases_processed=self.bases_processed)


__all__ = ["StubExecutor"]
