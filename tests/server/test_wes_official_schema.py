"""Every answer of genoflow server's WES API, in every run state and every error, validates
against the official GA4GH WES 1.1.0 OpenAPI (the verbatim copy in the shared reference; its
ServiceInfo's external $ref resolved to the service-info 1.0.0 copy beside it)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from genoflow.server.scheduler import Outcome
from genoflow.server.store import StoredRun
from genoflow.server.stub import StubExecutor
from tests.server.inproc import WES, InProc, sample_request, start_inproc
from tests.server.test_wes_standard import _post, cwl_job

REFERENCE = Path("/work/shared/reference/wes-1.1.0")
SPEC_FILE = REFERENCE / "workflow_execution_service-1.1.0.openapi.yaml"
SERVICE_INFO_URL = (
    "https://raw.githubusercontent.com/ga4gh-discovery/ga4gh-service-info/v1.0.0/service-info.yaml"
)
pytestmark = pytest.mark.skipif(not SPEC_FILE.is_file(), reason="the WES 1.1.0 copy is absent")
PREFIX = "/ga4gh/wes/v1"


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text())
    return spec


def _registry() -> Registry:
    service_info = yaml.safe_load((REFERENCE / "service-info-1.0.0.yaml").read_text())
    return Registry().with_resource(
        SERVICE_INFO_URL, Resource.from_contents(service_info, default_specification=DRAFT202012)
    )


SPEC = _spec() if SPEC_FILE.is_file() else {"paths": {}, "components": {}}
REGISTRY = _registry() if SPEC_FILE.is_file() else Registry()
CHECKED: list[tuple[str, str, int]] = []


def conforms(path: str, method: str, answer: Any) -> Any:
    """Validate ``answer`` against the documented response of (path, method, status)."""
    responses = SPEC["paths"][path][method]["responses"]
    status = answer.status_code
    assert status in responses, f"{method.upper()} {path}: {status} is not in the WES spec"
    schema = responses[status]["content"]["application/json"]["schema"]
    body = answer.json()
    jsonschema.validate(
        body, {**schema, "components": SPEC["components"]}, registry=REGISTRY
    )  # fmt: skip
    CHECKED.append((path, method, status))
    return body


def _reads(inproc: InProc, run_id: str) -> dict[str, Any]:
    """Every read of one run, each validated; the run log returned."""
    client = inproc.client
    conforms("/runs/{run_id}/status", "get", client.get(f"{WES}/{run_id}/status"))
    conforms("/runs/{run_id}/tasks", "get", client.get(f"{WES}/{run_id}/tasks"))
    conforms("/runs", "get", client.get(WES))
    conforms("/runs", "get", client.get(WES, params={"page_size": 1}))
    return dict(conforms("/runs/{run_id}", "get", client.get(f"{WES}/{run_id}")))


class Stubborn(StubExecutor):
    """In block mode, a run that goes on after its cancel until released: CANCELING shows."""

    def __call__(self, run: StoredRun, cancel: threading.Event) -> Outcome:
        if self.mode != "block":
            return super().__call__(run, cancel)
        with self._started:
            self.seen.append(run)
            self._started.notify_all()
        self._release.wait(30)
        return Outcome(outputs=(), bases_processed=0)


def test_every_state_conforms(tmp_path: Path) -> None:
    stub = Stubborn().block()
    inproc = start_inproc(tmp_path / "server", stub=stub, max_concurrent_runs=1)
    try:
        conforms("/service-info", "get", inproc.client.get(f"{PREFIX}/service-info"))
        states = _walk_states(inproc, stub)
    finally:
        stub.release()
        inproc.server.scheduler.stop(timeout=5)
        inproc.server.store.close()
    assert states == ["RUNNING", "QUEUED", "CANCELED", "CANCELING", "CANCELED", "COMPLETE",
                      "EXECUTOR_ERROR"]  # fmt: skip


def _walk_states(inproc: InProc, stub: Stubborn) -> list[str]:
    seen: list[str] = []

    def record(run_id: str) -> None:
        seen.append(_reads(inproc, run_id)["state"])

    first = inproc.submit_wes(sample_request(sig="A")).json()["run_id"]
    stub.wait_started()
    second = inproc.submit_wes(sample_request(sample="S2")).json()["run_id"]
    record(first)  # RUNNING
    record(second)  # QUEUED (one run at a time)
    conforms("/runs/{run_id}/cancel", "post", inproc.client.post(f"{WES}/{second}/cancel"))
    inproc.wait_state(second, "cancelled")
    record(second)  # CANCELED at once: it never started
    conforms("/runs/{run_id}/cancel", "post", inproc.client.post(f"{WES}/{first}/cancel"))
    record(first)  # CANCELING: its executor has not stopped yet
    stub.release()
    inproc.wait_state(first, "cancelled")
    record(first)
    stub.succeed()
    done = inproc.submit_wes(sample_request(sample="S3")).json()["run_id"]
    inproc.wait_state(done, "succeeded")
    record(done)  # COMPLETE, with outputs
    stub.fail("Error Code [308]: Encountered an unmatched read", 308)
    failed = inproc.submit_wes(sample_request(sample="S4")).json()["run_id"]
    inproc.wait_state(failed, "failed")
    record(failed)  # EXECUTOR_ERROR
    return seen


def test_every_error_conforms(inproc: InProc) -> None:
    client = inproc.client
    errors = [
        ("/runs", "post", client.post(WES, data=_post(inproc, "snapgatk", {"x": 1}))),  # 400
        ("/runs", "post", client.post(WES, data=_post(inproc, "https://x/wf.cwl", {}))),  # 403
        ("/runs", "post", client.post(WES, data={"workflow_url": "snapgatk"})),  # 400
        ("/runs", "post", client.post(WES, data=_post(inproc, "genoflow-pipeline.cwl",
                                                    {**cwl_job(), "bogus": 1}))),  # 400
        ("/runs", "get", client.get(WES, params={"page_size": 0})),  # 400
        ("/runs", "get", client.get(WES, params={"page_size": "many"})),  # 400
        ("/runs", "get", client.get(WES, params={"page_token": "!!"})),  # 400
        ("/runs/{run_id}", "get", client.get(f"{WES}/4242")),  # 404
        ("/runs/{run_id}", "get", client.get(f"{WES}/not-a-run")),  # 404
        ("/runs/{run_id}/status", "get", client.get(f"{WES}/4242/status")),  # 404
        ("/runs/{run_id}/cancel", "post", client.post(f"{WES}/4242/cancel")),  # 404
        ("/runs/{run_id}/tasks", "get", client.get(f"{WES}/4242/tasks")),  # 404
        ("/service-info", "get", inproc.anonymous().get(f"{PREFIX}/service-info")),  # 401
        ("/runs", "get", inproc.anonymous().get(WES)),  # 401
    ]  # fmt: skip
    statuses = set()
    for path, method, answer in errors:
        body = conforms(path, method, answer)
        assert body["status_code"] == answer.status_code and body["msg"], json.dumps(body)
        statuses.add(answer.status_code)
    assert statuses == {400, 401, 403, 404}
