"""``genoflow pipeline show | pack | job``: the packed CWL pipeline as a portable artefact.

``job`` builds the CWL job of one sample with the same mapper the server uses
(``genoflow.pipelines.job_for``), its files as local paths or blob URLs with read SAS from the
configured storage, so the same run can be started by hand on any engine:
``cwltool genoflow-pipeline.cwl job.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from genoflow.cli.state import state_of
from genoflow.errors import UsageError

if TYPE_CHECKING:
    from genoflow.config.loader import Settings
    from genoflow.pipelines import JobFiles

app = typer.Typer(help="The pipeline as one packed CWL document any CWL engine runs.")

# the deliver step needs create + write; genoflow server also reads (its existing-output check)
OUTPUT_PERMISSIONS = "rcw"


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the packed CWL document (#main: URLs in, outputs to Blob; #analysis).

    The document is printed as it is (CWL, not through -o).

    \b
    Example:
      genoflow pipeline show > genoflow-pipeline.cwl
    """
    from genoflow.pipelines import workflow_text

    state_of(ctx).as_it_is("the CWL document")
    sys.stdout.write(workflow_text())


@app.command("pack")
def pack(
    ctx: typer.Context,
    path: Path = typer.Argument(Path("genoflow-pipeline.cwl"), help="Where to write it."),
) -> None:
    """Write the packed CWL document (what wes-client and other WES clients attach).

    \b
    Examples:
      genoflow pipeline pack
      genoflow pipeline pack build/pipeline.cwl
    """
    from genoflow.pipelines import workflow_text

    if path.is_dir():
        raise UsageError(f"{path} is a directory", hint="give a file name, e.g. pipeline.cwl")
    path.write_text(workflow_text(), encoding="utf-8")
    state = state_of(ctx)
    state.info(f"wrote {path}")
    state.render({"written": str(path)})


@app.command("job")
def job(
    ctx: typer.Context,
    reads_1: list[str] = typer.Option([], "-b1", "--r1", help="Read-1 FASTQ (local or blob)."),
    reads_2: list[str] = typer.Option([], "-b2", "--r2", help="Read-2 FASTQ, same order."),
    sample: str | None = typer.Option(None, "--sample", help="Default: from the first input."),
    fasta: str = typer.Option(
        ..., "--fasta", help="Reference FASTA (local, or blob name), its indexes beside it."
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write here, not stdout."),
) -> None:
    """Build the CWL job of one sample for #main. Options come from the configuration
    (workflow.*, e.g. GENOFLOW_WORKFLOW__READ_GROUP); blob names get read SAS URLs from the
    configured storage, the output container a SAS that may read, create and write. The job
    is printed as CWL's JSON (not through -o).

    \b
    Examples:
      genoflow pipeline job -b1 S_R1.fq.gz -b2 S_R2.fq.gz --fasta refs/b37m1.fa -o job.json
      cwltool genoflow-pipeline.cwl job.json
    """
    from genoflow.model.submission import derive_sample
    from genoflow.orchestration.submit import options_from_settings, plan_inputs
    from genoflow.pipelines import job_for

    state = state_of(ctx)
    state.as_it_is("the CWL job (JSON)", to_file=True)
    settings = state.settings()
    plan = plan_inputs(reads_1, reads_2)
    name = sample or derive_sample(plan.reads_1[0])
    request = _request(settings, plan, name, options_from_settings(settings, name))
    document = job_for(request, _files(settings, plan, request, fasta), form="main").document
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        output.chmod(0o600)  # it holds SAS tokens


def _request(settings: Settings, plan: Any, sample: str, options: Any) -> Any:
    from genoflow.model.submission import SubmitRequest

    storage = settings.config.storage
    account = storage.account_name or "local"
    return SubmitRequest(
        sample=sample,
        kind=plan.kind,
        reads_1=plan.reads_1,
        reads_2=plan.reads_2,
        options=options,
        input_account=account,
        input_container=storage.input_container,
        output_account=storage.output_account_name or account,
        output_container=storage.output_container,
    )


def _files(settings: Settings, plan: Any, request: Any, fasta: str) -> JobFiles:
    """Local files as paths; blob names (and a blob FASTA's indexes) as read SAS URLs."""
    from genoflow.model.submission import is_url
    from genoflow.pipelines import JobFiles
    from genoflow.pipelines.job import REFERENCE_INDEX_INPUTS
    from genoflow.storage import open_store

    config = settings.config
    store = open_store(config.storage)
    hours = config.workflow.sas_duration_hours
    container = config.storage.input_container

    def where(name: str) -> str | Path:
        if name in plan.local:
            return Path(plan.local[name])
        return store.blob_url(container, name, store.blob_read_sas(container, name, hours))

    index: dict[str, str | Path] = {}
    if not Path(fasta).is_file():
        stem = fasta.rsplit(".", 1)[0]
        index = {
            key: where(f"{stem}.dict" if key == "reference_dict" else f"{fasta}{suffix}")
            for key, suffix in REFERENCE_INDEX_INPUTS.items()
        }
    outputs = open_store(config.storage, output=True)
    out = config.storage.output_container
    sas = outputs.container_sas(out, hours, OUTPUT_PERMISSIONS)
    return JobFiles(
        reads=[where(name) for name in request.blob_names()],
        reference=Path(fasta) if Path(fasta).is_file() else where(fasta),
        index=index,
        # names are relative to the reference's folder (local or in the input container)
        known_sites=[
            site if is_url(site) else _beside(fasta, site, where)
            for site in request.options.known_sites
        ],
        output_url=f"{outputs.account_url}/{out}?{sas}",
    )


def _beside(fasta: str, name: str, where: Any) -> str | Path:
    if Path(fasta).is_file():
        return Path(fasta).parent / name
    folder = fasta.rpartition("/")[0]
    return where(f"{folder}/{name}" if folder else name)  # type: ignore[no-any-return]
