"""The WES client against third-party servers' answers (shapes as Toil 9.6, wes-service 5.0 and
Sapporo 2.4 send them): the service-info check before any upload, the packed pipeline sent as an
attachment with a CWL job, run logs without task ids, log URLs relative to the run or the log
text itself, the pipeline's ``delivered`` outputs, cancels that are not carried out, and
"(after retries)" only after retries. The same paths run against the real servers in
tests/interop/."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import pytest
import requests

from genoflow.errors import ExitCode, UnavailableError, UsageError
from genoflow.model.runs import RunState
from genoflow.model.tags import SUBMISSION_KEY
from genoflow.orchestration.runs import cancel_runs
from genoflow.protocols.wes import wire
from genoflow.protocols.wes.foreign import WORKFLOW_NAME, refusal
from tests.protocols.helpers import make_client, two_pair_request

URL = "http://wes.test"
BASE = URL + "/ga4gh/wes/v1"
CWL = {"workflow_type_version": ["v1.0", "v1.1", "v1.2"]}
TOIL_INFO = {
    "version": "9.6.0",
    "workflow_type_versions": {"cwl": CWL, "wdl": {"workflow_type_version": ["1.0"]}},
    "supported_wes_versions": ["1.0.0"],
    "supported_filesystem_protocols": ["file", "http", "https"],
    "workflow_engine_versions": {"toil": "9.6.0"},
    "default_workflow_engine_parameters": [],
    "system_state_counts": {},
    "tags": {"wes_dialect": "standard"},
}
WES_SERVICE_INFO = {
    "workflow_type_versions": {"CWL": CWL},
    "supported_wes_versions": ["0.3.0", "1.0.0"],
    "supported_filesystem_protocols": ["file", "http", "https"],
    "workflow_engine_versions": {"cwl-runner": "b'cwltool 3.3'"},
    "system_state_counts": {},
    "tags": {},
}
SAPPORO_INFO = {
    "workflow_type_versions": {"CWL": CWL, "WDL": {"workflow_type_version": ["1.0"]}},
    "supported_filesystem_protocols": ["file", "http", "https"],
    "workflow_engine_versions": {
        "cwltool": {"workflow_engine_version": ["3.3"]},
        "toil": {"workflow_engine_version": ["9.5.0"]},
    },
    "default_workflow_engine_parameters": {
        "snakemake": [{"name": "--cores", "type": "int", "default_value": "1"}]
    },
}
JOB = {"reference": {"class": "File", "location": "https://a.blob.core.windows.net/r/x.fa?s"}}


def client_for(clock: Any, **kwargs: Any) -> Any:
    return make_client("wes", URL, clock, key="wes-bearer-token-xyz", **kwargs)


def _parts(request: requests.PreparedRequest) -> dict[str, tuple[str | None, bytes]]:
    """The multipart form's parts: name -> (file name, payload)."""
    content_type = request.headers["Content-Type"]
    body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    return {
        str(part.get_param("name", header="content-disposition")): (
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    }


def test_genoflow_server_is_not_portable_others_are(mock, clock):
    mock.add("GET", BASE + "/service-info", json={"id": wire.GENOFLOW_SERVICE_ID})
    assert client_for(clock).portable() is False
    mock.replace("GET", BASE + "/service-info", json=TOIL_INFO)
    assert client_for(clock).portable() is True


@pytest.mark.parametrize(
    ("info", "engine", "reason"),
    [
        ({"workflow_type_versions": {"WDL": CWL}}, None, "runs no CWL workflows (it offers WDL)"),
        (
            {"workflow_type_versions": {"CWL": {"workflow_type_version": ["v1.0"]}}},
            None,
            "runs CWL v1.0; the pipeline is CWL v1.2",
        ),
        ({**WES_SERVICE_INFO, "supported_filesystem_protocols": ["file"]}, None, "no http(s)"),
        (SAPPORO_INFO, None, "several workflow engines (cwltool, toil) and genoflow was not told"),
        (SAPPORO_INFO, "nextflow", "offers the workflow engines cwltool, toil, not 'nextflow'"),
    ],
)
def test_servers_that_cannot_run_the_pipeline_are_refused_with_exit_2(
    mock, clock, info, engine, reason
):
    mock.add("GET", BASE + "/service-info", json=info)
    with pytest.raises(UsageError, match="cannot submit to this WES server") as caught:
        client_for(clock, workflow_engine=engine).portable()
    assert reason in caught.value.one_line() and caught.value.exit_code is ExitCode.USAGE
    assert [call.request.method for call in mock.calls] == ["GET"]


@pytest.mark.parametrize(
    ("info", "engine"), [(TOIL_INFO, None), (WES_SERVICE_INFO, None), (SAPPORO_INFO, "cwltool")]
)
def test_servers_that_can_run_it_pass(info, engine):
    assert refusal(wire.ServiceInfo.model_validate(info), engine) is None


@pytest.mark.parametrize(
    ("info", "configured", "sent"),
    [(TOIL_INFO, None, "toil"), (SAPPORO_INFO, "cwltool", "cwltool")],
)
def test_submit_job_attaches_the_packed_workflow_with_the_cwl_job(
    mock, clock, info, configured, sent
):
    mock.add("GET", BASE + "/service-info", json=info)
    mock.add("POST", BASE + "/runs", json={"run_id": "t1"})
    request = two_pair_request(key="cd" * 16)
    run = client_for(clock, workflow_engine=configured).submit_job(request, JOB, "cwl text")
    parts = _parts(mock.calls[-1].request)
    assert parts["workflow_attachment"] == (WORKFLOW_NAME, b"cwl text")
    assert parts["workflow_url"][1].decode() == WORKFLOW_NAME
    assert (parts["workflow_type"][1], parts["workflow_type_version"][1]) == (b"CWL", b"v1.2")
    assert json.loads(parts["workflow_params"][1]) == JOB
    assert json.loads(parts["tags"][1])[SUBMISSION_KEY] == "cd" * 16
    assert parts["workflow_engine"][1].decode() == sent
    assert run.id == "t1" and run.tags[SUBMISSION_KEY] == "cd" * 16


def test_toil_run_log_tasks_without_id_and_relative_log_url(mock, clock):
    log_url = "../../../../toil/wes/v1/logs/t1/stderr"
    mock.add(
        "GET",
        BASE + "/runs/t1",
        json={
            "run_id": "t1",
            "request": {"workflow_url": WORKFLOW_NAME, "workflow_params": {}},
            "state": "RUNNING",
            "run_log": {"cmd": ["toil-cwl-runner"], "stdout": "", "stderr": log_url},
            "task_logs": [{"name": "align", "exit_code": 0}],
            "outputs": {},
        },
    )
    mock.add("GET", URL + "/toil/wes/v1/logs/t1/stderr", body="line one\nline two\n")
    client = client_for(clock)
    assert client.get("t1").state is RunState.RUNNING
    assert client.logs("t1", 9) == ("line two\n", 18)
    assert mock.calls[-1].request.headers["Authorization"] == "Bearer wes-bearer-token-xyz"


def test_wes_service_stderr_is_the_log_itself(mock, clock):
    text = "INFO [workflow ] start\nINFO [workflow ] completed success\n"
    log = {"run_id": "w1", "state": "COMPLETE", "run_log": {"stderr": text, "start_time": ""}}
    mock.add("GET", BASE + "/runs/w1", json=log)
    assert client_for(clock).logs("w1", 0) == (text, len(text))


def test_delivered_outputs_are_the_runs_recorded_outputs(mock, clock):
    delivered = [
        {"name": "S/ab/S.bam", "kind": "bam", "size": 10, "md5": "AB" * 16, "container": "out",
         "url": "http://127.0.0.1:1/devstoreaccount1/out/S/ab/S.bam"},
        {"name": "S/ab/S.vcf", "kind": "vcf", "size": 5, "md5": "cd" * 16, "container": "out",
         "url": "http://127.0.0.1:1/devstoreaccount1/out/S/ab/S.vcf"},
        {"name": "x", "kind": "not-an-output", "container": "out"},
    ]  # fmt: skip
    log = {"run_id": "w2", "state": "COMPLETE", "outputs": {"delivered": delivered}}
    mock.add("GET", BASE + "/runs/w2", json=log)
    outputs = client_for(clock).get("w2").outputs
    assert [(o.name, o.kind, o.size, o.md5, o.container) for o in outputs] == [
        ("S/ab/S.bam", "bam", 10, "ab" * 16, "out"),
        ("S/ab/S.vcf", "vcf", 5, "cd" * 16, "out"),
    ]


def test_sapporo_service_info_with_per_engine_parameters_parses(mock, clock):
    mock.add("GET", BASE + "/service-info", json=SAPPORO_INFO)
    info = client_for(clock, workflow_engine="cwltool").service_info()
    assert info["default_workflow_engine_parameters"][0]["name"] == "--cores"


def _running(run_id: str) -> dict[str, Any]:
    return {"run_id": run_id, "state": "RUNNING", "run_log": {}}


def test_a_cancel_the_server_does_not_carry_out_is_reported_after_a_bounded_wait(mock, clock):
    mock.add("GET", BASE + "/runs/w3", json=_running("w3"))
    mock.add("POST", BASE + "/runs/w3/cancel", json={"run_id": "w3"})
    client = client_for(clock)
    client.cancel_grace = 5.0
    (outcome,) = cancel_runs(client, ["w3"])
    assert outcome.ignored and outcome.run.state is RunState.RUNNING
    assert sum(clock.sleeps) == pytest.approx(5.0)


def test_a_cancel_carried_out_ends_the_wait_at_once(mock, clock):
    mock.add("GET", BASE + "/runs/t2", json=_running("t2"))
    mock.add("POST", BASE + "/runs/t2/cancel", json={"run_id": "t2"})
    mock.add("GET", BASE + "/runs/t2", json={"run_id": "t2", "state": "CANCELING"})
    (outcome,) = cancel_runs(client_for(clock), ["t2"])
    assert not outcome.ignored and outcome.run.state is RunState.CANCELLING
    assert clock.sleeps == []


def test_after_retries_only_when_there_were_retries(mock, clock):
    mock.add("POST", BASE + "/runs", status=500, json={"msg": "engine crashed"})
    with pytest.raises(UnavailableError) as once:
        client_for(clock).http.request("POST", "runs", idempotent=False)
    assert once.value.one_line().endswith("engine crashed") and len(mock.calls) == 1
    mock.add("GET", BASE + "/runs/r1", status=503, json={"msg": "busy"})
    with pytest.raises(UnavailableError, match=r"busy \(after retries\)"):
        client_for(clock, attempts=3).get("r1")
    assert len(mock.calls) == 4 and len(clock.sleeps) == 2


def test_sapporo_delivered_outputs_come_from_the_stdout_text(mock, clock):
    delivered = [{"name": "S.vcf", "kind": "vcf", "size": 5, "md5": "ef" * 16, "container": "o"}]
    log = {
        "run_id": "s1",
        "state": "COMPLETE",
        "run_log": {"stdout": json.dumps({"delivered": delivered}, indent=4)},
        "outputs": [{"file_name": "x.txt", "file_url": "http://sapporo/runs/s1/outputs/x.txt"}],
    }
    mock.add("GET", BASE + "/runs/s1", json=log)
    run = client_for(clock).get("s1")
    assert [(o.name, o.md5, o.container) for o in run.outputs] == [("S.vcf", "ef" * 16, "o")]
    assert isinstance(run.output_document, list)
