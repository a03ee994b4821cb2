"""The scheduler: runs queued runs, at most ``max_concurrent_runs`` at a time, in worker threads.

Each run's work (download, checks, engine, upload) is done by an ``execute`` callable; the
scheduler owns only the state machine around it: QUEUED -> RUNNING -> SUCCEEDED | FAILED, and
cancellation (QUEUED -> CANCELLED at once; RUNNING -> CANCELLING -> CANCELLED once the engine's
process group is gone). On start it recovers runs a previous server left in flight. A graceful
stop re-queues the runs it interrupts without counting the attempt (only crashes count). A final
state write the store refuses is kept and retried in the background until it lands, so a run is
never left "In progress" after its end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genoflow.model.outputs import RunOutput
from genoflow.model.runs import RunState
from genoflow.server.engine import stop_leftover_group
from genoflow.server.store import RunStore, StoredRun, StoreUnavailable, utcnow

log = logging.getLogger(__name__)

# A run interrupted by a server crash is re-queued this many times, then failed.
MAX_ATTEMPTS = 2
RESTART_FAILURE_CODE = 900
# Seconds between background attempts of a final state write the store refused.
REPAIR_INTERVAL = 2.0


class RunFailure(Exception):
    """Raised by an execution to fail its run with an old-service style message and code;
    ``outputs``: what it committed all the same (its logs.zip), recorded with the failure."""

    def __init__(self, message: str, code: int, outputs: tuple[RunOutput, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.outputs = outputs


@dataclass(frozen=True)
class Outcome:
    outputs: tuple[RunOutput, ...]  # as committed; a cancelled run's may hold its logs.zip
    bases_processed: int
    message: str | None = None


Execute = Callable[[StoredRun, threading.Event], Outcome]


class Scheduler:
    def __init__(
        self,
        store: RunStore,
        execute: Execute,
        *,
        max_concurrent: int,
        workdir_of: Callable[[int], Path],
        repair_interval: float = REPAIR_INTERVAL,
        release_leftovers: Callable[[Sequence[Path]], object] | None = None,
    ) -> None:
        self._store = store
        # Jobs a dead server's engine handed to a batch system (Slurm) outlive its process group;
        # released for all of its runs' work dirs at once (one scancel, one wait).
        self._release_leftovers = release_leftovers
        self._repair_interval = repair_interval
        # run id -> (expected states, changes) of a final write still to be made
        self._pending: dict[int, tuple[Sequence[RunState], Mapping[str, Any]]] = {}
        self._repairer = threading.Thread(target=self._repair, name="repair", daemon=True)
        self._execute = execute
        self._max = max_concurrent
        self._workdir_of = workdir_of
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._cancels: dict[int, threading.Event] = {}
        self._workers: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()
        self._dispatcher = threading.Thread(target=self._dispatch, name="dispatcher", daemon=True)

    def start(self) -> None:
        self.recover()
        self._dispatcher.start()
        self._repairer.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop dispatching; cancel running engines (their runs are re-queued on next start)."""
        self._stopping.set()
        self._wake.set()
        # the dispatcher first: once it has ended no worker starts, and it no longer reads the
        # store (which the caller closes next)
        for thread in (self._dispatcher, self._repairer):
            if thread.is_alive():
                thread.join(timeout)
        with self._lock:
            events, workers = list(self._cancels.values()), list(self._workers.values())
        for event in events:
            event.set()
        for worker in workers:
            worker.join(timeout)
        self._flush_pending()  # a last attempt; what is still pending is recovered on start

    def notify(self) -> None:
        """A run was queued."""
        self._wake.set()

    def cancel(self, run_id: int) -> StoredRun:
        """Idempotent: a finished run stays as it is."""
        now = utcnow()
        queued = self._store.transition(
            run_id,
            [RunState.QUEUED],
            state=RunState.CANCELLED,
            message="Cancelled before it started",
            ended=now,
        )
        if queued is not None:
            return queued
        running = self._store.transition(
            run_id, [RunState.RUNNING], state=RunState.CANCELLING, message="Cancellation requested"
        )
        with self._lock:
            event = self._cancels.get(run_id)
        if event is not None:
            event.set()
        return running or self._store.get(run_id)

    def recover(self) -> None:
        """Runs a dead server left RUNNING are re-queued (or failed after MAX_ATTEMPTS)."""
        runs = self._store.list_runs(states=[RunState.RUNNING, RunState.CANCELLING])
        for run in runs:
            if stop_leftover_group(run.engine_pgid, self._workdir_of(run.id)):
                log.warning("run %s: stopped the engine a previous server left running", run.id)
        if runs and self._release_leftovers is not None:
            self._release_leftovers([self._workdir_of(run.id) for run in runs])
        for run in runs:
            if run.state is RunState.CANCELLING:
                self._store.update(
                    run.id,
                    state=RunState.CANCELLED,
                    ended=utcnow(),
                    message="Cancelled (the server restarted meanwhile)",
                    engine_pgid=None,
                )
            elif run.attempts >= MAX_ATTEMPTS:
                self._store.update(
                    run.id,
                    state=RunState.FAILED,
                    ended=utcnow(),
                    engine_pgid=None,
                    failure_code=RESTART_FAILURE_CODE,
                    message=f"Error Code [{RESTART_FAILURE_CODE}]: the server stopped during "
                    f"the run {run.attempts} times; giving up",
                )
            else:
                self._store.update(
                    run.id,
                    state=RunState.QUEUED,
                    engine_pgid=None,
                    message="Re-queued: the server restarted during the run",
                )
                log.warning("run %s: re-queued after a server restart", run.id)

    def active(self) -> int:
        with self._lock:
            return len(self._workers)

    def pending_writes(self) -> int:
        """Final state writes the store refused, still being retried (shown by /health)."""
        with self._lock:
            return len(self._pending)

    def _dispatch(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                self._dispatch_queued()
            except StoreUnavailable as exc:  # the queue waits; the next wake-up tries again
                log.warning("dispatcher: %s", exc)

    def _dispatch_queued(self) -> None:
        while not self._stopping.is_set() and self.active() < self._max:
            run = self._claim_next()
            if run is None:
                return
            self._start_worker(run)

    def _claim_next(self) -> StoredRun | None:
        while True:
            candidate = self._store.next_queued()
            if candidate is None:
                return None
            claimed = self._store.transition(
                candidate.id,
                [RunState.QUEUED],
                state=RunState.RUNNING,
                started=utcnow(),
                attempts=candidate.attempts + 1,
                message="In progress",
            )
            if claimed is not None:
                return claimed

    def _start_worker(self, run: StoredRun) -> None:
        log.info("run %s: started (attempt %s)", run.id, run.attempts)
        cancel = threading.Event()
        worker = threading.Thread(
            target=self._work, args=(run, cancel), name=f"run-{run.id}", daemon=True
        )
        with self._lock:
            self._cancels[run.id] = cancel
            self._workers[run.id] = worker
            worker.start()  # under the lock: stop() never sees a worker it cannot join

    def _work(self, run: StoredRun, cancel: threading.Event) -> None:
        try:
            self._finish(run, cancel)
            ended = self._store.get(run.id)
            log.info("run %s: %s: %s", run.id, ended.state.value, ended.message)
        except StoreUnavailable as exc:
            log.warning("run %s: %s", run.id, exc)
        finally:
            with self._lock:
                self._cancels.pop(run.id, None)
                self._workers.pop(run.id, None)
            self._wake.set()

    def _finish(self, run: StoredRun, cancel: threading.Event) -> None:
        try:
            outcome = self._execute(run, cancel)
        except RunFailure as failure:
            self._end(
                run.id, cancel, RunState.FAILED, failure.message, failure.code, failure.outputs
            )
            return
        except Exception as exc:  # the run fails, the server lives on
            log.exception("run %s: internal error", run.id)
            self._end(
                run.id,
                cancel,
                RunState.FAILED,
                f"Error Code [999]: internal server error: {type(exc).__name__}",
                999,
            )
            return
        if cancel.is_set():
            self._end(run.id, cancel, RunState.CANCELLED, "Cancelled", 0, outcome.outputs)
            return
        # From CANCELLING too: a cancel that came after the work was done changes nothing.
        self._final_write(
            run.id,
            [RunState.RUNNING, RunState.CANCELLING],
            state=RunState.SUCCEEDED,
            ended=utcnow(),
            outputs=outcome.outputs,
            engine_pgid=None,
            bases_processed=outcome.bases_processed,
            message=outcome.message or "Completed successfully",
        )

    def _end(
        self,
        run_id: int,
        cancel: threading.Event,
        state: RunState,
        message: str,
        code: int,
        outputs: tuple[RunOutput, ...] = (),
    ) -> None:
        if self._stopping.is_set() and cancel.is_set():
            self._requeue_on_stop(run_id)
            return
        if cancel.is_set():
            state, message, code = RunState.CANCELLED, "Cancelled", 0
        self._final_write(
            run_id,
            [RunState.RUNNING, RunState.CANCELLING],
            state=state,
            ended=utcnow(),
            message=message,
            failure_code=code,
            engine_pgid=None,
            **({"outputs": outputs} if outputs else {}),
        )

    def _requeue_on_stop(self, run_id: int) -> None:
        """A graceful stop is not a crash: the run goes back to the queue, this attempt not
        counted (a run whose cancel was asked for ends cancelled)."""
        try:
            run = self._store.get(run_id)
            if run.state is RunState.CANCELLING:
                self._final_write(
                    run_id,
                    [RunState.CANCELLING],
                    state=RunState.CANCELLED,
                    ended=utcnow(),
                    message="Cancelled",
                    engine_pgid=None,
                )
                return
            self._store.transition(
                run_id,
                [RunState.RUNNING],
                state=RunState.QUEUED,
                attempts=max(0, run.attempts - 1),
                engine_pgid=None,
                message="Re-queued: the server stopped during the run",
            )
            log.warning("run %s: re-queued (the server is stopping)", run_id)
        except StoreUnavailable as exc:  # left RUNNING: recovered (as a crash) on next start
            log.warning("run %s: could not re-queue it: %s", run_id, exc)

    # --- final writes the store refused -------------------------------------------------
    def _final_write(self, run_id: int, expected: Sequence[RunState], **changes: Any) -> None:
        try:
            self._store.transition(run_id, expected, **changes)
        except StoreUnavailable as exc:
            log.warning("run %s: its end could not be recorded (%s); retrying", run_id, exc)
            with self._lock:
                self._pending[run_id] = (expected, changes)

    def _repair(self) -> None:
        while not self._stopping.wait(self._repair_interval):
            if self.pending_writes():
                self._flush_pending()

    def _flush_pending(self) -> None:
        with self._lock:
            pending = list(self._pending.items())
        for run_id, (expected, changes) in pending:
            try:
                self._store.transition(run_id, expected, **changes)
            except StoreUnavailable:
                continue
            with self._lock:
                self._pending.pop(run_id, None)
            log.warning("run %s: its end is recorded now", run_id)
