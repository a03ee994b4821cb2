"""A full local disk is exit 6 with one line from any command, never "internal error" (1)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import run_cli


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs, filled to the last byte."""
    mount = tmp_path / "full"
    mount.mkdir()
    answer = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if answer.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {answer.stderr.strip()}")
    try:
        descriptor = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(descriptor, b"\0" * 4096):
                pass
        except OSError:
            pass  # full: what the test needs
        finally:
            os.close(descriptor)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_exit_6_with_one_line(full_disk: Path) -> None:
    result = run_cli(["config", "init", str(full_disk / "genoflow.yaml")])
    assert result.exit_code == 6, result.output
    assert "no space left" in result.stderr and "internal error" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
