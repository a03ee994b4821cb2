"""The Microsoft Genomics REST API, served from the shared run store.

Wire shapes come from :mod:`genoflow.protocols.msgenomics.wire` (the client's own models), so
the two cannot drift. Errors answer ``{"Message": ...}`` as the old service did.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from genoflow.errors import GenoflowError
from genoflow.model.runs import RunState
from genoflow.protocols.msgenomics import wire
from genoflow.server.service import (
    RequestRejected,
    RunService,
    to_run,
)
from genoflow.server.store import StoredRun

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


def _matches(run: StoredRun, clauses: list[tuple[str, str]]) -> bool:
    for field, value in clauses:
        if field == "Status" and wire.STATE_TO_STATUS[run.state] != int(value):
            return False
        if field == "Description" and value not in run.description:
            return False
        if field == "Process" and value not in run.process:
            return False
    return True


def workflow_json(service: RunService, run: StoredRun) -> dict[str, Any]:
    workflow = wire.run_to_workflow(
        to_run(run), tenant_id=service.tenant_id, description=run.description
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
            body = wire.SubmitBody.model_validate(await request.json())
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
        runs = [
            run
            for run in service.store.list_runs(newest_first=newest_first)
            if _matches(run, clauses)
        ]
        page = runs[skip:] if top is None else runs[skip : skip + top]
        return JSONResponse([workflow_json(service, run) for run in page])

    @router.get("/{workflow_id}", summary="Workflow status")
    def get_workflow(workflow_id: str) -> JSONResponse:
        return JSONResponse(workflow_json(service, service.get(workflow_id)))

    @router.delete("/{workflow_id}", summary="Cancel a workflow")
    def cancel_workflow(workflow_id: str) -> JSONResponse:
        return JSONResponse(workflow_json(service, service.cancel(workflow_id)))

    return router


__all__ = ["RunState", "build_router", "parse_filter"]
