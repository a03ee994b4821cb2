"""``genoflow reference upload NAME FASTA``: a reference in Blob, for WES servers that hold none.

The indexes (bwa index, samtools faidx, samtools dict) are built once in a local cache and
uploaded beside the FASTA under ``NAME/`` in ``storage.reference_container``; a submit to a
third-party WES server (Toil, wes-server, Sapporo...) then names each file in the CWL job.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from genoflow.cli.state import state_of

app = typer.Typer(help="References in Blob, for WES servers that hold none.")


def _cache_dir(name: str) -> Path:
    from platformdirs import user_cache_dir

    base = os.environ.get("GENOFLOW_CACHE_DIR") or user_cache_dir("genoflow")
    return Path(base) / "references" / name


@app.command("upload")
def upload(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The reference's name (what -pa R=NAME selects)."),
    fasta: Path = typer.Argument(..., help="The FASTA (plain or .gz)."),
    work_dir: Optional[Path] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None, "--work-dir", help="Where the indexes are built (default: the user cache)."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace blobs of this name that differ."
    ),
) -> None:
    """Build the reference's indexes once and store FASTA + indexes in the references container.

    \b
    Examples:
      genoflow reference upload hs37chrX hs37chrXtrunc.fa.gz
      genoflow submit -b1 S_R1.fq.gz -b2 S_R2.fq.gz -pa R=hs37chrX   # to a foreign WES server
    """
    from genoflow.orchestration.references import BlobReference, check_name, upload_reference
    from genoflow.storage import open_store

    state = state_of(ctx)
    config = state.settings().config
    reference = BlobReference(check_name(name), config.storage.reference_container)
    store = open_store(config.storage)
    try:
        names = upload_reference(
            store,
            reference,
            fasta,
            work_dir or _cache_dir(name),
            overwrite=overwrite,
            info=state.info,
        )
    finally:
        store.close()
    state.render({"reference": name, "container": reference.container, "blobs": list(names)})


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="reference")
