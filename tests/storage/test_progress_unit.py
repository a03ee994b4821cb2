"""The progress reporter on an injected clock and a string stream (no terminal, no sleeping
for the numbers; the status-line ticker runs on a short real interval)."""

from __future__ import annotations

import io
import time

import pytest

from genoflow.transfer.progress import (
    RESUME_HINT,
    FileProgress,
    TransferReporter,
    ending,
    tracker,
)

MIB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_resumed_file_starts_at_its_offset_and_rates_only_what_moved():
    clock = Clock()
    item = FileProgress("upload", "a.fq.gz", 100 * MIB, clock=clock)
    item.resumed(40 * MIB)
    item.phase("uploading")
    clock.now += 10
    item(30 * MIB)
    assert item.done == 70 * MIB and item.rate() == 3 * MIB
    assert item.status_line() == (
        "upload a.fq.gz: 70.0 MiB of 100.0 MiB (70%), 3.0 MiB/s, ETA 10s (resumed at 40.0 MiB)"
    )


def test_phases_show_in_the_line_and_nothing_is_claimed_before_bytes_move():
    item = FileProgress("download", "x.bam", 10 * MIB, clock=Clock())
    item.phase("hashing")
    assert item.status_line() == "download x.bam (hashing): 0 B of 10.0 MiB (0%)"
    item.phase("done")
    assert item.finished


def test_a_plain_callable_still_sees_resumed_bytes_as_progress():
    seen: list[int] = []
    wrapped = tracker(seen.append)
    wrapped.resumed(5)
    wrapped.phase("uploading")
    wrapped(7)
    assert seen == [5, 7]
    tracker(None)(3)  # ignored


def test_lines_mode_writes_status_lines_until_the_file_is_done():
    stream = io.StringIO()
    reporter = TransferReporter("upload", mode="lines", stream=stream, interval=0.02)
    with reporter.running():
        item = reporter.file("a.bin", 10 * MIB)
        item.phase("uploading")
        item(MIB)
        time.sleep(0.15)
        item.phase("done")
        written = len(stream.getvalue().splitlines())
        time.sleep(0.1)
    lines = stream.getvalue().splitlines()
    assert written >= 2 and len(lines) == written  # nothing once done
    assert all(line.startswith("upload a.bin: 1.0 MiB of 10.0 MiB (10%)") for line in lines)


def test_an_interruption_says_how_to_resume():
    stream = io.StringIO()
    reporter = TransferReporter("download", mode="off", stream=stream)
    with pytest.raises(KeyboardInterrupt), reporter.running():
        raise KeyboardInterrupt
    assert stream.getvalue() == ""  # --quiet: nothing
    reporter = TransferReporter("download", mode="lines", stream=stream, interval=60)
    with pytest.raises(KeyboardInterrupt), reporter.running():
        raise KeyboardInterrupt
    assert stream.getvalue() == f"interrupted: download stopped; {RESUME_HINT}\n"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_mode_draws_from_the_resumed_offset_and_clears_at_the_end():
    stream = Terminal()
    reporter = TransferReporter("upload", mode="bars", stream=stream)
    with reporter.running():
        item = reporter.file("a.bin", 4 * MIB)
        item.resumed(MIB)
        item.phase("verifying")
        assert reporter._bars is not None
        reporter._bars.refresh()
        drawn = stream.getvalue()
    assert "a.bin (verifying)" in drawn and "1.0/4.0 MiB" in drawn


def test_a_bar_label_is_the_file_name_never_rich_markup():
    stream = Terminal()
    reporter = TransferReporter("upload", mode="bars", stream=stream)
    with reporter.running():
        reporter.file("a [/x] b [bold]c.bin", 4 * MIB)(MIB)
        assert reporter._bars is not None
        reporter._bars.refresh()
        drawn = stream.getvalue()
    assert "a [/x] b [bold]c.bin" in drawn


def test_a_failed_transfer_stops_its_status_lines():
    item = FileProgress("upload", "bad.fq.gz", MIB, clock=Clock())
    with pytest.raises(ValueError), ending(item):
        item.phase("uploading")
        raise ValueError("truncated")
    assert item.finished and item.current == "stopped"
    done = FileProgress("upload", "ok.fq.gz", MIB, clock=Clock())
    with ending(done):
        done.phase("uploading")
    assert done.finished and done.current == "done"
