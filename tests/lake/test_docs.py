"""docs/tertiary.md's snippets marked ``<!-- tested: NAME -->``, run as written against a lake on
Azurite (``az://lake/`` pointed at the test's container), their output checked."""

from __future__ import annotations

import contextlib
import io
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.harness import ROOT, run_cli
from tests.lake.conftest import LakeCase
from tests.lake.helpers import lake, table

pytestmark = pytest.mark.azurite

SAMPLES = ("NA12878", "NA12891", "NA12892")


def snippets() -> dict[str, str]:
    text = (ROOT / "docs" / "tertiary.md").read_text()
    found = re.findall(r"<!-- tested: (\w+) -->\n```python\n(.*?)```", text, re.S)
    return dict(found)


def run_snippet(code: str, case: LakeCase, **replace: str) -> str:
    code = code.replace("az://lake/", f"az://{case.lake}/")
    for old, new in replace.items():
        code = code.replace(old, new)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(
            compile(code, "tertiary.md", "exec"), {"storage_options": lake(case).storage_options()}
        )
    return out.getvalue()


@pytest.fixture
def filled(case: LakeCase, vcf_dir: Path) -> LakeCase:
    ids = [case.sample_run(vcf_dir / f"{s}.vcf.gz").id for s in SAMPLES]
    assert run_cli(["lake", "add", *ids], env=case.env()).exit_code == 0
    return case


def test_every_tested_snippet_is_found() -> None:
    assert set(snippets()) == {"duckdb", "polars", "deltalake", "parquet"}


def calls_of(case: LakeCase) -> list[dict[str, object]]:
    return table(case, "calls").to_pyarrow_table().to_pylist()


def test_duckdb_snippet(filled: LakeCase) -> None:
    out = run_snippet(snippets()["duckdb"], filled).splitlines()
    rows = calls_of(filled)
    chr1 = Counter(str(r["sampleId"]) for r in rows if r["contigName"] == "chr1")
    assert out[0] == repr(sorted(chr1.items()))
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    assert out[1] == repr([(month, 3)])
    het_snvs = sum(
        1
        for r in rows
        if r["sampleId"] == "NA12878"
        and len(str(r["referenceAllele"])) == 1
        and len(r["alternateAlleles"][0]) == 1  # type: ignore[index]
        and r["calls"][0] != r["calls"][1]  # type: ignore[index]
    )
    assert out[2] == repr((het_snvs,)) and het_snvs > 0


def test_polars_snippet(filled: LakeCase) -> None:
    out = run_snippet(snippets()["polars"], filled).splitlines()
    rows = calls_of(filled)
    contigs = Counter(str(r["contigName"]) for r in rows if r["sampleId"] == "NA12878")
    assert out[0] == repr(sorted(contigs.items()))
    records = table(filled, "runs").to_pyarrow_table().to_pylist()
    expected = sorted((r["runId"], r["sampleId"], r["variants"]) for r in records)
    assert out[1] == repr(sorted(expected, key=lambda row: row[1]))


def test_deltalake_snippet(filled: LakeCase) -> None:
    out = run_snippet(snippets()["deltalake"], filled).splitlines()
    assert out[0] == "3"  # version 0 created empty, then one commit per run
    runs = sorted(line.split()[1] for line in out[1:-1] if line.split()[1] != "None")
    assert len(runs) == 3 and len(set(runs)) == 3 and all(":" in word for word in runs)
    assert out[-1] == "0"


def test_parquet_snippet(filled: LakeCase, tmp_path: Path) -> None:
    folder = tmp_path / "parquet" / "calls"
    assert run_cli(["lake", "export", str(folder)], env=filled.env()).exit_code == 0
    out = run_snippet(snippets()["parquet"], filled, **{"parquet/calls": str(folder)})
    rows = calls_of(filled)
    expected = sorted(Counter((r["sampleId"], r["contigName"]) for r in rows).items())
    assert out.strip() == repr([(s, c, n) for (s, c), n in expected])
