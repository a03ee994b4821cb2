"""`genoflow demo run` end to end, twice, and its scores follow the truth VCF it is given."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from genoflow.local import LocalStack
from tests.cli.schemas import schema_errors
from tests.harness import ROOT
from tests.local.test_stack import cli

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]


def corrupt_first_snv(truth: Path) -> None:
    """Give the first truth record (an SNV) another ALT base; written as plain text."""
    lines = gzip.decompress(truth.read_bytes()).decode().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[at].split("\t")
    assert len(fields[3]) == len(fields[4]) == 1
    fields[4] = next(base for base in "ACGT" if base not in (fields[3], fields[4]))
    lines[at] = "\t".join(fields)
    truth.write_text("".join(lines))  # htslib reads by content: plain VCF under .vcf.gz is fine


def test_demo_runs_twice_and_scores_against_the_truth(tmp_path: Path) -> None:
    try:
        first = cli(tmp_path, "--json", "demo", "run")
        assert first.returncode == 0, first.stderr
        summary = json.loads(first.stdout)
        assert not schema_errors("demo run", summary)
        assert summary["state"] == "succeeded" and summary["existing"] is False
        assert "generating the demo dataset" in first.stderr
        assert "$ genoflow submit -b1" in first.stderr and "$ genoflow fetch" in first.stderr
        assert Path(summary["vcf"]).is_file() and summary["run_wall_seconds"] is not None
        snv, indel = summary["snv"], summary["indel"]
        assert snv["recall"] > 0.95 and snv["precision"] > 0.95
        assert indel["recall"] > 0.8 and indel["precision"] > 0.8
        assert summary["variants_called"]["snv"] == snv["tp"] + snv["fp"]
        plans = summary["tier_plan"]
        assert plans is not None, summary["tier_plan_skipped"]
        assert plans["in 31 days"]["planned"] > plans["now"]["planned"]

        corrupt_first_snv(tmp_path / ".genoflow" / "demo" / "truth.vcf.gz")
        second = cli(tmp_path, "--json", "demo", "run")
        assert second.returncode == 0, second.stderr
        again = json.loads(second.stdout)
        assert again["run"] == summary["run"] and again["existing"] is True
        assert "already up" in second.stderr and "dataset: reused" in second.stderr
        # The called VCF is the same; only the truth changed: one SNV lost, one "false" call.
        assert again["snv"]["tp"] == snv["tp"] - 1
        assert again["snv"]["fn"] == snv["fn"] + 1 and again["snv"]["fp"] == snv["fp"] + 1
        assert again["snv"]["recall"] < snv["recall"]
        assert again["indel"] == indel

        text = cli(tmp_path, "demo", "run")  # the human summary, and the stack left running
        assert text.returncode == 0, text.stderr
        assert f"run id          {summary['run']}" in text.stdout
        assert "recall precision" in text.stdout and "genoflow local down" in text.stdout
        assert cli(tmp_path, "local", "status").returncode == 0

        # A failing step keeps its own exit code: a local file in fetch's way is a usage error.
        vcf = Path(summary["vcf"])
        good = vcf.read_bytes()
        vcf.write_bytes(b"not the run's VCF\n")
        blocked = cli(tmp_path, "demo", "run")
        assert blocked.returncode == 2, blocked.stderr
        assert "'genoflow fetch' failed" in blocked.stderr
        assert vcf.read_bytes() == b"not the run's VCF\n"  # refused, not overwritten
        vcf.write_bytes(good)

        # --force (what 'make demo DEMO_ARGS=--force' runs): a new run, in its own folder.
        forced = cli(tmp_path, "--json", "demo", "run", "--force")
        assert forced.returncode == 0, forced.stderr
        new = json.loads(forced.stdout)
        assert new["existing"] is False and new["run"] != summary["run"]
        assert new["state"] == "succeeded" and new["snv"]["recall"] > 0.95
        assert Path(new["vcf"]).parent != vcf.parent and vcf.read_bytes() == good
    finally:
        LocalStack(tmp_path / ".genoflow", tmp_path / "genoflow.yaml").down()


def test_make_demo_passes_its_arguments_to_demo_run() -> None:
    """`make demo DEMO_ARGS=--force` is `genoflow demo run --force` (tested above)."""
    import subprocess

    dry = subprocess.run(
        ["make", "-n", "demo", "DEMO_ARGS=--force"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "-m genoflow demo run --force" in dry.stdout
