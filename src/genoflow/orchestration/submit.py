"""Submitting runs: validate, upload local inputs, make SAS, post once (idempotently), tag.

Order matters: everything that can be checked locally is checked before any upload or request;
the submission key is computed from the inputs' checksums and looked up on the service (and in
the local journal) before posting, so that a CI retry never starts a second run.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genoflow.backoff import Clock, Retrier
from genoflow.errors import GenoflowError, InputError, NotFoundError, UnavailableError, UsageError
from genoflow.model import descriptor
from genoflow.model import tags as tagnames
from genoflow.model.outputs import output_base_of, run_folder_base
from genoflow.model.runs import Run, RunState
from genoflow.model.submission import (
    InputKind,
    PipelineOptions,
    SubmitRequest,
    check_blob_name,
    check_options,
    classify_inputs,
    is_url,
    submission_key,
)

if TYPE_CHECKING:
    from genoflow.config.loader import Settings
    from genoflow.config.schema import GenoflowConfig
    from genoflow.orchestration.references import BlobReference
    from genoflow.protocols.base import ServiceClient
    from genoflow.storage.base import BlobInfo, BlobStore

log = logging.getLogger(__name__)

# Runs in these states do not block a resubmission of the same thing.
_RESUBMITTABLE = frozenset({RunState.FAILED, RunState.CANCELLED})
SUBMIT_ATTEMPTS = 3
# Threads each step asks a foreign engine for (it may have few cores: Toil refuses a job that
# asks for more than the machine has). The calls do not depend on it (bwa -K is fixed).
PORTABLE_THREADS = 2
MAX_RESUBMISSIONS = 50  # identical runs that failed in a row, followed to find a free key


# --- the plan: inputs checked before anything is sent --------------------------------------


@dataclass(frozen=True)
class InputPlan:
    kind: InputKind
    reads_1: tuple[str, ...]  # blob names
    reads_2: tuple[str, ...]
    local: Mapping[str, Path]  # blob name -> local file to upload first

    def blob_names(self) -> list[str]:
        return [*self.reads_1, *self.reads_2]

    def under(self, prefix: str) -> InputPlan:
        """The plan with local files uploaded under ``prefix/`` (blob names given as such are
        kept): same-named files of different samples then never meet."""
        folder = prefix.strip("/")
        if not folder or not self.local:
            return self
        renamed = {name: f"{folder}/{name}" for name in self.local}
        for name in renamed.values():
            check_blob_name(name, "input blob name (--prefix + file name)")
        return InputPlan(
            kind=self.kind,
            reads_1=tuple(renamed.get(name, name) for name in self.reads_1),
            reads_2=tuple(renamed.get(name, name) for name in self.reads_2),
            local={renamed[name]: path for name, path in self.local.items()},
        )


DEFAULT_PREFIX = "{sample}"


def upload_prefix(template: str, sample: str) -> str:
    """``--prefix``: a blob folder for uploaded inputs; ``{sample}`` is the sample name."""
    try:
        prefix = template.format(sample=sample).strip("/")
    except (KeyError, IndexError, ValueError):
        raise UsageError(
            f"--prefix {template!r}: only {{sample}} may stand in braces",
            hint="e.g. --prefix 'batch7/{sample}', or --prefix '' for the container root",
        ) from None
    if prefix:
        check_blob_name(prefix, "--prefix")
    return prefix


def plan_inputs(reads_1: Sequence[str], reads_2: Sequence[str]) -> InputPlan:
    """Classify each entry as a local file (uploaded under its file name) or a blob name, and
    apply the old client's rules. Raises a UsageError/InputError; touches no network."""
    local: dict[str, Path] = {}

    def blob_name_of(entry: str) -> str:
        path = Path(entry).expanduser()
        if not path.is_file():
            if entry.startswith(("/", "~", "./", "../")) or path.is_dir():
                # Meant as a local path (a blob name cannot look like this): say what is wrong.
                what = "is a directory" if path.is_dir() else "no such local file"
                raise InputError(
                    f"{entry}: {what}",
                    hint="give a FASTQ/BAM file, or the name of a blob in storage.input_container",
                )
            check_blob_name(entry)
            return entry
        name = path.name
        check_blob_name(name)
        if name in local and local[name].resolve() != path.resolve():
            raise InputError(
                f"two different local files are both named {name!r}",
                hint="rename one: inputs are uploaded under their file names",
            )
        if name in local:
            raise InputError(f"{entry} is listed twice among the inputs")
        local[name] = path
        return name

    names_1 = tuple(blob_name_of(entry) for entry in reads_1)
    names_2 = tuple(blob_name_of(entry) for entry in reads_2)
    kind = classify_inputs(names_1, names_2)
    return InputPlan(kind=kind, reads_1=names_1, reads_2=names_2, local=local)


