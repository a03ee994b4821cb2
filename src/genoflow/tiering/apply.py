"""``genoflow tier apply``: carry a plan out with Blob Batch, once, safely, from cron.

Safe to rerun: the plan is computed from the tiers the service reports now, so a rerun after a
crash skips what already moved and finishes the rest. One apply at a time across hosts: a lease
on a lock blob, renewed while working, expiring within a minute if the host dies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from genoflow.errors import GenoflowError, UnavailableError
from genoflow.model import tags as tagnames
from genoflow.redact import redact
from genoflow.tiering.engine import Decision, Plan
from genoflow.tiering.facts import DELETE
from genoflow.tiering.sources import PRIVATE_PREFIX

if TYPE_CHECKING:
    from genoflow.storage.base import BlobStore, Lease

log = logging.getLogger(__name__)

BATCH_LIMIT = 256
LOCK_NAME = PRIVATE_PREFIX + "tier-apply.lock"
LOCK_SECONDS = 30  # a dead host's lock frees itself this fast
LOCK_POLL_SECONDS = 2.0
MAX_ERRORS_SHOWN = 20


class ApplyRunningError(UnavailableError):
    """Another ``genoflow tier apply`` holds the lock."""


class LockGuard:
    """The held apply lock. Once renewing it has failed another host may hold it: stop."""

    def __init__(self) -> None:
        self._lost = threading.Event()
        self._reason = ""

    def lose(self, reason: str) -> None:
        self._reason = reason
        self._lost.set()

    def lost(self) -> str | None:
        """Why the lock is gone, or None while it is held."""
        return self._reason if self._lost.is_set() else None


def _never() -> str | None:
    return None


@dataclass
class ApplyResult:
    changed: int = 0
    changed_bytes: int = 0
    deleted: int = 0
    tagged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def fail(self, count: int, message: str) -> None:
        self.failed += count
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append(redact(message))

    def merge(self, other: ApplyResult) -> None:
        self.changed += other.changed
        self.changed_bytes += other.changed_bytes
        self.deleted += other.deleted
        self.tagged += other.tagged
        self.failed += other.failed
        self.errors.extend(other.errors[: MAX_ERRORS_SHOWN - len(self.errors)])

    @property
    def ok(self) -> bool:
        return self.failed == 0


def apply_plan(
    plan: Plan,
    stores: Mapping[str, BlobStore],
    *,
    workers: int = 4,
    stop: Callable[[], str | None] = _never,
) -> ApplyResult:
    """Write the plan's tags, tier changes and deletes; ``stores`` maps container -> store.

    ``stop`` is asked before each request: once it gives a reason, nothing more is sent and the
    rest counts as failed with that reason (the next run does it)."""
    result = ApplyResult()
    _write_tags(plan, stores, result, stop)
    moves = [d for d in plan.decisions if d.target != DELETE]
    deletes = [d for d in plan.decisions if d.target == DELETE]
    # Batches go out a few at a time: the service works on one while the next is on the wire.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for partial in pool.map(lambda job: _move(stores, job, stop), _batches(moves)):
            result.merge(partial)
    for (container, _), chunk in _batches(deletes):
        reason = stop()
        if reason:
            result.fail(len(chunk), f"{container}: {len(chunk)} delete(s) not sent: {reason}")
            continue
        _delete(stores[container], container, chunk, result)
    return result


def _batches(decisions: Sequence[Decision]) -> Iterator[tuple[tuple[str, str], list[Decision]]]:
    """Chunks of at most 256 decisions sharing a container and a target."""
    groups: dict[tuple[str, str], list[Decision]] = {}
    for decision in decisions:
        groups.setdefault((decision.blob.container, decision.target), []).append(decision)
    for key, group in groups.items():
        for start in range(0, len(group), BATCH_LIMIT):
            yield key, group[start : start + BATCH_LIMIT]


def _move(
    stores: Mapping[str, BlobStore],
    job: tuple[tuple[str, str], list[Decision]],
    stop: Callable[[], str | None],
) -> ApplyResult:
    """One batch of tier changes (runs in a worker thread: returns its own result)."""
    (container, tier), chunk = job
    result = ApplyResult()
    reason = stop()
    if reason:
        result.fail(len(chunk), f"{container}: {len(chunk)} move(s) to {tier} not sent: {reason}")
        return result
    try:
        failures = stores[container].set_tiers(container, [(d.blob.name, tier) for d in chunk])
    except GenoflowError as exc:
        result.fail(len(chunk), f"{container}: set tier {tier}: {exc.one_line()}")
        return result
    failed = {failure.name: failure for failure in failures}
    for decision in chunk:
        failure = failed.get(decision.blob.name)
        if failure is None:
            result.changed += 1
            result.changed_bytes += decision.blob.size
        else:
            result.fail(
                1,
                f"{container}/{failure.name}: {failure.status} "
                f"{failure.error_code or ''} {failure.message}".strip(),
            )
    return result


def _delete(store: BlobStore, container: str, chunk: list[Decision], result: ApplyResult) -> None:
    try:
        failures = store.delete_blobs(container, [d.blob.name for d in chunk])
    except GenoflowError as exc:
        result.fail(len(chunk), f"{container}: delete: {exc.one_line()}")
        return
    failed = {failure.name for failure in failures}
    for failure in failures:
        result.fail(1, f"{container}/{failure.name}: delete {failure.status} {failure.message}")
    for decision in chunk:
        if decision.blob.name not in failed:
            result.deleted += 1
            result.changed_bytes += decision.blob.size


def _write_tags(
    plan: Plan,
    stores: Mapping[str, BlobStore],
    result: ApplyResult,
    stop: Callable[[], str | None],
) -> None:
    for done, update in enumerate(plan.tag_updates):
        reason = stop()
        if reason:
            left = len(plan.tag_updates) - done
            result.fail(left, f"{left} tag write(s) not sent: {reason}")
            return
        blob = update.blob
        try:
            stores[blob.container].set_tags(
                blob.container, blob.name, update.tags, accumulate={tagnames.RUN_ID}
            )
            result.tagged += 1
        except GenoflowError as exc:
            result.fail(1, f"{blob.container}/{blob.name}: tags: {exc.one_line()}")


@contextmanager
def apply_lock(
    store: BlobStore,
    container: str,
    *,
    seconds: int = LOCK_SECONDS,
    wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[LockGuard]:
    """Hold the apply lock (a blob lease) for the duration, renewing it in the background.

    When another holder has it, retry for up to ``wait`` seconds (a crashed host's lease
    expires within ``seconds``), then raise ApplyRunningError. If a renewal fails, the guard
    says so and the caller stops sending. A failed release is only logged: the lease expires.
    """
    store.ensure_container(container)
    lease = _acquire(store, container, seconds, clock() + wait, sleep, clock)
    guard = LockGuard()
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew,
        args=(lease.renew, stop, seconds / 3, guard),
        name="genoflow-lock-renewer",
        daemon=True,
    )
    renewer.start()
    try:
        yield guard
    finally:
        stop.set()
        renewer.join()
        try:
            lease.release()
        except GenoflowError as exc:
            log.warning("%s (it expires within %d s)", exc.one_line(), seconds)


def _acquire(
    store: BlobStore,
    container: str,
    seconds: int,
    deadline: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Lease:
    from genoflow.backoff import Clock, Retrier
    from genoflow.storage.base import LockHeldError

    # A held lease is polled every LOCK_POLL_SECONDS (jittered, so two waiting hosts do not
    # ask in step) until ``deadline``; transient storage faults are retried by the store.
    poll = _LockPoll(total_seconds=max(0.0, deadline - clock()))
    retrier = Retrier(poll, Clock(clock, sleep))
    while True:
        try:
            return store.acquire_lock(container, LOCK_NAME, seconds)
        except LockHeldError:
            if not retrier.wait():
                raise ApplyRunningError(
                    f"another apply is running: the lock {container}/{LOCK_NAME} is leased",
                    hint=f"it is released when that apply ends, or expires {seconds} s after "
                    "its host died; this run changed nothing",
                ) from None


@dataclass(frozen=True)
class _LockPoll:
    """The lock wait as a retry budget: as many polls as fit in ``total_seconds``."""

    total_seconds: float
    attempts: int = 1_000_000
    initial_delay: float = LOCK_POLL_SECONDS
    max_delay: float = LOCK_POLL_SECONDS


def _renew(
    renew: Callable[[], None], stop: threading.Event, every: float, guard: LockGuard
) -> None:
    while not stop.wait(every):
        try:
            renew()
        except GenoflowError as exc:
            guard.lose(f"the apply lock was lost ({exc.one_line()})")
            return


def stopped_summary(error: str, seconds: float) -> dict[str, Any]:
    """The cron line of an apply that stopped before it could report counts."""
    return {
        "event": "genoflow-tier-apply",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "ok": False,
        "error": redact(error),
        "seconds": round(seconds, 3),
    }


def summary(plan: Plan, result: ApplyResult | None, seconds: float) -> dict[str, Any]:
    """The one JSON line cron logs get."""
    return {
        "event": "genoflow-tier-apply" if result is not None else "genoflow-tier-plan",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "ok": result.ok if result is not None else True,
        "scanned": plan.scanned_blobs,
        "planned": len(plan.decisions),
        "planned_bytes": plan.bytes_changed,
        "changed": result.changed if result else 0,
        "deleted": result.deleted if result else 0,
        "changed_bytes": result.changed_bytes if result else 0,
        "tagged": result.tagged if result else 0,
        "failed": result.failed if result else 0,
        "held": dict(plan.held),
        "cost_before": round(plan.cost_before, 4),
        "cost_after": round(plan.cost_after, 4),
        "early_deletion": round(plan.early_deletion, 4),
        "transition_cost": round(plan.transition_cost, 4),
        "errors": result.errors if result else [],
        "seconds": round(seconds, 3),
    }
