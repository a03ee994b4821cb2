"""The Microsoft Genomics client against a `responses` fake: endpoints, states, paging, retries,
errors and the exact submit body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import responses

from genoflow.errors import AuthError, NotFoundError, UnavailableError
from genoflow.model.runs import RunFilters, RunState
from genoflow.model.tags import SUBMISSION_KEY
from genoflow.protocols.http import BadRequestError
from genoflow.protocols.msgenomics import wire
from tests.protocols.fakes import FakeMsGenomics
from tests.protocols.helpers import FakeClock, bam_request, make_client, two_pair_request

DATA = Path(__file__).resolve().parent.parent / "data" / "protocols"
KEY = "test-subscription-key-123"
URL = "http://ms.test"
ROOT = URL + "/api/workflows/"


@pytest.fixture
def fake(mock: responses.RequestsMock) -> FakeMsGenomics:
    return FakeMsGenomics(mock)


def client_for(clock: FakeClock, **kwargs):
    return make_client("msgenomics", URL, clock, key=KEY, **kwargs)


# --- the submit body, byte for byte --------------------------------------------------------


@pytest.mark.parametrize(
    ("request_factory", "golden"),
    [
        (two_pair_request, "msgenomics_submit_two_pairs_gvcf.json"),
        (bam_request, "msgenomics_submit_bam_defaults.json"),
    ],
)
def test_submit_body_is_byte_for_byte_the_reference_shape(fake, clock, request_factory, golden):
    expected = (DATA / golden).read_bytes().rstrip(b"\n")
    client = client_for(clock)
    run = client.submit(request_factory())
    assert fake.bodies == [expected]
    assert run.state is RunState.QUEUED
    assert json.loads(expected)["OutputArgs"]["OVERWRITE"] in ("true", "false")


def test_submit_sends_the_headers_and_records_the_key_in_the_description(fake, mock, clock):
    run = client_for(clock).submit(two_pair_request(key="ab" * 16))
    sent = mock.calls[0].request
    assert sent.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body)["Description"] == "sample NA12878 [gf:" + "ab" * 16 + "]"
    assert run.description == "sample NA12878"  # the marker is not shown back
    assert run.tags[SUBMISSION_KEY] == "ab" * 16
    assert run.sample == "NA12878" and run.inputs[:2] == ("A_1.fq.gz", "A_2.fq.gz")


def test_server_direction_parses_other_clients_spellings():
    body = wire.SubmitBody.model_validate(
        {
            "Process": "snapgatk",
            "ProcessArgs": "R=hg19m1",
            "Description": "x",
            "InputArgs": {
                "ACCOUNT": "a",
                "CONTAINER": "in",
                "BLOBNAMES": "s_1.fq,s_2.fq,",
                "BLOBNAMES_WITH_SAS": "s_1.fq?sv=1&sig=X,s_2.fq?sv=1&sig=Y,",
            },
            "OutputArgs": {
                "ACCOUNT": "a",
                "CONTAINER": "out",
                "CONTAINER_SAS": "?sv=1&sig=Z",
                "OVERWRITE": True,
                "OUTPUT_INCLUDE_LOGFILES": "false",
            },
            "OptionalArgs": {"GatkEmitRefConfidence": "GVCF", "BQSR": "false"},
        }
    )
    request = wire.request_from_submit_body(body)
    assert request.reads_1 == ("s_1.fq",) and request.reads_2 == ("s_2.fq",)
    assert request.input_sas == {"s_1.fq": "sv=1&sig=X", "s_2.fq": "sv=1&sig=Y"}
    assert request.output_sas == "sv=1&sig=Z"
    assert request.options.overwrite is True and request.options.include_logs is False
    assert request.options.emit_ref_confidence == "gvcf" and request.options.bqsr is False
    assert request.options.effective_reference == "hg19m1"
    assert body.to_wire()["OutputArgs"]["OVERWRITE"] == "true"


# --- endpoints and states ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (1000, RunState.QUEUED),
        (10000, RunState.RUNNING),
        (20000, RunState.SUCCEEDED),
        (50000, RunState.FAILED),
        (58000, RunState.CANCELLING),
        (60000, RunState.CANCELLED),
        (12345, RunState.UNKNOWN),
    ],
)
def test_get_maps_every_status(fake, clock, status, state):
    workflow = fake.add(status, "d", message="Error Code [308]: x" if status == 50000 else None)
    run = client_for(clock).get(str(workflow.Id))
    assert run.state is state
    assert run.created == workflow.CreatedDate
    if state is not RunState.UNKNOWN:
        assert wire.STATE_TO_STATUS[state] == status  # the reverse table, for the server


def test_workflow_object_round_trips_with_seven_digit_dates(fake, clock):
    raw = (
        '{"Id": 42, "TenantId": 3, "Status": 50000, "Message": "Error Code [308]: unmatched",'
        ' "FailureCode": 308, "Description": "d", "Process": "snapgatk-20190409_1",'
        ' "CreatedDate": "2017-02-08T00:57:16.3403168+00:00",'
        ' "EndDate": "2017-02-08T01:23:37.1000000+00:00", "BasesProcessed": 1348613600}'
    )
    workflow = wire.Workflow.model_validate_json(raw)
    run = wire.workflow_to_run(workflow)
    assert (run.id, run.state, run.failure_code) == ("42", RunState.FAILED, 308)
    assert run.wall_time is not None and int(run.wall_time.total_seconds()) == 26 * 60 + 20
    dumped = wire.run_to_workflow(run, tenant_id=3).model_dump(mode="json")
    assert dumped["CreatedDate"] == "2017-02-08T00:57:16.3403160+00:00"
    assert dumped["Status"] == 50000 and dumped["BasesProcessed"] == 1348613600


def test_cancel_uses_delete_and_answers_the_workflow(fake, mock, clock):
    workflow = fake.add(10000)
    run = client_for(clock).cancel(str(workflow.Id))
    assert mock.calls[-1].request.method == "DELETE"
    assert run.state is RunState.CANCELLING


def test_service_info_is_a_cheap_authenticated_list(fake, mock, clock):
    fake.add(1000)
    info = client_for(clock).service_info()
    assert info["protocol"] == "msgenomics"
    assert "%24top=1" in mock.calls[0].request.url


def test_non_numeric_id_is_refused_before_any_request(fake, mock, clock):
    with pytest.raises(Exception, match="not a workflow id"):
        client_for(clock).get("abc")
    assert len(mock.calls) == 0


# --- list: OData and paging ------------------------------------------------------------------


def test_list_pages_lazily_newest_first_across_pages(fake, mock, clock):
    for minute in range(7):
        fake.add(20000 if minute % 2 else 50000, f"run {minute}", minutes=minute)
    runs = list(client_for(clock).list(RunFilters(), page_size=2))
    assert [r.description for r in runs] == [f"run {m}" for m in range(6, -1, -1)]
    skips = [req.request.url.split("%24skip=")[1].split("&")[0] for req in mock.calls]
    assert skips == ["0", "2", "4", "6"]
    assert all("CreatedDate+desc" in call.request.url for call in mock.calls)


def test_list_stops_fetching_when_the_caller_stops(fake, mock, clock):
    for minute in range(9):
        fake.add(20000, minutes=minute)
    iterator = client_for(clock).list(RunFilters(), page_size=3)
    first_four = [next(iterator) for _ in range(4)]
    assert len(first_four) == 4 and len(mock.calls) == 2


def test_list_sends_odata_filters(fake, mock, clock):
    fake.add(20000, "NA12878 lane 1")
    fake.add(50000, "NA12878 lane 2")
    fake.add(20000, "other")
    filters = RunFilters(states=frozenset({RunState.SUCCEEDED}), description="NA12878")
    runs = list(client_for(clock).list(filters))
    assert [r.description for r in runs] == ["NA12878 lane 1"]
    url = requests.utils.unquote(mock.calls[0].request.url).replace("+", " ")
    assert "$filter=substringof('NA12878', Description) and Status eq '20000'" in url


def test_list_survives_a_server_that_ignores_paging(fake, mock, clock):
    fake.honour_paging = False
    for minute in range(5):
        fake.add(1000, minutes=minute)
    runs = list(client_for(clock).list(RunFilters(), page_size=2))
    assert len(runs) == 5 and len({r.id for r in runs}) == 5
    assert len(mock.calls) == 2  # the repeated page is recognised and ends the listing


# --- retries and errors ----------------------------------------------------------------------


def test_retries_429_honouring_retry_after(mock, clock):
    mock.add(
        "GET", ROOT + "5", status=429, headers={"Retry-After": "7"}, json={"Message": "throttled"}
    )
    mock.add("GET", ROOT + "5", json={"Id": 5, "Status": 10000})
    run = client_for(clock).get("5")
    assert run.state is RunState.RUNNING
    assert clock.sleeps == [7.0]


@pytest.mark.parametrize("status", [503, 502, 504, 403])
def test_retries_transient_statuses_with_backoff(mock, clock, status):
    for _ in range(3):
        mock.add("GET", ROOT + "5", status=status, json={"Message": "down"})
    mock.add("GET", ROOT + "5", json={"Id": 5, "Status": 20000})
    assert client_for(clock).get("5").state is RunState.SUCCEEDED
    assert len(clock.sleeps) == 3
    assert all(0 <= wait <= cap for wait, cap in zip(clock.sleeps, (1, 2, 4), strict=True))


def test_retries_connection_errors_then_gives_up_as_unavailable(mock, clock):
    mock.add("GET", ROOT + "5", body=requests.ConnectionError("refused"))
    with pytest.raises(UnavailableError, match="cannot reach"):
        client_for(clock, attempts=4).get("5")
    assert len(mock.calls) == 4 and len(clock.sleeps) == 3


def test_gives_up_within_the_total_budget(mock, clock):
    mock.add("GET", ROOT + "5", status=503, headers={"Retry-After": "30"})
    with pytest.raises(UnavailableError, match="503"):
        client_for(clock, attempts=50, total=100).get("5")
    assert sum(clock.sleeps) <= 100 and len(mock.calls) == 4


@pytest.mark.parametrize(
    ("status", "error"), [(400, BadRequestError), (401, AuthError), (404, NotFoundError)]
)
def test_no_retry_on_client_errors(mock, clock, status, error):
    mock.add(
        "GET",
        ROOT + "5",
        status=status,
        json={"Message": "Workflow\n  5 is\tnot valid", "Details": "ignored"},
    )
    with pytest.raises(error) as caught:
        client_for(clock).get("5")
    assert len(mock.calls) == 1 and clock.sleeps == []
    line = caught.value.one_line()
    assert "\n" not in line and f"answered {status}: Workflow 5 is not valid" in line


def test_list_errors_use_lowercase_message_and_text_bodies(mock, clock):
    mock.add("GET", ROOT, status=400, json={"message": "bad $filter"})
    with pytest.raises(BadRequestError, match="bad \\$filter"):
        list(client_for(clock).list())
    mock.replace("GET", ROOT, status=400, body="<html>\n<b>Bad</b> request\n</html>")
    with pytest.raises(BadRequestError, match="<html> <b>Bad</b> request </html>"):
        list(client_for(clock).list())


def test_submit_is_not_repeated_after_an_ambiguous_failure(fake, mock, clock):
    fake.lose_next_submit_answer = True
    with pytest.raises(UnavailableError) as caught:
        client_for(clock).submit(two_pair_request())
    assert caught.value.maybe_processed is True
    assert len(fake.bodies) == 1 and len(fake.workflows) == 1


def test_submit_is_retried_after_429(mock, clock):
    mock.add("POST", ROOT, status=429, headers={"Retry-After": "2"})
    mock.add("POST", ROOT, json={"Id": 9, "Status": 1000})
    run = client_for(clock).submit(bam_request())
    assert (run.id, run.state) == ("9", RunState.QUEUED)
    assert clock.sleeps == [2.0] and len(mock.calls) == 2


def test_submit_is_not_retried_after_503(mock, clock):
    mock.add("POST", ROOT, status=503)
    with pytest.raises(UnavailableError) as caught:
        client_for(clock).submit(bam_request())
    assert caught.value.maybe_processed is True and len(mock.calls) == 1


def test_find_by_key_uses_the_description_filter(fake, mock, clock):
    client = client_for(clock)
    first = client.submit(two_pair_request(key="cd" * 16))
    fake.add(20000, "unrelated")
    found = client.find_by_key("cd" * 16)
    assert found is not None and found.id == first.id
    assert client.find_by_key("ef" * 16) is None
