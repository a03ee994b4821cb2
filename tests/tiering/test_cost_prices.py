"""The price table (defaults, overrides, errors) and the cost report over the fixture world."""

from __future__ import annotations

from pathlib import Path

import pytest

from genoflow.errors import ConfigError
from genoflow.tiering.cost import cost_report
from genoflow.tiering.prices import GIB, load_prices
from tests.tiering.fixtures import BLOBS, RUNS


def test_price_file_overrides_one_value_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("region: westeurope\nstorage_gb_month: {Hot: 0.03}\n")
    prices = load_prices(path)
    assert prices.region == "westeurope"
    assert prices.storage_gb_month == {
        "Hot": 0.03,
        "Cool": 0.0152,
        "Cold": 0.0036,
        "Archive": 0.00099,
    }
    assert prices.storage_month(int(100 * GIB), "Hot") == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("storage_gb_month: {Warm: 1}", "unknown tier"),
        ("currency: [1]", "currency"),
        ("- 1", "must be a mapping"),
        ("colour: red", "colour"),
    ],
)
def test_bad_price_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_prices(path)


def test_cost_report_by_container_tier_and_run() -> None:
    report = cost_report(BLOBS, RUNS, load_prices(), containers=["inputs", "outputs"])
    data = report.to_dict()
    assert data["containers"]["inputs"]["Hot"]["blobs"] == 7
    assert data["containers"]["inputs"]["Cool"]["blobs"] == 1
    assert data["containers"]["inputs"]["Archive"]["blobs"] == 1
    assert data["containers"]["outputs"]["Hot"]["blobs"] == 8
    total_bytes = sum(b.size for b in BLOBS)
    assert data["total"]["bytes"] == total_bytes
    run1 = next(r for r in data["runs"] if r["run"] == "1")
    # inputs s1_1, s1_2 (Hot, 10 GiB each), s1_3 (Archive, 10 GiB), outputs bam/bai/vcf (1 GiB)
    assert (run1["blobs"], run1["bases_processed"]) == (6, 10_000_000_000)
    assert run1["tiers"]["Archive"]["gb"] == 10.0
    assert run1["monthly"] == pytest.approx(23 * 0.0208 + 10 * 0.00099, abs=1e-4)
    assert data["untracked"]["blobs"] == 2  # the readme, and the input of run 99 (unknown)
