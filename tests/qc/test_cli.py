"""``genoflow qc RUN...`` against a real server and Azurite: the record equals the run's
qc.json; thresholds flag values and exit 9; a run without QC exits 2, a replaced qc.json 8."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from genoflow.model.outputs import QC_OUTPUTS
from genoflow.model.tags import FETCHED
from genoflow.schemas import schema
from tests.cli.schemas import validator
from tests.harness import run_cli
from tests.lake.conftest import LakeCase
from tests.qc.conftest import Sample, needs_tools, publish_run

pytestmark = [needs_tools, pytest.mark.azurite, pytest.mark.slow]


def test_qc_prints_one_record_per_run(
    case: LakeCase, demo_sample: Sample, second_sample: Sample
) -> None:
    runs = [publish_run(case, s) for s in (demo_sample, second_sample)]
    result = run_cli(["-o", "json", "qc", *[r.id for r in runs]], env=case.env())
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    jsonschema.Draft202012Validator(schema("qc-summary")).validate(records)
    assert [r["run"] for r in records] == [r.id for r in runs]
    for record, sample in zip(records, (demo_sample, second_sample), strict=True):
        qc = json.loads(sample.qc_json.read_text())
        assert record["status"] == "pass" and record["flags"] == []
        assert record["sample"] == sample.name
        assert record["mean_coverage"] == qc["coverage"]["mean"]
        assert record["duplicate_rate"] == qc["reads"]["duplicate_rate"]
        assert record["snv"] == qc["variants"]["snv"]
        assert record["ti_tv"] == qc["variants"]["ti_tv"]
    table = run_cli(["-o", "table", "qc", runs[0].id], env=case.env())
    assert table.exit_code == 0 and "DEMO" in table.stdout and "pass" in table.stdout


def test_values_outside_thresholds_are_flagged_exit_9(
    case: LakeCase, demo_sample: Sample, second_sample: Sample
) -> None:
    runs = [publish_run(case, s) for s in (demo_sample, second_sample)]
    env = case.env(
        GENOFLOW_QC__THRESHOLDS__MEAN_COVERAGE_MIN="25",
        GENOFLOW_QC__THRESHOLDS__DUPLICATE_RATE_MAX="0.2",
    )
    result = run_cli(["-o", "json", "qc", *[r.id for r in runs]], env=env)
    assert result.exit_code == 9, result.stderr
    demo, second = json.loads(result.stdout)
    assert demo["status"] == "pass"
    assert second["status"] == "fail"
    assert second["flags"] == [f"mean_coverage {second['mean_coverage']:.4g} < 25"]


def test_reading_qc_marks_nothing_fetched(case: LakeCase, demo_sample: Sample) -> None:
    """``genoflow qc`` and ``list --qc`` only read: no tag write (a read-only SAS does), and a
    ``since: fetched`` tiering rule is not reset."""
    run = publish_run(case, demo_sample)
    assert run_cli(["qc", run.id], env=case.env()).exit_code == 0
    assert run_cli(["list", "--qc", "--limit", "0"], env=case.env()).exit_code == 0
    for blob in case.store.list_blobs(case.outputs, include_tags=True):
        assert FETCHED not in (blob.tags or {}), blob.name


def test_a_run_without_qc_exits_2(case: LakeCase, demo_sample: Sample) -> None:
    run = publish_run(case, demo_sample, with_qc=False)
    result = run_cli(["qc", run.id], env=case.env())
    assert result.exit_code == 2
    assert f"run {run.id} has no QC among its outputs" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_run_the_service_does_not_have_is_named_as_such(case: LakeCase) -> None:
    result = run_cli(["qc", "999999"], env=case.env())
    assert result.exit_code == 2, result.stderr
    assert "no run 999999 on the service" in result.stderr
    assert "no QC" not in result.stderr and "Traceback" not in result.stderr


def test_a_replaced_qc_json_exits_8(case: LakeCase, demo_sample: Sample) -> None:
    run = publish_run(case, demo_sample)
    name = next(o.name for o in run.outputs if o.kind == "qc")
    case.store.put_blob(case.outputs, name, b'{"schema_version": 1}')
    result = run_cli(["qc", run.id], env=case.env())
    assert result.exit_code == 8, result.stderr


def test_list_qc_adds_the_columns(
    case: LakeCase, demo_sample: Sample, second_sample: Sample
) -> None:
    with_qc = publish_run(case, demo_sample)
    without = publish_run(case, second_sample, with_qc=False)
    env = case.env(GENOFLOW_QC__THRESHOLDS__MEAN_COVERAGE_MIN="25")
    result = run_cli(["-o", "json", "list", "--qc", "--limit", "0"], env=env)
    assert result.exit_code == 0, result.stderr
    records = {r["id"]: r for r in json.loads(result.stdout)}
    validator("runs").validate(list(records.values()))
    qc = json.loads(demo_sample.qc_json.read_text())
    assert records[with_qc.id]["qc"]["mean_coverage"] == qc["coverage"]["mean"]
    assert records[with_qc.id]["qc"]["status"] == "pass"
    assert records[without.id]["qc"] is None
    table = run_cli(["list", "--qc", "--limit", "0"], env=env)
    assert table.exit_code == 0 and "mean cov" in table.stdout and "Ti/Tv" in table.stdout


def test_fetch_only_qc_brings_every_qc_file(
    case: LakeCase, demo_sample: Sample, tmp_path: Path
) -> None:
    run = publish_run(case, demo_sample)
    folder = tmp_path / "runs" / run.id
    result = run_cli(["fetch", run.id, "--only", "qc", "-o", str(folder)], env=case.env())
    assert result.exit_code == 0, result.stderr
    got = sorted(p.name for p in folder.rglob("*") if p.is_file())
    assert got == sorted(f"DEMO{suffix}" for suffix, _ in QC_OUTPUTS)
