"""Client for the Microsoft Genomics REST API (and ``genoflow server``, which speaks it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from pydantic import ValidationError

from genoflow.errors import ServiceError, UsageError
from genoflow.model.runs import Run, RunFilters, RunState
from genoflow.model.submission import SubmitRequest, description_with_key, key_mark
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
from genoflow.protocols.extensions import LOG_OFFSET_HEADER, SERVICE_ID_HEADER
from genoflow.protocols.http import HttpClient, json_of
from genoflow.protocols.msgenomics import wire

# The only states the service could filter on ($filter=Status eq '...').
_SERVER_FILTERABLE = {
    RunState.SUCCEEDED: wire.STATUS_SUCCEEDED,
    RunState.FAILED: wire.STATUS_FAILED,
}


class MsGenomicsClient(ServiceClient):
    protocol: ClassVar[str] = "msgenomics"

    def __init__(self, http: HttpClient) -> None:
        self.http = http
        root = http.base_url.rstrip("/").removesuffix(wire.API_PATH.rstrip("/"))
        self._url_identity = url_identity(root)
        self._identity: str | None = None

    def submit(self, request: SubmitRequest) -> Run:
        description = request.options.description
        if request.submission_key:
            # Recorded in the Description so that any host can find it with substringof.
            description = description_with_key(description, request.submission_key) or description
        body = wire.submit_body_from_request(request, description)
        response = self.http.request("POST", "", data=body.to_json(), idempotent=False)
        run = self._run_of(response.json())
        return dataclasses.replace(run, sample=request.sample, inputs=tuple(request.blob_names()))

    def get(self, run_id: str) -> Run:
        with missing_run_named(run_id, self.http.base_url):
            return self._run_of(self.http.get_json(_checked_id(run_id)))

    def cancel(self, run_id: str) -> Run:
        return self._run_of(self.http.request("DELETE", _checked_id(run_id)).json())

    def list(
        self, filters: RunFilters | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[Run]:
        filters = filters or RunFilters()
        single = next(iter(filters.states)) if len(filters.states) == 1 else None
        odata = wire.odata_filter(
            description=filters.description,
            process=filters.process,
            status=_SERVER_FILTERABLE.get(single) if single else None,
        )
        return matching(self._pages(odata, filters.newest_first, page_size), filters)

    def find_by_key(self, key: str) -> Run | None:
        # The marker is in the raw Description only (Run.description shows it stripped).
        for run in self._pages(wire.odata_filter(description=key_mark(key)), True, 50):
            if run.tags.get(SUBMISSION_KEY) == key:
                return run
        return None

    def _pages(self, odata: str | None, newest_first: bool, page_size: int) -> Iterator[Run]:
        params = {"$orderby": "CreatedDate desc" if newest_first else "CreatedDate asc"}
        if odata:
            params["$filter"] = odata

        def fetch(number: int, token: str | None) -> tuple[list[Run], str | None]:
            skip = int(token or 0)
            query = {**params, "$skip": str(skip), "$top": str(page_size)}
            runs = [self._run_of(item) for item in _as_list(self.http.get_json("", params=query))]
            return runs, str(skip + len(runs)) if len(runs) >= page_size else None

        return pages(fetch, page_size)

    def service_info(self) -> Mapping[str, Any]:
        answer = self.http.get_json("", params={"$top": "1"})
        return {
            "protocol": self.protocol,
            "url": self.http.base_url,
            "workflows_visible": len(_as_list(answer)),
        }

    def service_identity(self) -> str:
        """genoflow server names itself in a header of every answer (and ``ServiceId`` of each
        workflow); another service gets an identity from its URL. One request, then cached."""
        if self._identity is None:
            response = self.http.request("GET", "", params={"$top": "1"})
            named = named_identity(response.headers.get(SERVICE_ID_HEADER))
            if named is None:
                listed = _as_list(json_of(response))
                named = named_identity(listed[0].get("ServiceId")) if listed else None
            self._identity = named or self._url_identity
        return self._identity

    def logs(self, run_id: str, offset: int = 0) -> tuple[str, int]:
        """genoflow server's ``GET /api/workflows/{id}/logs?offset=N`` (text/plain)."""
        response = self.http.request(
            "GET", f"{_checked_id(run_id)}/logs", params={"offset": str(max(0, offset))}
        )
        return log_chunk(response.content, response.headers.get(LOG_OFFSET_HEADER), offset)

    def close(self) -> None:
        self.http.session.close()

    def _run_of(self, data: Any) -> Run:
        try:
            run = wire.workflow_to_run(wire.Workflow.model_validate(data))
        except ValidationError as exc:
            raise ServiceError(
                f"the service answered a workflow object genoflow cannot read: {_first_error(exc)}"
            ) from None
        return run if run.service else dataclasses.replace(run, service=self._url_identity)


def _checked_id(run_id: str) -> str:
    text = str(run_id).strip()
    if not text.isdigit():
        raise UsageError(f"{run_id!r} is not a workflow id (Microsoft Genomics ids are numbers)")
    return text


def _as_list(answer: Any) -> list[Any]:
    if isinstance(answer, list):
        return answer
    if isinstance(answer, dict) and isinstance(answer.get("value"), list):
        return list(answer["value"])  # an OData envelope
    raise ServiceError("the service answered the workflow list with something other than a list")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
