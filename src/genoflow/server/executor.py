"""One run, start to finish, as the retired service did it.

inputs read through their per-blob SAS URLs -> input checks (old error codes) -> the CWL
pipeline under the configured engine (own process group) -> outputs written through the output
container SAS, each committed under its final name only once complete -> ``<base>.logs.zip``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shutil
import threading
import time
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genoflow.config.schema import RetryConfig
from genoflow.errors import GenoflowError
from genoflow.model.outputs import QC_OUTPUTS, RunOutput, kind_of, logs_name, planned_outputs
from genoflow.model.submission import InputKind, SubmitRequest, is_url
from genoflow.redact import redact
from genoflow.server import batch, runlogs
from genoflow.server.config import ServerConfig
from genoflow.server.deadlines import (
    CODE_STORAGE_DEADLINE,
    RunCancelled,
    StorageBudget,
    StorageStep,
)
from genoflow.server.disk import (
    check_free_space,
    disk_full,
    human_size,
    is_disk_full,
    needed_bytes,
)
from genoflow.server.engine import (
    MAX_MESSAGE,
    describe_engine_failure,
    failing_tool_log,
    run_engine,
)
from genoflow.server.references import ReferenceRegistry
from genoflow.server.scheduler import Outcome, RunFailure
from genoflow.server.service import output_base, request_from_json
from genoflow.server.store import RunStore, StoredRun, utcnow
from genoflow.storage import BlobRef, ContainerRef

log = logging.getLogger(__name__)

# Failure codes genoflow adds to the old service's list (documented in docs/server.md).
CODE_INPUT_UNREACHABLE = 100  # "Error locating input files"
CODE_OUTPUT_EXISTS = 101
CODE_OUTPUT_WRITE = 102
CODE_REFERENCE = 103
CODE_PIPELINE = 600
# A hung storage host can hold one request this long at most; a run's retries stop sooner.
MAX_RETRY_SECONDS = 600.0
# A failed or cancelled run's logs.zip: marked in its metadata (metadata key -> "failed" or
# "cancelled"), so that a rerun replaces it and never an earlier run's real outputs.
DIAGNOSTICS_KEY = "genoflow_diagnostics"
DIAGNOSTICS_DEADLINE_SECONDS = 120.0
# A cancelled run's zip gets little time: the user asked for the run to stop (cancel must take
# effect within seconds even when the output storage hangs).
CANCELLED_DIAGNOSTICS_SECONDS = 5.0
# A cancelled run waits this long for its input checks to stop (they stop between batches).
CHECKS_STOP_SECONDS = 10.0
EITHER_POLL_SECONDS = 0.1
# No logs.zip after these: [101] would put it beside another run's outputs; after [102] and
# [105] the output storage is what failed (and must not see a commit after the run ended).
NO_DIAGNOSTICS_CODES = frozenset({CODE_OUTPUT_EXISTS, CODE_OUTPUT_WRITE, CODE_STORAGE_DEADLINE})


@dataclass(frozen=True)
class InputBlob:
    name: str
    ref: BlobRef
    size: int
    step: StorageStep


@dataclass(frozen=True)
class OutputFile:
    local: Path
    blob_name: str
    kind: str


class RunExecutor:
    """The ``execute`` callable the scheduler runs in a worker thread for each run."""

    def __init__(
        self, config: ServerConfig, store: RunStore, references: ReferenceRegistry
    ) -> None:
        self._config = config
        self._store = store
        self._references = references

    def workdir_of(self, run_id: int) -> Path:
        return (self._config.work_root / str(run_id)).resolve()

    def __call__(self, run: StoredRun, cancel: threading.Event) -> Outcome:
        request = request_from_json(run.request["submit"])
        workdir = self.workdir_of(run.id)
        shutil.rmtree(workdir, ignore_errors=True)  # a re-queued run starts clean
        (workdir / "inputs").mkdir(parents=True)
        kept = runlogs.log_path(self._config.log_root, run.id)
        run_log = RunLog(workdir / "genoflow.log", kept)
        run_log.write(f"run {run.id} attempt {run.attempts} started")
        budget = StorageBudget(cancel, self._config.transfer_deadline_seconds)
        committed = False
        try:
            try:
                outcome = self._execute(run, request, workdir, run_log, budget)
            except RunCancelled:
                outcome = Outcome(outputs=(), bases_processed=0)
            finally:
                budget.stop.set()  # an abandoned transfer sends nothing more, never commits
            if outcome.outputs:  # all committed (a cancel that came later changes nothing)
                committed = True
                return outcome
            run_log.write("cancelled")
            diagnostics = self._diagnostics(request, workdir, run_log, "cancelled")
            return dataclasses.replace(outcome, outputs=diagnostics)
        except RunFailure as failure:
            run_log.write(failure.message)  # the kept work dir says why
            if failure.code not in NO_DIAGNOSTICS_CODES:
                failure.outputs = self._diagnostics(request, workdir, run_log, "failed")
            raise
        finally:
            self._clean(workdir, committed)

    def _clean(self, workdir: Path, committed: bool) -> None:
        """Outputs committed: nothing local is needed. Failed: keep logs, drop the inputs."""
        if committed or not self._config.keep_failed_workdirs:
            shutil.rmtree(workdir, ignore_errors=True)
            return
        shutil.rmtree(workdir / "inputs", ignore_errors=True)
        shutil.rmtree(workdir / "tmp", ignore_errors=True)

    def _execute(
        self,
        run: StoredRun,
        request: SubmitRequest,
        workdir: Path,
        run_log: RunLog,
        budget: StorageBudget,
    ) -> Outcome:
        outputs = self._output_container(request)
        base = output_base(request)
        names = planned_outputs(base, request.options)
        if not request.options.overwrite:
            self._refuse_existing(outputs, names, budget)
        reference = self._reference(request)
        sources = self._open_inputs(request, budget)
        self._check_disk(sources, run_log)
        local_inputs = self._download_inputs(sources, workdir / "inputs", budget, run_log)
        # the input checks run beside the engine (they took 5 s of 500k pairs' 190 s); a failed
        # check stops the engine and is the run's failure, whatever the engine did meanwhile
        stop = _EitherEvent(budget.cancel)
        unneeded = threading.Event()  # set on the way out: a check still going stops reading
        checks = ThreadPoolExecutor(1, thread_name_prefix=f"checks-{run.id}")
        checking = checks.submit(self._check_inputs, request, local_inputs, run_log, unneeded)
        try:
            checking.add_done_callback(functools.partial(_stop_if_failed, stop))
            try:
                produced, notes = self._run_pipeline(
                    run, request, reference, local_inputs, workdir, base, stop, run_log
                )
            except RunFailure:
                if not budget.cancel.is_set():
                    checking.result()  # a failed check says better what went wrong
                raise
            if budget.cancel.is_set():  # not waiting for the checks: cancel stays quick
                return Outcome(outputs=(), bases_processed=0)
            stats = checking.result()
        finally:
            unneeded.set()
            checks.shutdown(wait=False, cancel_futures=True)
            # gone before the work dir is cleaned (a re-queued attempt reuses its path)
            if futures_wait([checking], CHECKS_STOP_SECONDS).not_done:
                log.warning("run %s: the input checks did not stop in time", run.id)
        self._store.update(run.id, bases_processed=stats.bases)
        if budget.cancel.is_set() or produced is None:
            return Outcome(outputs=(), bases_processed=stats.bases)
        files = self._collect(produced, names, workdir, run_log, request)
        written = self._upload(outputs, files, budget)
        message = "Completed successfully" + "".join(f". Note: {note}" for note in notes)
        return Outcome(outputs=written, bases_processed=stats.bases, message=message)

    # --- steps -----------------------------------------------------------------------------
    def _storage_options(self) -> dict[str, Any]:
        """Per-request timeouts and a retry budget that bound a request to a hung host."""
        config = self._config
        total = min(MAX_RETRY_SECONDS, config.transfer_deadline_seconds)
        return {
            "retry": RetryConfig(total_seconds=total),
            "timeouts": (
                config.storage_connect_timeout_seconds,
                config.storage_read_timeout_seconds,
            ),
        }

    def _output_container(self, request: SubmitRequest) -> ContainerRef:
        from genoflow.storage import open_container_with_sas

        base = self._config.endpoint_for(request.output_account)
        return open_container_with_sas(
            f"{base}/{request.output_container}", request.output_sas, **self._storage_options()
        )

    def _output_step(self, request: SubmitRequest, what: str) -> StorageStep:
        account = request.output_account
        return StorageStep(what, account, self._config.endpoint_for(account))

    def _refuse_existing(
        self, outputs: ContainerRef, names: Sequence[str], budget: StorageBudget
    ) -> None:
        step = StorageStep(
            f"checking for existing outputs in container {outputs.container}",
            outputs.store.account_name,
            outputs.store.account_url,
        )
        try:
            existing = budget.run(step, lambda: [name for name in names if _taken(outputs, name)])
        except GenoflowError as exc:
            raise RunFailure(
                f"Error Code [{CODE_OUTPUT_WRITE}]: cannot use the output "
                f"container: {redact(exc.one_line())}",
                CODE_OUTPUT_WRITE,
            ) from None
        if existing:
            raise RunFailure(
                f"Error Code [{CODE_OUTPUT_EXISTS}]: Output blob already exists and the overwrite "
                f"option was set to False: {', '.join(existing)}",
                CODE_OUTPUT_EXISTS,
            )

    def _reference(self, request: SubmitRequest) -> Path:
        name = request.options.effective_reference
        try:
            return self._references.fasta(name)
        except GenoflowError as exc:
            raise RunFailure(
                f"Error Code [{CODE_REFERENCE}]: {exc.one_line()}", CODE_REFERENCE
            ) from None

    def _open_inputs(self, request: SubmitRequest, budget: StorageBudget) -> list[InputBlob]:
        """Each input's blob and size (read before anything is downloaded: the disk check)."""
        from genoflow.storage import open_blob_with_sas

        endpoint = self._config.endpoint_for(request.input_account)
        found = []
        for name in request.blob_names():
            sas = request.input_sas.get(name, "")
            url = f"{endpoint}/{request.input_container}/{name}?{sas}"
            step = StorageStep(f"reading input {name}", request.input_account, endpoint)
            try:
                ref = open_blob_with_sas(url, **self._storage_options())
                info = budget.run(step, functools.partial(ref.store.get_blob, ref.container, name))
            except GenoflowError as exc:
                raise _unreachable(name, exc) from None
            found.append(InputBlob(name, ref, info.size, step))
        return found

    def _check_disk(self, sources: Sequence[InputBlob], run_log: RunLog) -> None:
        total = sum(source.size for source in sources)
        config = self._config
        needed = needed_bytes(total, config.disk_space_factor, config.min_free_disk_gib)
        check_free_space(config.work_root.resolve(), needed)
        run_log.write(f"inputs: {human_size(total)}; free space checked for ~{human_size(needed)}")

    def _download_inputs(
        self,
        sources: Sequence[InputBlob],
        directory: Path,
        budget: StorageBudget,
        run_log: RunLog,
    ) -> list[Path]:
        from genoflow.transfer import download_blob

        paths = []
        for source in sources:
            ref, target = source.ref, directory / source.name.replace("/", "__")
            try:
                budget.run(
                    source.step,
                    functools.partial(
                        download_blob,
                        ref.store,
                        ref.container,
                        ref.name,
                        target,
                        cancel=budget.stop,
                    ),
                )
            except GenoflowError as exc:
                raise _unreachable(source.name, exc) from None
            except OSError as exc:
                if is_disk_full(exc):
                    raise disk_full(f"downloading input {source.name}", directory) from None
                raise
            run_log.write(f"read input {source.name} ({target.stat().st_size} bytes)")
            paths.append(target)
        return paths

    def _check_inputs(
        self,
        request: SubmitRequest,
        paths: list[Path],
        run_log: RunLog,
        stop: threading.Event,
    ) -> Any:
        """The inputs' stats; None when ``stop`` ended the checks (the run no longer needs
        them: nothing more is written to its log)."""
        from genoflow.pipelines import InputCheckError, check_inputs
        from genoflow.pipelines.checks import ChecksStopped

        try:
            if request.kind is InputKind.BAM:
                stats = check_inputs(bam=paths[0], stop=stop)
            else:
                pairs = list(zip(paths[0::2], paths[1::2], strict=True))
                stats = check_inputs(fastq_pairs=pairs, stop=stop)
        except ChecksStopped:
            return None
        except InputCheckError as exc:
            if stop.is_set():
                return None
            run_log.write(str(exc))
            raise RunFailure(str(exc), exc.code) from None
        if stop.is_set():
            return None
        run_log.write(f"input checks passed: {stats.reads} reads, {stats.bases} bases")
        return stats

    def _run_pipeline(
        self,
        run: StoredRun,
        request: SubmitRequest,
        reference: Path,
        inputs: list[Path],
        workdir: Path,
        base: str,
        cancel: threading.Event,
        run_log: RunLog,
    ) -> tuple[Any, list[str]]:
        from genoflow.pipelines import (
            JobFiles,
            collect_outputs,
            engine_command,
            engine_environment,
            entry_point,
            job_for,
        )

        # the same mapper as the client's portable job; the staged files are the locations
        job = job_for(
            dataclasses.replace(
                request,
                options=dataclasses.replace(request.options, output_filename_base=base),
            ),
            JobFiles(
                reads=inputs, reference=reference, known_sites=_known_sites(request, reference)
            ),
            form="analysis",
            threads=self._config.threads,
            sharding=batch.sharding(self._config),
        )
        for note in job.notes:
            run_log.write(f"note: {note}")
        job_file = job.write(workdir / "job.json")
        command = engine_command(
            self._config.engine,
            entry_point("analysis"),
            job_file,
            workdir / "out",
            workdir,
            self._engine_args(workdir),
        )
        env = engine_environment(command, self._engine_base_env())
        self._sweep_batch_jobs(workdir, env, run_log)  # a killed server's attempt's jobs
        self._store.record_task(run.id, "pipeline", command, start=utcnow())
        with runlogs.following(workdir / "engine.stderr", run_log.kept or Path(os.devnull)):
            result = run_engine(
                command,
                cwd=workdir,
                stdout=workdir / "engine.stdout",
                stderr=workdir / "engine.stderr",
                cancel=cancel,
                on_start=lambda pgid: self._record_pgid(run.id, pgid),
                env=env,
            )
        self._sweep_batch_jobs(workdir, env, run_log)  # cancelled: the leader may not have
        self._keep_engine_logs(run.id, workdir, run_log, result.exit_code)
        self._store.record_task(
            run.id, "pipeline", command, end=utcnow(), exit_code=result.exit_code
        )
        run_log.write(f"engine exited with {result.exit_code} after {result.seconds:.1f}s")
        if result.cancelled:
            return None, job.notes
        if result.exit_code != 0:
            raise _pipeline_failure(workdir, result.exit_code)
        stdout = (workdir / "engine.stdout").read_text(encoding="utf-8")
        return collect_outputs(stdout[stdout.find("{") :]), job.notes

    def _keep_engine_logs(
        self, run_id: int, workdir: Path, run_log: RunLog, exit_code: int
    ) -> None:
        """The engine's stdout, and a failing tool's log, outlive the work dir."""
        stdout = runlogs.log_path(self._config.log_root, run_id, "stdout")
        runlogs.append(stdout, runlogs.tail_text(workdir / "engine.stdout", 1 << 20))
        tool_log = failing_tool_log(workdir / "engine.stderr") if exit_code != 0 else None
        if tool_log is not None:
            run_log.keep(f"--- {tool_log.name} (the failing step's log) ---\n")
            run_log.keep(runlogs.tail_text(tool_log).rstrip("\n") + "\n")

    def _record_pgid(self, run_id: int, pgid: int) -> None:
        self._store.update(run_id, engine_pgid=pgid)

    def _engine_args(self, workdir: Path) -> list[str]:
        args = list(self._config.engine_args)
        if self._config.engine == "cwltool":
            # tool logs outside the step dirs, which cwltool deletes even when a step failed
            args += ["--log-dir", str(workdir / "tool-logs")]
        if self._config.engine == "toil":
            args += batch.toil_args(self._config.toil, workdir)
        return args

    def _engine_base_env(self) -> dict[str, str]:
        if self._config.engine == "toil":
            return batch.toil_environment(self._config.toil, os.environ)
        return dict(os.environ)

    def _sweep_batch_jobs(self, workdir: Path, env: Mapping[str, str], run_log: RunLog) -> None:
        """Toil: no stale job store; on Slurm no job of this run's queued or running."""
        if self._config.engine != "toil":
            return
        batch.reset_job_store(self._config.toil, workdir)
        if not batch.is_slurm(self._config.toil):
            return
        cancelled = batch.cancel_slurm_jobs(workdir, env)
        if cancelled:
            run_log.write(f"cancelled Slurm jobs {' '.join(cancelled)}")

    def _collect(
        self,
        produced: Any,
        names: Sequence[str],
        workdir: Path,
        run_log: RunLog,
        request: SubmitRequest,
    ) -> list[OutputFile]:
        files = [
            OutputFile(produced.bam, names[0], "bam"),
            OutputFile(produced.bai, names[1], "bai"),
            OutputFile(produced.vcf, names[2], "vcf"),
        ]
        if produced.vcf_index is not None and request.options.effective_bgzip:
            files.append(OutputFile(produced.vcf_index, names[3], "tbi"))
        files += _qc_files(produced.qc, names)
        if request.options.include_logs:
            listing = [f.blob_name for f in files] + [names[-1]]
            try:
                zip_path = build_logs_zip(workdir, listing, produced.logs, run_log)
            except OSError as exc:
                if is_disk_full(exc):
                    raise disk_full(f"writing {names[-1]}", workdir) from None
                raise
            files.append(OutputFile(zip_path, names[-1], "logs"))
        return files

    def _upload(
        self, outputs: ContainerRef, files: Sequence[OutputFile], budget: StorageBudget
    ) -> tuple[RunOutput, ...]:
        """Each file committed under its final name; its record says what was written."""
        return tuple(self._upload_one(outputs, item, budget) for item in files)

    def _upload_one(
        self,
        outputs: ContainerRef,
        item: OutputFile,
        budget: StorageBudget,
        metadata: Mapping[str, str] | None = None,
    ) -> RunOutput:
        from genoflow.transfer import upload_file

        store = outputs.store
        step = StorageStep(
            f"writing output {item.blob_name}", store.account_name, store.account_url
        )
        upload = functools.partial(
            upload_file,
            store,
            item.local,
            outputs.container,
            item.blob_name,
            overwrite=True,
            cancel=budget.stop,
            metadata=metadata,
        )
        try:
            result = budget.run(step, upload)
        except GenoflowError as exc:
            raise RunFailure(
                f"Error Code [{CODE_OUTPUT_WRITE}]: could not write output "
                f"{item.blob_name}: {redact(exc.one_line())}",
                CODE_OUTPUT_WRITE,
            ) from None
        kind = kind_of(item.blob_name) or item.kind
        return RunOutput(item.blob_name, kind, result.bytes, result.md5, outputs.container)

    # --- a failed or cancelled run's logs.zip ----------------------------------------------
    def _diagnostics(
        self, request: SubmitRequest, workdir: Path, run_log: RunLog, outcome: str
    ) -> tuple[RunOutput, ...]:
        """``<base>.logs.zip`` of a run that did not succeed (when logs were asked for), so
        that it can be diagnosed from the client. Best effort: whatever goes wrong here is
        written to the run log and never replaces the run's own failure."""
        if not request.options.include_logs:
            return ()
        name = logs_name(output_base(request))
        try:
            return (self._write_diagnostics(request, workdir, run_log, name, outcome),)
        except (GenoflowError, RunFailure, RunCancelled, OSError) as exc:
            why = exc.message if isinstance(exc, RunFailure) else str(exc) or type(exc).__name__
            run_log.write(f"{name} not written: {why}")
            return ()

    def _write_diagnostics(
        self, request: SubmitRequest, workdir: Path, run_log: RunLog, name: str, outcome: str
    ) -> RunOutput:
        outputs = self._output_container(request)
        # Its own short budget: a user's cancel must not stop the zip that says what happened.
        seconds = (
            CANCELLED_DIAGNOSTICS_SECONDS
            if outcome == "cancelled"
            else DIAGNOSTICS_DEADLINE_SECONDS
        )
        budget = StorageBudget(threading.Event(), seconds)
        if not request.options.overwrite:
            existing = budget.run(
                self._output_step(request, f"checking for {name}"),
                functools.partial(outputs.store.find_blob, outputs.container, name),
            )
            if existing is not None and not existing.metadata.get(DIAGNOSTICS_KEY):
                raise RunFailure(f"{name} exists (not a diagnostics zip) and is kept", 0)
        tool_logs = sorted(p for p in (workdir / "tool-logs").rglob("*") if p.is_file())
        zip_path = build_logs_zip(workdir, [name], tool_logs, run_log)
        item = OutputFile(zip_path, name, "logs")
        record = self._upload_one(outputs, item, budget, {DIAGNOSTICS_KEY: outcome})
        run_log.write(f"wrote {name} ({record.size} bytes)")
        return record


