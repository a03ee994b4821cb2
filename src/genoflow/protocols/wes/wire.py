"""The GA4GH WES 1.1 wire format, both directions, plus genoflow's own ``workflow_params``.

Imports only pydantic, the standard library and ``genoflow.model``, so that ``genoflow server``
reuses these models. Parsing is tolerant of the real servers' divergences: Toil's ``workflows``
list key, Sapporo's list-shaped ``outputs`` and extra states, unknown states read as UNKNOWN.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from genoflow.model import descriptor
from genoflow.model.outputs import OUTPUT_KINDS, RunOutput, blob_location, blob_url
from genoflow.model.runs import Run, RunState
from genoflow.model.submission import (
    InputKind,
    PipelineOptions,
    SubmitRequest,
    is_url,
    sample_of,
    strip_key,
)
from genoflow.model.tags import SAMPLE, SUBMISSION_KEY
from genoflow.units import iso_z, parse_time

API_PATH = "/ga4gh/wes/v1"
DESCRIPTION_TAG = "genoflow-description"
PROCESS_TAG = "genoflow-process"
WORKFLOW_TYPE = "CWL"
WORKFLOW_TYPE_VERSION = "v1.2"
GENOFLOW_SERVICE_ID = "org.genoflow.server"  # service-info ``id`` of genoflow server


class WesState(str, Enum):
    UNKNOWN = "UNKNOWN"
    QUEUED = "QUEUED"
    INITIALIZING = "INITIALIZING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETE = "COMPLETE"
    EXECUTOR_ERROR = "EXECUTOR_ERROR"
    SYSTEM_ERROR = "SYSTEM_ERROR"
    CANCELED = "CANCELED"
    CANCELING = "CANCELING"
    PREEMPTED = "PREEMPTED"
    # Sapporo 2.x additions.
    DELETED = "DELETED"
    DELETING = "DELETING"


WES_TO_STATE: dict[WesState, RunState] = {
    WesState.UNKNOWN: RunState.UNKNOWN,
    WesState.QUEUED: RunState.QUEUED,
    WesState.INITIALIZING: RunState.RUNNING,  # the engine has picked the run up
    WesState.RUNNING: RunState.RUNNING,
    WesState.PAUSED: RunState.RUNNING,  # not terminal: waiting goes on
    WesState.COMPLETE: RunState.SUCCEEDED,
    WesState.EXECUTOR_ERROR: RunState.FAILED,
    WesState.SYSTEM_ERROR: RunState.FAILED,
    WesState.CANCELED: RunState.CANCELLED,
    WesState.CANCELING: RunState.CANCELLING,
    WesState.PREEMPTED: RunState.FAILED,  # terminal in the spec: the run will not finish
    WesState.DELETED: RunState.CANCELLED,
    WesState.DELETING: RunState.CANCELLING,
}

STATE_TO_WES: dict[RunState, WesState] = {
    RunState.UNKNOWN: WesState.UNKNOWN,
    RunState.QUEUED: WesState.QUEUED,
    RunState.RUNNING: WesState.RUNNING,
    RunState.CANCELLING: WesState.CANCELING,
    RunState.SUCCEEDED: WesState.COMPLETE,
    RunState.FAILED: WesState.EXECUTOR_ERROR,
    RunState.CANCELLED: WesState.CANCELED,
}


def state_of_wes(state: WesState) -> RunState:
    return WES_TO_STATE[state]


def _wes_state(value: Any) -> WesState:
    if isinstance(value, WesState):
        return value
    try:
        return WesState(str(value).upper())
    except ValueError:
        return WesState.UNKNOWN


format_time = iso_z  # WES times: %Y-%m-%dT%H:%M:%SZ in UTC, None for None


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- requests -------------------------------------------------------------------------------

JSON_FIELDS = ("workflow_params", "tags", "workflow_engine_parameters")


class RunRequest(_Wire):
    """The ``POST /runs`` form: objects travel as JSON-encoded strings, one form part each."""

    workflow_url: str
    workflow_type: str = WORKFLOW_TYPE
    workflow_type_version: str = WORKFLOW_TYPE_VERSION
    workflow_params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    workflow_engine: str | None = None
    workflow_engine_version: str | None = None
    workflow_engine_parameters: dict[str, str] | None = None

    @field_validator(*JSON_FIELDS, mode="before")
    @classmethod
    def _decode(cls, value: Any) -> Any:
        if isinstance(value, (str, bytes)):
            return json.loads(value) if value.strip() else None
        return value

    @field_validator("workflow_params", "tags", mode="after")
    @classmethod
    def _never_none(cls, value: Any) -> Any:
        return value or {}

    def to_form(self) -> dict[str, str]:
        """Form fields (name -> text); absent optional fields are left out."""
        form: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            form[name] = json.dumps(value) if name in JSON_FIELDS else str(value)
        return form

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> RunRequest:
        return cls.model_validate(dict(form))


class RunId(_Wire):
    run_id: str


class RunStatus(_Wire):
    run_id: str
    state: WesState = WesState.UNKNOWN

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: Any) -> WesState:
        return _wes_state(value)


class RunSummary(RunStatus):
    start_time: str | None = None
    end_time: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    service_id: str | None = None  # genoflow extension: the server that holds the run

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return value or {}


class RunListResponse(_Wire):
    runs: list[RunSummary] = Field(default_factory=list)
    next_page_token: str | None = ""

    @model_validator(mode="before")
    @classmethod
    def _toil_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "runs" not in data and "workflows" in data:
            return {**data, "runs": data["workflows"]}  # Toil
        return data


class Log(_Wire):
    name: str | None = None
    cmd: list[str] | None = None
    start_time: str | None = None
    end_time: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    exit_code: int | None = None
    system_logs: list[str] | None = None


class TaskLog(Log):
    id: str | None = None  # required by the spec; Toil's entries have none
    tes_uri: str | None = None


class TaskListResponse(_Wire):
    task_logs: list[TaskLog] = Field(default_factory=list)
    next_page_token: str | None = ""


class RunLog(_Wire):
    run_id: str
    request: RunRequest | None = None
    state: WesState = WesState.UNKNOWN
    run_log: Log | None = None
    task_logs_url: str | None = None
    task_logs: list[TaskLog] | None = None
    # Free-form: an object in the spec, a list of file objects on Sapporo.
    outputs: Any = None
    service_id: str | None = None  # genoflow extension: the server that holds the run

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: Any) -> WesState:
        return _wes_state(value)

    @field_validator("request", mode="before")
    @classmethod
    def _echoed(cls, value: Any) -> Any:
        """The request as the server echoes it: Toil returns form fields it does not know
        (workflow_engine) as lists of strings."""
        if not isinstance(value, Mapping):
            return value
        echoed = dict(value)
        for name in _TEXT_FIELDS:
            field = echoed.get(name)
            if isinstance(field, list):
                echoed[name] = str(field[0]) if field else None
            elif field is not None and not isinstance(field, str):
                echoed[name] = str(field)
        return echoed


_TEXT_FIELDS = (
    "workflow_url",
    "workflow_type",
    "workflow_type_version",
    "workflow_engine",
    "workflow_engine_version",
)


class WorkflowTypeVersion(_Wire):
    workflow_type_version: list[str] = Field(default_factory=list)


class DefaultWorkflowEngineParameter(_Wire):
    name: str | None = None
    type: str | None = None
    default_value: str | None = None


class ServiceType(_Wire):
    group: str = "org.ga4gh"
    artifact: str = "wes"
    version: str = "1.1.0"


class ServiceInfo(BaseModel):
    """Tolerant: every field has a default so that partial answers (Toil 1.0.0) still parse."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    name: str | None = None
    type: ServiceType | None = None
    organization: dict[str, Any] | None = None
    version: str | None = None
    workflow_type_versions: dict[str, WorkflowTypeVersion] = Field(default_factory=dict)
    supported_wes_versions: list[str] = Field(default_factory=list)
    supported_filesystem_protocols: list[str] = Field(default_factory=list)
    workflow_engine_versions: dict[str, Any] = Field(default_factory=dict)
    default_workflow_engine_parameters: list[DefaultWorkflowEngineParameter] = Field(
        default_factory=list
    )
    system_state_counts: dict[str, int] = Field(default_factory=dict)
    auth_instructions_url: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("default_workflow_engine_parameters", mode="before")
    @classmethod
    def _per_engine(cls, value: Any) -> Any:
        if isinstance(value, Mapping):  # Sapporo: engine -> [parameter]
            return [item for items in value.values() if isinstance(items, list) for item in items]
        return value

    def supports_cwl(self) -> bool:
        return not self.workflow_type_versions or any(
            key.upper() == WORKFLOW_TYPE for key in self.workflow_type_versions
        )

    def cwl_versions(self) -> list[str]:
        """The CWL versions offered (the key is ``CWL`` or, on Toil, ``cwl``)."""
        return [
            version
            for key, versions in self.workflow_type_versions.items()
            if key.upper() == WORKFLOW_TYPE
            for version in versions.workflow_type_version
        ]

    def is_genoflow(self) -> bool:
        """genoflow server names itself here (it holds the pipeline and the references)."""
        return self.id == GENOFLOW_SERVICE_ID


