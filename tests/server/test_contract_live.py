"""The protocol clients' contract, run against the live `genoflow server` for both protocols.

The `responses` suites in tests/protocols cover retries and foreign servers' quirks; these
check that client and server agree on the real wire: submit, get, state mapping, paging, cancel,
errors, service info, and idempotency when a submit's answer is lost after the server took it.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses

from genoflow.config.schema import ServiceConfig
from genoflow.errors import NotFoundError, ServiceError
from genoflow.model.runs import RunState
from genoflow.model.submission import InputKind, PipelineOptions, SubmitRequest
from genoflow.protocols import open_client
from genoflow.protocols.base import ServiceClient
from genoflow.protocols.msgenomics import wire as ms
from genoflow.protocols.wes import wire as wes
from tests.harness import AZURITE_ACCOUNT, Azurite, run_cli
from tests.server.conftest import REFERENCE, LiveServer

pytestmark = [pytest.mark.azurite]
PROTOCOLS = ["msgenomics", "wes"]


@pytest.fixture(params=PROTOCOLS)
def client(request: pytest.FixtureRequest, live_server: LiveServer) -> Iterator[ServiceClient]:
    service = ServiceConfig(
        protocol=request.param, url=live_server.url, api_key=live_server.api_key
    )
    opened = open_client(service)
    yield opened
    opened.close()


def _missing_input_request(azurite: Azurite, sample: str) -> SubmitRequest:
    """A well-formed request whose inputs do not exist: the run fails fast, for paging tests."""
    return SubmitRequest(
        sample=sample,
        kind=InputKind.FASTQ,
        reads_1=(f"{sample}_1.fq.gz",),
        reads_2=(f"{sample}_2.fq.gz",),
        options=PipelineOptions(process_args=f"R={REFERENCE}", reference=REFERENCE),
        input_account=AZURITE_ACCOUNT,
        input_container="nothing-here",
        output_account=AZURITE_ACCOUNT,
        output_container="nothing-out",
        input_sas={f"{sample}_1.fq.gz": "sv=2024-08-04&sig=x", f"{sample}_2.fq.gz": "sv=1&sig=y"},
        output_sas="sv=2024-08-04&sp=rwd&sig=z",
        input_account_url=azurite.account_url,
        output_account_url=azurite.account_url,
    )


def test_service_info(client: ServiceClient) -> None:
    info = client.service_info()
    assert info  # both protocols answer something describing the service


def test_wes_service_info_names_the_engine_it_runs(live_server: LiveServer) -> None:
    versions = _raw(live_server, "/ga4gh/wes/v1/service-info")["workflow_engine_versions"]
    assert isinstance(versions, dict) and list(versions) == ["cwltool"]
    # WES 1.1: {engine: {"workflow_engine_version": [...]}}, the installed cwltool's version
    assert versions["cwltool"]["workflow_engine_version"][0][:1].isdigit()


def test_wes_workflow_engine_is_honoured_or_refused(
    live_server: LiveServer, azurite: Azurite
) -> None:
    def wes_client(engine: str) -> ServiceClient:
        service = ServiceConfig(
            protocol="wes", url=live_server.url, api_key=live_server.api_key, workflow_engine=engine
        )
        return open_client(service)

    accepted = wes_client("cwltool").submit(_missing_input_request(azurite, "engineok"))
    assert _raw(live_server, f"/ga4gh/wes/v1/runs/{accepted.id}")["run_id"] == accepted.id
    with pytest.raises(ServiceError) as refused:
        wes_client("cromwell").submit(_missing_input_request(azurite, "enginebad"))
    message = refused.value.one_line()
    assert refused.value.exit_code == 2 and "'cromwell'" in message and "cwltool" in message
    with pytest.raises(ServiceError, match="offers the workflow engines cwltool, not 'cromwell'"):
        wes_client("cromwell").service_info()


def test_submit_get_list_pages_and_cancel(client: ServiceClient, azurite: Azurite) -> None:
    submitted = [client.submit(_missing_input_request(azurite, f"page{i}")) for i in range(5)]
    assert all(
        run.state in {RunState.QUEUED, RunState.RUNNING, RunState.FAILED} for run in submitted
    )
    listed = list(client.list(page_size=2))
    ids = [run.id for run in listed]
    assert {run.id for run in submitted} <= set(ids)
    assert len(ids) == len(set(ids))  # pages neither repeat nor skip
    for run in submitted:
        final = _until_terminal(client, run.id)
        assert final.state is RunState.FAILED
        assert final.message and final.message.startswith(("Error Code [100]", "Error Code [102]"))
        assert client.cancel(run.id).state is RunState.FAILED  # idempotent on a finished run


def _until_terminal(client: ServiceClient, run_id: str) -> object:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = client.get(run_id)
        if run.state.terminal:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


def test_unknown_run_is_not_found(client: ServiceClient) -> None:
    with pytest.raises((NotFoundError, ServiceError)) as info:
        client.get("987654")
    assert "987654" in info.value.one_line()
    assert "\n" not in info.value.one_line()


def test_unknown_reference_is_a_400_naming_known_ones(
    client: ServiceClient, azurite: Azurite
) -> None:
    request = _missing_input_request(azurite, "badref")
    request = SubmitRequest(
        **{**request.__dict__, "options": PipelineOptions(process_args="R=hg99", reference="hg99")}
    )
    with pytest.raises(ServiceError) as info:
        client.submit(request)
    assert info.value.exit_code == 2
    assert "hg99" in info.value.one_line() and REFERENCE in info.value.one_line()


def test_unknown_process_is_a_400_naming_known_ones(
    client: ServiceClient, azurite: Azurite
) -> None:
    request = _missing_input_request(azurite, "badproc")
    options = PipelineOptions(process="nosuchproc", process_args=f"R={REFERENCE}")
    with pytest.raises(ServiceError) as info:
        client.submit(SubmitRequest(**{**request.__dict__, "options": options}))
    assert info.value.exit_code == 2
    assert "nosuchproc" in info.value.one_line() and "snapgatk" in info.value.one_line()


def test_wire_shapes_from_the_server(
    live_server: LiveServer, client: ServiceClient, azurite: Azurite
) -> None:
    run = client.submit(_missing_input_request(azurite, "shape"))
    raw = _raw(live_server, f"/api/workflows/{run.id}")
    workflow = ms.Workflow.model_validate(raw)
    assert workflow.Id == int(run.id) and workflow.TenantId >= 0
    assert len(str(raw["CreatedDate"]).split(".")[1].split("+")[0]) == 7  # 7-digit fraction
    assert str(raw["CreatedDate"]).endswith("+00:00")
    log = wes.RunLog.model_validate(_raw(live_server, f"/ga4gh/wes/v1/runs/{run.id}"))
    assert log.run_id == run.id
    text = json.dumps(_raw(live_server, f"/ga4gh/wes/v1/runs/{run.id}"))
    assert "sig=x" not in text and "sig=z" not in text  # SAS never echoed back


def _raw(server: LiveServer, path: str) -> dict[str, object]:
    request = urllib.request.Request(
        server.url + path, headers={"Ocp-Apim-Subscription-Key": server.api_key}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_lost_submit_answer_leaves_one_run(
    live_server: LiveServer,
    azurite: Azurite,
    unique_name: str,
    tmp_path: Path,
    protocol: str,
    demo_reads: tuple[Path, Path],
) -> None:
    """The server takes the submit but its answer never reaches the client; a retry of the same
    command must find that run instead of starting a second one."""
    env = {
        **live_server.client_env(azurite, protocol),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": f"{unique_name}-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": f"{unique_name}-out",
        "GENOFLOW_STATE_DIR": str(tmp_path / "state"),
        "GENOFLOW_SERVICE__RETRY__INITIAL_DELAY": "0",
    }
    submit_path = "/api/workflows/" if protocol == "msgenomics" else "/ga4gh/wes/v1/runs"
    forwarded: list[int] = []

    def accept_then_lose(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        real = urllib.request.Request(
            str(request.url),
            data=request.body,  # type: ignore[arg-type]
            headers=dict(request.headers),
            method="POST",
        )
        with urllib.request.urlopen(real, timeout=30) as answer:
            forwarded.append(answer.status)
        raise requests.ConnectionError("connection reset after the server accepted the request")

    args = ["submit", "-b1", str(demo_reads[0]), "-b2", str(demo_reads[1]), "--json"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, live_server.url + submit_path, accept_then_lose)
        mock.add_passthru("http://127.0.0.1")
        first = run_cli(args, env=env)
    assert forwarded == [200]
    second = run_cli(args, env=env)
    assert second.exit_code == 0, second.stderr
    documents = [json.loads(line) for line in second.stdout.splitlines() if line.strip()]
    assert documents[0]["existing"] is True, (first.stderr, second.stderr)
    key = documents[0]["submission_key"]
    matching = [
        run
        for run in open_client(
            ServiceConfig(protocol=protocol, url=live_server.url, api_key=live_server.api_key)
        ).list()
        if run.tags.get("genoflow-key") == key
    ]
    assert len(matching) == 1


@pytest.fixture
def demo_reads(tmp_path: Path) -> tuple[Path, Path]:
    """Small valid read pairs (each test's unique containers make its submission key unique)."""
    import gzip

    paths = []
    for end in (1, 2):
        path = tmp_path / f"LOST_{end}.fq.gz"
        records = "".join(f"@lost{i}/{end}\n{'ACGT' * 25}\n+\n{'I' * 100}\n" for i in range(50))
        path.write_bytes(gzip.compress(records.encode()))
        paths.append(path)
    return paths[0], paths[1]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_config_check_passes_against_azurite_and_the_server(
    live_server: LiveServer, azurite: Azurite, protocol: str
) -> None:
    env = live_server.client_env(azurite, protocol)
    result = run_cli(["config", "check"], env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    rows = [line.split()[:2] for line in result.stdout.splitlines()]
    assert ["storage", "ok"] in rows and ["service", "ok"] in rows
    wrong = run_cli(["config", "check"], env={**env, "GENOFLOW_SERVICE__API_KEY": "wrong-000000"})
    assert wrong.exit_code == 7, wrong.stdout
    assert "wrong-000000" not in wrong.stdout + wrong.stderr


def test_a_posted_workflow_is_refused_unless_custom_workflows_are_allowed(
    live_server: LiveServer,
) -> None:
    answer = requests.post(
        live_server.url + "/ga4gh/wes/v1/runs",
        files={
            "workflow_url": (None, "https://workflows.invalid/wf.cwl"),
            "workflow_type": (None, "CWL"),
            "workflow_type_version": (None, "v1.2"),
            "workflow_params": (None, "{}"),
        },
        headers={"Authorization": f"Bearer {live_server.api_key}"},
        timeout=30,
    )
    assert answer.status_code == 403 and "custom workflows are disabled" in answer.json()["msg"]
