"""The Microsoft Genomics wire format, both directions (the client posts it, the server parses it).

Imports only pydantic, the standard library and ``genoflow.model``, so that ``genoflow server``
reuses these models and client and server cannot drift. Field names are the service's own.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from genoflow.model import descriptor
from genoflow.model.outputs import RunOutput
from genoflow.model.runs import Run, RunState
from genoflow.model.submission import (
    InputKind,
    PipelineOptions,
    SubmitRequest,
    classify_inputs,
    key_from_description,
    sample_of,
    strip_key,
)
from genoflow.model.submission import read_group_sample as read_group_sample
from genoflow.model.tags import SUBMISSION_KEY
from genoflow.units import parse_time

API_PATH = "/api/workflows/"
KEY_HEADER = "Ocp-Apim-Subscription-Key"
USER_AGENT = "genoflow (Microsoft Genomics compatible)"
STORAGE_TYPE = "AZURE_BLOCK_BLOB"

# --- states ---------------------------------------------------------------------------------

STATUS_QUEUED = 1000
STATUS_IN_PROGRESS = 10000
STATUS_SUCCEEDED = 20000
STATUS_FAILED = 50000
STATUS_CANCEL_REQUESTED = 58000
STATUS_CANCELLED = 60000

STATUS_TO_STATE: dict[int, RunState] = {
    STATUS_QUEUED: RunState.QUEUED,
    STATUS_IN_PROGRESS: RunState.RUNNING,
    STATUS_SUCCEEDED: RunState.SUCCEEDED,
    STATUS_FAILED: RunState.FAILED,
    STATUS_CANCEL_REQUESTED: RunState.CANCELLING,
    STATUS_CANCELLED: RunState.CANCELLED,
}
STATE_TO_STATUS: dict[RunState, int] = {state: code for code, state in STATUS_TO_STATE.items()}
STATE_TO_STATUS[RunState.UNKNOWN] = STATUS_QUEUED


def state_of_status(status: int) -> RunState:
    return STATUS_TO_STATE.get(status, RunState.UNKNOWN)


# --- helpers --------------------------------------------------------------------------------

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off", ""}


def parse_bool(value: Any) -> bool:
    """Booleans as the old clients sent them: JSON bools, or the strings "true"/"false"."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean (true or false)")


def format_date(value: datetime) -> str:
    """``2017-02-08T00:57:16.3403168+00:00``: 7 fractional digits and an offset, always."""
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    offset = aware.strftime("%z")
    return f"{aware:%Y-%m-%dT%H:%M:%S}.{aware.microsecond:06d}0{offset[:3]}:{offset[3:]}"


class _Wire(BaseModel):
    # Tolerant of fields other clients and service builds add.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- submit body ----------------------------------------------------------------------------


class InputArgs(_Wire):
    ACCOUNT: str
    CONTAINER: str
    BLOBNAMES: str
    BLOBNAMES_WITH_SAS: str = ""

    def names(self) -> list[str]:
        return [name for name in self.BLOBNAMES.split(",") if name]

    def sas_by_name(self) -> dict[str, str]:
        pairs = (entry.split("?", 1) for entry in self.BLOBNAMES_WITH_SAS.split(",") if entry)
        return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


class OutputArgs(_Wire):
    ACCOUNT: str
    CONTAINER: str
    CONTAINER_SAS: str = ""
    # The old client sent "true"/"false"; another sent a JSON bool. Kept as the old string.
    OVERWRITE: str = "false"
    OUTPUT_FILENAME_BASE: str = ""
    OUTPUT_INCLUDE_LOGFILES: bool = True

    @field_validator("OVERWRITE", mode="before")
    @classmethod
    def _overwrite(cls, value: Any) -> str:
        return "true" if parse_bool(value) else "false"

    @field_validator("OUTPUT_INCLUDE_LOGFILES", mode="before")
    @classmethod
    def _logs(cls, value: Any) -> bool:
        return parse_bool(value)

    @field_validator("CONTAINER_SAS", mode="before")
    @classmethod
    def _sas(cls, value: Any) -> str:
        return str(value or "").lstrip("?")

    @property
    def overwrite(self) -> bool:
        return self.OVERWRITE == "true"


