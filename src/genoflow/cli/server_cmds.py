"""``genoflow server`` (serve both APIs) and ``genoflow server reference add``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Optional

import typer

from genoflow.cli.output import Column, View
from genoflow.cli.state import state_of

app = typer.Typer(
    help="Run the self-hosted analysis service (Microsoft Genomics API + GA4GH WES 1.1).\n\n"
    "Examples:\n\n"
    "  genoflow server --port 8080 --data-dir /srv/genoflow\n\n"
    "  genoflow server -f server.yaml\n\n"
    "  genoflow server reference add b37m1 /refs/human_g1k_v37.fasta\n\n"
    "API keys: 'api_keys' in server.yaml or GENOFLOW_SERVER_API_KEYS=key1,key2 (two for "
    "rotation). Without keys the server only listens on loopback.",
    invoke_without_command=True,
)
reference_app = typer.Typer(
    help="Manage the reference genomes the server knows.", no_args_is_help=True
)
app.add_typer(reference_app, name="reference")


def _server_config(ctx: typer.Context, **overrides: Any) -> Any:
    from genoflow.server.config import load_server_config

    config_file = state_of(ctx).config_file
    return load_server_config(Path(config_file) if config_file else None, overrides)


@app.callback()
def serve(
    ctx: typer.Context,
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on [127.0.0.1]."),  # noqa: UP045
    port: Optional[int] = typer.Option(None, "--port", help="Port [8080]."),  # noqa: UP045
    data_dir: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--data-dir", help="Run store, work dirs and references [./genoflow-server]."
    ),
    max_concurrent_runs: Optional[int] = typer.Option(  # noqa: UP045
        None, "--max-concurrent-runs", help="Runs executed at once [1]."
    ),
    engine: Optional[str] = typer.Option(None, "--engine", help="cwltool (default) or toil."),  # noqa: UP045
) -> None:
    """Serve both APIs until interrupted (-f names the server's YAML config).

    \b
    Example:
      genoflow server --port 8080 --data-dir /srv/genoflow
    """
    if ctx.invoked_subcommand is not None:
        return
    from genoflow.server.runtime import install_signal_exit
    from genoflow.server.runtime import serve as run_server

    config = _server_config(
        ctx,
        host=host,
        port=port,
        data_dir=data_dir,
        max_concurrent_runs=max_concurrent_runs,
        engine=engine,
    )
    install_signal_exit()
    with contextlib.suppress(KeyboardInterrupt):
        run_server(config)


@reference_app.command("add")
def reference_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Reference name as clients send it (R=NAME), e.g. b37m1."),
    fasta: Path = typer.Argument(..., help="Uncompressed FASTA file."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="The server's data dir."),  # noqa: UP045
) -> None:
    """Register a reference and build its bwa index, faidx and sequence dictionary once.

    \b
    Example:
      genoflow server reference add b37m1 /refs/human_g1k_v37.fasta --data-dir /srv/genoflow
    """
    from genoflow.server.references import ReferenceRegistry, add_reference

    config = _server_config(ctx, data_dir=data_dir)
    registry = ReferenceRegistry(config.reference_root, config.references)
    target = add_reference(registry, config.reference_root, name, fasta)
    state = state_of(ctx)
    state.info(f"reference {name} ready at {target}")
    state.render({"name": name, "fasta": str(target)})


@reference_app.command("list")
def reference_list(
    ctx: typer.Context,
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="The server's data dir."),  # noqa: UP045
) -> None:
    """List the references the server knows.

    \b
    Examples:
      genoflow server reference list --data-dir /srv/genoflow
      genoflow server reference list -o tsv
    """
    from genoflow.server.references import ReferenceRegistry

    config = _server_config(ctx, data_dir=data_dir)
    registry = ReferenceRegistry(config.reference_root, config.references)
    state = state_of(ctx)
    entries = registry.all()
    state.render(
        [{"name": name, "fasta": str(path)} for name, path in sorted(entries.items())],
        View(columns=(Column("name"), Column("fasta"))),
    )
