"""End to end: Azurite + a live `genoflow server` + the CLI in subprocesses, real pipeline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pysam
import pytest

from genoflow.config.schema import StorageConfig
from genoflow.demo import DemoData, evaluate
from genoflow.storage import open_store
from genoflow.transfer import download_blob
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, run_cli_subprocess
from tests.server.conftest import LiveServer

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]


def _store(azurite: Azurite):  # type: ignore[no-untyped-def]
    return open_store(
        StorageConfig(
            account_name=AZURITE_ACCOUNT, account_url=azurite.account_url, account_key=AZURITE_KEY
        )
    )


def _env(server: LiveServer, azurite: Azurite, name: str, protocol: str) -> dict[str, str]:
    return {
        **server.client_env(azurite, protocol),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": f"{name}-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": f"{name}-out",
    }


def _submit(env: dict[str, str], *args: str) -> tuple[int, list[object], str]:
    proc = run_cli_subprocess(["submit", *args, "--json"], env=env, timeout=900)
    documents = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, documents, proc.stderr


def _final_run(documents: list[object]) -> dict[str, object]:
    last = documents[-1]
    run = last[0] if isinstance(last, list) else last.get("run", last)  # type: ignore[union-attr]
    assert isinstance(run, dict)
    return run


def output_name(azurite: Azurite, container: str, sample: str, suffix: str) -> str:
    """The one output blob named ``<sample><suffix>``, in the container root (``-of``) or in
    the run's own folder (``<sample>/<key>/``, submit's default layout)."""
    wanted = f"{sample}{suffix}"
    found = [
        b.name for b in _store(azurite).list_blobs(container) if b.name.split("/")[-1] == wanted
    ]
    assert len(found) == 1, found
    return found[0]


def _check_outputs(azurite: Azurite, container: str, demo: DemoData, tmp_path: Path) -> None:
    store = _store(azurite)
    names = {blob.name for blob in store.list_blobs(container)}
    base = output_name(azurite, container, demo.sample, ".bam").removesuffix(".bam")
    assert {f"{base}.bam", f"{base}.bam.bai", f"{base}.vcf", f"{base}.logs.zip"} <= names
    local = {}
    for suffix in ("bam", "bam.bai", "vcf"):
        local[suffix] = download_blob(store, container, f"{base}.{suffix}", tmp_path).path
    header = subprocess.run(
        ["samtools", "view", "-H", str(local["bam"])], capture_output=True, text=True, check=True
    ).stdout
    assert "SO:coordinate" in header
    subprocess.run(["samtools", "quickcheck", str(local["bam"])], check=True)
    stats = subprocess.run(
        ["samtools", "idxstats", str(local["bam"])], capture_output=True, text=True, check=True
    ).stdout
    assert sum(int(line.split("\t")[2]) for line in stats.splitlines()) > 0
    with pysam.VariantFile(str(local["vcf"])) as vcf:
        records = list(vcf)
    assert records
    scores = evaluate(local["vcf"], demo.truth_vcf, demo.reference)
    for kind in (scores.snv, scores.indel):
        assert kind.recall >= 0.95, scores.summary()
        assert kind.precision >= 0.95, scores.summary()


@pytest.mark.parametrize("protocol", ["msgenomics", "wes"])
def test_upload_submit_wait_outputs(
    live_server: LiveServer,
    azurite: Azurite,
    demo_data: DemoData,
    unique_name: str,
    protocol: str,
    tmp_path: Path,
) -> None:
    env = _env(live_server, azurite, unique_name, protocol)
    code, documents, stderr = _submit(
        env, "-b1", str(demo_data.fastq_r1), "-b2", str(demo_data.fastq_r2), "--wait"
    )
    assert code == 0, stderr
    run = _final_run(documents)
    assert run["state"] == "succeeded"
    assert run["bases_processed"] == demo_data.bases
    _check_outputs(azurite, f"{unique_name}-out", demo_data, tmp_path)
    # the same submit again returns the existing run instead of starting a second one
    code, documents, stderr = _submit(
        env, "-b1", str(demo_data.fastq_r1), "-b2", str(demo_data.fastq_r2)
    )
    assert code == 0, stderr
    assert documents[0]["existing"] is True  # type: ignore[index]
    assert documents[0]["run"]["id"] == run["id"]  # type: ignore[index]


def test_fetch_tier_plan_apply_and_cost_against_the_live_server(
    live_server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str, tmp_path: Path
) -> None:
    """The cleanup job's CLI on a real finished run: fetch, then plan/apply as of 40 days on."""
    from datetime import datetime, timedelta, timezone

    env = _env(live_server, azurite, unique_name, "msgenomics")
    code, documents, stderr = _submit(
        env, "-b1", str(demo_data.fastq_r1), "-b2", str(demo_data.fastq_r2), "--wait"
    )
    assert code == 0, stderr
    run_id = str(_final_run(documents)["id"])
    fetched = run_cli_subprocess(["fetch", run_id, "-o", str(tmp_path / "out"), "--json"], env=env)
    assert fetched.returncode == 0, fetched.stderr
    assert list((tmp_path / "out").rglob(f"{demo_data.sample}.bam"))
    later = (datetime.now(timezone.utc) + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = run_cli_subprocess(["tier", "plan", "--as-of", later, "--json"], env=env)
    assert plan.returncode == 0, plan.stderr
    planned = json.loads(plan.stdout)
    moves = {(item["blob"].split("/")[-1], item["new_tier"]) for item in planned["changes"]}
    assert (f"{demo_data.sample}.bam", "Cool") in moves
    assert (demo_data.fastq_r1.name, "Cool") in moves
    assert not any(name.endswith((".vcf", ".bai")) for name, _ in moves)  # stay Hot
    future = run_cli_subprocess(["tier", "apply", "--as-of", later], env=env)
    assert future.returncode == 2 and "in the future" in future.stderr  # plan previews, apply acts
    assert json.loads(future.stdout)["ok"] is False
    # what the default policy does in 40 days, a policy with 0 days does today
    policy = tmp_path / "now.yaml"
    policy.write_text(
        "rules:\n"
        "  - {name: inputs-now, role: input, days: 0, action: Cool}\n"
        "  - {name: bam-now, role: output, kinds: [bam], days: 0, wait_for_fetch: true, "
        "action: Cool}\n"
    )
    applied = run_cli_subprocess(["tier", "apply", "--policy", str(policy)], env=env)
    assert applied.returncode == 0, applied.stderr
    store, out = _store(azurite), f"{unique_name}-out"
    bam, vcf = (output_name(azurite, out, demo_data.sample, s) for s in (".bam", ".vcf"))
    assert store.get_blob(out, bam).tier == "Cool"
    assert store.get_blob(out, vcf).tier == "Hot"
    cost = run_cli_subprocess(["cost", "--json"], env=env)
    assert cost.returncode == 0, cost.stderr
    assert json.loads(cost.stdout)