class ErrorResponse(_Wire):
    msg: str | None = None
    status_code: int | None = None


# --- genoflow's workflow_params (the pipeline's inputs) ---------------------------------------


class CwlFile(_Wire):
    class_: str = Field("File", alias="class")
    location: str

    def to_wire(self) -> dict[str, str]:
        return {"class": self.class_, "location": self.location}


class PipelineParams(_Wire):
    """The ``workflow_params`` genoflow sends: inputs and the output container as SAS URLs."""

    sample: str
    reads_1: list[CwlFile] = Field(default_factory=list)
    reads_2: list[CwlFile] = Field(default_factory=list)
    bam: CwlFile | None = None
    # the options (descriptor.OPTIONS, key ``wes``): as the user set them, None when unset
    process: str = "snapgatk"
    process_args: str | None = None
    reference: str = "b37m1"
    bqsr: bool | None = None
    read_group: str | None = None
    emit_ref_confidence: str | None = None
    bgzip_output: bool | None = None
    output_base: str = ""
    overwrite: bool = False
    include_logs: bool = True
    description: str | None = None
    known_sites: list[str] = Field(default_factory=list)
    input_account: str
    input_account_url: str
    input_container: str
    output_account: str
    output_account_url: str
    output_container: str
    output_url: str  # the output container URL with its SAS

    def to_wire(self) -> dict[str, Any]:
        data = self.model_dump(by_alias=True, exclude_none=True)
        return data

    def input_files(self) -> list[CwlFile]:
        return [self.bam] if self.bam else [*self.reads_1, *self.reads_2]


