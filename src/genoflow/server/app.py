"""The FastAPI application: both APIs, API-key auth, request size limit, health, OpenAPI."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from genoflow import __version__
from genoflow.protocols.extensions import SERVICE_ID_HEADER
from genoflow.server import api_msgenomics, api_wes, openapi
from genoflow.server.bodies import BodyError
from genoflow.server.service import RequestRejected, RunNotFound, RunService
from genoflow.server.store import StoreUnavailable

log = logging.getLogger(__name__)

HEALTH_PATH = "/health"
_OPEN_PATHS = frozenset({HEALTH_PATH})
_MSGEN_PREFIX = "/api/workflows"


def key_matches(presented: str | None, keys: Sequence[str]) -> bool:
    """Constant-time comparison against every accepted key (two during rotation)."""
    if not presented:
        return False
    candidate = presented.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate, key.encode())
    return matched


def presented_key(request: Request) -> str | None:
    header = request.headers.get("Ocp-Apim-Subscription-Key")
    if header:
        return header
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "basic":  # the key as the password (curl -u, a client's .netrc)
        return _basic_password(token.strip())
    return token.strip() if scheme.lower() == "bearer" else None


def _basic_password(token: str) -> str | None:
    try:
        decoded = base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def error_response(
    path: str, status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An error in the shape of the API the path belongs to: ``{"Message"}`` for the old
    service, ``{"msg", "status_code"}`` for WES."""
    body: dict[str, object] = (
        {"Message": message}
        if path.startswith(_MSGEN_PREFIX)
        else {"msg": message, "status_code": status}
    )
    return JSONResponse(body, status_code=status, headers=headers)


def _unauthorized(path: str) -> JSONResponse:
    if path.startswith(_MSGEN_PREFIX):
        return error_response(
            path, 401, "Access denied due to missing or invalid subscription key."
        )
    return error_response(
        path, 401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def create_app(
    service: RunService,
    *,
    api_keys: Sequence[str],
    max_request_bytes: int,
    allow_custom_workflows: bool = False,
    engine: str = "cwltool",
) -> FastAPI:
    app = FastAPI(
        title="genoflow server",
        version=__version__,
        description="Microsoft Genomics compatible API and GA4GH WES 1.1, one run store.",
    )
    keys = list(api_keys)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if keys and path not in _OPEN_PATHS and not key_matches(presented_key(request), keys):
            return _unauthorized(path)
        length = request.headers.get("content-length")
        if request.method in {"POST", "PUT", "PATCH"} and not (length and length.isdigit()):
            # Without a declared length the size limit could not be enforced before reading.
            return error_response(path, 411, "a Content-Length header is required")
        if length and length.isdigit() and int(length) > max_request_bytes:
            return error_response(path, 413, f"request body larger than {max_request_bytes} bytes")
        response = await call_next(request)
        if service.service_id:  # any answer names the server, even an empty list
            response.headers[SERVICE_ID_HEADER] = service.service_id
        return response

    @app.exception_handler(RunNotFound)
    async def not_found(request: Request, exc: RunNotFound) -> JSONResponse:
        return error_response(request.url.path, 404, str(exc))

    @app.exception_handler(RequestRejected)
    @app.exception_handler(BodyError)
    async def rejected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(request.url.path, 400, str(exc))

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return error_response(
            request.url.path,
            503,
            "the run store is unavailable (e.g. its disk is full); nothing was changed, "
            "retry later",
            headers={"Retry-After": "30"},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI answers 422 in its own shape; both APIs document 400 in theirs.
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"] if part not in ("query", "path"))
        return error_response(request.url.path, 400, f"invalid {where}: {first['msg']}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # 404 for unknown paths, 405 for wrong methods: in the API's error shape too.
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(request.url.path, exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(ClientDisconnect)
    async def disconnected(request: Request, exc: ClientDisconnect) -> Response:
        # The client went away mid-body: nobody reads this answer, and it is not a bug.
        log.info(
            "%s %s: client disconnected before sending the whole body",
            request.method,
            request.url.path,
        )
        return Response(status_code=400)

    @app.head(HEALTH_PATH, tags=["health"], operation_id="health_head")
    @app.get(HEALTH_PATH, tags=["health"], operation_id="health")
    def health() -> dict[str, object]:
        pending = service.scheduler.pending_writes()  # run ends the store has yet to record
        return {
            "status": "degraded" if pending else "ok",
            "version": __version__,
            "active_runs": service.scheduler.active(),
            "pending_writes": pending,
        }

    app.include_router(api_msgenomics.build_router(service))
    app.include_router(
        api_wes.build_router(service, allow_custom_workflows=allow_custom_workflows, engine=engine)
    )
    openapi.install(app)
    return app
