"""submit's input uploads show progress as upload does: off a terminal, status lines per file
on stderr (real Azurite, a `responses` fake of the service, uploads slowed by the test hook)."""

from __future__ import annotations

import json
import re

import pytest

from tests.harness import run_cli
from tests.runs.test_submit_azurite import env, mock, reads  # noqa: F401 - fixtures

pytestmark = pytest.mark.azurite


def test_submit_uploads_write_status_lines_off_a_terminal(mock, env, reads):  # noqa: F811
    from tests.protocols.fakes import FakeMsGenomics

    FakeMsGenomics(mock)
    slow = {
        **env,
        "GENOFLOW_TEST_STAGE_DELAY": "0.5",
        "GENOFLOW_STORAGE__PROGRESS_INTERVAL": "0.1",
    }
    result = run_cli(["submit", "-b1", str(reads[0]), "-b2", str(reads[1]), "--json"], env=slow)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["run"]["id"]
    for path in reads:
        status = re.compile(rf"^upload \S*{path.name}: .* of [\d.]+ (?:B|KiB) \(\d+%\)")
        lines = [line for line in result.stderr.splitlines() if status.match(line)]
        assert len(lines) >= 2, result.stderr  # 0.5 s of staging, a line every 0.1 s
