"""The published OpenAPI document: request bodies, answers and errors of both APIs.

The routes read their bodies themselves (the JSON depth limit comes before any parser, and the
WES form carries JSON in text parts), so FastAPI cannot infer their schemas: they are declared
here from the same wire models the routes use, one table per API, in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from genoflow.protocols.extensions import LOG_OFFSET_HEADER
from genoflow.protocols.msgenomics import wire as ms
from genoflow.protocols.wes import wire as wes

_REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]

_REQUEST_MODELS: list[type[BaseModel]] = [ms.SubmitBody]
_RESPONSE_MODELS: list[type[BaseModel]] = [
    ms.Workflow,
    ms.ErrorBody,
    wes.RunId,
    wes.RunStatus,
    wes.RunListResponse,
    wes.RunLog,
    wes.TaskLog,
    wes.TaskListResponse,
    wes.ServiceInfo,
    wes.ErrorResponse,
]

_ERROR_TEXT = {
    400: "the request is malformed or asks for something this server cannot do",
    401: "missing or invalid API key",
    403: "not allowed on this server (e.g. a custom workflow)",
    404: "no such run or task",
    411: "a request body without Content-Length",
    413: "request body larger than max_request_bytes",
    503: "the run store is unavailable (e.g. its disk is full); retry later",
}

# A log answer: text/plain from the byte offset its header names.
_TEXT: dict[str, Any] = {"type": "string"}
_LOG_HEADERS = {
    LOG_OFFSET_HEADER: {
        "description": "the byte offset of the log this answer starts at",
        "schema": {"type": "integer", "minimum": 0},
    }
}

# (path, method) -> (success schema, error statuses); the API is told by the path.
_MSGEN = "/api/workflows/"
_WES = "/ga4gh/wes/v1"
_ROUTES: dict[tuple[str, str], tuple[dict[str, Any], tuple[int, ...]]] = {
    (_MSGEN, "post"): ({"$ref": _REF.format(model="Workflow")}, (400, 401, 411, 413, 503)),
    (_MSGEN, "get"): (
        {"type": "array", "items": {"$ref": _REF.format(model="Workflow")}},
        (400, 401, 503),
    ),
    (_MSGEN + "{workflow_id}", "get"): ({"$ref": _REF.format(model="Workflow")}, (401, 404)),
    (_MSGEN + "{workflow_id}", "delete"): ({"$ref": _REF.format(model="Workflow")}, (401, 404)),
    (_WES + "/service-info", "get"): ({"$ref": _REF.format(model="ServiceInfo")}, (401,)),
    (_WES + "/runs", "get"): ({"$ref": _REF.format(model="RunListResponse")}, (400, 401, 503)),
    (_WES + "/runs", "post"): (
        {"$ref": _REF.format(model="RunId")},
        (400, 401, 403, 411, 413, 503),
    ),
    (_WES + "/runs/{run_id}", "get"): ({"$ref": _REF.format(model="RunLog")}, (401, 404)),
    (_WES + "/runs/{run_id}/status", "get"): (
        {"$ref": _REF.format(model="RunStatus")},
        (401, 404),
    ),
    (_WES + "/runs/{run_id}/tasks", "get"): (
        {"$ref": _REF.format(model="TaskListResponse")},
        (400, 401, 404),
    ),
    (_WES + "/runs/{run_id}/tasks/{task_id}", "get"): (
        {"$ref": _REF.format(model="TaskLog")},
        (401, 404),
    ),
    (_WES + "/runs/{run_id}/cancel", "post"): ({"$ref": _REF.format(model="RunId")}, (401, 404)),
    # genoflow extensions: a run's log as text (see _TEXT)
    (_MSGEN + "{workflow_id}/logs", "get"): (_TEXT, (400, 401, 404)),
    (_WES + "/runs/{run_id}/logs/{stream}", "get"): (_TEXT, (400, 401, 404)),
}

_WES_FORM = {
    "type": "object",
    "required": ["workflow_url"],
    "properties": {
        "workflow_url": {"type": "string", "description": "snapgatk, or another built-in name"},
        "workflow_type": {"type": "string", "example": "CWL"},
        "workflow_type_version": {"type": "string", "example": "v1.2"},
        "workflow_params": {"type": "string", "description": "a JSON object, as text"},
        "tags": {"type": "string", "description": "a JSON object of strings, as text"},
        "workflow_engine": {"type": "string"},
        "workflow_engine_version": {"type": "string"},
        "workflow_engine_parameters": {"type": "string", "description": "unsupported: leave out"},
        "workflow_attachment": {"type": "array", "items": {"type": "string", "format": "binary"}},
    },
}


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the completed document (built once, then cached)."""
    app.openapi = _builder(app)  # type: ignore[method-assign]


def _builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            complete(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    return build


def complete(spec: dict[str, Any]) -> None:
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components.update(_schemas([(m, "validation") for m in _REQUEST_MODELS]))
    components.update(_schemas([(m, "serialization") for m in _RESPONSE_MODELS]))
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            _complete_operation(path, method, operation)


def _schemas(models: list[tuple[type[BaseModel], Mode]]) -> dict[str, Any]:
    _, top = models_json_schema(models, ref_template=_REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    return schemas


def _complete_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    declared = _ROUTES.get((path, method))
    if declared is None:
        return
    success, errors = declared
    if success is _TEXT:
        responses["200"] = {
            "description": "the run's log from byte offset on (empty: nothing new yet)",
            "headers": _LOG_HEADERS,
            "content": {"text/plain": {"schema": _TEXT}},
        }
    else:
        responses["200"] = _json_response("OK", success)
    error_schema = _REF.format(model="ErrorBody" if path.startswith(_MSGEN) else "ErrorResponse")
    for status in errors:
        responses[str(status)] = _json_response(_ERROR_TEXT[status], {"$ref": error_schema})
    if (path, method) == (_MSGEN, "post"):
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="SubmitBody")}}},
        }
    if (path, method) == (_WES + "/runs", "post"):
        operation["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": _WES_FORM}},
        }


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
