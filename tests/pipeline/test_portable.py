"""The packed pipeline is self-contained: cwltool runs its ``#main`` with a plain CWL job whose
inputs are Azurite SAS URLs, and its deliver step commits every output to the output container
with the MD5 it recorded. No genoflow code runs inside the workflow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from genoflow.config.schema import StorageConfig
from genoflow.demo import DemoData
from genoflow.model.outputs import planned_outputs
from genoflow.model.submission import InputKind, PipelineOptions, SubmitRequest
from genoflow.pipelines import JobFiles, ReferenceFiles, job_for, workflow_path, workflow_text
from genoflow.pipelines.direct import tool_files
from genoflow.pipelines.job import REFERENCE_INDEX_INPUTS
from genoflow.storage import BlobStore, open_store
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite
from tests.pipeline.conftest import needs_tools

pytestmark = [pytest.mark.pipeline, pytest.mark.azurite, needs_tools]

HOURS = 2


@dataclass
class Portable:
    store: BlobStore
    inputs: str
    outputs: str
    request: SubmitRequest
    files: JobFiles


def test_the_document_is_plain_yaml_with_a_graph() -> None:
    document = yaml.safe_load(workflow_text())
    ids = [process["id"] for process in document["$graph"]]
    assert document["cwlVersion"] == "v1.2"
    assert ids[0] == "main" and {"analysis", "deliver", "reference_index"} <= set(ids)
    assert "$include" not in workflow_text() and "$import" not in workflow_text()


def test_cwltool_validates_every_entry_point() -> None:
    for target in (str(workflow_path()), f"{workflow_path()}#analysis"):
        done = subprocess.run(
            [sys.executable, "-m", "cwltool", "--validate", target], capture_output=True, text=True
        )
        assert done.returncode == 0 and "is valid CWL" in done.stdout + done.stderr, done.stderr


@pytest.fixture
def portable(
    azurite: Azurite, unique_name: str, demo: DemoData, reference: ReferenceFiles
) -> Iterator[Portable]:
    """Demo reads and the prepared reference in an Azurite container; the job's URLs."""
    config = StorageConfig.model_validate(
        {"account_url": azurite.account_url, "account_name": AZURITE_ACCOUNT,
         "account_key": AZURITE_KEY}
    )  # fmt: skip
    store = open_store(config)
    inputs, outputs = f"{unique_name}i", f"{unique_name}o"
    store.ensure_container(inputs)
    store.ensure_container(outputs)
    names = {path: f"refs/{path.name}" for path in reference.all_files()}
    names |= {demo.fastq_r1: "samples/DEMO_R1.fq.gz", demo.fastq_r2: "samples/DEMO_R2.fq.gz"}
    for path, name in names.items():
        store.put_blob(inputs, name, path.read_bytes())

    def url(path: Path) -> str:
        return store.blob_url(inputs, names[path], store.blob_read_sas(inputs, names[path], HOURS))

    index = {
        key: url(Path(f"{reference.fasta}{suffix}") if key != "reference_dict" else reference.dict)
        for key, suffix in REFERENCE_INDEX_INPUTS.items()
    }
    request = SubmitRequest(
        sample="DEMO",
        kind=InputKind.FASTQ,
        reads_1=("samples/DEMO_R1.fq.gz",),
        reads_2=("samples/DEMO_R2.fq.gz",),
        options=PipelineOptions(
            process_args="R=demo", bgzip_output=True, output_filename_base="runs/1/DEMO"
        ),
        input_account=AZURITE_ACCOUNT,
        input_container=inputs,
        output_account=AZURITE_ACCOUNT,
        output_container=outputs,
    )
    files = JobFiles(
        reads=[url(demo.fastq_r1), url(demo.fastq_r2)],
        reference=url(reference.fasta),
        index=index,
        # create and write only: deliver needs neither read, list nor delete
        output_url=f"{store.account_url}/{outputs}?{store.container_sas(outputs, HOURS, 'cw')}",
    )
    yield Portable(store, inputs, outputs, request, files)
    store.close()


