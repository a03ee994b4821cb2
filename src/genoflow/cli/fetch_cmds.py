"""``genoflow fetch``: a finished run's outputs, downloaded, verified and marked fetched."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from genoflow.cli.output import Column, View, size_cell
from genoflow.cli.state import state_of

FETCH_HELP = """\
Download a finished run's outputs (parallel, resumable, verified) and mark them fetched.

A run of genoflow server gets exactly the files it recorded, each checked against the MD5 the
server recorded when it wrote it: a file replaced since then fails with exit 8, and nothing is
marked fetched. Failed and cancelled runs can be fetched too (--only logs: their logs.zip).
An output in the Archive tier fails with exit 2 and says how to rehydrate it.

\b
Examples:
  genoflow fetch 12 -o results/12
  genoflow fetch 12 --only vcf          # the VCF or gVCF and its index
  genoflow fetch 13 --only logs         # why did run 13 fail?
  genoflow fetch 12 --only qc -o runs/12 # QC files; then: multiqc runs/
  genoflow fetch 12 -o results/12 -o tsv --query "files[].path"
"""


FETCH_VIEW = View(
    columns=(
        Column("status"),
        Column("name"),
        Column("path"),
        Column("size", "size", size_cell),
        Column("checked_against", "checked against"),
    ),
    rows="files",
)


def fetch_cmd(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., metavar="ID", help="The run whose outputs to download."),
    output_dir: Path = typer.Option(
        Path("."),
        "-o",
        "--output-dir",
        metavar="DIR",
        help="Where to write (a value that is an output format, e.g. json, is -o/--output).",
    ),
    only: Optional[str] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None, "--only", metavar="KINDS", help="Comma-separated: bam,bai,vcf,gvcf,tbi,logs,qc."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace local files that differ from the outputs."
    ),
) -> None:
    from genoflow.orchestration.api import fetch_record, fetch_run

    state = state_of(ctx)
    settings = state.settings()
    with state.progress("fetch", settings) as tracker_for:
        result = fetch_run(
            settings,
            run_id,
            output_dir,
            only=only,
            overwrite=overwrite,
            info=state.info,
            tracker_for=tracker_for,
        )
    state.render(fetch_record(result, settings.config.storage.output_container), FETCH_VIEW)


def register(app: typer.Typer) -> None:
    app.command("fetch", help=FETCH_HELP)(fetch_cmd)