class OptionalArgs(_Wire):
    """Only the keys the user set are sent (``None`` = absent). Keys: descriptor.OPTIONS."""

    BQSR: bool | None = None
    ReadGroupLine: str | None = None
    GatkEmitRefConfidence: str | None = None
    BgzipOutput: bool | None = None
    KnownSites: list[str] | None = None  # genoflow extension: BQSR known sites

    @field_validator("BQSR", "BgzipOutput", mode="before")
    @classmethod
    def _bools(cls, value: Any) -> bool | None:
        return None if value is None else parse_bool(value)

    @field_validator("GatkEmitRefConfidence", mode="before")
    @classmethod
    def _confidence(cls, value: Any) -> str | None:
        return None if value is None else str(value).lower()


# Aliases: the body's fields are named like their classes, which would shadow them.
_InputArgs = InputArgs
_OutputArgs = OutputArgs
_OptionalArgs = OptionalArgs


class SubmitBody(_Wire):
    Process: str = "snapgatk"
    ProcessArgs: str = ""
    Description: str | None = Field(None, max_length=500)
    InputStorageType: str = STORAGE_TYPE
    OutputStorageType: str = STORAGE_TYPE
    InputArgs: _InputArgs
    OutputArgs: _OutputArgs
    OptionalArgs: _OptionalArgs = Field(default_factory=lambda: _OptionalArgs())
    WorkflowClass: str | None = ""
    IgnoreAzureRegion: bool | None = None

    def to_wire(self) -> dict[str, Any]:
        """The body as the old client sent it: this field order, OptionalArgs without unset
        keys, and ``IgnoreAzureRegion: null`` kept."""
        body = self.model_dump(mode="json")
        body["OptionalArgs"] = self.OptionalArgs.model_dump(mode="json", exclude_none=True)
        return body

    def to_json(self) -> bytes:
        return json.dumps(self.to_wire()).encode("utf-8")


def submit_body_from_request(request: SubmitRequest, description: str | None) -> SubmitBody:
    """The body for ``request``; ``description`` is what goes on the wire (it may carry the
    submission key)."""
    names = request.blob_names()
    options = request.options
    return SubmitBody(
        Process=options.process,
        ProcessArgs=options.effective_process_args,
        Description=description,
        InputArgs=InputArgs(
            ACCOUNT=request.input_account,
            CONTAINER=request.input_container,
            BLOBNAMES="".join(f"{name}," for name in names),
            BLOBNAMES_WITH_SAS="".join(
                f"{name}?{request.input_sas.get(name, '')}," for name in names
            ),
        ),
        OutputArgs=OutputArgs(
            ACCOUNT=request.output_account,
            CONTAINER=request.output_container,
            CONTAINER_SAS=request.output_sas,
            OVERWRITE=options.overwrite,
            OUTPUT_FILENAME_BASE=options.output_filename_base,
            OUTPUT_INCLUDE_LOGFILES=options.include_logs,
        ),
        OptionalArgs=OptionalArgs(**descriptor.optional_args(options)),
    )


def request_from_submit_body(body: SubmitBody) -> SubmitRequest:
    """The server's reading of a body: raises genoflow.errors.InputError on bad inputs."""
    names = body.InputArgs.names()
    kind = classify_inputs(names, []) if len(names) == 1 else InputKind.FASTQ
    reads_1, reads_2 = (
        (tuple(names), ()) if kind is InputKind.BAM else (tuple(names[0::2]), tuple(names[1::2]))
    )
    if kind is InputKind.FASTQ:
        classify_inputs(reads_1, reads_2)
    args = dict(p.split("=", 1) for p in body.ProcessArgs.split(";") if "=" in p)
    options = PipelineOptions(
        process=body.Process,
        process_args=body.ProcessArgs or None,
        reference=args.get("R", "b37m1"),
        **descriptor.from_optional_args(body.OptionalArgs.model_dump()),
        output_filename_base=body.OutputArgs.OUTPUT_FILENAME_BASE,
        overwrite=body.OutputArgs.overwrite,
        include_logs=body.OutputArgs.OUTPUT_INCLUDE_LOGFILES,
        description=strip_key(body.Description),
    )
    return SubmitRequest(
        sample=sample_of(body.OptionalArgs.ReadGroupLine, reads_1[0]),
        kind=kind,
        reads_1=reads_1,
        reads_2=reads_2,
        options=options,
        input_account=body.InputArgs.ACCOUNT,
        input_container=body.InputArgs.CONTAINER,
        output_account=body.OutputArgs.ACCOUNT,
        output_container=body.OutputArgs.CONTAINER,
        input_sas=body.InputArgs.sas_by_name(),
        output_sas=body.OutputArgs.CONTAINER_SAS,
        submission_key=key_from_description(body.Description),
    )


# --- workflow object ------------------------------------------------------------------------


