"""Client for GA4GH WES 1.1 servers (``genoflow server``, Toil, Cromwell, Sapporo...)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, TypeVar
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ValidationError

from genoflow.errors import NotFoundError, ServiceError
from genoflow.model.runs import Run, RunFilters, RunState
from genoflow.model.submission import SubmitRequest
from genoflow.model.tags import SUBMISSION_KEY
from genoflow.protocols.base import (
    DEFAULT_PAGE_SIZE,
    ServiceClient,
    log_chunk,
    matching,
    missing_run_named,
    named_identity,
    pages,
    url_identity,
)
from genoflow.protocols.extensions import LOG_OFFSET_HEADER
from genoflow.protocols.http import BadRequestError, HttpClient
from genoflow.protocols.wes import foreign, wire

log = logging.getLogger(__name__)
_Model = TypeVar("_Model", bound=BaseModel)
# How long cancel watches for the run to stop before saying the server did not stop it
# (service.cancel_wait).
CANCEL_GRACE_SECONDS = 10.0
CANCEL_POLL_SECONDS = 1.0
# States in which a cancel has not (yet) been carried out.
_NOT_STOPPING = frozenset({RunState.QUEUED, RunState.RUNNING, RunState.UNKNOWN})


class WesClient(ServiceClient):
    protocol: ClassVar[str] = "wes"
    watches_cancel: ClassVar[bool] = True

    def __init__(
        self,
        http: HttpClient,
        workflow_engine: str | None = None,
        cancel_grace: float = CANCEL_GRACE_SECONDS,
    ) -> None:
        self.http = http
        self.workflow_engine = workflow_engine
        self.cancel_grace = cancel_grace
        self._url_identity = url_identity(http.base_url.rstrip("/").removesuffix(wire.API_PATH))
        self._identity: str | None = None
        self._info: wire.ServiceInfo | None = None
        self._log_urls: dict[str, str] = {}

    def portable(self) -> bool:
        """A server that is not genoflow server (service-info says) gets the packed pipeline
        with a CWL job; UsageError (exit 2) when it cannot run it."""
        info = self._service_info()
        if info.is_genoflow():
            return False
        foreign.check_runs_pipeline(info, self.workflow_engine)
        return True

    def submit_job(self, request: SubmitRequest, job: Mapping[str, Any], workflow: str) -> Run:
        """Post the packed pipeline (``workflow``, as an attachment) with ``job`` for #main."""
        engine = foreign.engine_to_ask(self._service_info(), self.workflow_engine)
        run_request = foreign.run_request(request, job, engine)
        parts: list[tuple[str, tuple[str | None, str | bytes, str] | tuple[None, str]]] = [
            (name, (None, value)) for name, value in run_request.to_form().items()
        ]
        parts.append(
            ("workflow_attachment", (foreign.WORKFLOW_NAME, workflow.encode(), "text/plain"))
        )
        response = self.http.request("POST", "runs", files=parts, idempotent=False)
        return self._submitted(request, _parse(wire.RunId, response.json()).run_id, run_request)

    def _submitted(self, request: SubmitRequest, run_id: str, run_request: wire.RunRequest) -> Run:
        return Run(
            id=run_id,
            state=RunState.QUEUED,
            description=request.options.description,
            process=request.options.process,
            sample=request.sample,
            tags=dict(run_request.tags),
            inputs=tuple(request.blob_names()),
            service=self.service_identity(),  # the answer names only the run
        )

    def submit(self, request: SubmitRequest) -> Run:
        # workflow_url is the process name: genoflow server maps it to its packaged pipeline and
        # reads genoflow's workflow_params (docs/protocols.md).
        run_request = wire.run_request_from_submit(
            request, request.options.process, self.workflow_engine
        )
        # (None, text) parts: requests sends them as plain multipart/form-data fields.
        parts = [(name, (None, value)) for name, value in run_request.to_form().items()]
        response = self.http.request("POST", "runs", files=parts, idempotent=False)
        return self._submitted(request, _parse(wire.RunId, response.json()).run_id, run_request)

    def get(self, run_id: str) -> Run:
        with missing_run_named(run_id, self.http.base_url):
            return self._named(wire.run_log_to_run(self._run_log(run_id)))

    def _run_log(self, run_id: str) -> wire.RunLog:
        return _parse(wire.RunLog, self.http.get_json(f"runs/{run_id}"))

    def _named(self, run: Run) -> Run:
        return run if run.service else dataclasses.replace(run, service=self._url_identity)

    def status(self, run_id: str) -> RunState:
        answer = _parse(wire.RunStatus, self.http.get_json(f"runs/{run_id}/status"))
        return wire.state_of_wes(answer.state)

    def cancel(self, run_id: str) -> Run:
        """Ask, then watch the run for up to ``cancel_grace`` seconds: a server may accept a
        cancel it does not carry out (wes-server's cwltool backend). The run is returned as
        last seen; still queued or running means the cancel was not carried out."""
        self.http.request("POST", f"runs/{run_id}/cancel")
        deadline = self.http.clock() + self.cancel_grace
        while True:
            run = self.get(run_id)
            if run.state not in _NOT_STOPPING or self.http.clock() >= deadline:
                return run
            self.http.sleep(min(CANCEL_POLL_SECONDS, self.cancel_grace))

    def list(
        self, filters: RunFilters | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[Run]:
        return matching(self._pages({}, page_size), filters or RunFilters())

    def find_by_key(self, key: str) -> Run | None:
        """One request on genoflow server, which answers ``submission_key=`` from an index
        (a documented extension); other WES servers ignore it and are paged through."""
        for run in self._pages({"submission_key": key}, DEFAULT_PAGE_SIZE):
            if run.tags.get(SUBMISSION_KEY) == key:
                return run
        return None

    def _pages(self, extra: Mapping[str, str], page_size: int) -> Iterator[Run]:
        def fetch(number: int, token: str | None) -> tuple[list[Run], str | None]:
            params = {"page_size": str(page_size), **extra}
            if token:
                params["page_token"] = token
            answer = _parse(wire.RunListResponse, self.http.get_json("runs", params=params))
            runs = [self._named(wire.summary_to_run(summary)) for summary in answer.runs]
            return runs, answer.next_page_token

        return pages(fetch, page_size)

    def tasks(self, run_id: str, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[wire.TaskLog]:
        """The run's task logs; nothing for servers without task endpoints (Sapporo: 400)."""
        token: str | None = None
        while True:
            params = {"page_size": str(page_size), **({"page_token": token} if token else {})}
            try:
                answer = self.http.get_json(f"runs/{run_id}/tasks", params=params)
            except BadRequestError:
                log.info("the WES server has no task endpoint; no task logs")
                return
            page = _parse(wire.TaskListResponse, answer)
            yield from page.task_logs
            if not page.next_page_token or page.next_page_token == token or not page.task_logs:
                return
            token = page.next_page_token

    def task(self, run_id: str, task_id: str) -> wire.TaskLog:
        return _parse(wire.TaskLog, self.http.get_json(f"runs/{run_id}/tasks/{task_id}"))

    def _service_info(self) -> wire.ServiceInfo:
        if self._info is None:
            self._info = _parse(wire.ServiceInfo, self.http.get_json("service-info"))
        return self._info

    def service_info(self) -> Mapping[str, Any]:
        info = self._service_info()
        if not info.supports_cwl():
            raise ServiceError(
                "the WES server runs no CWL workflows (workflow_type_versions: "
                f"{', '.join(info.workflow_type_versions) or 'none'})"
            )
        offered = info.workflow_engine_versions
        if self.workflow_engine and offered and self.workflow_engine not in offered:
            raise ServiceError(
                f"the WES server offers the workflow engines {', '.join(sorted(offered))}, "
                f"not {self.workflow_engine!r}",
                hint="set service.workflow_engine to one of them, or unset it",
            )
        return {
            "protocol": self.protocol,
            "url": self.http.base_url,
            **info.model_dump(mode="json", exclude_none=True),
        }

    def service_identity(self) -> str:
        """genoflow server's ``tags.service_id`` in service-info; a server without one (or
        without service-info) gets an identity from its URL. One request, then cached."""
        if self._identity is None:
            try:
                named = named_identity(self._service_info().tags.get("service_id"))
            except (NotFoundError, BadRequestError):
                named = None
            self._identity = named or self._url_identity
        return self._identity

    def logs(self, run_id: str, offset: int = 0) -> tuple[str, int]:
        """Read through the run log's ``stderr`` URL (genoflow server's honours ``?offset=``;
        another server's log is read whole and what was already read is skipped). A URL
        relative to the run (Toil) is resolved; a ``stderr`` that is the log text itself
        (wes-server) is read as such."""
        url = self._log_urls.get(run_id)
        if url is None:
            run_log = self._run_log(run_id).run_log
            stderr = run_log.stderr if run_log else None
            if not stderr:
                raise ServiceError(f"the WES server gives no log for run {run_id}")
            if not _looks_like_url(stderr):
                return log_chunk(stderr.encode(), None, offset)
            url = urljoin(f"{self.http.base_url.rstrip('/')}/runs/{run_id}", stderr)
            self._log_urls[run_id] = url
        response = self._log_client(url).request("GET", "", params={"offset": str(offset)})
        return log_chunk(response.content, response.headers.get(LOG_OFFSET_HEADER), offset)

    def _log_client(self, url: str) -> HttpClient:
        """Credentials go only to the service's own origin, never to a host a URL names."""
        same = _origin(url) == _origin(self.http.base_url)
        headers = dict(self.http.headers) if same else {"User-Agent": "genoflow"}
        return dataclasses.replace(self.http, base_url=url, headers=headers)

    def close(self) -> None:
        self.http.session.close()


def _looks_like_url(text: str) -> bool:
    """An absolute or relative URL, not a log's text (which has spaces or line breaks)."""
    return (
        bool(text)
        and not any(c.isspace() for c in text.strip())
        and (text.startswith(("http://", "https://", "/", "./", "../")))
    )


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _parse(model: type[_Model], data: Any) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "body"
        raise ServiceError(
            f"the WES server answered a {model.__name__} genoflow cannot read: "
            f"{where}: {error['msg']}"
        ) from None
