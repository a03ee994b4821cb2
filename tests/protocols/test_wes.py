"""The WES 1.1 client against a `responses` fake and recorded-style answers of real servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genoflow.errors import AuthError, NotFoundError, ServiceError, UnavailableError
from genoflow.model.runs import RunFilters, RunState
from genoflow.model.tags import SAMPLE, SUBMISSION_KEY
from genoflow.protocols.http import BadRequestError
from genoflow.protocols.wes import wire
from tests.protocols.fakes import FakeWes
from tests.protocols.helpers import make_client, two_pair_request

DATA = Path(__file__).resolve().parent.parent / "data" / "protocols"
URL = "http://wes.test"
BASE = URL + "/ga4gh/wes/v1"


@pytest.fixture
def fake(mock) -> FakeWes:
    return FakeWes(mock)


def client_for(clock, **kwargs):
    return make_client("wes", URL, clock, key="wes-bearer-token-xyz", **kwargs)


def test_submit_posts_multipart_form_with_json_fields(fake, mock, clock):
    run = client_for(clock).submit(two_pair_request(key="ab" * 16))
    sent = mock.calls[0].request
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    assert sent.headers["Authorization"] == "Bearer wes-bearer-token-xyz"
    seen = fake.requests_seen[run.id]
    assert seen.workflow_type == "CWL" and seen.workflow_type_version == "v1.2"
    assert seen.tags[SUBMISSION_KEY] == "ab" * 16 and seen.tags[SAMPLE] == "NA12878"
    params = wire.PipelineParams.model_validate(seen.workflow_params)
    assert [f.location.split("?")[0] for f in params.reads_1] == [
        "https://myaccount.blob.core.windows.net/inputs/A_1.fq.gz",
        "https://myaccount.blob.core.windows.net/inputs/B_1.fq.gz",
    ]
    assert params.emit_ref_confidence == "gvcf" and params.bgzip_output is True
    assert params.output_url.endswith(
        "/outputs?sv=2023-11-03&se=2024-05-03T12%3A00%3A00Z&sr=c&sp=rwd&sig=OUTSIG"
    )
    # the server direction reads back the same request
    back = wire.submit_from_run_request(seen)
    assert back.reads_2 == ("A_2.fq.gz", "B_2.fq.gz")
    assert back.input_sas["B_2.fq.gz"].endswith("sig=B2SIG")
    assert back.submission_key == "ab" * 16
    assert (run.state, run.sample) == (RunState.QUEUED, "NA12878")


@pytest.mark.parametrize(
    ("wes_state", "state"),
    [
        ("UNKNOWN", RunState.UNKNOWN),
        ("QUEUED", RunState.QUEUED),
        ("INITIALIZING", RunState.RUNNING),
        ("RUNNING", RunState.RUNNING),
        ("PAUSED", RunState.RUNNING),
        ("COMPLETE", RunState.SUCCEEDED),
        ("EXECUTOR_ERROR", RunState.FAILED),
        ("SYSTEM_ERROR", RunState.FAILED),
        ("CANCELED", RunState.CANCELLED),
        ("CANCELING", RunState.CANCELLING),
        ("PREEMPTED", RunState.FAILED),
        ("DELETED", RunState.CANCELLED),
        ("DELETING", RunState.CANCELLING),
        ("SOMETHING_NEW", RunState.UNKNOWN),
    ],
)
def test_get_and_status_map_every_state(mock, clock, wes_state, state):
    mock.add("GET", BASE + "/runs/r1", json={"run_id": "r1", "state": wes_state})
    mock.add("GET", BASE + "/runs/r1/status", json={"run_id": "r1", "state": wes_state})
    client = client_for(clock)
    assert client.get("r1").state is state
    assert client.status("r1") is state


def test_run_log_fields_become_the_run(fake, clock):
    client = client_for(clock)
    submitted = client.submit(two_pair_request())
    fake.runs[submitted.id] = fake.add(RunState.FAILED, fake.runs[submitted.id].tags)
    run = client.get(list(fake.runs)[-1])
    assert run.state is RunState.FAILED
    assert run.message == "Error Code [308]: unmatched read"
    assert run.wall_time is not None and run.wall_time.total_seconds() == 1800


def test_list_follows_page_tokens_across_pages(fake, mock, clock):
    for minute in range(7):
        fake.add(RunState.SUCCEEDED, {SAMPLE: f"s{minute}"}, minutes=minute)
    runs = list(client_for(clock).list(RunFilters(), page_size=2))
    assert [r.sample for r in runs] == [f"s{m}" for m in range(6, -1, -1)]
    urls = [call.request.url for call in mock.calls]
    assert len(urls) == 4 and "page_token" not in urls[0] and "page_token=6" in urls[3]


def test_list_filters_on_the_client(fake, clock):
    fake.add(RunState.SUCCEEDED, {wire.DESCRIPTION_TAG: "NA12878 lane 1"})
    fake.add(RunState.FAILED, {wire.DESCRIPTION_TAG: "NA12878 lane 2"})
    fake.add(RunState.SUCCEEDED, {wire.DESCRIPTION_TAG: "other"})
    filters = RunFilters(states=frozenset({RunState.SUCCEEDED}), description="NA12878")
    assert [r.description for r in client_for(clock).list(filters)] == ["NA12878 lane 1"]


def test_toil_style_list_without_paging(mock, clock):
    answer = json.loads((DATA / "wes_toil_list.json").read_text())
    mock.add("GET", BASE + "/runs", json=answer)
    runs = list(client_for(clock).list(RunFilters(), page_size=1))
    assert [(r.id, r.state) for r in runs] == [
        ("a1b2", RunState.SUCCEEDED),
        ("c3d4", RunState.RUNNING),
    ]
    assert len(mock.calls) == 1


def test_server_ignoring_page_tokens_does_not_loop(mock, clock):
    page = {"runs": [{"run_id": "x", "state": "COMPLETE"}], "next_page_token": "more"}
    mock.add("GET", BASE + "/runs", json=page)
    assert [r.id for r in client_for(clock).list(RunFilters(), page_size=1)] == ["x"]
    assert len(mock.calls) == 2


def test_sapporo_style_run_log_with_outputs_list(mock, clock):
    answer = json.loads((DATA / "wes_sapporo_runlog.json").read_text())
    mock.add("GET", BASE + "/runs/sap1", json=answer)
    run = client_for(clock).get("sap1")
    assert run.state is RunState.SUCCEEDED
    assert isinstance(run.output_document, list)
    assert run.output_document[0]["file_name"] == "NA12878.bam"
    assert run.created is not None and run.ended is not None


def test_cancel_posts_then_reads_the_run(fake, mock, clock):
    run = fake.add(RunState.RUNNING)
    cancelled = client_for(clock).cancel(run.id)
    assert [c.request.method for c in mock.calls] == ["POST", "GET"]
    assert cancelled.state is RunState.CANCELLING


def test_service_info_parses_toil_1_0(mock, clock):
    mock.add(
        "GET",
        BASE + "/service-info",
        json={
            "workflow_type_versions": {"CWL": {"workflow_type_version": ["v1.0", "v1.2"]}},
            "supported_wes_versions": ["1.0.0"],
            "supported_filesystem_protocols": ["file", "http"],
            "workflow_engine_versions": {"toil": "5.12"},
            "system_state_counts": {"RUNNING": 1},
        },
    )
    info = client_for(clock).service_info()
    assert info["supported_wes_versions"] == ["1.0.0"] and info["protocol"] == "wes"


@pytest.mark.parametrize("engine", [None, "cwltool"])
def test_configured_workflow_engine_is_sent_only_when_set(fake, clock, engine):
    run = client_for(clock, workflow_engine=engine).submit(two_pair_request())
    assert fake.requests_seen[run.id].workflow_engine == engine


def test_service_info_rejects_an_engine_the_server_does_not_offer(mock, clock):
    mock.add(
        "GET",
        BASE + "/service-info",
        json={
            "workflow_type_versions": {"CWL": {"workflow_type_version": ["v1.2"]}},
            "workflow_engine_versions": {"cwltool": "3.1", "toil": "9.1"},
        },
    )
    assert client_for(clock, workflow_engine="toil").service_info()["protocol"] == "wes"
    with pytest.raises(ServiceError, match="offers the workflow engines cwltool, toil, not 'x'"):
        client_for(clock, workflow_engine="x").service_info()


def test_service_info_without_cwl_is_an_error(mock, clock):
    mock.add(
        "GET",
        BASE + "/service-info",
        json={"workflow_type_versions": {"WDL": {"workflow_type_version": ["1.0"]}}},
    )
    with pytest.raises(ServiceError, match="no CWL"):
        client_for(clock).service_info()


def test_tasks_page_and_sapporo_400_means_none(mock, clock):
    mock.add(
        "GET",
        BASE + "/runs/r1/tasks",
        json={"task_logs": [{"id": "t1", "name": "bwa", "exit_code": 0}], "next_page_token": "1"},
    )
    mock.add(
        "GET",
        BASE + "/runs/r1/tasks",
        json={"task_logs": [{"id": "t2", "name": "gatk"}], "next_page_token": ""},
    )
    mock.add("GET", BASE + "/runs/r1/tasks/t1", json={"id": "t1", "name": "bwa"})
    mock.add(
        "GET",
        BASE + "/runs/r2/tasks",
        status=400,
        json={"msg": "not supported", "status_code": 400},
    )
    client = client_for(clock)
    assert [t.id for t in client.tasks("r1")] == ["t1", "t2"]
    assert client.task("r1", "t1").name == "bwa"
    assert list(client.tasks("r2")) == []


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequestError), (401, AuthError), (403, AuthError), (404, NotFoundError)],
)
def test_wes_errors_are_one_line_and_not_retried(mock, clock, status, error):
    mock.add(
        "GET",
        BASE + "/runs/r9",
        status=status,
        json={"msg": "The requested run\nwasn't found", "status_code": status},
    )
    with pytest.raises(error, match="wasn't found"):
        client_for(clock).get("r9")
    assert len(mock.calls) == 1 and clock.sleeps == []


def test_wes_retries_503_and_429(mock, clock):
    mock.add("GET", BASE + "/runs/r1", status=503)
    mock.add("GET", BASE + "/runs/r1", status=429, headers={"Retry-After": "3"})
    mock.add("GET", BASE + "/runs/r1", json={"run_id": "r1", "state": "RUNNING"})
    assert client_for(clock).get("r1").state is RunState.RUNNING
    assert len(clock.sleeps) == 2 and clock.sleeps[1] == 3.0


def test_lost_submit_answer_is_reported_as_maybe_processed(fake, clock):
    fake.lose_next_submit_answer = True
    with pytest.raises(UnavailableError) as caught:
        client_for(clock).submit(two_pair_request(key="ab" * 16))
    assert caught.value.maybe_processed is True and len(fake.runs) == 1
    found = client_for(clock).find_by_key("ab" * 16)
    assert found is not None and found.id == next(iter(fake.runs))


def test_run_request_form_round_trip():
    request = wire.RunRequest(
        workflow_url="snapgatk",
        workflow_params={"sample": "s"},
        tags={"k": "v"},
        workflow_engine="cwltool",
    )
    form = request.to_form()
    assert form["workflow_params"] == '{"sample": "s"}' and "workflow_engine_version" not in form
    assert wire.RunRequest.from_form(form) == request
