"""``multiqc`` over a folder of runs finds every QC step's native outputs (samtools stats and
flagstat, mosdepth, bcftools stats) for both samples, and reports the same numbers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.qc.conftest import Sample, needs_tools

pytestmark = [needs_tools, pytest.mark.slow]


def multiqc() -> list[str]:
    found = shutil.which("multiqc", path=str(Path(sys.executable).parent)) or shutil.which(
        "multiqc"
    )
    if found is None:
        pytest.skip("multiqc is not installed (the dev extra installs it)")
    return [found]


def test_multiqc_reads_a_folder_of_runs(
    demo_sample: Sample, second_sample: Sample, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    for sample in (demo_sample, second_sample):
        folder = runs / sample.name
        folder.mkdir(parents=True)
        for path in sample.folder.glob(f"{sample.name}.*"):
            if path.suffix in (".txt", ".stats", ".flagstat", ".json", ".html"):
                shutil.copy(path, folder)
    out = tmp_path / "report"
    done = subprocess.run(
        [*multiqc(), "--no-ansi", "-o", str(out), "--data-format", "json", str(runs)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads((out / "multiqc_data" / "multiqc_data.json").read_text())
    names = {demo_sample.name, second_sample.name}
    found = data["report_data_sources"]
    assert set(found["Samtools"]["stats"]) == set(found["Samtools"]["flagstat"]) == names
    assert set(found["Mosdepth"]["genome_results"]) == set(found["Bcftools"]["stats"]) == names
    raw = data["report_saved_raw_data"]
    for sample in (demo_sample, second_sample):
        ours = json.loads(sample.qc_json.read_text())
        flagstat = raw["multiqc_samtools_flagstat"][sample.name]
        assert flagstat["mapped_passed"] == ours["reads"]["mapped"]
        stats = raw["multiqc_samtools_stats"][sample.name]
        assert stats["insert_size_average"] == ours["insert_size"]["mean"]
        bcftools = raw["multiqc_bcftools_stats"][sample.name]
        assert bcftools["number_of_SNPs"] == ours["variants"]["snv"]
