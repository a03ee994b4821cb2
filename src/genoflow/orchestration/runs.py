"""list / status / wait / cancel on top of a ServiceClient. Clock and sleep are injected."""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from genoflow.errors import ExitCode, UnavailableError, UsageError, WaitTimeoutError
from genoflow.model.runs import Run, RunFilters, RunState

if TYPE_CHECKING:
    from genoflow.protocols.base import ServiceClient

log = logging.getLogger(__name__)

_RANGE = re.compile(r"^(-?\d*)(?::(-?\d*))?$")
SHORT_POLL = 0.5  # seconds between polls while a run is young: a short run's end is seen at once
LATENESS = 0.005  # then a run's end is seen at most 0.5 % of its time late (max_interval caps):
# ~1 s late for a 3-minute run, ~900 polls in an hour's wait


def parse_range(text: str) -> slice:
    """The old ``-r/--in-range``: ``N`` (one index) or ``N:M`` (a slice), Python-style, over
    the runs oldest first; ``-1`` is the newest."""
    match = _RANGE.match(text.strip())
    if not match or (match.group(2) is None and not match.group(1)):
        raise UsageError(f"range {text!r} is not N or N:M", hint="e.g. -r -1, -r 0:10, -r -5:")
    start = int(match.group(1)) if match.group(1) not in ("", "-") else None
    if match.group(2) is None:
        assert start is not None
        return slice(start, start + 1 if start != -1 else None)
    stop = int(match.group(2)) if match.group(2) not in ("", "-") else None
    return slice(start, stop)


def list_runs(
    client: ServiceClient,
    filters: RunFilters,
    *,
    limit: int | None = None,
    in_range: str | None = None,
    page_size: int = 50,
) -> list[Run]:
    """Runs newest first. With ``limit`` only as many pages as needed are fetched; a range
    needs the whole (filtered) list, oldest first, as the old client sliced it."""
    if in_range is not None:
        window = parse_range(in_range)
        oldest_first = sorted(client.list(filters, page_size), key=_created_key)
        selected = oldest_first[window]
        return list(reversed(selected))[:limit] if limit else list(reversed(selected))
    runs = client.list(filters, page_size=min(page_size, limit) if limit else page_size)
    taken = list(itertools.islice(runs, limit)) if limit else list(runs)
    return sorted(taken, key=_created_key, reverse=True)


def _created_key(run: Run) -> tuple[float, str]:
    return (run.created.timestamp() if run.created else 0.0, run.id.zfill(20))


def get_runs(client: ServiceClient, ids: Sequence[str]) -> list[Run]:
    return [client.get(run_id) for run_id in ids]


# After the client's bounded wait, a run still in these states was not stopped by the server.
_STILL_GOING = frozenset({RunState.QUEUED, RunState.RUNNING, RunState.UNKNOWN})


@dataclass(frozen=True)
class CancelOutcome:
    run: Run
    already_finished: bool
    ignored: bool = False  # accepted, but the run went on through the client's bounded wait

    def to_dict(self) -> dict[str, object]:
        return {
            "already_finished": self.already_finished,
            "ignored": self.ignored,
            "run": self.run.to_dict(),
        }


def cancel_runs(client: ServiceClient, ids: Sequence[str]) -> list[CancelOutcome]:
    """Cancel each run; a run that already finished (or is being cancelled) is left as it is.
    A client that watches the run for a bounded time after asking (WES) reports a cancel the
    server accepted but did not carry out as ``ignored``."""
    outcomes = []
    for run_id in ids:
        run = client.get(run_id)
        if run.state.terminal or run.state is RunState.CANCELLING:
            outcomes.append(CancelOutcome(run, already_finished=True))
            continue
        after = client.cancel(run_id)
        ignored = client.watches_cancel and after.state in _STILL_GOING
        outcomes.append(CancelOutcome(after, already_finished=False, ignored=ignored))
    return outcomes


def wait_exit_code(runs: Iterable[Run]) -> ExitCode:
    states = {run.state for run in runs}
    if RunState.FAILED in states:
        return ExitCode.RUN_FAILED
    if RunState.CANCELLED in states:
        return ExitCode.RUN_CANCELLED
    return ExitCode.OK


@dataclass
class Waiter:
    """Polls runs until they are terminal: every SHORT_POLL seconds (or ``poll_interval`` if
    shorter) for the first 100 s, then every LATENESS of the time waited so far, up to
    ``max_interval``. So a short run's end is seen within a second and a long one's costs a
    poll every minute or so. Outages (UnavailableError after the HTTP retries) are logged and
    polling goes on until ``timeout``."""

    client: ServiceClient
    poll_interval: float
    max_interval: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    on_change: Callable[[Run], None] = lambda run: None

    def wait(self, ids: Sequence[str], timeout: float | None = None) -> list[Run]:
        started = self.clock()
        latest: dict[str, Run] = {}
        while True:
            self._poll(ids, latest)
            if len(latest) == len(ids) and all(run.state.terminal for run in latest.values()):
                return [latest[run_id] for run_id in ids]
            elapsed = self.clock() - started
            if timeout is not None and elapsed >= timeout:
                pending = [
                    run_id
                    for run_id in ids
                    if run_id not in latest or not latest[run_id].state.terminal
                ]
                raise WaitTimeoutError(
                    f"gave up after {timeout:g} s: run(s) {', '.join(pending)} not finished"
                )
            interval = min(
                self.max_interval, max(min(self.poll_interval, SHORT_POLL), LATENESS * elapsed)
            )
            self.sleep(interval if timeout is None else min(interval, timeout - elapsed))

    def _poll(self, ids: Sequence[str], latest: dict[str, Run]) -> None:
        for run_id in ids:
            if run_id in latest and latest[run_id].state.terminal:
                continue
            try:
                run = self.client.get(run_id)
            except UnavailableError as exc:
                if not latest and getattr(exc, "refused", False):
                    raise  # never reached: a wrong URL or a stopped service, not an outage
                log.warning("run %s: %s; still waiting", run_id, exc.one_line())
                continue
            previous = latest.get(run_id)
            latest[run_id] = run
            if previous is None or previous.state is not run.state:
                self.on_change(run)


def show_log(
    client: ServiceClient,
    run_id: str,
    write: Callable[[str], None],
    *,
    follow: bool = False,
    interval: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Run:
    """Write run ``run_id``'s log through ``write``; with ``follow``, keep writing what is added
    until the run has ended. Returns the run as last seen. The state is read before each read of
    the log, so once it is terminal the log read after it is complete."""
    offset = 0
    reached = False
    while True:
        try:
            run = client.get(run_id)
            reached = True
            offset = _drain_log(client, run_id, offset, write)
        except UnavailableError as exc:
            # never reached: a wrong URL or a stopped service, not an outage to ride out
            if not follow or (not reached and getattr(exc, "refused", False)):
                raise
            log.warning("run %s: %s; still following", run_id, exc.one_line())
        else:
            if not follow or run.state.terminal:
                return run
        sleep(interval)


def _drain_log(
    client: ServiceClient, run_id: str, offset: int, write: Callable[[str], None]
) -> int:
    """Everything from ``offset`` to the current end of the log (it comes in chunks)."""
    while True:
        text, next_offset = client.logs(run_id, offset)
        if text:
            write(text)
        if not text or next_offset <= offset:
            return next_offset
        offset = next_offset