def options_from_settings(settings: Settings, sample: str) -> PipelineOptions:
    """Pipeline options from the effective config. Options the user did not set stay None, so
    that the old protocol sends only what the user set."""
    workflow = settings.config.workflow
    # what the user set (file, env, flag, sheet), by the descriptor's table; the rest keeps
    # the descriptor's defaults (an empty output base: the run gets its own folder)
    values = {
        spec.name: _plain(getattr(workflow, spec.config))
        for spec in descriptor.OPTIONS
        if settings.source_of(spec.config_path) != "default"
    }
    values.setdefault("description", f"sample {sample}")
    options = PipelineOptions(
        **{name: value for name, value in values.items() if value is not None}
    )
    check_options(options)
    return options


def _plain(value: Any) -> Any:
    """Config values as the descriptor holds them: enums by value, lists as tuples."""
    if isinstance(value, Enum):
        return value.value
    return tuple(value) if isinstance(value, list) else value


# --- the local journal (idempotency where the service cannot record the key) ---------------


@dataclass
class Journal:
    """Append-only JSON lines: which submission key became which run on which service."""

    path: Path

    @classmethod
    def default(cls) -> Journal:
        from platformdirs import user_state_dir

        base = os.environ.get("GENOFLOW_STATE_DIR") or user_state_dir("genoflow")
        return cls(Path(base) / "submissions.jsonl")

    def lookup(self, service_url: str, key: str) -> str | None:
        found = None
        for entry in self._entries():
            if entry.get("service") == service_url and entry.get("key") == key:
                found = str(entry.get("run_id"))
        return found

    def record(self, service_url: str, key: str, run_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {
                "service": service_url,
                "key": key,
                "run_id": run_id,
                "time": datetime.now(timezone.utc).isoformat(),
            }
        )
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def _entries(self) -> Iterator[dict[str, Any]]:
        if not self.path.is_file():
            return
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue  # a line cut short by a crash
            if isinstance(entry, dict):
                yield entry


# --- submitting --------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitOutcome:
    sample: str
    run: Run
    key: str
    existing: bool = False
    uploaded: tuple[str, ...] = ()  # local inputs sent now
    skipped: tuple[str, ...] = ()  # local inputs already in the container (same size and MD5)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sample": self.sample,
            "submission_key": self.key,
            "existing": self.existing,
            "uploaded": list(self.uploaded),
            "skipped": list(self.skipped),
            "run": self.run.to_dict(),
        }


