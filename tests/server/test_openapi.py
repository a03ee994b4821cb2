"""The published OpenAPI document is true: schemathesis fuzzes a live `genoflow server` from it
(no 5xx, every answer's status, content type, headers and body as documented), and real runs'
answers validate against the documented schemas in every state they reach here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from tests.harness import AZURITE_ACCOUNT
from tests.server.conftest import API_KEY, LiveServer
from tests.server.test_door import (
    _msgen_body,
    _post_msgen,
    _post_wes,
    _wes_params,
    storage_free_server,
)

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    # A reference it names but never reads: valid submissions queue, then fail at first read.
    yield from storage_free_server(data_dir, references={"b37m1": str(data_dir / "absent.fa")})


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    fuzz_server: LiveServer, tmp_path: Path
) -> None:
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "run",
        f"{fuzz_server.url}/openapi.json",
        "-H",
        f"Authorization: Bearer {API_KEY}",
        "--checks",
        "all",
        # A schema-valid body may still name a reference or storage the server does not have:
        # refusing it with a documented 400 is right, so that one check does not apply.
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        "40",
        "--generation-deterministic",
        "--no-color",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False
    )
    report = result.stdout[-4000:]
    assert result.returncode == 0, report
    assert " passed" in report and "failures" not in report.lower().split("summary")[-1], report


def _spec(server: LiveServer) -> dict[str, Any]:
    spec: dict[str, Any] = requests.get(
        f"{server.url}/openapi.json", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    ).json()
    return spec


def _validate(spec: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    responses = spec["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path}: {status} is not documented"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    document = {**schema, "components": spec["components"]}
    jsonschema.validate(body, document)


def _wait_ended(server: LiveServer, run_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = requests.get(
            f"{server.url}/ga4gh/wes/v1/runs/{run_id}/status",
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        ).json()
        if answer["state"] in ("EXECUTOR_ERROR", "SYSTEM_ERROR", "COMPLETE", "CANCELED"):
            return
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not end")


def test_real_answers_match_the_published_schemas(fuzz_server: LiveServer) -> None:
    spec = _spec(fuzz_server)
    ms = "/api/workflows/"
    wes = "/ga4gh/wes/v1"
    created = _post_msgen(fuzz_server, _msgen_body())
    _validate(spec, ms, "post", created.status_code, created.json())
    assert created.status_code == 200
    run_id = str(created.json()["Id"])
    url = f"http://127.0.0.1:1/{AZURITE_ACCOUNT}"
    refused = _post_wes(fuzz_server, _wes_params(url))
    _validate(spec, wes + "/runs", "post", refused.status_code, refused.json())
    _wait_ended(fuzz_server, run_id)  # fails at its first read: a failed run's records
    bearer = {"Authorization": f"Bearer {API_KEY}"}
    reads = {
        (ms, "get"): f"{ms}",
        (ms + "{workflow_id}", "get"): f"{ms}{run_id}",
        (wes + "/runs", "get"): f"{wes}/runs",
        (wes + "/runs/{run_id}", "get"): f"{wes}/runs/{run_id}",
        (wes + "/runs/{run_id}/status", "get"): f"{wes}/runs/{run_id}/status",
        (wes + "/runs/{run_id}/tasks", "get"): f"{wes}/runs/{run_id}/tasks",
        (wes + "/service-info", "get"): f"{wes}/service-info",
    }
    for (path, method), target in reads.items():
        answer = requests.get(f"{fuzz_server.url}{target}", headers=bearer, timeout=10)
        assert answer.status_code == 200, (target, answer.text)
        _validate(spec, path, method, 200, answer.json())
    missing = requests.get(f"{fuzz_server.url}{wes}/runs/99999", headers=bearer, timeout=10)
    _validate(spec, wes + "/runs/{run_id}", "get", 404, missing.json())
    unauthorised = requests.get(f"{fuzz_server.url}{ms}{run_id}", timeout=10)
    _validate(spec, ms + "{workflow_id}", "get", 401, unauthorised.json())
    cancelled = requests.post(
        f"{fuzz_server.url}{wes}/runs/{run_id}/cancel", headers=bearer, timeout=10
    )
    _validate(spec, wes + "/runs/{run_id}/cancel", "post", 200, cancelled.json())
    assert json.dumps(spec).count("HTTPValidationError") == 0  # no undocumented 422 shape
