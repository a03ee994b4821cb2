"""The lake's ``qc`` table: one row per run whose pipeline measured its QC, equal to the
run's qc.json; adding again changes nothing; a run without QC has no row; export writes it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from deltalake import DeltaTable

from tests.harness import run_cli
from tests.lake.conftest import LakeCase
from tests.qc.conftest import (  # noqa: F401 - fixtures
    Sample,
    demo_sample,
    needs_tools,
    publish_run,
    second_sample,
)

pytestmark = [needs_tools, pytest.mark.azurite, pytest.mark.slow]


def qc_rows(case: LakeCase) -> list[dict[str, object]]:
    table = DeltaTable(f"az://{case.lake}/qc", storage_options=_options(case))
    return sorted(table.to_pyarrow_table().to_pylist(), key=lambda row: str(row["sampleId"]))


def _options(case: LakeCase) -> dict[str, str]:
    from genoflow.lake.location import lake_of

    return lake_of(case.storage, case.lake).storage_options()


def test_lake_add_writes_each_runs_qc_once(
    case: LakeCase,
    demo_sample: Sample,  # noqa: F811 - the fixture imported above
    second_sample: Sample,  # noqa: F811
    tmp_path: Path,
) -> None:
    runs = [publish_run(case, s) for s in (demo_sample, second_sample)]
    bare = publish_run(case, demo_sample, with_qc=False)
    ids = [run.id for run in (*runs, bare)]
    assert run_cli(["lake", "add", *ids], env=case.env()).exit_code == 0
    rows = qc_rows(case)
    assert [row["serviceRunId"] for row in rows] == [runs[0].id, runs[1].id]
    for row, sample in zip(rows, (demo_sample, second_sample), strict=True):
        qc = json.loads(sample.qc_json.read_text())
        assert row["sampleId"] == sample.name
        assert row["meanCoverage"] == qc["coverage"]["mean"]
        assert row["duplicateRate"] == qc["reads"]["duplicate_rate"]
        assert row["snvCount"] == qc["variants"]["snv"]
        assert row["tiTv"] == qc["variants"]["ti_tv"]
        assert json.loads(str(row["qcJson"])) == qc

    again = run_cli(["-o", "json", "lake", "add", *ids], env=case.env())
    assert again.exit_code == 0, again.stderr
    assert {r["status"] for r in json.loads(again.stdout)} == {"already in the lake"}
    assert len(qc_rows(case)) == 2

    out = tmp_path / "qc"
    assert run_cli(["lake", "export", str(out), "--table", "qc"], env=case.env()).exit_code == 0
    assert ds.dataset(out, format="parquet").count_rows() == 2


def test_a_run_in_the_lake_before_the_qc_table_gets_its_row(
    case: LakeCase,
    demo_sample: Sample,  # noqa: F811 - the fixture imported above
) -> None:
    """As after an upgrade: the run's calls and record are in, the qc table is not yet."""
    run = publish_run(case, demo_sample)
    assert run_cli(["lake", "add", run.id], env=case.env()).exit_code == 0
    names = [b.name for b in case.store.list_blobs(case.lake, prefix="qc/")]
    assert names and not case.store.delete_blobs(case.lake, names)
    again = run_cli(["-o", "json", "lake", "add", run.id], env=case.env())
    assert again.exit_code == 0, again.stderr
    assert [r["status"] for r in json.loads(again.stdout)] == ["QC record added"]
    assert [row["serviceRunId"] for row in qc_rows(case)] == [run.id]


def test_an_unreadable_qc_json_is_said_and_the_run_added_all_the_same(
    case: LakeCase,
    demo_sample: Sample,  # noqa: F811 - the fixture imported above
) -> None:
    """A qc.json replaced since the run (or of a newer schema): the run's calls and record
    are added, status as usual, the QC skipped with a note; a rerun does not fail on it."""
    run = publish_run(case, demo_sample)
    name = next(o.name for o in run.outputs if o.kind == "qc")
    case.store.put_blob(case.outputs, name, b'{"schema_version": 99}')
    first = run_cli(["-o", "json", "lake", "add", run.id], env=case.env())
    assert first.exit_code == 0, first.stderr
    assert [r["status"] for r in json.loads(first.stdout)] == ["added"]
    assert "QC not added" in first.stderr and "Traceback" not in first.stderr
    again = run_cli(["-o", "json", "lake", "add", run.id], env=case.env())
    assert again.exit_code == 0, again.stderr
    assert [r["status"] for r in json.loads(again.stdout)] == ["already in the lake"]
    assert "QC not added" in again.stderr
    assert qc_rows(case) == []
