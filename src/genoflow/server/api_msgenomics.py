"""The Microsoft Genomics REST API, served from the shared run store.

Wire shapes come from :mod:`genoflow.protocols.msgenomics.wire` (the client's own models), so
the two cannot drift. Errors answer ``{"Message": ...}`` as the old service did.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from genoflow.errors import GenoflowError
from genoflow.model.runs import RunState
from genoflow.model.submission import description_with_key, key_mark
from genoflow.protocols.msgenomics import wire
from genoflow.server.bodies import load_json
from genoflow.server.runlogs import log_response
from genoflow.server.service import (
    RequestRejected,
    RunService,
)
from genoflow.server.store import ListQuery, StoredRun

_CLAUSE = re.compile(
    r"^\s*(?:substringof\('(?P<text>(?:[^']|'')*)',\s*(?P<field>Description|Process)\)"
    r"|Status\s+eq\s+'?(?P<status>\d+)'?)\s*$",
    re.IGNORECASE,
)


def parse_filter(expression: str | None) -> list[tuple[str, str]]:
    """``substringof('x', Description) and Status eq '50000'`` -> [(field, value), ...]."""
    if not expression:
        return []
    clauses = []
    for part in re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(part)
        if match is None:
            raise RequestRejected(f"Unsupported $filter clause: {part!r}")
        if match.group("status"):
            clauses.append(("Status", match.group("status")))
        else:
            clauses.append(
                (match.group("field").capitalize(), match.group("text").replace("''", "'"))
            )
    return clauses


_KEY_MARK = re.compile(r"^\[gf:([0-9a-f]{32})\]$")


def list_query(
    clauses: list[tuple[str, str]], *, newest_first: bool, skip: int, top: int | None
) -> ListQuery:
    """The SQL query for parsed ``$filter`` clauses: a submission-key marker is answered from
    the indexed key column (and still checked against the Description)."""
    states: set[RunState] = set()
    status_given = False
    descriptions: list[str] = []
    processes: list[str] = []
    key: str | None = None
    for field, value in clauses:
        if field == "Status":
            wanted = {s for s, code in wire.STATE_TO_STATUS.items() if code == int(value)}
            states = wanted if not status_given else states & wanted
            status_given = True
        elif field == "Description":
            marker = _KEY_MARK.match(value)
            if marker:  # the key column answers it: runs made over WES carry no marker
                key = marker.group(1)
            else:
                descriptions.append(value)
        else:
            processes.append(value)
    if status_given and not states:
        states = {RunState.UNKNOWN}  # a status no run has: an empty answer
    return ListQuery(
        newest_first=newest_first,
        states=sorted(states, key=lambda s: s.value),
        description_contains=descriptions,
        process_contains=processes,
        submission_key=key,
        offset=skip,
        limit=top,
    )


def workflow_json(service: RunService, run: StoredRun) -> dict[str, Any]:
    description = run.description
    if run.submission_key and key_mark(run.submission_key) not in description:
        # A run submitted over WES: its key shown the way old-API clients look for it.
        description = description_with_key(description, run.submission_key) or description
    workflow = wire.run_to_workflow(
        service.run_of(run), tenant_id=service.tenant_id, description=description
    )
    return workflow.model_dump(mode="json")


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"Message": message}, status_code=status)


def build_router(service: RunService) -> APIRouter:
    router = APIRouter(prefix="/api/workflows", tags=["Microsoft Genomics API"])

    @router.post("", include_in_schema=False)
    @router.post("/", summary="Submit a workflow")
    async def submit(request: Request) -> JSONResponse:
        try:
            body = wire.SubmitBody.model_validate(load_json(await request.body()))
            submit_request = wire.request_from_submit_body(body)
            run = service.submit("msgenomics", submit_request, description=body.Description or "")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            return error(400, f"Invalid request: {where}: {first['msg']}")
        except (RequestRejected, ValueError) as exc:
            return error(400, str(exc))
        except GenoflowError as exc:
            return error(400, exc.one_line())
        return JSONResponse(workflow_json(service, run))

    @router.get("", include_in_schema=False)
    @router.get("/", summary="List workflows")
    def list_workflows(
        orderby: str = Query("CreatedDate asc", alias="$orderby"),
        skip: int = Query(0, alias="$skip", ge=0),
        top: int | None = Query(None, alias="$top", ge=0),
        filter_: str | None = Query(None, alias="$filter"),
    ) -> JSONResponse:
        try:
            clauses = parse_filter(filter_)
        except RequestRejected as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        newest_first = orderby.strip().lower().endswith("desc")
        query = list_query(clauses, newest_first=newest_first, skip=skip, top=top)
        return JSONResponse([workflow_json(service, run) for run in service.store.query(query)])

    @router.get("/{workflow_id}", summary="Workflow status")
    def get_workflow(workflow_id: str) -> JSONResponse:
        return JSONResponse(workflow_json(service, service.get(workflow_id)))

    @router.get("/{workflow_id}/logs", summary="Workflow log (genoflow extension)")
    def workflow_log(workflow_id: str, offset: int = Query(0, ge=0)) -> Response:
        return log_response(service.read_log(workflow_id, "stderr", offset), offset)

    @router.delete("/{workflow_id}", summary="Cancel a workflow")
    def cancel_workflow(workflow_id: str) -> JSONResponse:
        return JSONResponse(workflow_json(service, service.cancel(workflow_id)))

    return router


__all__ = ["RunState", "build_router", "parse_filter"]
