"""A finished run's BAM and VCF headers hold no path under the server's data dir: they name the
registered reference and the input blobs (live server on Azurite, real pipeline, CLI submit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genoflow.config.schema import StorageConfig
from genoflow.demo import DemoData
from genoflow.storage import BlobStore, open_store
from genoflow.transfer import download_blob
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, run_cli_subprocess
from tests.pipeline.conftest import header_lines, path_lines
from tests.server.conftest import REFERENCE, LiveServer

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]


def _store(azurite: Azurite) -> BlobStore:
    config = StorageConfig(
        account_name=AZURITE_ACCOUNT, account_url=azurite.account_url, account_key=AZURITE_KEY
    )
    return open_store(config)


def test_finished_run_headers_name_the_reference_and_blobs_not_the_data_dir(
    live_server: LiveServer,
    azurite: Azurite,
    demo_data: DemoData,
    unique_name: str,
    tmp_path: Path,
) -> None:
    env = {
        **live_server.client_env(azurite),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": f"{unique_name}-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": f"{unique_name}-out",
    }
    args = ["submit", "-b1", str(demo_data.fastq_r1), "-b2", str(demo_data.fastq_r2)]
    done = run_cli_subprocess([*args, "--wait", "--json"], env=env, timeout=900)
    assert done.returncode == 0, done.stderr
    assert '"succeeded"' in done.stdout, done.stdout
    store = _store(azurite)
    blobs = store.list_blobs(f"{unique_name}-in")
    inputs = sorted(b.name for b in blobs if b.name.endswith(".fq.gz"))
    assert [name.rsplit("/", 1)[-1] for name in inputs] == [
        demo_data.fastq_r1.name,
        demo_data.fastq_r2.name,
    ]
    outputs: dict[str, Path] = {}
    for blob in store.list_blobs(f"{unique_name}-out"):
        if blob.name.endswith((".bam", ".vcf", ".vcf.gz")):
            kind = "bam" if blob.name.endswith(".bam") else "vcf"
            target = tmp_path / kind
            target.mkdir()
            outputs[kind] = Path(download_blob(store, f"{unique_name}-out", blob.name, target).path)
    assert set(outputs) == {"bam", "vcf"}, json.dumps(sorted(outputs))
    for output in outputs.values():
        assert path_lines(output, live_server.data_dir.resolve(), live_server.data_dir) == []
    bwa = next(line for line in header_lines(outputs["bam"]) if line.startswith("@PG\tID:bwa"))
    assert bwa.endswith(f" {REFERENCE} {inputs[0]} {inputs[1]}"), bwa
    assert f"##reference={REFERENCE}" in header_lines(outputs["vcf"])