def _account_url(request: SubmitRequest, output: bool) -> str:
    url = request.output_account_url if output else request.input_account_url
    account = request.output_account if output else request.input_account
    return url or f"https://{account}.blob.core.windows.net"


def params_from_request(request: SubmitRequest) -> PipelineParams:
    options = request.options
    files = {name: CwlFile(location=request.input_url(name)) for name in request.blob_names()}
    is_bam = request.kind is InputKind.BAM
    return PipelineParams(
        sample=request.sample,
        reads_1=[] if is_bam else [files[name] for name in request.reads_1],
        reads_2=[] if is_bam else [files[name] for name in request.reads_2],
        bam=files[request.reads_1[0]] if is_bam else None,
        **descriptor.wes_params(options),
        input_account=request.input_account,
        input_account_url=_account_url(request, output=False),
        input_container=request.input_container,
        output_account=request.output_account,
        output_account_url=_account_url(request, output=True),
        output_container=request.output_container,
        output_url=request.output_url(),
    )


def submit_tags(request: SubmitRequest) -> dict[str, str]:
    """The tags genoflow sends with a run: sample, process, submission key, description."""
    tags = {SAMPLE: request.sample, PROCESS_TAG: request.options.process}
    if request.submission_key:
        tags[SUBMISSION_KEY] = request.submission_key
    if request.options.description:
        tags[DESCRIPTION_TAG] = request.options.description
    return tags


def run_request_from_submit(
    request: SubmitRequest, workflow_url: str, workflow_engine: str | None = None
) -> RunRequest:
    tags = submit_tags(request)
    return RunRequest(
        workflow_url=workflow_url,
        workflow_params=params_from_request(request).to_wire(),
        tags=tags,
        workflow_engine=workflow_engine,
    )


def _split_location(location: str, account_url: str, container: str) -> tuple[str, str]:
    """(blob name, SAS) from a file URL under ``account_url/container/``."""
    prefix = f"{account_url.rstrip('/')}/{container}/"
    if not location.startswith(prefix):
        raise ValueError(f"input {location.split('?')[0]!r} is not in {prefix}")
    name, _, sas = location[len(prefix) :].partition("?")
    return name, sas


