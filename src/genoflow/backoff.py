"""Retries in one place (pure: no I/O of its own): which faults are transient, how long to wait.

- :data:`TRANSIENT_STATUSES`: the HTTP answers worth another try;
- :func:`transient_exception`: network faults worth another try (resets, timeouts, cut bodies);
- :class:`Retrier`: one operation's budget (``attempts`` tries within ``total_seconds``), waits
  with "equal jitter" (half of the capped exponential delay fixed, half random), ``Retry-After``
  honoured, on an injectable :class:`Clock` so wait loops are tested in microseconds.

Every retry loop uses it: storage (the SDK's pipeline, blob batches and the ranged download's
mid-body resets), the service HTTP client (``protocols.http``; a refused connection is not
retried here but reported after one quick retry), the submit's lost-answer check, and the
tiering apply's wait for a held lock. The wait loop (``orchestration.runs.Waiter``) polls on its
own interval and leaves faults to the HTTP client's budget.
"""

from __future__ import annotations

import email.utils
import errno
import http.client
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# An endpoint never reached that refuses the connection is tried once more after this long.
QUICK_RETRY_SECONDS = 0.3


class RetrySettings(Protocol):
    """What a retry budget is made of (``genoflow.config.schema.RetryConfig`` has these)."""

    @property
    def attempts(self) -> int: ...
    @property
    def initial_delay(self) -> float: ...
    @property
    def max_delay(self) -> float: ...
    @property
    def total_seconds(self) -> float: ...


@dataclass(frozen=True)
class Clock:
    """Time as the retry loop sees it; tests pass a fake one."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


SYSTEM_CLOCK = Clock()


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds to wait: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def transient_exception(exc: BaseException) -> bool:
    """A network fault another try may get past: reset, refused, timed out, body cut short."""
    if isinstance(exc, http.client.HTTPException | ConnectionError | TimeoutError):
        return True
    # urllib3's protocol/read errors wrap the socket error (urllib3 is not imported here)
    cause = exc.__cause__ or exc.__context__
    return type(exc).__module__.startswith("urllib3") or (
        cause is not None and cause is not exc and transient_exception(cause)
    )


_NO_ROUTE = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH})


def unreachable(exc: BaseException) -> bool:
    """A connection that could not be made at all: refused, no route, host name unknown.

    Backing off does not cure these when nothing was ever reached (a wrong URL, a stopped
    service): callers give one quick retry, then say so.
    """
    return unreachable_reason(exc) is not None


def unreachable_reason(exc: BaseException) -> str | None:
    """Why no connection could be made, in a few words ("connection refused", "host name not
    resolved", "no route to host"), or None when one was. Follows the wrapping of requests,
    urllib3 and azure-core (``__cause__``, ``__context__``, ``reason``, ``inner_exception``)."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "host name not resolved"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, OSError) and current.errno in _NO_ROUTE:
            return (
                "connection refused" if current.errno == errno.ECONNREFUSED else "no route to host"
            )
        pending += [current.__cause__, current.__context__, *current.args[:1]]
        pending += [getattr(current, "reason", None), getattr(current, "inner_exception", None)]
    return None


def equal_jitter(
    settings: RetrySettings,
    attempt: int,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """The wait before retry number ``attempt`` (1-based): exponential, capped, equal jitter."""
    ceiling = float(min(settings.max_delay, settings.initial_delay * 2 ** (attempt - 1)))
    return ceiling / 2 + uniform(0, ceiling / 2)


@dataclass
class Retrier:
    """The retry budget of one operation: call :meth:`wait` after each failed try.

    ``wait`` sleeps before the next try and returns True, or returns False (without sleeping)
    when the tries or the time are used up: then the caller re-raises.
    """

    settings: RetrySettings
    clock: Clock = SYSTEM_CLOCK
    uniform: Callable[[float, float], float] = random.uniform
    tries: int = 1  # the first try is under way when the retrier is made
    started: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock.monotonic()

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """The wait before the next try, or None when the budget is spent."""
        if self.tries >= self.settings.attempts:
            return None
        if retry_after is not None:
            delay = retry_after
        else:
            delay = equal_jitter(self.settings, self.tries, self.uniform)
        spent = self.clock.monotonic() - self.started
        if spent + delay > self.settings.total_seconds:
            return None
        return delay

    def wait(self, retry_after: float | None = None) -> bool:
        delay = self.next_delay(retry_after)
        if delay is None:
            return False
        self.clock.sleep(delay)
        self.tries += 1
        return True
