"""Waiting for a service, with an injected clock: no real sleeping."""

from __future__ import annotations

from genoflow.local.processes import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_returns_once_the_check_passes() -> None:
    clock = FakeClock()
    ready_at = 3.0
    ok = wait_until(
        lambda: clock.now >= ready_at,
        timeout=10,
        alive=lambda: True,
        interval=0.5,
        sleep=clock.sleep,
        clock=clock.time,
    )
    assert ok and clock.now == ready_at and len(clock.sleeps) == 6


def test_wait_until_gives_up_at_the_timeout() -> None:
    clock = FakeClock()
    ok = wait_until(
        lambda: False,
        timeout=2,
        alive=lambda: True,
        interval=0.5,
        sleep=clock.sleep,
        clock=clock.time,
    )
    assert not ok and clock.now == 2.0


def test_wait_until_stops_early_when_the_process_died() -> None:
    clock = FakeClock()
    ok = wait_until(
        lambda: False,
        timeout=60,
        alive=lambda: clock.now < 1.0,
        interval=0.5,
        sleep=clock.sleep,
        clock=clock.time,
    )
    assert not ok and clock.now == 1.0
