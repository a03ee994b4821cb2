"""GA4GH WES 1.1 under ``/ga4gh/wes/v1``, served from the shared run store.

Wire shapes come from :mod:`genoflow.protocols.wes.wire` (the client's models). Only the
built-in pipeline runs unless ``allow_custom_workflows`` is set: a posted CWL is arbitrary code.
The built-in pipeline is named by ``workflow_url`` or posted as the attachment ``workflow_url``
names and recognised by its content hash (what the reference ``wes-client`` does); its
``workflow_params`` are genoflow's own or a plain CWL job for ``#main`` (any client).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from genoflow import __version__
from genoflow.errors import GenoflowError
from genoflow.model.runs import Run, RunState
from genoflow.model.submission import SubmitRequest
from genoflow.pipelines.document import is_builtin, main_inputs
from genoflow.protocols.wes import wire
from genoflow.redact import redact
from genoflow.server.bodies import check_depth
from genoflow.server.engine import engine_version
from genoflow.server.runlogs import Stream, log_response
from genoflow.server.service import PROCESSES, RequestRejected, RunService, request_from_json
from genoflow.server.store import ListQuery, StoredRun

# workflow_url values that name the built-in germline pipeline: the old service's process
# names (what genoflow's WES client sends) and the pipeline's own names.
BUILTIN_WORKFLOWS = PROCESSES | {"genoflow-pipeline.cwl", "genoflow-pipeline.cwl#main"}
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        wire.ErrorResponse(msg=message, status_code=status).model_dump(), status_code=status
    )


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("o:"):
            raise ValueError(token)
        return max(0, int(text[2:]))
    except (ValueError, binascii.Error):
        raise RequestRejected("invalid page_token") from None


def _echoed_request(run: StoredRun, record: Run) -> wire.RunRequest:
    """The request as submitted (a run made over the old API: as genoflow's WES client would
    have sent it), SAS signatures masked, its tags carrying the record's sample, description
    and process: the same record over both protocols."""
    raw = run.request.get("wes_request")
    if raw is None:
        submit = request_from_json(run.request["submit"])
        raw = wire.run_request_from_submit(submit, submit.options.process).model_dump(mode="json")
    echoed = wire.RunRequest.model_validate(json.loads(redact(json.dumps(raw))))
    echoed.tags = wire.record_tags(record, echoed.tags)
    return echoed


async def _refused_workflow(url: str, attachments: list[Any]) -> tuple[int, str] | None:
    """None when ``url`` names the built-in pipeline, or the attachment it names is the packed
    pipeline (content hash); else (status, why). Other attachments are not used."""
    named = [item for item in attachments if getattr(item, "filename", None) == url]
    if named:
        if is_builtin(await named[0].read()):
            return None
        return 403, _CUSTOM_REFUSED
    bare_name = "/" not in url and not url.endswith((".cwl", ".wdl"))
    if bare_name and url not in BUILTIN_WORKFLOWS:  # a mistyped process, not a workflow
        return 400, f"Unknown process {url!r}; this server runs: {', '.join(sorted(PROCESSES))}"
    return None if url in BUILTIN_WORKFLOWS else (403, _CUSTOM_REFUSED)


_CUSTOM_REFUSED = (
    "this server runs only its built-in pipelines "
    f"({', '.join(sorted(BUILTIN_WORKFLOWS))}, or that document posted as the workflow "
    "attachment); custom workflows are disabled (allow_custom_workflows: false)"
)


def _descriptor(service: RunService, run_request: wire.RunRequest) -> SubmitRequest:
    """The run's descriptor from genoflow's params or from a CWL job for ``#main``, whose every
    file URL must be under its account's configured endpoint (400 before any connection)."""
    params = run_request.workflow_params
    if not wire.is_cwl_job(params):
        return wire.submit_from_run_request(run_request)
    for url in wire.cwl_job_urls(params):
        account_url, account = wire.blob_url_parts(url)[:2]
        service.check_endpoint(account, account_url, "file")
    return wire.submit_from_cwl_job(params, run_request.tags, main_inputs())


