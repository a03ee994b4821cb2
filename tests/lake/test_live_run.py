"""End to end: a real run of the pipeline on a live `genoflow server` (the demo sample), then
`genoflow lake add` and `lake report` as a user runs them: the lake holds the VCF the run
recorded, and its answers equal bcftools' on that VCF."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from genoflow.demo import DemoData
from tests.harness import Azurite, run_cli
from tests.lake.test_add import bcftools_records
from tests.lake.test_report import bcftools_variants
from tests.server.conftest import LiveServer, make_server
from tests.server.conftest import demo_data as demo_data  # the session's demo sample fixture

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, azurite: Azurite, demo_data: DemoData
) -> Iterator[LiveServer]:
    live = make_server(tmp_path_factory.mktemp("lake-live"), azurite, demo_data, threads=2)
    live.start()
    yield live
    live.stop()


def test_a_real_run_goes_into_the_lake(
    server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str, tmp_path: Path
) -> None:
    env = {
        **server.client_env(azurite),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": f"{unique_name}-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": f"{unique_name}-out",
        "GENOFLOW_LAKE__CONTAINER": f"{unique_name}-lake",
        "GENOFLOW_LAKE__AUTO": "true",  # submit --wait adds the run once it succeeds
        "GENOFLOW_STATE_DIR": str(tmp_path / "state"),
    }
    submitted = run_cli(
        [
            *("submit", "-b1", str(demo_data.fastq_r1), "-b2", str(demo_data.fastq_r2)),
            *("--sample", "DEMO1", "--wait", "--timeout", "900", "--json"),
        ],
        env=env,
    )
    assert submitted.exit_code == 0, submitted.stderr
    run_id = json.loads(submitted.stdout.splitlines()[0])["run"]["id"]

    added = run_cli(["--json", "lake", "add", run_id], env=env)
    assert added.exit_code == 0, added.stderr
    assert json.loads(added.stdout)[0]["status"] == "already in the lake"  # lake.auto added it

    fetched = run_cli(["fetch", run_id, "--only", "vcf", "-o", str(tmp_path / "vcf")], env=env)
    assert fetched.exit_code == 0, fetched.stderr
    (vcf,) = [p for p in (tmp_path / "vcf").rglob("*.vcf*") if not p.name.endswith(".tbi")]
    assert bcftools_records(vcf) > 50  # the demo sample has ~150 variants

    report = run_cli(["--json", "lake", "report"], env=env)
    assert report.exit_code == 0, report.stderr
    answers = json.loads(report.stdout)
    variants = bcftools_variants(vcf)
    assert answers["unique_variants"] == len(variants)
    snvs = sum(1 for v in variants if v[4].upper() == "SNP")
    assert answers["variants_by_class"]["SNV"] == snvs > 0
    assert answers["samples"] == 1 and answers["runs"] == 1