def submit_from_run_request(run_request: RunRequest) -> SubmitRequest:
    """The server's reading of a genoflow RunRequest (raises pydantic/ValueError when the
    params are not genoflow's)."""
    known = {field.alias or name for name, field in PipelineParams.model_fields.items()}
    unknown = sorted(set(run_request.workflow_params) - known)
    if unknown:  # a parameter the pipeline does not take would be silently ignored
        raise ValueError(f"unknown workflow_params: {', '.join(unknown)}")
    params = PipelineParams.model_validate(run_request.workflow_params)
    located = {
        f.location: _split_location(f.location, params.input_account_url, params.input_container)
        for f in params.input_files()
    }
    names = {loc: name for loc, (name, _) in located.items()}
    output_prefix = f"{params.output_account_url.rstrip('/')}/{params.output_container}"
    if params.output_url.partition("?")[0].rstrip("/") != output_prefix:
        raise ValueError(
            f"output_url {params.output_url.partition('?')[0]!r} is not the output container "
            f"{output_prefix!r}"
        )
    options = PipelineOptions(**descriptor.from_wes_params(params))
    return SubmitRequest(
        sample=params.sample,
        kind=InputKind.BAM if params.bam else InputKind.FASTQ,
        reads_1=(names[params.bam.location],)
        if params.bam
        else tuple(names[f.location] for f in params.reads_1),
        reads_2=() if params.bam else tuple(names[f.location] for f in params.reads_2),
        options=options,
        input_account=params.input_account,
        input_container=params.input_container,
        output_account=params.output_account,
        output_container=params.output_container,
        input_sas={name: sas for name, sas in located.values() if sas},
        output_sas=params.output_url.partition("?")[2],
        input_account_url=params.input_account_url,
        output_account_url=params.output_account_url,
        submission_key=run_request.tags.get(SUBMISSION_KEY),
    )


# --- a plain CWL job for the built-in pipeline (its #main inputs) -----------------------------


def is_cwl_job(params: Mapping[str, Any]) -> bool:
    """A CWL job for ``#main`` (any client) rather than genoflow's own params."""
    return "output_url" in params and isinstance(params.get("reference"), Mapping)


def blob_url_parts(url: str) -> tuple[str, str, str, str, str]:
    """(account URL, account, container, blob name, SAS) of a blob or container URL; raises
    ValueError for anything else. The account is a path segment on emulator-style hosts."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    path = unquote(parts.path).lstrip("/")
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"{url.split('?')[0]!r} is not an http(s) blob URL")
    account_url = f"{parts.scheme}://{parts.netloc}"
    if _emulator_host(host):
        account, _, path = path.partition("/")
        account_url = f"{account_url}/{account}"
    else:
        account = host.split(".")[0]
    container, _, name = path.partition("/")
    if not container:
        raise ValueError(f"{url.split('?')[0]!r} names no container")
    return account_url, account, container, name, parts.query


def _emulator_host(host: str) -> bool:
    return host == "localhost" or "." not in host or host.replace(".", "").isdigit()


def _location(value: Any, what: str) -> str:
    if not isinstance(value, Mapping) or value.get("class") != "File":
        raise ValueError(f"{what} is not a CWL File")
    location = value.get("location") or value.get("path")
    if not isinstance(location, str) or not is_url(location):
        raise ValueError(f"{what} must be a blob URL (location), not a path on the server")
    return location


def cwl_job_urls(job: Mapping[str, Any]) -> list[str]:
    """Every file URL in the job (inputs, reference and its index files, known sites)."""
    urls = []
    for key, value in job.items():
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, Mapping) and item.get("class") == "File":
                urls.append(_location(item, f"{key}[{index}]"))
    return urls


def submit_from_cwl_job(
    job: Mapping[str, Any], tags: Mapping[str, str], inputs: frozenset[str]
) -> SubmitRequest:
    """The descriptor of a CWL job for the built-in pipeline's ``#main`` (``inputs``: its input
    names; anything else is refused). The reference is the server's registered one named
    ``reference_name``; the sample is the read group's SM (else from the first input)."""
    unknown = sorted(set(job) - inputs)
    if unknown:
        raise ValueError(f"inputs the pipeline does not take: {', '.join(unknown)}")
    bam = job.get("input_bam")
    reads = [bam] if bam else [*(job.get("fastq_r1") or []), *(job.get("fastq_r2") or [])]
    located = [blob_url_parts(_location(item, "an input")) for item in reads]
    if not located or len({(p[0], p[2]) for p in located}) != 1:
        raise ValueError("give the inputs (fastq_r1 + fastq_r2, or input_bam) in one container")
    account_url, account, container = located[0][:3]
    out_url, out_account, out_container, out_name, out_sas = blob_url_parts(job["output_url"])
    if out_name:
        raise ValueError("output_url must be the output container's URL, not a blob's")
    names = [part[3] for part in located]
    half = len(names) // 2
    reference = str(job.get("reference_name") or "")
    return SubmitRequest(
        sample=sample_of(job.get("read_group"), names[0]),
        kind=InputKind.BAM if bam else InputKind.FASTQ,
        reads_1=tuple(names if bam else names[:half]),
        reads_2=() if bam else tuple(names[half:]),
        options=PipelineOptions(
            process="gatk4" if job.get("caller") == "gatk" else "genoflow-pipeline",
            process_args=f"R={reference}",
            reference=reference,
            bqsr=bool(job.get("known_sites")),
            read_group=job.get("read_group"),
            emit_ref_confidence="gvcf" if job.get("gvcf") else "none",
            bgzip_output=bool(job.get("bgzip", False)),
            output_filename_base=str(job.get("output_base") or ""),
            overwrite=bool(job.get("overwrite", False)),
            include_logs=bool(job.get("include_logs", True)),
            description=tags.get(DESCRIPTION_TAG),
            known_sites=tuple(_location(s, "known_sites") for s in job.get("known_sites") or ()),
        ),
        input_account=account,
        input_container=container,
        output_account=out_account,
        output_container=out_container,
        input_sas={part[3]: part[4] for part in located if part[4]},
        output_sas=out_sas,
        input_account_url=account_url,
        output_account_url=out_url,
        submission_key=tags.get(SUBMISSION_KEY),
    )


