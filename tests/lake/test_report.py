"""``genoflow lake report``: the lake's answers equal bcftools' on the same VCFs; the HTML page
is self-contained; ``lake export`` writes the same rows as plain Parquet."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.harness import run_cli
from tests.lake.conftest import LakeCase
from tests.lake.helpers import rows

pytestmark = pytest.mark.azurite

SAMPLES = ("NA12878", "NA12891", "NA12892")


def bcftools_variants(vcf: Path) -> set[tuple[str, str, str, str, str]]:
    """(chrom, pos, ref, alt, type) of every ALT allele the sample carries, as bcftools sees it:
    multi-allelic records split (norm -m-), genotypes with the allele kept (GT="alt")."""
    norm = subprocess.run(["bcftools", "norm", "-m-", str(vcf)], capture_output=True, check=True)
    carried = subprocess.run(
        ["bcftools", "view", "-i", 'GT="alt"'], input=norm.stdout, capture_output=True, check=True
    )
    query = subprocess.run(
        ["bcftools", "query", "-f", r"%CHROM\t%POS\t%REF\t%ALT\t%TYPE\n"],
        input=carried.stdout,
        capture_output=True,
        check=True,
    )
    found = {tuple(line.split("\t")) for line in query.stdout.decode().splitlines()}
    return {v for v in found if v[4].upper() != "REF"}  # type: ignore[misc]


def lake_class(ref: str, alt: str, kind: str) -> str:
    kind = kind.upper()
    if kind == "INDEL":
        return "insertion" if len(alt) > len(ref) else "deletion"
    return {"SNP": "SNV", "MNP": "MNV", "OTHER": "other"}[kind]


def test_report_counts_equal_bcftools(case: LakeCase, vcf_dir: Path, tmp_path: Path) -> None:
    ids = [case.sample_run(vcf_dir / f"{s}.vcf.gz").id for s in SAMPLES]
    assert run_cli(["lake", "add", *ids], env=case.env()).exit_code == 0
    html = tmp_path / "lake.html"
    result = run_cli(["--json", "lake", "report", "--html", str(html)], env=case.env())
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)

    unique: set[tuple[str, str, str, str, str]] = set()
    for sample in SAMPLES:
        unique |= bcftools_variants(vcf_dir / f"{sample}.vcf.gz")
    classes = Counter(lake_class(ref, alt, kind) for _, _, ref, alt, kind in unique)
    spectrum = Counter(f"{ref}>{alt}" for _, _, ref, alt, kind in unique if kind.upper() == "SNP")
    assert report["unique_variants"] == len(unique)
    assert report["variants_by_class"] == {
        name: classes.get(name, 0) for name in ("SNV", "insertion", "deletion", "MNV", "other")
    }
    assert report["snv_spectrum"] == {k: spectrum.get(k, 0) for k in report["snv_spectrum"]}
    assert sum(report["snv_spectrum"].values()) == classes["SNV"]
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    assert report["samples_per_month"] == [{"month": month, "samples": 3, "runs": 3}]
    assert (report["runs"], report["samples"]) == (3, 3)
    # fewer unique variants than calls: the samples share sites
    per_sample = sum(len(bcftools_variants(vcf_dir / f"{s}.vcf.gz")) for s in SAMPLES)
    assert len(unique) < per_sample
    assert_self_contained(html.read_text())


def assert_self_contained(page: str) -> None:
    assert page.count("<svg") == 3  # samples per month, classes, spectrum
    assert page.count("<rect") >= 1 + 5 + 12
    assert not re.search(r"(src|href)\s*=", page)  # nothing fetched: opens offline
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_the_page_renders_in_a_real_browser(case: LakeCase, vcf_dir: Path, tmp_path: Path) -> None:
    """Headless Chromium (Debian's package, when installed) loads the page offline: its DOM
    has the three charts; the screenshot is kept beside the page."""
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    run = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    assert run_cli(["lake", "add", run.id], env=case.env()).exit_code == 0
    page = tmp_path / "lake.html"
    assert run_cli(["lake", "report", "--html", str(page)], env=case.env()).exit_code == 0
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=900,1500"]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.stdout.count("<svg") == 3 and dom.stdout.count("<rect") >= 18
    shot = tmp_path / "lake.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_report_table_output(case: LakeCase, vcf_dir: Path) -> None:
    run = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    assert run_cli(["lake", "add", run.id], env=case.env()).exit_code == 0
    result = run_cli(["lake", "report"], env=case.env())
    assert result.exit_code == 0, result.stderr
    assert re.search(r"\d{4}-\d\d\s+1\s+1\n", result.stdout)  # month, samples, runs
    assert re.search(r"SNV:? +\d+", result.stdout) and "C>T" in result.stdout


def test_report_of_an_empty_lake_exits_2(case: LakeCase) -> None:
    case.store.ensure_container(case.lake)
    result = run_cli(["lake", "report"], env=case.env())
    assert result.exit_code == 2
    assert "has no calls table yet" in result.stderr


def test_export_writes_the_tables_rows_as_parquet(
    case: LakeCase, vcf_dir: Path, tmp_path: Path
) -> None:
    ids = [case.sample_run(vcf_dir / f"{s}.vcf.gz").id for s in SAMPLES[:2]]
    assert run_cli(["lake", "add", *ids], env=case.env()).exit_code == 0
    out = tmp_path / "calls"
    result = run_cli(["--json", "lake", "export", str(out)], env=case.env())
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    exported = ds.dataset(out, format="parquet", partitioning="hive")
    assert exported.count_rows() == summary["rows"] == rows(case)
    assert {p.name for p in out.iterdir()} == {"sampleId=NA12878", "sampleId=NA12891"}

    one = tmp_path / "one"
    args = ["lake", "export", str(one), "--sample", "NA12891", "--contig", "chrX"]
    assert run_cli(args, env=case.env()).exit_code == 0
    table = ds.dataset(one, format="parquet", partitioning="hive").to_table()
    assert table.num_rows > 0
    assert set(table.column("sampleId").to_pylist()) == {"NA12891"}
    assert set(table.column("contigName").to_pylist()) == {"chrX"}
    again = run_cli(["lake", "export", str(one)], env=case.env())
    assert again.exit_code == 2 and "not empty" in again.stderr
    runs_out = tmp_path / "runs"
    assert (
        run_cli(["lake", "export", str(runs_out), "--table", "runs"], env=case.env()).exit_code == 0
    )
    records = ds.dataset(runs_out, format="parquet").to_table().to_pylist()
    assert sorted(r["sampleId"] for r in records) == ["NA12878", "NA12891"]
    wrong = run_cli(
        ["lake", "export", str(tmp_path / "x"), "--table", "runs", "--sample", "S"], env=case.env()
    )
    assert wrong.exit_code == 2 and "calls table only" in wrong.stderr


def test_report_with_a_refused_key_exits_7_and_an_unreachable_store_6(
    case: LakeCase, vcf_dir: Path
) -> None:
    from tests.harness import AZURITE_KEY, free_port

    run = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    assert run_cli(["lake", "add", run.id], env=case.env()).exit_code == 0
    wrong = "A" * 86 + "=="
    refused = run_cli(["lake", "report"], env=case.env(GENOFLOW_STORAGE__ACCOUNT_KEY=wrong))
    assert refused.exit_code == 7, refused.output
    assert len(refused.stderr.strip().splitlines()) == 1 and wrong not in refused.output
    closed = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    down = run_cli(["lake", "report"], env=case.env(GENOFLOW_STORAGE__ACCOUNT_URL=closed))
    assert down.exit_code == 6, down.output
    assert "storage unreachable" in down.stderr and AZURITE_KEY not in down.output
