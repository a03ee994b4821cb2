"""Transfer progress for people: rich bars on a terminal, status lines everywhere else.

The transfer layer reports to a :class:`Tracker` per file: bytes moved by this run (calling
it), bytes that were already at the target (``resumed``: staged blocks of an interrupted
upload, ranges of an interrupted download, a file found up to date) and the phase it is in
(``hashing``, ``uploading``, ``verifying``...). A plain ``Callable[[int], None]`` still works
(:func:`tracker` wraps it; it then sees resumed bytes as progress, as before).

:class:`TransferReporter` renders the trackers of one command. On a terminal, one rich bar per
file starting at the resumed offset; off a terminal (CI logs, cron, ``2> log``), one line per
file in progress every ``interval`` seconds, like AzCopy's status lines::

    upload big.fq.gz: 1.5 GiB of 4.0 GiB (37%), 118.2 MiB/s, ETA 22s (resumed at 512.0 MiB)

Rates and ETAs count only the bytes moved by this run, so a resumed transfer does not claim
the whole file's speed. After Ctrl-C (or a cancel) it says how to resume.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

from genoflow.units import format_duration, format_rate, format_size

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

DEFAULT_INTERVAL = 30.0
RESUME_HINT = "rerun the same command to resume: what was already sent is kept"


@runtime_checkable
class Tracker(Protocol):
    """What one file's transfer reports (called from worker threads)."""

    def __call__(self, count: int) -> None: ...  # bytes moved by this run
    def resumed(self, count: int) -> None: ...  # bytes already at the target, not moved
    def phase(self, name: str) -> None: ...  # what it is doing now; "done" at the end


@dataclass
class _Plain:
    """A bare callable as a tracker: resumed bytes count as progress (the old contract)."""

    advance: Callable[[int], None]

    def __call__(self, count: int) -> None:
        self.advance(count)

    def resumed(self, count: int) -> None:
        self.advance(count)

    def phase(self, name: str) -> None:
        pass


def _ignore(count: int) -> None:
    pass


@contextmanager
def ending(track: Tracker) -> Iterator[Tracker]:
    """Around one file's transfer: its phase is "done" when the block ends (a return
    included), "stopped" when it raises, so no status line repeats for a file that is over."""
    try:
        yield track
    except BaseException:
        track.phase("stopped")
        raise
    track.phase("done")


def tracker(progress: Callable[[int], None] | None) -> Tracker:
    """``progress`` as a :class:`Tracker` (None: one that ignores everything)."""
    if isinstance(progress, Tracker):
        return progress
    return _Plain(progress or _ignore)


@dataclass
class FileProgress:
    """One file's numbers; its methods make it a :class:`Tracker`."""

    verb: str
    label: str
    size: int
    on_change: Callable[[FileProgress], None] = lambda _file: None
    clock: Callable[[], float] = time.monotonic
    resumed_bytes: int = 0
    sent: int = 0
    current: str = ""
    started: float | None = None
    finished: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, count: int) -> None:
        with self._lock:
            if self.started is None:
                self.started = self.clock()
            self.sent += count
        self.on_change(self)

    def resumed(self, count: int) -> None:
        with self._lock:
            self.resumed_bytes += count
        self.on_change(self)

    def phase(self, name: str) -> None:
        with self._lock:
            self.current = name
            self.finished = self.finished or name in ("done", "stopped")
            if self.started is None and name in ("uploading", "downloading"):
                self.started = self.clock()
        self.on_change(self)

    @property
    def done(self) -> int:
        return min(self.size, self.resumed_bytes + self.sent)

    def rate(self) -> float | None:
        """Bytes per second moved by this run (None before anything moved)."""
        if self.started is None or self.sent == 0:
            return None
        elapsed = self.clock() - self.started
        return self.sent / elapsed if elapsed > 0 else None

    def status_line(self) -> str:
        """The line written off a terminal: bytes, share, rate, ETA, phase, resumed offset."""
        head = f"{self.verb} {self.label}"
        if self.current and self.current not in ("uploading", "downloading"):
            head += f" ({self.current})"
        share = f" ({100 * self.done // self.size}%)" if self.size else ""
        parts = [f"{head}: {format_size(self.done)} of {format_size(self.size)}{share}"]
        rate = self.rate()
        if rate:
            parts.append(format_rate(rate))
            parts.append(f"ETA {format_duration((self.size - self.done) / rate)}")
        line = ", ".join(parts)
        if self.resumed_bytes:
            line += f" (resumed at {format_size(self.resumed_bytes)})"
        return line