class OutputEntry(_Wire):
    """One recorded output (a genoflow extension): as the server committed it."""

    Name: str = Field(min_length=1)
    Kind: str
    Size: int | None = None
    Md5: str | None = None  # hex
    Container: str | None = None

    @classmethod
    def of(cls, output: RunOutput) -> OutputEntry:
        return cls(
            Name=output.name,
            Kind=output.kind,
            Size=output.size,
            Md5=output.md5,
            Container=output.container,
        )

    def record(self) -> RunOutput:
        return RunOutput.from_dict(
            {
                "name": self.Name,
                "kind": self.Kind,
                "size": self.Size,
                "md5": self.Md5,
                "container": self.Container,
            }
        )


class Workflow(_Wire):
    Id: int
    TenantId: int = 0
    Status: int
    Message: str | None = None
    FailureCode: int = 0
    Description: str | None = ""
    Process: str | None = None
    CreatedDate: datetime | None = None
    EndDate: datetime | None = None
    BasesProcessed: int = 0
    # genoflow extensions (old clients ignore fields they do not know; docs/protocols.md):
    ServiceId: str | None = None  # the identity of the server that holds the run
    Outputs: list[OutputEntry] | None = None  # what the run committed; null until then
    Sample: str | None = None  # the sample the run analyses
    InputContainer: str | None = None  # where Inputs are
    Inputs: list[str] | None = None  # the input blob names, in the order the run read them

    @field_validator("CreatedDate", "EndDate", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        return parse_time(value) if isinstance(value, str) else value

    @field_validator("FailureCode", "BasesProcessed", "TenantId", mode="before")
    @classmethod
    def _zero_for_null(cls, value: Any) -> Any:
        return 0 if value is None else value

    @field_serializer("CreatedDate", "EndDate")
    def _format_dates(self, value: datetime | None) -> str | None:
        return format_date(value) if value is not None else None


def workflow_to_run(workflow: Workflow) -> Run:
    key = key_from_description(workflow.Description)
    return Run(
        id=str(workflow.Id),
        state=state_of_status(workflow.Status),
        message=workflow.Message,
        failure_code=workflow.FailureCode or None,
        created=workflow.CreatedDate,
        ended=workflow.EndDate,
        description=strip_key(workflow.Description) or None,
        process=workflow.Process,
        tags={SUBMISSION_KEY: key} if key else {},
        bases_processed=workflow.BasesProcessed,
        service=workflow.ServiceId or None,
        outputs=tuple(entry.record() for entry in workflow.Outputs or ()),
        sample=workflow.Sample,
        inputs=tuple(workflow.Inputs or ()),
        input_container=workflow.InputContainer,
    )


def run_to_workflow(run: Run, tenant_id: int = 0, description: str | None = None) -> Workflow:
    """The server's answer for ``run``; ``description`` is the one stored as submitted (with
    the key marker), defaulting to the run's own."""
    if not run.id.isdigit():
        raise ValueError(f"run id {run.id!r} is not a Microsoft Genomics workflow id (an integer)")
    return Workflow(
        Id=int(run.id),
        TenantId=tenant_id,
        Status=STATE_TO_STATUS[run.state],
        Message=run.message,
        FailureCode=run.failure_code or 0,
        Description=description if description is not None else (run.description or ""),
        Process=run.process,
        CreatedDate=run.created,
        EndDate=run.ended,
        BasesProcessed=run.bases_processed or 0,
        ServiceId=run.service,
        Outputs=[OutputEntry.of(output) for output in run.outputs] or None,
        Sample=run.sample,
        InputContainer=run.input_container,
        Inputs=list(run.inputs) or None,
    )


class ErrorBody(_Wire):
    """4xx/5xx bodies: ``Message`` (list errors used lowercase ``message``)."""

    Message: str | None = None
    message: str | None = None

    @property
    def text(self) -> str | None:
        return self.Message or self.message


# --- list query (OData) ---------------------------------------------------------------------


def odata_filter(
    *, description: str | None = None, process: str | None = None, status: int | None = None
) -> str | None:
    """The ``$filter`` value for the supported clauses, joined by `` and ``."""
    clauses = []
    if description:
        clauses.append(f"substringof('{_quote(description)}', Description)")
    if process:
        clauses.append(f"substringof('{_quote(process)}', Process)")
    if status is not None:
        clauses.append(f"Status eq '{status}'")
    return " and ".join(clauses) or None


def _quote(text: str) -> str:
    return text.replace("'", "''")  # OData string literal escaping
