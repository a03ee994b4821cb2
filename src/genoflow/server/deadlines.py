"""A run's storage steps under its cancel event and its storage deadline.

Each step (an existence check, one input read, one output write) runs in a helper thread; the
run's own thread waits on it, the cancel event and the deadline. A socket blocked on a host that
never answers therefore holds neither the run nor its scheduler slot: the run ends at once and
the helper is abandoned. An abandoned helper is bounded by the per-request timeouts and the retry
budget, and the ``stop`` event it was handed makes it send no further block and never commit a
blob or rename a download into place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from genoflow.server.scheduler import RunFailure

T = TypeVar("T")
CODE_STORAGE_DEADLINE = 105
_POLL_SECONDS = 0.2


class RunCancelled(Exception):
    """The run's cancel event was set during a storage step (the scheduler marks it Cancelled)."""


@dataclass(frozen=True)
class StorageStep:
    """What a step does and where, for its failure message (never a SAS)."""

    what: str  # e.g. "reading input x_1.fq.gz"
    account: str
    endpoint: str

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).netloc or self.endpoint

    def describe(self) -> str:
        return f"{self.what} (account {self.account} at {self.host})"


class StorageBudget:
    """The run's storage deadline, spent only while a storage step runs."""

    def __init__(
        self,
        cancel: threading.Event,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cancel = cancel
        self.stop = threading.Event()  # handed to transfers: stop between blocks, never commit
        self.seconds = seconds
        self._left = seconds
        self._clock = clock

    def run(self, step: StorageStep, work: Callable[[], T]) -> T:
        """``work()`` in a helper thread; its result or exception, unless the run is cancelled
        (:class:`RunCancelled`) or the deadline passes (:class:`RunFailure`, code 105) first."""
        if self.cancel.is_set():
            self.stop.set()
            raise RunCancelled
        helper = _Helper(work)
        started = self._clock()
        helper.start(name=f"storage: {step.what}"[:60])
        while not helper.done.wait(_POLL_SECONDS):
            if self.cancel.is_set():
                self.stop.set()
                raise RunCancelled
            if self._clock() - started >= self._left:
                self.stop.set()
                raise self._expired(step)
        self._left -= self._clock() - started
        return helper.result()

    def _expired(self, step: StorageStep) -> RunFailure:
        return RunFailure(
            f"Error Code [{CODE_STORAGE_DEADLINE}]: storage did not answer in time while "
            f"{step.describe()}: the run's storage deadline of {self.seconds:g} s "
            "(transfer_deadline_seconds) passed; nothing was committed",
            CODE_STORAGE_DEADLINE,
        )


class _Helper(Generic[T]):
    """One helper thread and what it returned or raised."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self.done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def start(self, name: str) -> None:
        threading.Thread(target=self._target, name=name, daemon=True).start()

    def _target(self) -> None:
        try:
            self._value = self._work()
        except BaseException as exc:  # handed to the waiting run thread
            self._error = exc
        finally:
            self.done.set()

    def result(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when no error was raised