# --- recorded outputs as CWL File objects ------------------------------------------------------

MD5_CHECKSUM = "md5$"


def output_file(output: RunOutput, account_url: str) -> dict[str, Any]:
    """A CWL File object for a recorded output: its blob URL (no SAS), size and MD5."""
    file: dict[str, Any] = {
        "class": "File",
        "location": blob_url(account_url, output),
        "basename": output.name.rsplit("/", 1)[-1],
    }
    if output.size is not None:
        file["size"] = output.size
    if output.md5:
        file["checksum"] = MD5_CHECKSUM + output.md5
    return file


def outputs_document(outputs: Sequence[RunOutput], account_url: str) -> dict[str, Any]:
    """WES ``outputs``: the recorded outputs keyed by kind."""
    return {output.kind: output_file(output, account_url) for output in outputs}


def outputs_from_document(document: Any) -> tuple[RunOutput, ...]:
    """The recorded outputs in a WES ``outputs``: File objects under an output kind whose
    location is a blob URL (genoflow server), or the pipeline's ``delivered`` list as any CWL
    engine returns it (Toil, wes-server); anything else a server lists (Sapporo's list of run
    directory files) is left to output_document."""
    if isinstance(document, Mapping) and isinstance(document.get("delivered"), list):
        delivered = (_delivered_record(item) for item in document["delivered"])
        return tuple(record for record in delivered if record is not None)
    if not isinstance(document, Mapping):
        return ()
    records = (_file_record(str(kind), value) for kind, value in document.items())
    return tuple(record for record in records if record is not None)


def _stdout_outputs(stdout: str | None) -> tuple[RunOutput, ...]:
    """The pipeline's ``delivered`` from the engine's output object when a server gives it
    as the run's stdout text (Sapporo, whose ``outputs`` lists run-directory files)."""
    if not stdout or not stdout.lstrip().startswith("{"):
        return ()
    try:
        document = json.loads(stdout)
    except ValueError:
        return ()
    return outputs_from_document(document) if isinstance(document, Mapping) else ()


def _delivered_record(item: Any) -> RunOutput | None:
    """One entry of the pipeline's ``delivered`` output: name, kind, size, md5, container."""
    if not isinstance(item, Mapping) or item.get("kind") not in OUTPUT_KINDS:
        return None
    name, container, size = item.get("name"), item.get("container"), item.get("size")
    if not isinstance(name, str) or not isinstance(container, str):
        return None
    md5 = item.get("md5")
    return RunOutput(
        name=name,
        kind=str(item["kind"]),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        md5=md5.lower() if isinstance(md5, str) and md5 else None,
        container=container,
    )


def _file_record(kind: str, value: Any) -> RunOutput | None:
    if kind not in OUTPUT_KINDS or not isinstance(value, Mapping) or value.get("class") != "File":
        return None
    location = value.get("location")
    where = blob_location(location) if isinstance(location, str) else None
    if where is None:
        return None
    checksum, size = str(value.get("checksum") or ""), value.get("size")
    md5 = checksum[len(MD5_CHECKSUM) :] if checksum.startswith(MD5_CHECKSUM) else None
    return RunOutput(
        name=where[1],
        kind=kind,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        md5=md5.lower() if md5 else None,
        container=where[0],
    )


