"""The expiry of the SAS handed to a third-party WES server: soon after the run's expected end
(1.5 x (1 h + 1 h per 2 GiB of input)), never beyond workflow.sas_duration_hours."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from genoflow.storage.sas import run_expiry

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("input_bytes", "ceiling", "hours"),
    [
        (0, 48, 1.5),  # a tiny sample: start-up allowance only
        (4 << 30, 48, 4.5),  # 4 GiB: 1.5 x (1 + 2)
        (100 << 30, 48, 48),  # a whole genome: capped by the configured ceiling
        (4 << 30, 2, 2),  # the user's shorter ceiling wins
    ],
)
def test_run_expiry(input_bytes: int, ceiling: int, hours: float) -> None:
    assert run_expiry(NOW, input_bytes, ceiling) == NOW + timedelta(hours=hours)