def build_router(
    service: RunService, *, allow_custom_workflows: bool, engine: str = "cwltool"
) -> APIRouter:
    router = APIRouter(prefix=wire.API_PATH, tags=["GA4GH WES 1.1"])

    @router.get("/service-info")
    def service_info() -> dict[str, Any]:
        counts = {
            wire.STATE_TO_WES[state].value: count
            for state, count in service.store.counts_by_state().items()
        }
        info = wire.ServiceInfo(
            id="org.genoflow.server",
            name="genoflow server",
            type=wire.ServiceType(),
            organization={"name": "genoflow", "url": "about:blank"},
            version=__version__,
            workflow_type_versions={
                "CWL": wire.WorkflowTypeVersion(workflow_type_version=["v1.2"])
            },
            supported_wes_versions=["1.1.0"],
            supported_filesystem_protocols=["https", "http"],
            workflow_engine_versions={
                engine: {"workflow_engine_version": [engine_version(engine)]}
            },
            default_workflow_engine_parameters=[],
            system_state_counts=counts,
            auth_instructions_url="about:blank",
            tags={
                "builtin_workflows": ",".join(sorted(BUILTIN_WORKFLOWS)),
                "references": ",".join(service.references.names()),
                **({"service_id": service.service_id} if service.service_id else {}),
            },
        )
        return info.model_dump(mode="json", exclude_none=True)

    @router.get("/runs")
    def list_runs(
        page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1),
        page_token: str | None = None,
        submission_key: str | None = Query(
            None,
            max_length=128,
            description="genoflow extension: only runs submitted with this key (tag "
            "genoflow-key); other WES servers ignore it",
        ),
    ) -> JSONResponse:
        offset = decode_token(page_token)
        size = min(page_size, MAX_PAGE_SIZE)
        query = ListQuery(
            newest_first=True, submission_key=submission_key, offset=offset, limit=size + 1
        )
        runs = service.store.query(query)
        more = len(runs) > size
        summaries = [
            wire.run_to_summary(service.run_of(run)).model_dump(mode="json", exclude_none=True)
            for run in runs[:size]
        ]
        return JSONResponse(
            {"runs": summaries, "next_page_token": encode_token(offset + size) if more else ""}
        )

    @router.post("/runs")
    async def submit_run(request: Request) -> JSONResponse:
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        attachments = [value for key, value in form.multi_items() if key == "workflow_attachment"]
        try:
            for name in wire.JSON_FIELDS:
                check_depth(fields.get(name, ""), name)
            run_request = wire.RunRequest.from_form(fields)
        except (ValidationError, ValueError) as exc:
            return error(400, f"invalid run request: {_first_error(exc)}")
        refused = _unsupported(run_request)
        if refused:
            return error(400, refused)
        refused_workflow = await _refused_workflow(run_request.workflow_url, attachments)
        if refused_workflow is not None:
            status, message = refused_workflow
            if status == 403 and allow_custom_workflows:
                status, message = 400, "custom workflows are not supported by this server version"
            return error(status, message)
        asked = run_request.workflow_engine
        if asked and asked.lower() != engine:
            return error(
                400,
                f"this server runs workflows with {engine}; workflow_engine {asked!r} is not "
                f"available here (ask for {engine} or leave workflow_engine unset)",
            )
        try:
            submit = _descriptor(service, run_request)
            run = service.submit(
                "wes",
                submit,
                description=submit.options.description or "",
                tags=run_request.tags,
                extra={"wes_request": run_request.model_dump(mode="json")},
            )
        except (ValidationError, ValueError) as exc:
            return error(400, f"invalid workflow_params: {_first_error(exc)}")
        except (RequestRejected, GenoflowError) as exc:
            message = exc.one_line() if isinstance(exc, GenoflowError) else str(exc)
            return error(400, message)
        return JSONResponse(wire.RunId(run_id=str(run.id)).model_dump())

    @router.get("/runs/{run_id}")
    def run_log(run_id: str, request: Request) -> JSONResponse:
        run = service.get(run_id)
        record = service.run_of(run)
        log = wire.run_to_run_log(
            record,
            request=_echoed_request(run, record),
            task_logs_url=str(request.url_for("list_tasks", run_id=run_id)),
        )
        log.task_logs = _task_logs(service, run)
        if log.run_log is not None:
            log.run_log.stdout = str(
                request.url_for("run_log_stream", run_id=run_id, stream="stdout")
            )
            log.run_log.stderr = str(
                request.url_for("run_log_stream", run_id=run_id, stream="stderr")
            )
        account_url = service.endpoint_for(run.request["submit"]["output_account"])
        # WES has no field for it: genoflow's client reads the billing basis from the outputs.
        log.outputs = {
            **wire.outputs_document(run.outputs, account_url),
            "bases_processed": run.bases_processed,
        }
        return JSONResponse(log.model_dump(mode="json", exclude_none=True))

    @router.get("/runs/{run_id}/logs/{stream}", name="run_log_stream")
    def run_log_stream(run_id: str, stream: Stream, offset: int = Query(0, ge=0)) -> Response:
        """genoflow extension: the run's log as text from byte ``offset`` (stderr: genoflow,
        engine and failing tool; stdout: the engine's output), while it runs and after."""
        return log_response(service.read_log(run_id, stream, offset), offset)

    @router.get("/runs/{run_id}/status")
    def run_status(run_id: str) -> JSONResponse:
        run = service.get(run_id)
        return JSONResponse(
            wire.RunStatus(run_id=str(run.id), state=wire.STATE_TO_WES[run.state]).model_dump()
        )

    @router.get("/runs/{run_id}/tasks", name="list_tasks")
    def list_tasks(
        run_id: str, page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1), page_token: str | None = None
    ) -> JSONResponse:
        run = service.get(run_id)
        offset = decode_token(page_token)
        tasks = _task_logs(service, run)
        page = tasks[offset : offset + page_size]
        more = offset + page_size < len(tasks)
        return JSONResponse(
            {
                "task_logs": [task.model_dump(mode="json", exclude_none=True) for task in page],
                "next_page_token": encode_token(offset + page_size) if more else "",
            }
        )

    @router.get("/runs/{run_id}/tasks/{task_id}")
    def get_task(run_id: str, task_id: str) -> JSONResponse:
        run = service.get(run_id)
        for task in _task_logs(service, run):
            if task.id == task_id:
                return JSONResponse(task.model_dump(mode="json", exclude_none=True))
        return error(404, f"task {task_id} not found in run {run_id}")

    @router.post("/runs/{run_id}/cancel")
    def cancel_run(run_id: str) -> JSONResponse:
        run = service.cancel(run_id)
        return JSONResponse(wire.RunId(run_id=str(run.id)).model_dump())

    return router


