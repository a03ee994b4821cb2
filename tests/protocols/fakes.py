"""In-memory services behind ``responses``: they parse requests with the server direction of the
wire models and answer with them, so the client is tested against the same shapes the real
``genoflow server`` uses. Only for unit tests of the HTTP protocol clients."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from genoflow.model.runs import Run, RunState
from genoflow.protocols.msgenomics import wire as ms
from genoflow.protocols.wes import wire as wes

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


def _query(request: requests.PreparedRequest) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url or "").query).items()}


@dataclass
class FakeMsGenomics:
    """A Microsoft Genomics service: POST/GET/DELETE /api/workflows/ with OData list params."""

    mock: responses.RequestsMock
    base: str = "http://ms.test"
    key: str = "test-subscription-key-123"
    workflows: dict[int, ms.Workflow] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)
    lose_next_submit_answer: bool = False
    honour_paging: bool = True

    def __post_init__(self) -> None:
        root = re.compile(re.escape(self.base + ms.API_PATH) + r"?(\?.*)?$")
        one = re.compile(re.escape(self.base + ms.API_PATH) + r"(\d+)$")
        self.mock.add_callback("POST", root, callback=self._submit)
        self.mock.add_callback("GET", root, callback=self._list)
        self.mock.add_callback("GET", one, callback=self._get)
        self.mock.add_callback("DELETE", one, callback=self._cancel)

    def add(
        self, status: int, description: str = "", minutes: int = 0, message: str | None = None
    ) -> ms.Workflow:
        new_id = max(self.workflows, default=0) + 1
        done = status in (ms.STATUS_SUCCEEDED, ms.STATUS_FAILED, ms.STATUS_CANCELLED)
        workflow = ms.Workflow(
            Id=new_id,
            TenantId=7,
            Status=status,
            Description=description,
            Message=message,
            Process="snapgatk-20190409_1",
            CreatedDate=T0 + timedelta(minutes=minutes),
            EndDate=T0 + timedelta(minutes=minutes + 26, seconds=21) if done else None,
            BasesProcessed=1_348_613_600 if done else 0,
            FailureCode=308 if status == ms.STATUS_FAILED else 0,
        )
        self.workflows[new_id] = workflow
        return workflow

    def _auth(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str] | None:
        if request.headers.get(ms.KEY_HEADER) != self.key:
            return 401, {}, json.dumps({"Message": "Access denied due to invalid subscription key"})
        return None

    def _submit(self, request: requests.PreparedRequest) -> Any:
        denied = self._auth(request)
        if denied:
            return denied
        raw = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        self.bodies.append(raw)
        body = ms.SubmitBody.model_validate_json(raw)
        ms.request_from_submit_body(body)  # the server's validation
        workflow = self.add(ms.STATUS_QUEUED, body.Description or "", minutes=len(self.workflows))
        if self.lose_next_submit_answer:
            self.lose_next_submit_answer = False
            raise requests.ConnectionError("Connection aborted: RemoteDisconnected")
        return 200, {}, workflow.model_dump_json()

    def _list(self, request: requests.PreparedRequest) -> Any:
        denied = self._auth(request)
        if denied:
            return denied
        query = _query(request)
        items = sorted(
            self.workflows.values(),
            key=lambda w: w.CreatedDate or T0,
            reverse=query.get("$orderby", "").endswith("desc"),
        )
        for clause in filter(None, query.get("$filter", "").split(" and ")):
            items = [w for w in items if _odata_match(clause, w)]
        if self.honour_paging:
            skip, top = int(query.get("$skip", 0)), int(query.get("$top", 10**6))
            items = items[skip : skip + top]
        return 200, {}, json.dumps([w.model_dump(mode="json") for w in items])

    def _get(self, request: requests.PreparedRequest) -> Any:
        denied = self._auth(request)
        if denied:
            return denied
        workflow = self.workflows.get(int((request.url or "").rsplit("/", 1)[-1]))
        if workflow is None:
            return 404, {}, json.dumps({"Message": "Workflow not found"})
        return 200, {}, workflow.model_dump_json()

    def _cancel(self, request: requests.PreparedRequest) -> Any:
        denied = self._auth(request)
        if denied:
            return denied
        workflow_id = int((request.url or "").rsplit("/", 1)[-1])
        workflow = self.workflows[workflow_id]
        updated = workflow.model_copy(update={"Status": ms.STATUS_CANCEL_REQUESTED})
        self.workflows[workflow_id] = updated
        return 200, {}, updated.model_dump_json()


def _odata_match(clause: str, workflow: ms.Workflow) -> bool:
    match = re.match(r"substringof\('(.*)', (Description|Process)\)$", clause)
    if match:
        return match.group(1).replace("''", "'") in (getattr(workflow, match.group(2)) or "")
    match = re.match(r"Status eq '(\d+)'$", clause)
    if match:
        return workflow.Status == int(match.group(1))
    raise AssertionError(f"unexpected $filter clause {clause!r}")


@dataclass
class FakeWes:
    """A WES 1.1 server with token paging (``toil=True``: Toil's ``workflows`` key, no paging)."""

    mock: responses.RequestsMock
    base: str = "http://wes.test/ga4gh/wes/v1"
    runs: dict[str, Run] = field(default_factory=dict)
    requests_seen: dict[str, wes.RunRequest] = field(default_factory=dict)
    toil: bool = False
    lose_next_submit_answer: bool = False
    service_id: str | None = None  # set: answers as genoflow server does (tags.service_id)

    def __post_init__(self) -> None:
        b = re.escape(self.base)
        self.mock.add_callback("GET", re.compile(b + r"/service-info$"), callback=self._info)
        self.mock.add_callback("POST", re.compile(b + r"/runs$"), callback=self._submit)
        self.mock.add_callback("GET", re.compile(b + r"/runs(\?.*)?$"), callback=self._list)
        self.mock.add_callback("GET", re.compile(b + r"/runs/([^/?]+)$"), callback=self._get)
        self.mock.add_callback(
            "GET", re.compile(b + r"/runs/([^/?]+)/status$"), callback=self._status
        )
        self.mock.add_callback(
            "POST", re.compile(b + r"/runs/([^/?]+)/cancel$"), callback=self._cancel
        )

    def add(self, state: RunState, tags: dict[str, str] | None = None, minutes: int = 0) -> Run:
        run_id = f"run{len(self.runs) + 1:04d}"
        run = Run(
            id=run_id,
            state=state,
            created=T0 + timedelta(minutes=minutes),
            ended=T0 + timedelta(minutes=minutes + 30) if state.terminal else None,
            tags=tags or {},
            message="Error Code [308]: unmatched read" if state is RunState.FAILED else None,
        )
        self.runs[run_id] = run
        return run

    def _info(self, request: requests.PreparedRequest) -> Any:
        tags = {"service_id": self.service_id} if self.service_id else {}
        # genoflow server's id: it takes genoflow's own params (a foreign server gets the CWL)
        info = wes.ServiceInfo(id=wes.GENOFLOW_SERVICE_ID, name="fake", tags=tags)
        return 200, {}, info.model_dump_json()

    def _submit(self, request: requests.PreparedRequest) -> Any:
        form = _multipart_fields(request)
        run_request = wes.RunRequest.from_form(form)
        wes.submit_from_run_request(run_request)  # the server's validation
        run = self.add(RunState.QUEUED, run_request.tags, minutes=len(self.runs))
        self.requests_seen[run.id] = run_request
        if self.lose_next_submit_answer:
            self.lose_next_submit_answer = False
            raise requests.ConnectionError("Connection aborted: RemoteDisconnected")
        return 200, {}, wes.RunId(run_id=run.id).model_dump_json()

    def _list(self, request: requests.PreparedRequest) -> Any:
        ordered = sorted(self.runs.values(), key=lambda r: r.created or T0, reverse=True)
        summaries = [wes.run_to_summary(r).model_dump(mode="json") for r in ordered]
        if self.toil:
            return 200, {}, json.dumps({"workflows": summaries})
        query = _query(request)
        size = int(query.get("page_size", 10**6))
        start = int(query.get("page_token", 0))
        page = summaries[start : start + size]
        token = str(start + size) if start + size < len(summaries) else ""
        return 200, {}, json.dumps({"runs": page, "next_page_token": token})

    def _run_id(self, request: requests.PreparedRequest, suffix: str = "") -> str:
        path = urlsplit(request.url or "").path
        return path[len(urlsplit(self.base).path) + len("/runs/") : len(path) - len(suffix)]

    def _get(self, request: requests.PreparedRequest) -> Any:
        run = self.runs.get(self._run_id(request))
        if run is None:
            return (
                404,
                {},
                json.dumps({"msg": "The requested run wasn't found", "status_code": 404}),
            )
        log = wes.run_to_run_log(run, self.requests_seen.get(run.id))
        return 200, {}, log.model_dump_json()

    def _status(self, request: requests.PreparedRequest) -> Any:
        run = self.runs[self._run_id(request, "/status")]
        return 200, {}, json.dumps({"run_id": run.id, "state": wes.STATE_TO_WES[run.state].value})

    def _cancel(self, request: requests.PreparedRequest) -> Any:
        run_id = self._run_id(request, "/cancel")
        run = self.runs[run_id]
        self.runs[run_id] = Run(
            id=run.id, state=RunState.CANCELLING, created=run.created, tags=run.tags
        )
        return 200, {}, json.dumps({"run_id": run_id})


def _multipart_fields(request: requests.PreparedRequest) -> dict[str, str]:
    """Decode a multipart/form-data body into its text fields."""
    from email.parser import BytesParser
    from email.policy import HTTP

    content_type = request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data"), content_type
    body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = part.get_payload(decode=True).decode()
    return fields