def _cwltool(job: dict[str, Any], directory: Path) -> subprocess.CompletedProcess[str]:
    directory.mkdir(parents=True, exist_ok=True)
    job_file = directory / "job.json"
    job_file.write_text(json.dumps(job))
    command = [
        str(Path(sys.executable).with_name("cwltool")), "--no-container",
        "--outdir", str(directory / "out"), "--tmpdir-prefix", f"{directory}/tmp/",
        str(workflow_path()), str(job_file),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=directory)


def test_cwltool_runs_main_on_sas_urls_and_outputs_land_with_their_md5(
    portable: Portable, tmp_path: Path
) -> None:
    job = job_for(portable.request, portable.files, form="main", threads=2)
    assert job.document["fastq_r1"][0]["location"].startswith("http://127.0.0.1:")
    done = _cwltool(job.document, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    delivered = json.loads(done.stdout)["delivered"]
    expected = planned_outputs("runs/1/DEMO", portable.request.options)
    assert [record["name"] for record in delivered] == expected
    for record in delivered:
        data = portable.store.read_range(portable.outputs, record["name"], 0, record["size"])
        info = portable.store.get_blob(portable.outputs, record["name"])
        assert hashlib.md5(data).hexdigest() == record["md5"]
        assert info.size == record["size"] and info.md5 == record["md5"]
        assert record["container"] == portable.outputs and "sig=" not in record["url"]
    assert "sig=" not in done.stderr  # no SAS in the engine's log


def test_deliver_refuses_to_replace_outputs_unless_overwrite(
    portable: Portable, tmp_path: Path
) -> None:
    portable.store.put_blob(portable.outputs, "runs/1/DEMO.vcf.gz", b"another run's VCF")
    job = job_for(portable.request, portable.files, form="main", threads=2)
    done = _cwltool(job.document, tmp_path / "first")
    assert done.returncode != 0
    assert "could not write" in done.stderr and "BlobAlreadyExists" in done.stderr
    kept = portable.store.read_range(portable.outputs, "runs/1/DEMO.vcf.gz", 0, 17)
    assert kept == b"another run's VCF" and "sig=" not in done.stderr
    options = dataclasses.replace(portable.request.options, overwrite=True)
    request = dataclasses.replace(portable.request, options=options)
    again = _cwltool(job_for(request, portable.files, form="main").document, tmp_path / "again")
    assert again.returncode == 0, again.stderr[-3000:]
    vcf = portable.store.get_blob(portable.outputs, "runs/1/DEMO.vcf.gz")
    assert vcf.size > 17 and vcf.md5 == json.loads(again.stdout)["delivered"][2]["md5"]


def test_deliver_commits_a_large_file_as_blocks_with_its_md5(
    portable: Portable, tmp_path: Path
) -> None:
    """The script alone (as the engine runs it): a 20 MiB file goes as 8 MiB blocks."""
    for name, text in tool_files("deliver").items():
        (tmp_path / name).write_text(text)
    (tmp_path / "output.url").write_text(portable.files.output_url or "")
    big = tmp_path / "S.bam"
    big.write_bytes(os.urandom(20 << 20))
    (tmp_path / "S.bam.bai").write_bytes(b"index")
    command = [sys.executable, "deliver.py", "--file", "S.bam", "--base", "S",
               "--output-base", "big/S"]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    bam, bai = json.loads((tmp_path / "cwl.output.json").read_text())["delivered"]
    assert (bam["name"], bam["kind"], bai["name"], bai["kind"]) == (
        "big/S.bam", "bam", "big/S.bam.bai", "bai",
    )  # fmt: skip
    assert bam["md5"] == hashlib.md5(big.read_bytes()).hexdigest()
    assert portable.store.get_blob(portable.outputs, "big/S.bam").md5 == bam["md5"]
    assert portable.store.committed_block_ids(portable.outputs, "big/S.bam") != []
