"""The service both APIs call: validate and queue a submission, read, list and cancel runs.

Protocol routers translate their wire formats to and from :class:`SubmitRequest` and
:class:`Run` (the client's own models), so the two APIs share one behaviour.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from genoflow import __version__
from genoflow.errors import GenoflowError
from genoflow.model.runs import Run, RunState
from genoflow.model.submission import (
    InputKind,
    PipelineOptions,
    SubmitRequest,
    derive_sample,
    is_url,
    validate_request,
)
from genoflow.model.tags import SUBMISSION_KEY
from genoflow.protocols.extensions import LOG_CHUNK_BYTES
from genoflow.protocols.wes.wire import blob_url_parts
from genoflow.server import runlogs
from genoflow.server.config import ServerConfig
from genoflow.server.references import ReferenceRegistry
from genoflow.server.runlogs import Stream
from genoflow.server.scheduler import Scheduler
from genoflow.server.store import RunStore, StoredRun


class RequestRejected(Exception):
    """A submission the service refuses (HTTP 400), with a message for the user."""


class RunNotFound(Exception):
    pass


# The old service's process names and the pipeline's own: all run the same germline pipeline.
PROCESSES = frozenset({"snapgatk", "gatk4", "gatk4-promo", "genoflow-pipeline"})


def resolved_process(process: str) -> str:
    """The old service answered with the resolved process version, e.g. ``snapgatk-20190409_1``."""
    return f"{process or 'snapgatk'}-genoflow_{__version__}"


def request_to_json(request: SubmitRequest) -> dict[str, Any]:
    data = dataclasses.asdict(request)
    data["kind"] = request.kind.value
    return data


def request_from_json(data: Mapping[str, Any]) -> SubmitRequest:
    fields = dict(data)
    fields["kind"] = InputKind(fields["kind"])
    fields["reads_1"] = tuple(fields["reads_1"])
    fields["reads_2"] = tuple(fields["reads_2"])
    fields["options"] = PipelineOptions(**fields["options"])
    return SubmitRequest(**fields)


def output_base(request: SubmitRequest) -> str:
    """The output name base: as given, else a name derived from the first input (as before the
    sample could come from the read group: an old client's outputs keep their names)."""
    return request.options.output_filename_base or derive_sample(request.blob_names()[0])


_SAFE_BASE = re.compile(r"^(?!.*(^|/)\.{0,2}(/|$))[A-Za-z0-9._/-]{1,900}$")


def _normal_url(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


class RunService:
    def __init__(
        self,
        store: RunStore,
        scheduler: Scheduler,
        references: ReferenceRegistry,
        tenant_id: int = 1,
        endpoint_for: Callable[[str], str] = ServerConfig().endpoint_for,
        service_id: str | None = None,
        log_root: Path | None = None,
    ) -> None:
        self.service_id = service_id  # this server's identity (server/identity.py)
        self.log_root = log_root  # runs' kept logs (server/runlogs.py)
        self.store = store
        self.scheduler = scheduler
        self.references = references
        self.tenant_id = tenant_id
        self.endpoint_for = endpoint_for

    def submit(
        self,
        protocol: str,
        request: SubmitRequest,
        *,
        description: str,
        tags: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> StoredRun:
        self.validate(request)
        stored = {"submit": request_to_json(request), **(extra or {})}
        # One transaction: a duplicate of a queued/running/succeeded run returns that run.
        run, created = self.store.create_or_get(
            protocol,
            stored,
            description=description,
            process=resolved_process(request.options.process),
            tags=tags,
            submission_key=request.submission_key,
        )
        if created:
            self.scheduler.notify()
        return run

    def validate(self, request: SubmitRequest) -> None:
        """Everything the run will need, checked before it is queued: a request the server
        cannot honour is a 400 now, never a failure (or a silent default) later."""
        try:
            validate_request(request)  # the client's own rules
        except GenoflowError as exc:
            raise RequestRejected(exc.one_line()) from None
        self.check_endpoint(request.input_account, request.input_account_url, "input")
        self.check_endpoint(request.output_account, request.output_account_url, "output")
        process = request.options.process or "snapgatk"
        if process not in PROCESSES:
            raise RequestRejected(
                f"Unknown process {process!r}; this server runs: {', '.join(sorted(PROCESSES))}"
            )
        reference = request.options.effective_reference
        if not self.references.known(reference):
            known = ", ".join(self.references.names()) or "none configured"
            raise RequestRejected(f"Unknown reference {reference!r}; this server knows: {known}")
        self._check_known_sites(request, reference)
        base = output_base(request)
        if not _SAFE_BASE.match(base):
            raise RequestRejected(
                f"Invalid output file name base {base!r}: use A-Z a-z 0-9 . _ / -, "
                "no '.', '..' or empty path segments, no trailing '/'"
            )
        missing = [name for name in request.blob_names() if not request.input_sas.get(name)]
        if not request.output_sas or missing:
            raise RequestRejected(
                "SAS tokens are required: BLOBNAMES_WITH_SAS for every input"
                + (f" (none for {missing[0]})" if missing else "")
                + " and CONTAINER_SAS for the output container"
            )

    def _check_known_sites(self, request: SubmitRequest, reference: str) -> None:
        """Known sites: files beside the registered reference, or blob URLs under the
        configured endpoint of their account (400 before any connection)."""
        folder = self.references.fasta(reference).parent
        for site in request.options.known_sites:
            if is_url(site):
                try:
                    account_url, account = blob_url_parts(site)[:2]
                except ValueError as exc:
                    raise RequestRejected(f"known sites: {exc}") from None
                self.check_endpoint(account, account_url, "known_sites")
            elif not (folder / site).is_file():
                raise RequestRejected(
                    f"known sites {site!r} not found beside reference {reference!r}"
                )

    def check_endpoint(self, account: str, given: str | None, role: str) -> None:
        """A storage URL in a request must be the configured endpoint of its account: the
        server connects only where its configuration says (refused before any connection)."""
        expected = self.endpoint_for(account)
        if given is not None and _normal_url(given) != _normal_url(expected):
            raise RequestRejected(
                f"{role}_account_url {given.split('?')[0]!r} is not the endpoint this server "
                f"uses for storage account {account!r}; storage endpoints are server "
                "configuration (storage_endpoints / endpoint_template in server.yaml)"
            )

    def get(self, run_id: int | str) -> StoredRun:
        run = self.store.find(_as_int(run_id))
        if run is None:
            raise RunNotFound(f"Workflow {run_id} not found")
        return run

    def cancel(self, run_id: int | str) -> StoredRun:
        self.get(run_id)
        return self.scheduler.cancel(_as_int(run_id))

    def read_log(self, run_id: int | str, stream: Stream, offset: int) -> bytes:
        """Up to LOG_CHUNK_BYTES of the run's kept log from byte ``offset`` (404 for an
        unknown run; nothing yet for a run that has not started)."""
        run = self.get(run_id)
        if self.log_root is None:
            return b""
        return runlogs.read(
            runlogs.log_path(self.log_root, run.id, stream), offset, LOG_CHUNK_BYTES
        )

    def run_of(self, stored: StoredRun) -> Run:
        """The client's run model of ``stored``, named by this service."""
        return to_run(stored, service=self.service_id)


def _as_int(run_id: int | str) -> int:
    try:
        return int(run_id)
    except ValueError:
        raise RunNotFound(f"Workflow {run_id} not found") from None


def to_run(stored: StoredRun, *, service: str | None = None) -> Run:
    """The client's run model for a stored run: the one record both wires render (times to
    the second, the precision WES writes)."""
    request = stored.request.get("submit", {})
    return Run(
        id=str(stored.id),
        state=stored.state,
        message=stored.message,
        failure_code=stored.failure_code or None,
        created=_whole_seconds(stored.created),
        ended=_whole_seconds(stored.ended),
        description=stored.description or None,
        process=stored.process,
        sample=request.get("sample"),
        inputs=tuple(request_from_json(request).blob_names()) if request else (),
        input_container=request.get("input_container"),
        # A run submitted over the old API shows its key the way WES clients look for it.
        tags={
            **stored.tags,
            **({SUBMISSION_KEY: stored.submission_key} if stored.submission_key else {}),
        },
        outputs=stored.outputs,
        bases_processed=stored.bases_processed,
        service=service,
    )


def _whole_seconds(value: datetime | None) -> datetime | None:
    return value.replace(microsecond=0) if value is not None else None


__all__ = ["RequestRejected", "RunNotFound", "RunService", "RunState", "to_run"]
