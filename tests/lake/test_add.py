"""``genoflow lake add`` on Azurite: rows as the VCFs hold them, idempotent, nothing written on
bad input (exit 2/7/8, one line, no secret)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genoflow.lake.schema import CALLS_SCHEMA
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, run_cli
from tests.lake.conftest import LakeCase
from tests.lake.helpers import json_lines, rows, table

pytestmark = pytest.mark.azurite

SAMPLES = ("NA12878", "NA12891", "NA12892")


def read_only_sas(container: str) -> str:
    """A container SAS that may read and list, not write (genoflow never makes one)."""
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )


def bcftools_records(vcf: Path) -> int:
    import subprocess

    out = subprocess.run(["bcftools", "view", "-H", str(vcf)], capture_output=True, check=True)
    return out.stdout.count(b"\n")


def test_three_runs_added_then_again_change_nothing(case: LakeCase, vcf_dir: Path) -> None:
    runs = [case.sample_run(vcf_dir / f"{s}.vcf.gz") for s in SAMPLES]
    ids = [run.id for run in runs]
    first = json_lines(run_cli(["--json", "lake", "add", *ids], env=case.env()))
    assert [r["status"] for r in first] == ["added"] * 3
    expected = sum(bcftools_records(vcf_dir / f"{s}.vcf.gz") for s in SAMPLES)
    assert sum(r["records"] for r in first) == expected
    calls = table(case, "calls")
    version = calls.version()
    assert rows(case) == expected
    assert calls.schema().to_arrow().names == CALLS_SCHEMA.names  # Glow's names, as declared
    assert [r["run"] for r in first] == [f"{run.service}:{run.id}" for run in runs]

    again = json_lines(run_cli(["--json", "lake", "add", *ids], env=case.env()))
    assert [r["status"] for r in again] == ["already in the lake"] * 3
    assert rows(case) == expected
    assert table(case, "calls").version() == version
    assert rows(case, "runs") == 3


def test_rows_follow_the_vcf(case: LakeCase, vcf_dir: Path) -> None:
    import pysam

    vcf = vcf_dir / "NA12878.vcf.gz"
    run = case.sample_run(vcf)
    assert run_cli(["lake", "add", run.id], env=case.env()).exit_code == 0
    got = (
        table(case, "calls")
        .to_pyarrow_table()
        .sort_by([("contigName", "ascending"), ("start", "ascending")])
    )
    with pysam.VariantFile(str(vcf)) as reader:
        records = list(reader)
    by_key = {(r["contigName"], r["start"]): r for r in got.to_pylist()}
    assert len(by_key) == len(records)
    for record in records[:500]:
        row = by_key[(record.contig, record.start)]
        sample = record.samples[0]
        assert row["end"] == record.stop
        assert row["referenceAllele"] == record.ref
        assert tuple(row["alternateAlleles"]) == record.alts
        assert row["qual"] == (None if record.qual is None else pytest.approx(record.qual))
        assert row["filters"] == list(record.filter.keys())
        assert row["calls"] == [-1 if a is None else a for a in sample.allele_indices]
        assert row["phased"] == sample.phased
        assert row["depth"] == sample["DP"]
        assert row["conditionalQuality"] == sample["GQ"]
        assert tuple(row["alleleDepths"]) == sample["AD"]
        assert row["names"] == ([] if record.id is None else record.id.split(";"))
        assert row["sampleId"] == "NA12878"
        assert row["runId"] == f"{run.service}:{run.id}"
        assert row["service"] == run.service


def test_partitions_let_a_sample_or_contig_be_read_alone(case: LakeCase, vcf_dir: Path) -> None:
    ids = [case.sample_run(vcf_dir / f"{s}.vcf.gz").id for s in SAMPLES]
    assert run_cli(["lake", "add", *ids], env=case.env()).exit_code == 0
    calls = table(case, "calls")
    every = calls.file_uris()
    one_sample = calls.file_uris(file_pruning_predicate=[("sampleId", "=", "NA12891")])
    one_contig = calls.file_uris(file_pruning_predicate=[("contigName", "=", "chrX")])
    assert 0 < len(one_sample) < len(every) and all("sampleId=NA12891/" in u for u in one_sample)
    assert 0 < len(one_contig) < len(every) and all("contigName=chrX/" in u for u in one_contig)


def test_a_run_that_did_not_succeed_writes_nothing(case: LakeCase, vcf_dir: Path) -> None:
    good = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    failed = case.service.run("FAILED1", fail=True)
    result = run_cli(["lake", "add", good.id, failed.id], env=case.env())
    assert result.exit_code == 2
    assert f"run {failed.id} (failed)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert case.store.container_access(case.lake) == "missing"  # not even created


def test_missing_vcf_exits_2_and_writes_nothing(case: LakeCase, vcf_dir: Path) -> None:
    run = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    case.store.delete_blobs(case.outputs, ["NA12878/NA12878.vcf.gz"])
    result = run_cli(["lake", "add", run.id], env=case.env())
    assert result.exit_code == 2, result.stderr
    assert "not in storage" in result.stderr
    assert not _has_table_data(case)


def test_vcf_not_what_the_run_recorded_exits_8(case: LakeCase, vcf_dir: Path) -> None:
    run = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    swapped = (vcf_dir / "NA12891.vcf.gz").read_bytes()
    case.store.put_blob(case.outputs, "NA12878/NA12878.vcf.gz", swapped)
    result = run_cli(["lake", "add", run.id], env=case.env())
    assert result.exit_code == 8, result.stderr
    assert "is not what run" in result.stderr
    assert not _has_table_data(case)


def _has_table_data(case: LakeCase) -> bool:
    if case.store.container_access(case.lake) == "missing":
        return False
    names = [b.name for b in case.store.list_blobs(case.lake)]
    return any(name.endswith(".parquet") for name in names)


def test_a_lake_the_credential_cannot_write_exits_7(case: LakeCase, vcf_dir: Path) -> None:
    run = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    case.store.ensure_container(case.lake)
    read_only = read_only_sas(case.lake)
    env = case.env(
        GENOFLOW_STORAGE__AUTH="sas",
        GENOFLOW_STORAGE__SAS_TOKEN=read_only,
        GENOFLOW_STORAGE__ACCOUNT_KEY="",
    )
    result = run_cli(["lake", "add", run.id], env=env)
    assert result.exit_code == 7, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    secret = read_only.split("sig=")[1].split("&")[0]
    assert secret not in result.output and AZURITE_KEY not in result.output
    print(result.stderr)
    assert [b.name for b in case.store.list_blobs(case.lake)] == []


def test_lake_auto_adds_succeeded_runs_only_when_on(case: LakeCase, vcf_dir: Path) -> None:
    from genoflow.config import load_settings
    from genoflow.lake.auto import add_succeeded

    good = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    failed = case.service.run("FAILED2", fail=True)
    lines: list[str] = []
    off = load_settings(None, environ=case.env()).config
    client = case.service.client()
    try:
        assert add_succeeded(off, client, [good, failed], lines.append) == []
        assert case.store.container_access(case.lake) == "missing"
        on = load_settings(None, environ=case.env(GENOFLOW_LAKE__AUTO="true")).config
        added = add_succeeded(on, client, [good, failed], lines.append)
    finally:
        client.close()
    assert [(r.run, r.status) for r in added] == [(f"{good.service}:{good.id}", "added")]
    assert rows(case) == bcftools_records(vcf_dir / "NA12878.vcf.gz")
    assert lines == [f"lake.auto: run {good.id}: added ({added[0].records} records)"]


def test_lake_auto_never_fails_the_wait(case: LakeCase, vcf_dir: Path) -> None:
    from genoflow.config import load_settings
    from genoflow.lake.auto import add_succeeded

    run = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    case.store.delete_blobs(case.outputs, ["NA12878/NA12878.vcf.gz"])
    lines: list[str] = []
    config = load_settings(None, environ=case.env(GENOFLOW_LAKE__AUTO="true")).config
    client = case.service.client()
    try:
        assert add_succeeded(config, client, [run], lines.append) == []
    finally:
        client.close()
    assert len(lines) == 1 and f"retry with 'genoflow lake add {run.id}'" in lines[0]


def test_a_failing_run_midway_keeps_the_runs_before_and_leaves_no_download(
    case: LakeCase, vcf_dir: Path, tmp_path: Path
) -> None:
    from tests.harness import run_cli_subprocess

    first, bad, last = (case.sample_run(vcf_dir / f"{s}.vcf.gz") for s in SAMPLES)
    swapped = (vcf_dir / "NA12878.vcf.gz").read_bytes()
    case.store.put_blob(case.outputs, "NA12891/NA12891.vcf.gz", swapped)  # not what bad wrote
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = run_cli_subprocess(
        ["--json", "lake", "add", first.id, bad.id, last.id], env=case.env(TMPDIR=str(scratch))
    )
    assert result.returncode == 8, result.stderr
    # stopped by the bad run: the one document still says what was added before it
    assert [r["status"] for r in json.loads(result.stdout)] == ["added"]
    assert rows(case) == bcftools_records(vcf_dir / "NA12878.vcf.gz")
    assert list(scratch.iterdir()) == []  # the prefetched download of the last run removed


def test_a_run_whose_record_is_missing_gets_it_and_its_calls_stay(
    case: LakeCase, vcf_dir: Path
) -> None:
    """As after a process killed between the calls commit and the runs commit."""
    run = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    assert run_cli(["lake", "add", run.id], env=case.env()).exit_code == 0
    calls_version, before = table(case, "calls").version(), rows(case)
    runs_files = [b.name for b in case.store.list_blobs(case.lake, "runs/")]
    assert case.store.delete_blobs(case.lake, runs_files) == []  # the runs table is gone
    again = json_lines(run_cli(["--json", "lake", "add", run.id], env=case.env()))
    assert again[0]["status"] == "record completed"
    assert again[0]["records"] == before
    assert (table(case, "calls").version(), rows(case)) == (calls_version, before)
    (record,) = table(case, "runs").to_pyarrow_table().to_pylist()
    assert record["runId"] == f"{run.service}:{run.id}" and record["records"] == before


def test_the_runs_table_is_compacted_once_fragmented(
    case: LakeCase, vcf_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genoflow.lake import tables

    runs = [case.sample_run(vcf_dir / f"{s}.vcf.gz") for s in SAMPLES]
    assert run_cli(["lake", "add", runs[0].id, runs[1].id], env=case.env()).exit_code == 0
    assert len(table(case, "runs").file_uris()) == 2  # one small file per run
    monkeypatch.setattr(tables, "COMPACT_FILES", 3)
    assert run_cli(["lake", "add", runs[2].id], env=case.env()).exit_code == 0
    runs_table = table(case, "runs")
    assert len(runs_table.file_uris()) == 1
    assert sorted(r["serviceRunId"] for r in runs_table.to_pyarrow_table().to_pylist()) == sorted(
        r.id for r in runs
    )
    again = json_lines(run_cli(["--json", "lake", "add", *(r.id for r in runs)], env=case.env()))
    assert [r["status"] for r in again] == ["already in the lake"] * 3  # transactions kept