def _qc_files(produced: Sequence[Path], names: Sequence[str]) -> list[OutputFile]:
    """The qc step's files under their planned names, matched by suffix (docs/qc.md)."""
    files = []
    for suffix, kind in QC_OUTPUTS:
        name = next((n for n in names if n.endswith(suffix)), None)
        path = next((p for p in produced if p.name.endswith(suffix)), None)
        if name is not None and path is not None:
            files.append(OutputFile(path, name, kind))
    return files


class RunLog:
    """The run's own log (goes into logs.zip); every line through the redactor. ``kept``: the
    log kept after the work dir is gone (runlogs.py), which also gets the engine's stderr."""

    def __init__(self, path: Path, kept: Path | None = None) -> None:
        self.path = path
        self.kept = kept

    def write(self, line: str) -> None:
        text = f"{utcnow().isoformat()} {redact(line)}\n"
        runlogs.append(self.path, text)  # a full disk never replaces the run's real failure
        if self.kept is not None:
            runlogs.append(self.kept, text)

    def keep(self, text: str) -> None:
        """Text for the kept log only (the engine's output, a tool's log)."""
        if self.kept is not None:
            runlogs.append(self.kept, text)


def build_logs_zip(
    workdir: Path, listing: Sequence[str], tool_logs: Sequence[Path], run_log: RunLog
) -> Path:
    """``outputFileList.txt``, ``standardoutput.txt``, ``standarderror.txt`` and tool logs."""
    target = workdir / "logs.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("outputFileList.txt", "\n".join(listing) + "\n")
        archive.writestr("standardoutput.txt", _redacted_text(workdir / "engine.stdout"))
        archive.writestr("standarderror.txt", _redacted_text(workdir / "engine.stderr"))
        archive.writestr("genoflow.log", _redacted_text(run_log.path))
        for path in tool_logs:
            archive.writestr(f"tools/{path.name}", _redacted_text(path))
    return target