@dataclass
class Submitter:
    """Everything a submission needs, opened once (and shared by the rows of a batch)."""

    config: GenoflowConfig
    client: ServiceClient
    store: BlobStore
    output_store: BlobStore
    journal: Journal
    info: Callable[[str], None] = log.info
    sleep: Callable[[float], None] = time.sleep
    force: bool = False
    # each input upload's progress tracker (genoflow.transfer.progress), if shown
    tracker_for: Callable[[str, int], Any] | None = None
    _service_url: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._service_url = self.config.service.url or ""

    def submit(self, plan: InputPlan, sample: str, options: PipelineOptions) -> SubmitOutcome:
        storage = self.config.storage
        # A WES server that is not genoflow server gets the packed pipeline: service-info says
        # whether it can run it, and the reference must be in Blob, before anything is uploaded.
        portable = self.client.portable()
        if portable:
            from genoflow.orchestration.references import check_uploaded

            check_uploaded(self.store, self._portable_reference(options))
        uploaded, skipped = self._upload(plan, sample)
        blobs = {
            name: self._input_blob(storage.input_container, name) for name in plan.blob_names()
        }
        checksums = [(name, _checksum(info)) for name, info in blobs.items()]
        output_account = storage.output_account_name or self.output_store.account_name
        # Without -of the base is derived from the key: the key is computed with it empty.
        key = submission_key(sample, checksums, options, output_account, storage.output_container)
        existing = None
        if self.force:  # a new run on purpose: the server would return the existing one
            key = forced_key(key)
        else:
            existing, key = self._settle_key(key)
        own_folder = not options.output_filename_base
        options = with_run_folder(options, sample, key)
        if existing is not None:
            return self._reuse(existing, plan, sample, key, options, (uploaded, skipped))
        if not options.overwrite:
            try:
                self._refuse_existing_outputs(options.output_filename_base, own_folder)
            except InputError:
                # A parallel identical submit may have made (and finished) the run since the
                # look-up above: those outputs are its own, so answer that run.
                existing = None if self.force else self.find_existing(key)
                if existing is None:
                    raise
                return self._reuse(existing, plan, sample, key, options, (uploaded, skipped))
        if portable:
            input_bytes = sum(info.size for info in blobs.values())
            request, job = self._portable_request(plan, sample, options, key, input_bytes)
            run = self._post(request, job)
        else:
            run = self._post(self._request(plan, sample, options, key, output_account))
        self._tag_inputs(plan, sample, key, options, run)
        return SubmitOutcome(sample, run, key, uploaded=uploaded, skipped=skipped)

    def _reuse(
        self,
        existing: Run,
        plan: InputPlan,
        sample: str,
        key: str,
        options: PipelineOptions,
        files: tuple[tuple[str, ...], tuple[str, ...]],
    ) -> SubmitOutcome:
        self._tag_inputs(plan, sample, key, options, existing)
        uploaded, skipped = files
        return SubmitOutcome(
            sample, existing, key, existing=True, uploaded=uploaded, skipped=skipped
        )

    def find_existing(self, key: str) -> Run | None:
        """A run already submitted with ``key`` that is not failed or cancelled."""
        run = self._lookup(key)
        return None if run is None or run.state in _RESUBMITTABLE else run

    def _settle_key(self, key: str) -> tuple[Run | None, str]:
        """(the live run made from this submission, its key), or (None, the key to submit
        with). After an identical run failed or was cancelled the key is derived from that
        run's id: the new run gets its own output folder, and a retry of it finds it."""
        for _ in range(MAX_RESUBMISSIONS):
            run = self._lookup(key)
            if run is None:
                return None, key
            if run.state not in _RESUBMITTABLE:
                return run, key
            self.info(
                f"an identical submission, run {run.id}, ended {run.state.value}: submitting again"
            )
            key = retry_key(key, run.id)
        return None, forced_key(key)

    def _lookup(self, key: str) -> Run | None:
        run = self.client.find_by_key(key)
        if run is None:
            journaled = self.journal.lookup(self._service_url, key)
            if journaled is not None:
                try:
                    run = self.client.get(journaled)
                except NotFoundError:
                    run = None
        return run

    # --- steps ---------------------------------------------------------------------------
    def _upload(self, plan: InputPlan, sample: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(sent now, already there) among the local inputs."""
        if not plan.local:
            return (), ()
        from genoflow.transfer.checks import check_input
        from genoflow.transfer.gzcheck import needs_gzip_check
        from genoflow.transfer.upload import upload_file

        container = self.config.storage.input_container
        for path in plan.local.values():
            check_input(path)
        self.store.ensure_container(container)
        done: dict[str, list[str]] = {"sent": [], "skipped": []}
        for name, path in plan.local.items():
            try:
                result = upload_file(
                    self.store,
                    path,
                    container,
                    name,
                    concurrency=self.config.storage.max_concurrency,
                    progress=self.tracker_for(name, path.stat().st_size)
                    if self.tracker_for
                    else None,
                    tags={tagnames.ROLE: tagnames.ROLE_INPUT, tagnames.SAMPLE: sample},
                    # a truncated .fq.gz fails here (exit 8), not in the run after the queue
                    check_gzip=needs_gzip_check(path),
                )
            except UsageError as exc:  # another file holds the name: say what submit offers
                raise InputError(exc.message, hint=_UPLOAD_CLASH_HINT) from None
            self.info(
                f"{'already in' if result.skipped else 'uploaded to'} {container}/{name}: {path}"
            )
            done["skipped" if result.skipped else "sent"].append(name)
        return tuple(done["sent"]), tuple(done["skipped"])

    def _input_blob(self, container: str, name: str) -> BlobInfo:
        info = self.store.find_blob(container, name)
        if info is None:
            raise InputError(
                f"input blob {name!r} not found in container {container!r}",
                hint="upload it first (genoflow upload), or give the local path",
            )
        if info.archived:
            from genoflow.storage.base import REHYDRATE_HINT

            raise InputError(
                f"input blob {container}/{name} is in the Archive tier: the run could not read it",
                hint=REHYDRATE_HINT.format(container=container, name=name),
            )
        return info

    def _refuse_existing_outputs(self, base: str, own_folder: bool) -> None:
        """The run would fail at its end (Error Code [101]): say so before submitting."""
        container = self.config.storage.output_container
        try:
            blobs = self.output_store.list_blobs(container, base)
            existing = [b.name for b in blobs if output_base_of(b.name) == base]
        except NotFoundError:  # no output container yet: nothing to overwrite
            return
        if existing:
            raise InputError(
                f"outputs named {base!r} already exist in {container}: {', '.join(existing[:3])}"
                + (" ..." if len(existing) > 3 else ""),
                hint="submit with --force for a run in a new folder, or replace them with -ow true"
                if own_folder
                else "choose another output base with -of, or replace them with -ow true",
            )

    def _request(
        self, plan: InputPlan, sample: str, options: PipelineOptions, key: str, output_account: str
    ) -> SubmitRequest:
        storage = self.config.storage
        hours = self.config.workflow.sas_duration_hours
        sas = {
            name: self.store.blob_read_sas(storage.input_container, name, hours)
            for name in plan.blob_names()
        }
        self.output_store.ensure_container(storage.output_container)
        return SubmitRequest(
            sample=sample,
            kind=plan.kind,
            reads_1=plan.reads_1,
            reads_2=plan.reads_2,
            options=options,
            input_account=self.store.account_name,
            input_container=storage.input_container,
            output_account=output_account,
            output_container=storage.output_container,
            input_sas=sas,
            output_sas=self.output_store.container_sas(storage.output_container, hours, "rwd"),
            input_account_url=self.store.account_url,
            output_account_url=self.output_store.account_url,
            submission_key=key,
        )

    def _post(self, request: SubmitRequest, job: Mapping[str, Any] | None = None) -> Run:
        """Post once; when the answer was lost (the service may have created the run), look the
        key up before posting again, so that a lost answer never makes a second run. ``job``:
        a CWL job for the packed pipeline (a server that holds no pipeline)."""
        key = request.submission_key or ""
        # A foreign server cannot be asked for the key: a lost answer is not posted again.
        attempts = 1 if job is not None else SUBMIT_ATTEMPTS
        retry = self.config.service.retry
        budget = retry.model_copy(update={"attempts": min(attempts, retry.attempts)})
        retrier = Retrier(budget, Clock(sleep=self.sleep))
        while True:
            try:
                run = self._send(request, job)
                break
            except UnavailableError as exc:
                delay = retrier.next_delay()
                if not getattr(exc, "maybe_processed", False) or delay is None:
                    raise
                self.info(
                    f"the submit's answer was lost ({exc.one_line()}); checking whether "
                    "the service created the run"
                )
                retrier.wait(delay)  # the delay just drawn, not a second draw
                found = self.client.find_by_key(key)
                if found is not None:
                    run = found
                    break
        if job is not None or run.tags.get(tagnames.SUBMISSION_KEY) != key:
            # The service could not carry the key (e.g. a description at its 500-char limit),
            # or cannot be asked for it (a foreign WES server lists runs without their tags).
            self.journal.record(self._service_url, key, run.id)
        return run

    def _send(self, request: SubmitRequest, job: Mapping[str, Any] | None) -> Run:
        if job is None:
            return self.client.submit(request)
        from genoflow.pipelines import workflow_text

        return self.client.submit_job(request, job, workflow_text())

    # --- a WES server that holds no pipeline: least-privilege SAS, the packed pipeline ----
    def _portable_reference(self, options: PipelineOptions) -> BlobReference:
        from genoflow.orchestration.references import BlobReference, check_name

        name = check_name(options.effective_reference)
        return BlobReference(name, self.config.storage.reference_container)

    def _portable_request(
        self, plan: InputPlan, sample: str, options: PipelineOptions, key: str, input_bytes: int
    ) -> tuple[SubmitRequest, dict[str, Any]]:
        """The descriptor with SAS the foreign server may keep (read on each input blob,
        create + write on the output container), expiring soon after the run's expected
        end, and the CWL job for #main built from it by job_for."""
        from genoflow.storage.sas import (
            FOREIGN_INPUT_PERMISSIONS,
            FOREIGN_OUTPUT_PERMISSIONS,
            run_expiry,
        )

        storage = self.config.storage
        now = datetime.now(timezone.utc)
        expiry = run_expiry(now, input_bytes, self.config.workflow.sas_duration_hours)
        self.output_store.ensure_container(storage.output_container)
        container = storage.input_container
        request = SubmitRequest(
            sample=sample, kind=plan.kind, reads_1=plan.reads_1, reads_2=plan.reads_2,
            options=options, input_account=self.store.account_name, input_container=container,
            output_account=storage.output_account_name or self.output_store.account_name,
            output_container=storage.output_container,
            input_sas={
                name: self.store.sas_until(container, name, FOREIGN_INPUT_PERMISSIONS, expiry)
                for name in plan.blob_names()
            },
            output_sas=self.output_store.sas_until(
                storage.output_container, None, FOREIGN_OUTPUT_PERMISSIONS, expiry
            ),
            input_account_url=self.store.account_url,
            output_account_url=self.output_store.account_url,
            submission_key=key,
        )  # fmt: skip
        return request, self._portable_job(request, expiry)

    def _portable_job(self, request: SubmitRequest, expiry: datetime) -> dict[str, Any]:
        from genoflow.orchestration.references import (
            FASTA_INPUT,
            index_of,
            reference_urls,
            signed_url,
        )
        from genoflow.pipelines import JobFiles, job_for

        reference = self._portable_reference(request.options)
        urls = reference_urls(self.store, reference, expiry)
        sites = [
            site if is_url(site) else signed_url(
                self.store, reference.container, reference.beside(site), expiry
            )
            for site in request.options.known_sites
        ]  # fmt: skip
        files = JobFiles(
            reads=[request.input_url(name) for name in request.blob_names()],
            reference=urls[FASTA_INPUT],
            index=index_of(urls),
            known_sites=sites,
            output_url=request.output_url(),
        )
        # What the foreign engine has is unknown: GATK is not assumed (a note says so).
        job = job_for(request, files, form="main", threads=PORTABLE_THREADS, gatk_available=False)
        for note in job.notes:
            self.info(f"note: {note}")
        return job.document

    def _tag_inputs(
        self, plan: InputPlan, sample: str, key: str, options: PipelineOptions, run: Run
    ) -> None:
        output_container = self.config.storage.output_container
        tags = {
            tagnames.ROLE: tagnames.ROLE_INPUT,
            tagnames.SAMPLE: sample,
            tagnames.SUBMISSION_KEY: key,
            # (service, run id): another service's run 1 is another run
            tagnames.RUN_ID: tagnames.run_word(run.service, run.id),
            tagnames.OUTPUT_BASE: tagnames.output_base_word(
                run.service, run.id, output_container, options.output_filename_base
            ),
        }
        for name in plan.blob_names():
            try:
                # An input reused by several runs names them all: each one holds it.
                self.store.set_tags(
                    self.config.storage.input_container,
                    name,
                    tags,
                    accumulate={tagnames.RUN_ID, tagnames.OUTPUT_BASE},
                )
            except GenoflowError as exc:  # tags help cleanup; the run is submitted regardless
                self.info(f"could not tag input {name}: {exc.one_line()}")


def _checksum(info: BlobInfo) -> str:
    return info.md5 or f"size={info.size};etag={info.etag}"


_UPLOAD_CLASH_HINT = (
    "another file was uploaded under that name: choose another --prefix, or replace the "
    "blob with 'genoflow upload --overwrite'"
)


def with_run_folder(options: PipelineOptions, sample: str, key: str) -> PipelineOptions:
    """Without -of, the run writes into its own folder ``<sample>/<key[:8]>/<sample>``."""
    if options.output_filename_base:
        return options
    return dataclasses.replace(options, output_filename_base=run_folder_base(sample, key))


def retry_key(key: str, failed_run_id: str) -> str:
    """The key of a resubmission after run ``failed_run_id`` (made with ``key``) failed."""
    return hashlib.sha256(f"{key}:after:{failed_run_id}".encode()).hexdigest()[: len(key)]


def forced_key(key: str) -> str:
    """A distinct key for ``--force``: the normal key hashed with a random nonce. Made once per
    submit, so that the lost-answer retries of that one submit still find their own run."""
    digest = hashlib.sha256(f"{key}:{secrets.token_hex(16)}".encode()).hexdigest()
    return digest[: len(key)]


def open_submitter(
    settings: Settings,
    *,
    force: bool = False,
    info: Callable[[str], None] = log.info,
    client: ServiceClient | None = None,
    tracker_for: Callable[[str, int], Any] | None = None,
) -> Submitter:
    from genoflow.protocols import open_client
    from genoflow.storage import open_store

    config = settings.config
    settings.require("service.url", flag="-u/--api-url-base")
    client = client or open_client(config.service)
    store = open_store(config.storage)
    output_store = open_store(config.storage, output=True)
    return Submitter(
        config=config,
        client=client,
        store=store,
        output_store=output_store,
        journal=Journal.default(),
        info=info,
        force=force,
        tracker_for=tracker_for,
    )


# --- batch: one run per row of a sample sheet ----------------------------------------------

# sample-sheet column -> config key path, from the descriptor's table
SHEET_OVERRIDES = {spec.sheet: spec.config_path for spec in descriptor.OPTIONS if spec.sheet}


@dataclass(frozen=True)
class SheetRow:
    line: int
    sample: str
    reads_1: tuple[str, ...]
    reads_2: tuple[str, ...]
    overrides: Mapping[str, str]


# Column names other tools' sheets use (nf-core's fastq_1, dsub's '--env SAMPLE' and
# '--input FASTQ_1', dx's batch TSV): compared lower-case, after dsub's '--env '/'--input '.
SHEET_ALIASES = {
    "sample_id": "sample", "sample_name": "sample", "samplename": "sample", "batch id": "sample",
    "fastq_1": "r1", "fastq1": "r1", "read1": "r1", "reads_1": "r1", "r1_fastq": "r1",
    "fastq_2": "r2", "fastq2": "r2", "read2": "r2", "reads_2": "r2", "r2_fastq": "r2",
}  # fmt: skip


def _sheet_column(name: str) -> str:
    key = (name or "").strip().lower()
    for prefix in ("--env ", "--input ", "--input-recursive "):
        key = key.removeprefix(prefix).strip()
    return SHEET_ALIASES.get(key, key)


def _sheet_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """CSV or TSV, whichever the header line uses (';' separates files inside a cell)."""
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=",\t")
    except csv.Error:
        return csv.excel_tab if "\t" in header else csv.excel


