"""What a run records and shows over both APIs: the sample name on the old wire, the outputs
the executor committed (one list over both protocols), and its log."""

from __future__ import annotations

import dataclasses

import pytest

from genoflow.model.outputs import RunOutput
from genoflow.model.submission import SubmitRequest
from genoflow.protocols.extensions import LOG_OFFSET_HEADER
from genoflow.server.runlogs import append, log_path
from tests.server.inproc import API_KEY, MSGEN, WES, InProc, sample_request
from tests.server.inproc_http import inproc_client


def _with(request: SubmitRequest, **options: object) -> SubmitRequest:
    return dataclasses.replace(request, options=dataclasses.replace(request.options, **options))


def test_old_wire_sample_comes_from_the_read_group_never_from_the_output_base(
    inproc: InProc,
) -> None:
    named = _with(sample_request(), read_group=r"@RG\tID:l1\tSM:H3", output_filename_base="H3r2")
    unnamed = _with(sample_request(), output_filename_base="H3r2")
    ids = [inproc.submit_msgen(request).json()["Id"] for request in (named, unnamed)]
    stored = [inproc.store.get(run_id).request["submit"] for run_id in ids]
    assert [s["sample"] for s in stored] == ["H3", "S1"]  # S1: from S1_1.fq.gz
    assert {s["options"]["output_filename_base"] for s in stored} == {"H3r2"}  # -of names files
    assert inproc.client.get(f"{MSGEN}{ids[0]}").json()["Description"] == "sample S"


# --- outputs as a record -------------------------------------------------------------------

RECORDED = (
    RunOutput("H3/0a1b2c3d/H3.bam", "bam", 1234, "0123456789abcdef0123456789abcdef", "outputs"),
    RunOutput("H3/0a1b2c3d/H3.bam.bai", "bai", 96, "ab" * 16, "outputs"),
    RunOutput("H3/0a1b2c3d/H3.g.vcf.gz", "gvcf", 512, "cd" * 16, "outputs"),
    RunOutput("H3/0a1b2c3d/H3.g.vcf.gz.tbi", "tbi", 64, "ef" * 16, "outputs"),
    RunOutput("H3/0a1b2c3d/H3.logs.zip", "logs", 2048, "01" * 16, "outputs"),
)


def test_one_run_shows_the_same_recorded_outputs_over_both_protocols(inproc: InProc) -> None:
    inproc.stub.succeed(RECORDED)
    msgen = inproc_client(inproc.anonymous(), "msgenomics", API_KEY)
    wes = inproc_client(inproc.anonymous(), "wes", API_KEY)
    run = msgen.submit(sample_request(sample="H3"))
    assert run.outputs == ()  # nothing committed yet
    inproc.wait_state(run.id, "succeeded")
    assert msgen.get(run.id).outputs == RECORDED
    assert wes.get(run.id).outputs == RECORDED
    # the raw shapes: Outputs on the workflow object, CWL File objects keyed by kind in WES
    workflow = inproc.client.get(f"{MSGEN}{run.id}").json()
    assert workflow["Outputs"][0] == {
        "Name": "H3/0a1b2c3d/H3.bam",
        "Kind": "bam",
        "Size": 1234,
        "Md5": "0123456789abcdef0123456789abcdef",
        "Container": "outputs",
    }
    document = inproc.client.get(f"{WES}/{run.id}").json()["outputs"]
    assert document["bam"] == {
        "class": "File",
        "location": "https://myaccount.blob.core.windows.net/outputs/H3/0a1b2c3d/H3.bam",
        "basename": "H3.bam",
        "size": 1234,
        "checksum": "md5$0123456789abcdef0123456789abcdef",
    }
    assert set(document) == {"bam", "bai", "gvcf", "tbi", "logs", "bases_processed"}
    assert document["bases_processed"] == 300


def test_outputs_are_null_until_committed_and_a_failure_keeps_its_logs_zip(
    inproc: InProc,
) -> None:
    inproc.stub.block()
    queued = inproc.submit_msgen(sample_request(sample="Q1")).json()
    assert queued["Outputs"] is None
    inproc.client.delete(f"{MSGEN}{queued['Id']}")
    inproc.wait_state(queued["Id"], "cancelled")
    inproc.stub.fail("Error Code [600]: the pipeline failed in step align", 600)
    inproc.stub.failure_outputs = RECORDED[-1:]
    failed = inproc.submit_wes(sample_request(sample="F1")).json()["run_id"]
    inproc.wait_state(failed, "failed")
    wes = inproc_client(inproc.anonymous(), "wes", API_KEY)
    assert wes.get(failed).outputs == RECORDED[-1:]


def test_a_store_from_before_keeps_its_outputs(inproc: InProc) -> None:
    run_id = inproc.submit_msgen(sample_request(sample="L1")).json()["Id"]
    inproc.wait_state(run_id, "succeeded")
    legacy = {"bam": {"name": "L1.bam", "size": 7, "md5": "AB" * 16}}
    inproc.store.update(run_id, outputs=legacy)
    assert inproc.store.get(run_id).outputs == (
        RunOutput("L1.bam", "bam", 7, "ab" * 16, "outputs"),
    )


# --- logs --------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["msgenomics", "wes"])
def test_a_run_log_is_followed_while_it_runs_and_read_after(inproc: InProc, protocol: str) -> None:
    inproc.stub.block()
    client = inproc_client(inproc.anonymous(), protocol, API_KEY)
    run = client.submit(sample_request(sample="G1"))
    assert inproc.stub.wait_started()
    assert client.logs(run.id) == ("", 0)  # nothing written yet
    kept = log_path(inproc.server.config.log_root, int(run.id))
    append(kept, "align: started\nsig=SECRETSIG in a tool line\n")
    text, offset = client.logs(run.id)
    assert text == "align: started\nsig=*** in a tool line\n" and offset == len(text)
    append(kept, "bwa: Killed\n")
    assert client.logs(run.id, offset) == ("bwa: Killed\n", offset + 12)  # only what is new
    inproc.stub.release()
    inproc.wait_state(run.id, "succeeded")
    assert client.logs(run.id)[0].endswith("bwa: Killed\n")  # and after the run
    assert kept.stat().st_mode & 0o077 == 0


def test_log_routes_answer_text_with_their_offset_and_need_the_key(inproc: InProc) -> None:
    run_id = inproc.submit_msgen(sample_request(sample="T1")).json()["Id"]
    append(log_path(inproc.server.config.log_root, run_id), "0123456789\n")
    answer = inproc.client.get(f"{WES}/{run_id}/logs/stderr", params={"offset": "4"})
    assert answer.status_code == 200 and answer.text == "456789\n"
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers[LOG_OFFSET_HEADER] == "4"
    assert inproc.client.get(f"{MSGEN}{run_id}/logs").text == "0123456789\n"
    assert inproc.client.get(f"{WES}/{run_id}/logs/stdout").text == ""
    run_log = inproc.client.get(f"{WES}/{run_id}").json()["run_log"]
    assert run_log["stderr"] == f"http://testserver{WES}/{run_id}/logs/stderr"
    assert inproc.anonymous().get(f"{MSGEN}{run_id}/logs").status_code == 401
    assert inproc.client.get(f"{MSGEN}999/logs").status_code == 404
    assert inproc.client.get(f"{WES}/{run_id}/logs/other").status_code == 400
