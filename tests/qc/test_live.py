"""End to end on a live genoflow server (Azurite, the real pipeline, both protocols): a run's
QC is among its recorded outputs, ``genoflow qc`` prints it, its numbers equal the tools run
by hand on the run's own BAM and VCF, and a threshold it misses exits 9."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genoflow.demo import DemoData
from genoflow.model.outputs import QC_KINDS
from tests.harness import Azurite, run_cli_subprocess
from tests.qc.checks import check_reads, check_variants
from tests.server.conftest import LiveServer, demo_data, live_server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]


@pytest.mark.parametrize("protocol", ["msgenomics", "wes"])
def test_a_runs_qc_from_submit_to_genoflow_qc(
    live_server: LiveServer,  # noqa: F811 - the fixture imported above
    azurite: Azurite,
    demo_data: DemoData,  # noqa: F811
    unique_name: str,
    protocol: str,
    tmp_path: Path,
) -> None:
    env = {
        **live_server.client_env(azurite, protocol),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": f"{unique_name}-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": f"{unique_name}-out",
    }
    reads = ["-b1", str(demo_data.fastq_r1), "-b2", str(demo_data.fastq_r2)]
    submitted = run_cli_subprocess(["-o", "json", "submit", *reads, "--wait"], env=env)
    assert submitted.returncode == 0, submitted.stderr
    run = json.loads(submitted.stdout.splitlines()[-1])
    run = run[0] if isinstance(run, list) else run.get("run", run)
    kinds = sorted(output["kind"] for output in run["outputs"])
    assert set(QC_KINDS) <= set(kinds)

    shown = run_cli_subprocess(["-o", "json", "qc", run["id"]], env=env)
    assert shown.returncode == 0, shown.stderr
    (record,) = json.loads(shown.stdout)
    assert record["sample"] == demo_data.sample and record["status"] == "pass"

    out = tmp_path / "fetched"
    only = ["--only", "bam,vcf,qc", "-o", str(out)]
    fetched = run_cli_subprocess(["-o", "json", "fetch", run["id"], *only], env=env)
    assert fetched.returncode == 0, fetched.stderr
    (qc_json,) = out.rglob("*.qc.json")
    qc = json.loads(qc_json.read_text())
    assert record["mean_coverage"] == qc["coverage"]["mean"] and 27 < qc["coverage"]["mean"] < 31
    check_reads(qc, next(out.rglob("*.bam")))
    check_variants(qc, next(p for p in out.rglob("*.vcf*") if not p.name.endswith(".tbi")))

    strict = {**env, "GENOFLOW_QC__THRESHOLDS__MEAN_COVERAGE_MIN": "50"}
    flagged = run_cli_subprocess(["qc", run["id"]], env=strict)
    assert flagged.returncode == 9 and "mean_coverage" in flagged.stdout, flagged.stderr