# --- Run <-> wire -----------------------------------------------------------------------------


def summary_to_run(summary: RunSummary) -> Run:
    tags = dict(summary.tags)
    return Run(
        id=summary.run_id,
        state=state_of_wes(summary.state),
        created=parse_time(summary.start_time),
        ended=parse_time(summary.end_time),
        description=tags.get(DESCRIPTION_TAG),
        process=tags.get(PROCESS_TAG),
        sample=tags.get(SAMPLE),
        tags=tags,
        summary=True,
        service=summary.service_id or None,
    )


def _inputs(request: RunRequest | None) -> tuple[str | None, tuple[str, ...]]:
    """(input container, blob names) of a genoflow request or of a CWL job for the built-in
    pipeline; (None, ()) for a foreign one."""
    if request is None:
        return None, ()
    if is_cwl_job(request.workflow_params):
        return _cwl_job_inputs(request.workflow_params)
    try:
        params = PipelineParams.model_validate(request.workflow_params)
        names = tuple(
            _split_location(f.location, params.input_account_url, params.input_container)[0]
            for f in params.input_files()
        )
    except ValueError:  # pydantic's ValidationError is one: not genoflow's params
        return None, ()
    return params.input_container, names


def _cwl_job_inputs(job: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    bam = job.get("input_bam")
    reads = [bam] if bam else [*(job.get("fastq_r1") or []), *(job.get("fastq_r2") or [])]
    try:
        located = [blob_url_parts(_location(item, "an input")) for item in reads]
    except ValueError:
        return None, ()
    if not bam:  # the old service's order: r1, r2 of each pair
        half = len(located) // 2
        pairs = zip(located[:half], located[half:], strict=False)
        located = [part for pair in pairs for part in pair]
    return (located[0][2] if located else None), tuple(part[3] for part in located)


def record_tags(run: Run, submitted: Mapping[str, str] | None = None) -> dict[str, str]:
    """Tags with the record fields WES has no field for (sample, description, process), as
    the server holds them: the same record over both protocols."""
    tags = {**(submitted or {}), **run.tags}
    for key, value in (
        (SAMPLE, run.sample),
        (DESCRIPTION_TAG, strip_key(run.description)),
        (PROCESS_TAG, run.process),
    ):
        if value:
            tags[key] = value
    return tags


def run_log_to_run(log: RunLog) -> Run:
    tags = dict(log.request.tags) if log.request else {}
    run_log = log.run_log or Log()
    state = state_of_wes(log.state)
    bases = log.outputs.get("bases_processed") if isinstance(log.outputs, dict) else None
    input_container, inputs = _inputs(log.request)
    return Run(
        id=log.run_id,
        state=state,
        message=run_log.system_logs[-1] if run_log.system_logs else None,
        failure_code=run_log.exit_code if state is RunState.FAILED else None,
        created=parse_time(run_log.start_time),
        ended=parse_time(run_log.end_time),
        description=tags.get(DESCRIPTION_TAG),
        process=tags.get(PROCESS_TAG),
        sample=tags.get(SAMPLE),
        tags=tags,
        inputs=inputs,
        input_container=input_container,
        outputs=outputs_from_document(log.outputs) or _stdout_outputs(run_log.stdout),
        output_document=log.outputs,
        bases_processed=bases if isinstance(bases, int) else None,
        service=log.service_id or None,
    )


def run_to_summary(run: Run) -> RunSummary:
    return RunSummary(
        run_id=run.id,
        state=STATE_TO_WES[run.state],
        start_time=format_time(run.created),
        end_time=format_time(run.ended),
        tags=record_tags(run),
        service_id=run.service,
    )


def run_to_run_log(
    run: Run, request: RunRequest | None = None, task_logs_url: str | None = None
) -> RunLog:
    """The server's RunLog for ``run``; the run's message is the last system log line."""
    return RunLog(
        run_id=run.id,
        request=request,
        state=STATE_TO_WES[run.state],
        run_log=Log(
            name=run.process,
            start_time=format_time(run.created),
            end_time=format_time(run.ended),
            exit_code=run.failure_code,
            system_logs=[run.message] if run.message else [],
        ),
        task_logs_url=task_logs_url,
        outputs=run.output_document if run.output_document is not None else {},
        service_id=run.service,
    )