def _task_logs(service: RunService, run: StoredRun) -> list[wire.TaskLog]:
    return [
        wire.TaskLog(
            id=task.name,
            name=task.name,
            cmd=list(task.cmd),
            start_time=wire.format_time(task.start_time),
            end_time=wire.format_time(task.end_time),
            exit_code=task.exit_code,
        )
        for task in service.store.tasks(run.id)
    ]


SUPPORTED_TYPE_VERSIONS = ("v1.0", "v1.1", "v1.2")


def _unsupported(run_request: wire.RunRequest) -> str | None:
    """What in a run request this server cannot honour (never silently ignored)."""
    if run_request.workflow_type.upper() != "CWL":
        return f"workflow_type {run_request.workflow_type!r} is not supported; this server runs CWL"
    if run_request.workflow_type_version not in SUPPORTED_TYPE_VERSIONS:
        return (
            f"workflow_type_version {run_request.workflow_type_version!r} is not supported; "
            f"this server runs CWL {', '.join(SUPPORTED_TYPE_VERSIONS)}"
        )
    if run_request.workflow_engine_parameters:
        names = ", ".join(sorted(run_request.workflow_engine_parameters))
        return f"workflow_engine_parameters are not supported by this server (got: {names})"
    return None


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return redact(str(exc))


__all__ = ["BUILTIN_WORKFLOWS", "RunState", "build_router"]
