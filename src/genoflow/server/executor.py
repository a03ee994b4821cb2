"""One run, start to finish, as the retired service did it.

inputs read through their per-blob SAS URLs -> input checks (old error codes) -> the CWL
pipeline under the configured engine (own process group) -> outputs written through the output
container SAS, each committed under its final name only once complete -> ``<base>.logs.zip``.
"""

from __future__ import annotations

import logging
import shutil
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genoflow.errors import GenoflowError
from genoflow.model.submission import InputKind, SubmitRequest
from genoflow.redact import redact
from genoflow.server.config import ServerConfig
from genoflow.server.engine import run_engine
from genoflow.server.references import ReferenceRegistry
from genoflow.server.scheduler import Outcome, RunFailure
from genoflow.server.service import output_base, request_from_json
from genoflow.server.store import RunStore, StoredRun, utcnow

log = logging.getLogger(__name__)

# Failure codes genoflow adds to the old service's list (documented in docs/server.md).
CODE_INPUT_UNREACHABLE = 100  # "Error locating input files"
CODE_OUTPUT_EXISTS = 101
CODE_OUTPUT_WRITE = 102
CODE_REFERENCE = 103
CODE_PIPELINE = 600


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
        run_log = RunLog(workdir / "genoflow.log")
        try:
            return self._execute(run, request, workdir, run_log, cancel)
        finally:
            shutil.rmtree(workdir / "inputs", ignore_errors=True)
            shutil.rmtree(workdir / "tmp", ignore_errors=True)

    def _execute(
        self,
        run: StoredRun,
        request: SubmitRequest,
        workdir: Path,
        run_log: RunLog,
        cancel: threading.Event,
    ) -> Outcome:
        outputs = self._output_container(request)
        base = output_base(request)
        names = planned_outputs(base, request)
        if not request.options.overwrite:
            self._refuse_existing(outputs, names)
        reference = self._reference(request)
        local_inputs = self._download_inputs(request, workdir / "inputs", cancel, run_log)
        if cancel.is_set():
            return Outcome(outputs={}, bases_processed=0)
        stats = self._check_inputs(request, local_inputs, run_log)
        self._store.update(run.id, bases_processed=stats.bases)
        produced, notes = self._run_pipeline(
            run, request, reference, local_inputs, workdir, base, cancel, run_log
        )
        if cancel.is_set() or produced is None:
            return Outcome(outputs={}, bases_processed=stats.bases)
        files = self._collect(produced, names, workdir, run_log, request)
        written = self._upload(outputs, files, request.options.overwrite, cancel)
        message = "Completed successfully" + "".join(f". Note: {note}" for note in notes)
        return Outcome(outputs=written, bases_processed=stats.bases, message=message)

    # --- steps -----------------------------------------------------------------------------
    def _output_container(self, request: SubmitRequest) -> Any:
        from genoflow.storage import open_container_with_sas

        base = request.output_account_url or self._config.endpoint_for(request.output_account)
        return open_container_with_sas(f"{base}/{request.output_container}", request.output_sas)

    def _refuse_existing(self, outputs: Any, names: Sequence[str]) -> None:
        try:
            existing = [name for name in names if _exists(outputs, name)]
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

    def _download_inputs(
        self, request: SubmitRequest, directory: Path, cancel: threading.Event, run_log: RunLog
    ) -> list[Path]:
        from genoflow.storage import open_blob_with_sas
        from genoflow.transfer import download_blob

        base = request.input_account_url or self._config.endpoint_for(request.input_account)
        paths = []
        for name in request.blob_names():
            if cancel.is_set():
                break
            sas = request.input_sas.get(name, "")
            url = f"{base}/{request.input_container}/{name}?{sas}"
            target = directory / name.replace("/", "__")
            try:
                ref = open_blob_with_sas(url)
                download_blob(ref.store, ref.container, ref.name, target)
            except GenoflowError as exc:
                raise RunFailure(
                    f"Error Code [{CODE_INPUT_UNREACHABLE}]: Error locating input files: "
                    f"{name}: {redact(exc.one_line())}",
                    CODE_INPUT_UNREACHABLE,
                ) from None
            run_log.write(f"read input {name} ({target.stat().st_size} bytes)")
            paths.append(target)
        return paths

    def _check_inputs(self, request: SubmitRequest, paths: list[Path], run_log: RunLog) -> Any:
        from genoflow.pipelines import InputCheckError, check_inputs

        try:
            if request.kind is InputKind.BAM:
                stats = check_inputs(bam=paths[0])
            else:
                stats = check_inputs(fastq_pairs=list(zip(paths[0::2], paths[1::2], strict=True)))
        except InputCheckError as exc:
            run_log.write(str(exc))
            raise RunFailure(str(exc), exc.code) from None
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
            ReferenceFiles,
            build_job,
            collect_outputs,
            engine_command,
            engine_environment,
            workflow_path,
        )

        options = request.options
        is_bam = request.kind is InputKind.BAM
        job = build_job(
            reference=ReferenceFiles(reference),
            sample=request.sample,
            fastq_pairs=() if is_bam else list(zip(inputs[0::2], inputs[1::2], strict=True)),
            bam=inputs[0] if is_bam else None,
            read_group=options.read_group,
            threads=self._config.threads,
            caller="gatk" if "gatk" in options.process.lower() else "bcftools",
            gvcf=options.effective_ref_confidence == "gvcf",
            bgzip=options.effective_bgzip,
            bqsr=options.effective_bqsr,
            base=base.replace("/", "_"),
        )
        for note in job.notes:
            run_log.write(f"note: {note}")
        job_file = job.write(workdir / "job.json")
        command = engine_command(
            self._config.engine,
            workflow_path(),
            job_file,
            workdir / "out",
            workdir,
            self._engine_args(),
        )
        self._store.record_task(run.id, "pipeline", command, start=utcnow())
        result = run_engine(
            command,
            cwd=workdir,
            stdout=workdir / "engine.stdout",
            stderr=workdir / "engine.stderr",
            cancel=cancel,
            on_start=lambda pgid: self._record_pgid(run.id, pgid),
            env=engine_environment(command),
        )
        self._store.record_task(
            run.id, "pipeline", command, end=utcnow(), exit_code=result.exit_code
        )
        run_log.write(f"engine exited with {result.exit_code} after {result.seconds:.1f}s")
        if result.cancelled:
            return None, job.notes
        if result.exit_code != 0:
            tail = _last_error_line(workdir / "engine.stderr")
            raise RunFailure(
                f"Error Code [{CODE_PIPELINE}]: the pipeline failed (engine exit "
                f"code {result.exit_code}): {tail}",
                CODE_PIPELINE,
            )
        stdout = (workdir / "engine.stdout").read_text(encoding="utf-8")
        return collect_outputs(stdout[stdout.find("{") :]), job.notes

    def _record_pgid(self, run_id: int, pgid: int) -> None:
        self._store.update(run_id, engine_pgid=pgid)

    def _engine_args(self) -> list[str]:
        args = list(self._config.engine_args)
        if self._config.engine == "toil":
            args += ["--batchSystem", self._config.toil.batch_system, *self._config.toil.args]
        return args

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
        if request.options.include_logs:
            listing = [f.blob_name for f in files] + [names[-1]]
            zip_path = build_logs_zip(workdir, listing, produced.logs, run_log)
            files.append(OutputFile(zip_path, names[-1], "logs"))
        return files

    def _upload(
        self, outputs: Any, files: Sequence[OutputFile], overwrite: bool, cancel: threading.Event
    ) -> dict[str, Any]:
        from genoflow.transfer import upload_file

        written: dict[str, Any] = {}
        for item in files:
            if cancel.is_set():
                break
            try:
                result = upload_file(
                    outputs.store, item.local, outputs.container, item.blob_name, overwrite=True
                )
            except GenoflowError as exc:
                raise RunFailure(
                    f"Error Code [{CODE_OUTPUT_WRITE}]: could not write output "
                    f"{item.blob_name}: {redact(exc.one_line())}",
                    CODE_OUTPUT_WRITE,
                ) from None
            written[item.kind] = {
                "name": item.blob_name,
                "size": item.local.stat().st_size,
                "md5": result.md5,
            }
        return written


def planned_outputs(base: str, request: SubmitRequest) -> list[str]:
    """Output blob names in a fixed order: bam, bai, vcf, [tbi,] [logs.zip]."""
    options = request.options
    gvcf = options.effective_ref_confidence == "gvcf"
    vcf = f"{base}.g.vcf" if gvcf else f"{base}.vcf"
    if options.effective_bgzip:
        vcf += ".gz"
    names = [f"{base}.bam", f"{base}.bam.bai", vcf]
    if options.effective_bgzip:
        names.append(f"{vcf}.tbi")
    if options.include_logs:
        names.append(f"{base}.logs.zip")
    return names


class RunLog:
    """The run's own log (goes into logs.zip); every line through the redactor."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, line: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{utcnow().isoformat()} {redact(line)}\n")


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


def _exists(outputs: Any, name: str) -> bool:
    return outputs.store.find_blob(outputs.container, name) is not None


def _last_error_line(stderr: Path) -> str:
    lines = [line for line in _redacted_text(stderr).splitlines() if line.strip()]
    for line in reversed(lines):
        if "error" in line.lower() or "fail" in line.lower():
            return line.strip()[:300]
    return lines[-1].strip()[:300] if lines else "no output"