class TransferReporter:
    """The progress of one command's files, rendered on ``stream`` (stderr).

    ``mode``: ``"bars"`` (rich, a terminal), ``"lines"`` (a status line per file in progress
    every ``interval`` seconds) or ``"off"``.
    """

    def __init__(
        self,
        verb: str,
        *,
        mode: str,
        stream: IO[str] | None = None,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.verb, self.mode, self.interval, self.clock = verb, mode, interval, clock
        self.stream = stream if stream is not None else sys.stderr
        self.files: list[FileProgress] = []
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._bars: RichProgress | None = None
        self._tasks: dict[int, TaskID] = {}

    # --- the files ---------------------------------------------------------------------------
    def file(self, label: str, size: int) -> FileProgress:
        """A tracker for the next file (pass it as the transfer's ``progress``)."""
        item = FileProgress(self.verb, label, size, self._changed, self.clock)
        self.files.append(item)
        if self._bars is not None:
            self._tasks[id(item)] = self._bars.add_task(label, total=size or None, rate="", eta="")
        return item

    # --- rendering ---------------------------------------------------------------------------
    @contextmanager
    def running(self) -> Iterator[TransferReporter]:
        """Render while the transfers run; after an interruption, say how to resume."""
        ticker = None
        if self.mode == "bars":
            self._bars = _rich_progress(self.stream)
            self._bars.start()
        elif self.mode == "lines":
            ticker = threading.Thread(target=self._tick, name="progress-lines", daemon=True)
            ticker.start()
        try:
            yield self
        except BaseException as exc:
            if _interrupted(exc):
                self._stop_rendering(ticker)
                self._write(f"interrupted: {self.verb} stopped; {RESUME_HINT}")
            raise
        finally:
            self._stop_rendering(ticker)

    def _stop_rendering(self, ticker: threading.Thread | None) -> None:
        self._stop.set()
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join()
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            for item in list(self.files):
                with self._write_lock:  # checked under the lock: see _changed
                    if not item.finished and (item.started is not None or item.current):
                        self._write_unlocked(item.status_line())

    def _write(self, line: str) -> None:
        with self._write_lock:
            self._write_unlocked(line)

    def _write_unlocked(self, line: str) -> None:
        if self.mode != "off":
            self.stream.write(line + "\n")
            self.stream.flush()

    def _changed(self, item: FileProgress) -> None:
        if item.finished:
            with self._write_lock:
                pass  # a status line being written ends before the transfer's summary line
        bars = self._bars
        task = self._tasks.get(id(item))
        if bars is None or task is None:
            return
        rate = item.rate()
        shown = item.current not in ("", "uploading", "downloading", "done", "stopped")
        what = f"{item.label} ({item.current})" if shown else item.label
        bars.update(
            task,
            completed=item.done,
            description=what,
            rate=format_rate(rate) if rate else "",
            eta=format_duration((item.size - item.done) / rate) if rate else "",
        )


def _rich_progress(stream: IO[str]) -> RichProgress:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    columns = (
        TextColumn("{task.description}", markup=False),  # a file name is not rich markup
        BarColumn(),
        DownloadColumn(binary_units=True),
        TextColumn("{task.fields[rate]}", markup=False),
        TextColumn("{task.fields[eta]}", markup=False),
    )
    console = Console(file=stream, highlight=False, markup=False)
    # transient: the bars go at the end, the summary lines above them stay
    return Progress(*columns, console=console, transient=True, auto_refresh=True)


def _interrupted(exc: BaseException) -> bool:
    from genoflow.transfer.cancel import TransferCancelled

    return isinstance(exc, KeyboardInterrupt | TransferCancelled) or (
        type(exc).__name__ == "Abort"  # click's Abort: Ctrl-C inside a prompt
    )


def choose_mode(*, quiet: bool, stream: IO[str] | None = None) -> str:
    """``bars`` on a terminal, ``lines`` elsewhere, ``off`` with --quiet."""
    if quiet:
        return "off"
    target = stream if stream is not None else sys.stderr
    return "bars" if target.isatty() else "lines"
