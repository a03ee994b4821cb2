"""Progress off a terminal: `genoflow upload` with stderr in a file writes periodic status lines
(bytes, share, rate, ETA); an interrupted upload says how to resume, and the resumed one reports
the bytes it actually sent (real CLI in a child process, real Azurite)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from genoflow.storage import BlobStore
from tests.harness import Azurite
from tests.storage.conftest import MIB, random_file
from tests.storage.test_transfer_cli import (
    BLOCKS,
    _subprocess_env,
    _upload_args,
    wait_until_staged,
)

pytestmark = pytest.mark.azurite

STATUS = re.compile(
    r"^upload big\.bin(?: \((?:hashing|uploading|verifying)\))?: "
    r"[\d.]+ (?:B|KiB|MiB) of 24\.0 MiB \(\d+%\)"
    r"(?:, [\d.]+ (?:B|KiB|MiB)/s, ETA \d+s)?(?: \(resumed at [\d.]+ MiB\))?$"
)


def _start(azurite: Azurite, source: Path, container: str, log: Path) -> subprocess.Popen[bytes]:
    env = _subprocess_env(
        azurite,
        GENOFLOW_TEST_STAGE_DELAY="0.15",
        GENOFLOW_STORAGE__PROGRESS_INTERVAL="0.3",
    )
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "genoflow", *_upload_args(source, container)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )


def _status_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("upload big.bin")]


def test_upload_off_a_terminal_writes_periodic_status_lines(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "big.bin", BLOCKS * MIB)
    log = tmp_path / "stderr.log"
    child = _start(azurite, source, unique_name, log)
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0, log.read_text()
    lines = _status_lines(log)
    assert len(lines) >= 3, log.read_text()  # ~1.8 s of throttled blocks, a line every 0.3 s
    assert [line for line in lines if not STATUS.match(line)] == []
    assert any("MiB/s, ETA" in line for line in lines)
    done = [int(re.search(r"\((\d+)%\)", line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert done == sorted(done) and len(set(done)) > 1  # it moves
    [record] = json.loads(out)
    assert record["bytes_sent"] == BLOCKS * MIB and "resumed" not in log.read_text()


def test_interrupted_upload_says_how_to_resume_and_the_rerun_counts_what_it_sent(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "big.bin", BLOCKS * MIB)
    first = tmp_path / "first.log"
    child = _start(azurite, source, unique_name, first)
    wait_until_staged(store, unique_name, source.name, 6, child)
    child.send_signal(signal.SIGINT)
    child.communicate(timeout=60)
    assert child.returncode == 130, first.read_text()
    assert "rerun the same command to resume" in first.read_text()
    assert "Traceback" not in first.read_text()
    staged = len(store.uncommitted_blocks(unique_name, source.name))
    assert 6 <= staged < BLOCKS

    second = tmp_path / "second.log"
    rerun = _start(azurite, source, unique_name, second)
    out, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, second.read_text()
    [record] = json.loads(out)
    assert record["blocks_reused"] == staged
    assert record["bytes_sent"] == (BLOCKS - staged) * MIB < record["size"]
    # the rate is that of the bytes sent now, not the whole file's
    assert record["mib_per_s"] == pytest.approx(
        record["bytes_sent"] / MIB / record["seconds"], abs=0.02
    )
    lines = _status_lines(second)
    assert lines and all(f"(resumed at {staged}.0 MiB)" in line for line in lines), lines
    # the bar starts at the resumed offset: the first line already counts the staged blocks
    first_done = float(lines[0].split(": ")[1].split(" MiB")[0])
    assert first_done >= staged
    summary = second.read_text().splitlines()[-1]
    assert f"{BLOCKS - staged}.0 MiB sent, the rest resumed" in summary, summary
