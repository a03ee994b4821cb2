"""A full local disk is exit 6 with one line from any command, never "internal error" (1)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import run_cli, tmpfs


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs, filled to the last byte."""
    with tmpfs(tmp_path / "full", "64k") as mount:
        descriptor = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(descriptor, b"\0" * 4096):
                pass
        except OSError:
            pass  # full: what the test needs
        finally:
            os.close(descriptor)
        yield mount


def test_a_full_disk_is_exit_6_with_one_line(full_disk: Path) -> None:
    result = run_cli(["config", "init", str(full_disk / "genoflow.yaml")])
    assert result.exit_code == 6, result.output
    assert "no space left" in result.stderr and "internal error" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
