"""The apply lock's wait runs on genoflow.backoff's Retrier: polls a held lease, jittered, until
the deadline, on an injected clock (no sleeping)."""

from __future__ import annotations

from typing import Any

import pytest

from genoflow.storage.base import LockHeldError
from genoflow.tiering.apply import LOCK_POLL_SECONDS, ApplyRunningError, _acquire
from tests.protocols.helpers import FakeClock


class HeldLock:
    """A store whose lock is held by someone else for the first ``held`` tries."""

    def __init__(self, held: int) -> None:
        self.held = held
        self.tries = 0

    def acquire_lock(self, container: str, name: str, seconds: int) -> Any:
        self.tries += 1
        if self.tries <= self.held:
            raise LockHeldError("held", status=409)
        return "lease"


def test_a_held_lock_is_polled_until_it_is_free():
    clock = FakeClock()
    store = HeldLock(held=3)
    lease = _acquire(store, "c", 15, clock.now + 30, clock.sleep, clock.time)  # type: ignore[arg-type]
    assert lease == "lease" and store.tries == 4
    assert all(LOCK_POLL_SECONDS / 2 <= s <= LOCK_POLL_SECONDS for s in clock.sleeps)


def test_the_wait_ends_at_the_deadline():
    clock = FakeClock()
    store = HeldLock(held=1000)
    with pytest.raises(ApplyRunningError, match="another apply is running"):
        _acquire(store, "c", 15, clock.now + 20, clock.sleep, clock.time)  # type: ignore[arg-type]
    assert sum(clock.sleeps) <= 20 and store.tries >= 10


def test_no_wait_asked_means_one_try():
    clock = FakeClock()
    store = HeldLock(held=1)
    with pytest.raises(ApplyRunningError):
        _acquire(store, "c", 15, clock.now, clock.sleep, clock.time)  # type: ignore[arg-type]
    assert store.tries == 1 and clock.sleeps == []