def read_sample_sheet(path: Path) -> list[SheetRow]:
    """Rows of a CSV or TSV sheet with columns sample, r1, r2 (several files separated by ';';
    other tools' names for them accepted, SHEET_ALIASES) and optional per-row overrides named
    like SHEET_OVERRIDES. Raises UsageError for a bad header only: bad rows are reported per
    sample when submitted."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read sample sheet {path}: {exc.strerror}") from None
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise UsageError(f"sample sheet {path} is empty", hint=_SHEET_HINT)
    dialect = _sheet_dialect(text)
    header = next(csv.reader(lines[:1], dialect), [])
    reader = csv.DictReader(lines[1:], [_sheet_column(c) for c in header], dialect=dialect)
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = {"sample", "r1"} - set(columns)
    unknown = set(columns) - {"sample", "r1", "r2", *SHEET_OVERRIDES}
    if missing or unknown:
        problem = (
            f"missing column(s) {', '.join(sorted(missing))}"
            if missing
            else f"unknown column(s) {', '.join(sorted(unknown))}"
        )
        raise UsageError(f"sample sheet {path}: {problem}", hint=_SHEET_HINT)
    rows = []
    for number, record in enumerate(reader, start=2):
        clean = {(k or "").strip(): (v or "").strip() for k, v in record.items()}
        rows.append(
            SheetRow(
                line=number,
                sample=clean.get("sample", ""),
                reads_1=_files(clean.get("r1", "")),
                reads_2=_files(clean.get("r2", "")),
                overrides={k: v for k, v in clean.items() if k in SHEET_OVERRIDES and v},
            )
        )
    if not rows:
        raise UsageError(f"sample sheet {path} has a header but no samples", hint=_SHEET_HINT)
    return rows


_SHEET_HINT = (
    "a header line, then one line per sample, comma- or tab-separated; columns sample (or "
    "sample_id), r1 (or fastq_1, read1), optionally r2 (or fastq_2, read2) and per-row "
    "options such as reference; every accepted name in docs/submit.md"
)


def _files(cell: str) -> tuple[str, ...]:
    return tuple(part for part in re.split(r"[;\s]+", cell) if part)


@dataclass(frozen=True)
class BatchResult:
    sample: str
    line: int
    outcome: SubmitOutcome | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not None


def submit_batch(
    rows: Sequence[SheetRow], submit_row: Callable[[SheetRow], SubmitOutcome], concurrency: int = 4
) -> list[BatchResult]:
    """Submit every row with at most ``concurrency`` at once; a bad row never stops the rest.
    Results are in sheet order."""

    def one(row: SheetRow) -> BatchResult:
        try:
            return BatchResult(row.sample, row.line, outcome=submit_row(row))
        except GenoflowError as exc:
            return BatchResult(row.sample, row.line, error=exc.one_line())

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(one, rows))


def with_run(outcome: SubmitOutcome, run: Run) -> SubmitOutcome:
    return dataclasses.replace(outcome, run=run)
