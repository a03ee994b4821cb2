"""genoflow's extensions of both wires (service identity, recorded outputs, run logs) read by
genoflow's clients, ignored by parsers that do not know them, and derived for foreign servers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import responses
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from genoflow.model.runs import RunState
from genoflow.protocols.base import log_chunk, url_identity
from genoflow.protocols.msgenomics import wire as ms
from tests.protocols.fakes import FakeMsGenomics, FakeWes
from tests.protocols.helpers import FakeClock, make_client

GENOFLOW_WORKFLOW: dict[str, Any] = {
    "Id": 7,
    "TenantId": 1,
    "Status": 20000,
    "Message": "Completed successfully",
    "FailureCode": 0,
    "Description": "sample H3",
    "Process": "snapgatk-genoflow_1.0",
    "CreatedDate": "2024-05-01T12:00:00.1234560+00:00",
    "EndDate": "2024-05-01T12:30:00.1234560+00:00",
    "BasesProcessed": 1200,
    "ServiceId": "gf-0123456789ab",
    "Outputs": [
        {
            "Name": "H3/0a1b2c3d/H3.bam",
            "Kind": "bam",
            "Size": 10,
            "Md5": "ab" * 16,
            "Container": "outs",
        },
    ],
    "SomeFutureField": {"nested": True},
}


class OldWorkflow(BaseModel):
    """The workflow object as the old client read it: the documented fields, strictly typed,
    nothing else looked at (it read keys out of the parsed JSON)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    Id: StrictInt
    TenantId: StrictInt
    Status: StrictInt
    Message: StrictStr | None
    FailureCode: StrictInt
    Description: StrictStr
    Process: StrictStr
    CreatedDate: StrictStr
    EndDate: StrictStr | None
    BasesProcessed: StrictInt


def test_old_style_parsers_ignore_the_extension_fields() -> None:
    old = OldWorkflow.model_validate(GENOFLOW_WORKFLOW)
    assert (old.Id, old.Status, old.BasesProcessed) == (7, 20000, 1200)
    run = ms.workflow_to_run(ms.Workflow.model_validate(GENOFLOW_WORKFLOW))
    assert run.state is RunState.SUCCEEDED and run.service == "gf-0123456789ab"
    assert isinstance(run.created, datetime)


def test_server_answer_without_extensions_still_parses_strictly() -> None:
    """What the server sends for a run without outputs keeps the old types (null Outputs)."""
    answer = ms.run_to_workflow(ms.workflow_to_run(ms.Workflow.model_validate(GENOFLOW_WORKFLOW)))
    OldWorkflow.model_validate(answer.model_dump(mode="json"))


def test_foreign_msgen_service_is_named_by_its_url(mock: responses.RequestsMock) -> None:
    fake = FakeMsGenomics(mock)
    fake.add(ms.STATUS_SUCCEEDED)
    client = make_client("msgenomics", fake.base, FakeClock(), key=fake.key)
    expected = url_identity(fake.base)
    assert client.service_identity() == expected
    assert [run.service for run in client.list()] == [expected]


def test_foreign_wes_service_is_named_by_its_url_genoflow_by_its_tag(
    mock: responses.RequestsMock,
) -> None:
    foreign = FakeWes(mock)
    run = foreign.add(RunState.SUCCEEDED)
    client = make_client("wes", "http://wes.test", FakeClock())
    assert client.service_identity() == url_identity("http://wes.test/")
    assert client.get(run.id).service == client.service_identity()
    named = FakeWes(mock, base="http://gf.test/ga4gh/wes/v1", service_id="gf-00112233aabb")
    assert make_client("wes", "http://gf.test", FakeClock()).service_identity() == named.service_id


@pytest.mark.parametrize(
    ("read_group", "first", "sample"),
    [
        (r"@RG\tID:l1\tSM:H3", "reads_1.fq.gz", "H3"),
        ("@RG\tID:l1\tSM:NA 12878\tLB:x", "reads_1.fq.gz", "NA_12878"),
        (r"@RG\tID:l1", "H3_R1.fq.gz", "H3"),
        (None, "dir/S1_1.fq.gz", "S1"),
    ],
)
def test_old_wire_sample_is_the_read_groups_or_the_first_inputs(
    read_group: str | None, first: str, sample: str
) -> None:
    assert ms.sample_of(read_group, first) == sample


def test_log_chunks_from_servers_that_honour_the_offset_or_not() -> None:
    assert log_chunk(b"world\n", "6", 6) == ("world\n", 12)  # honoured
    assert log_chunk(b"hello\nworld\n", None, 6) == ("world\n", 12)  # whole log sent
    assert log_chunk(b"", "12", 12) == ("", 12)
    cut = "é".encode()  # a character cut between two chunks comes whole with the next one
    assert log_chunk(b"ab" + cut[:1], "0", 0) == ("ab", 2)
    assert log_chunk(cut + b"c", "2", 2) == ("éc", 5)


def test_wes_logs_of_a_foreign_server_through_its_stderr_url(
    mock: responses.RequestsMock,
) -> None:
    """The whole log each time (no offset support): the client skips what it had, and sends
    no credentials to a host the URL names."""
    log_url = "http://logs.example/run42/stderr.txt"
    mock.add(
        "GET",
        "http://wes.test/ga4gh/wes/v1/runs/run42",
        json={"run_id": "run42", "state": "RUNNING", "run_log": {"stderr": log_url}},
    )
    mock.add("GET", log_url, body=b"line 1\nline 2\n")
    client = make_client("wes", "http://wes.test", FakeClock(), key="wes-bearer-token-xyz")
    assert client.logs("run42") == ("line 1\nline 2\n", 14)
    assert client.logs("run42", 7) == ("line 2\n", 14)
    sent = [call.request for call in mock.calls if call.request.url.startswith(log_url)]
    assert sent and all("Authorization" not in request.headers for request in sent)
    assert len([c for c in mock.calls if c.request.url.endswith("/runs/run42")]) == 1
