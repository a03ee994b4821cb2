"""The reference GA4GH ``wes-client`` (package wes-service, in its own virtualenv .venv-wes,
installed by ``make test``) submits the packed pipeline with a plain CWL job over Azurite SAS
URLs to a live genoflow server: the server recognises the attached workflow by its content hash,
the run completes, ``--log`` prints the run's log, and the outputs are in the output container
with the MD5s the run recorded. wes-client 5.0 sends no auth header on ``--run``: it
authenticates with the API key from ``~/.netrc`` (HTTP Basic, the key as password)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from genoflow.config.schema import StorageConfig
from genoflow.demo import DemoData
from genoflow.model.outputs import qc_names
from genoflow.model.submission import InputKind, PipelineOptions, SubmitRequest
from genoflow.pipelines import JobFiles, job_for, prepare_reference, workflow_text
from genoflow.pipelines.job import REFERENCE_INDEX_INPUTS
from genoflow.storage import BlobStore, open_store
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, ROOT, Azurite
from tests.server.conftest import API_KEY, REFERENCE, LiveServer, make_server

WES_CLIENT = ROOT / ".venv-wes" / "bin" / "wes-client"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.azurite,
    pytest.mark.skipif(
        not WES_CLIENT.exists(),
        reason="the reference wes-client is not installed (make test installs it in .venv-wes)",
    ),
]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, azurite: Azurite, demo_data: DemoData
) -> Iterator[LiveServer]:
    running = make_server(tmp_path_factory.mktemp("wes-client-server"), azurite, demo_data)
    running.start()
    yield running
    running.stop()
    assert API_KEY not in running.log_text() and "Traceback" not in running.log_text()


def _store(azurite: Azurite) -> BlobStore:
    config = {"account_url": azurite.account_url, "account_name": AZURITE_ACCOUNT,
              "account_key": AZURITE_KEY}  # fmt: skip
    return open_store(StorageConfig.model_validate(config))


def _job(store: BlobStore, demo: DemoData, folder: Path, inputs: str, outputs: str) -> Path:
    """Upload the sample and the reference; the CWL job `genoflow pipeline job` would write."""
    reference = prepare_reference(demo.reference, folder / "ref")
    names = {path: f"refs/{path.name}" for path in reference.all_files()}
    names |= {demo.fastq_r1: "wc/DEMO_R1.fq.gz", demo.fastq_r2: "wc/DEMO_R2.fq.gz"}
    for path, name in names.items():
        store.put_blob(inputs, name, path.read_bytes())

    def url(path: Path) -> str:
        return store.blob_url(inputs, names[path], store.blob_read_sas(inputs, names[path], 2))

    request = SubmitRequest(
        sample="DEMO", kind=InputKind.FASTQ, reads_1=(names[demo.fastq_r1],),
        reads_2=(names[demo.fastq_r2],),
        options=PipelineOptions(process_args=f"R={REFERENCE}", output_filename_base="wc/DEMO"),
        input_account=AZURITE_ACCOUNT, input_container=inputs, output_account=AZURITE_ACCOUNT,
        output_container=outputs,
    )  # fmt: skip
    index = {
        key: url(reference.dict if key == "reference_dict" else Path(f"{reference.fasta}{suffix}"))
        for key, suffix in REFERENCE_INDEX_INPUTS.items()
    }
    files = JobFiles(
        reads=[url(demo.fastq_r1), url(demo.fastq_r2)],
        reference=url(reference.fasta),
        index=index,
        output_url=f"{store.account_url}/{outputs}?{store.container_sas(outputs, 2, 'rcw')}",
    )
    job = folder / "job.json"
    job.write_text(json.dumps(job_for(request, files, form="main").document))
    return job


def _wes_client(server: LiveServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)}
    command = [str(WES_CLIENT), "--host", f"127.0.0.1:{server.port}", "--proto", "http", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=home, timeout=600, check=False
    )


def test_wes_client_runs_the_pipeline_on_genoflow_server(
    server: LiveServer, azurite: Azurite, demo_data: DemoData, tmp_path: Path, unique_name: str
) -> None:
    store = _store(azurite)
    inputs, outputs = f"{unique_name}i", f"{unique_name}o"
    store.ensure_container(inputs)
    store.ensure_container(outputs)
    job = _job(store, demo_data, tmp_path, inputs, outputs)
    workflow = tmp_path / "genoflow-pipeline.cwl"
    workflow.write_text(workflow_text())
    netrc = tmp_path / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login wes-client password {API_KEY}\n")
    netrc.chmod(0o600)

    done = _wes_client(server, tmp_path, "--run", str(workflow), str(job))
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = done.stderr.split("Workflow run id is ")[1].split()[0]
    assert "State is COMPLETE" in done.stderr
    log = _wes_client(server, tmp_path, "--log", run_id, "--auth", f"Bearer {API_KEY}")
    assert log.returncode == 0 and "engine exited with 0" in log.stdout, log.stderr[-2000:]

    answer = requests.get(
        f"{server.url}/ga4gh/wes/v1/runs/{run_id}",
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    ).json()
    recorded = {f["location"].split(f"/{outputs}/", 1)[1]: f for f in answer["outputs"].values()
                if isinstance(f, dict)}  # fmt: skip
    planned = ["wc/DEMO.bam", "wc/DEMO.bam.bai", "wc/DEMO.logs.zip", "wc/DEMO.vcf"]
    assert sorted(recorded) == sorted([*planned, *qc_names("wc/DEMO")])
    for name, file in recorded.items():
        blob = store.get_blob(outputs, name)
        assert file["checksum"] == f"md5${blob.md5}" and file["size"] == blob.size
    assert "sig=" not in done.stderr.replace("sig=***", "") and "sig=" not in log.stdout
    store.close()