def _redacted_text(path: Path) -> str:
    try:
        return redact(path.read_text(encoding="utf-8", errors="replace"))
    except FileNotFoundError:
        return ""


def _stop_if_failed(stop: threading.Event, done: Future[Any]) -> None:
    if not done.cancelled() and done.exception() is not None:
        stop.set()


class _EitherEvent(threading.Event):
    """Set when set itself or when ``other`` is: stops the engine on a cancel or a failed check."""

    def __init__(self, other: threading.Event) -> None:
        super().__init__()
        self._other = other

    def is_set(self) -> bool:
        return super().is_set() or self._other.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = EITHER_POLL_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return False
            super().wait(min(left, EITHER_POLL_SECONDS))  # wakes at once when set itself
        return True


def _known_sites(request: SubmitRequest, reference: Path) -> list[Path | str]:
    """Names beside the registered reference; blob URLs (checked at the door) as given: the
    engine reads them only when GATK runs BQSR."""
    return [
        site if is_url(site) else reference.parent / site for site in request.options.known_sites
    ]


def _unreachable(name: str, exc: GenoflowError) -> RunFailure:
    return RunFailure(
        f"Error Code [{CODE_INPUT_UNREACHABLE}]: Error locating input files: "
        f"{name}: {redact(exc.one_line())}",
        CODE_INPUT_UNREACHABLE,
    )


def _taken(outputs: ContainerRef, name: str) -> bool:
    """An output blob exists that a run would replace (a failed run's logs.zip is not one)."""
    found = outputs.store.find_blob(outputs.container, name)
    return found is not None and not found.metadata.get(DIAGNOSTICS_KEY)


def _pipeline_failure(workdir: Path, exit_code: int) -> RunFailure:
    """Code 104 when a tool ran out of disk, else 600 with the failing step, its exit status
    and the last lines of its log (redacted, one paragraph of at most ~1000 characters)."""
    failure = describe_engine_failure(workdir / "engine.stderr")
    if failure.disk_full:
        return disk_full(f"running the pipeline (step {failure.step or 'unknown'})", workdir)
    text = redact(failure.describe())
    message = f"Error Code [{CODE_PIPELINE}]: {text} (engine exit code {exit_code})"
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 3] + "..."
    return RunFailure(message, CODE_PIPELINE)
