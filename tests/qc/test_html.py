"""The QC page: self-contained (no script, nothing fetched), and rendered by a real headless
Chromium with all four charts; the screenshot is kept under tmp/artefacts/qc/."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from genoflow.qc import tool
from tests.qc.conftest import ARTEFACTS, Sample, needs_tools

pytestmark = [needs_tools, pytest.mark.slow]
CHARTS = ("coverage", "insert-size", "variant-classes", "substitutions")


def test_page_is_self_contained(sample: Sample) -> None:
    page = (sample.folder / f"{sample.name}.qc.html").read_text()
    assert tool().CHARTS == CHARTS
    assert all(f"data-chart='{chart}'" in page for chart in CHARTS)
    assert not re.search(r"(src|href)\s*=", page)  # nothing fetched: opens offline
    assert "http://" not in page and "https://" not in page and "<script" not in page


def chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (make os-tools installs it)")
    return browser


def test_page_renders_in_headless_chromium(sample: Sample) -> None:
    """Chromium loads the page offline; its DOM holds each chart with its marks (the coverage
    and insert-size curves, five class bars, twelve substitution bars)."""
    browser, page = chromium(), sample.folder / f"{sample.name}.qc.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=800,1900"]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    charts = dict(re.findall(r'<svg[^>]*data-chart="([a-z-]+)"[^>]*>(.*?)</svg>', dom, re.S))
    assert sorted(charts) == sorted(CHARTS)
    for chart in CHARTS[:2]:
        points = re.search(r'<polyline class="line" points="([^"]+)"', charts[chart])
        assert points and len(points.group(1).split()) > 20
    assert charts["variant-classes"].count("<rect") == 5
    assert charts["substitutions"].count("<rect") == 12
    ARTEFACTS.joinpath("artefacts", "qc").mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "artefacts" / "qc" / f"{sample.name}.qc.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 30_000
    shutil.copy(page, shot.with_suffix(".html"))  # beside it, to open by hand
