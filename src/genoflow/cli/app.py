"""The typer application: global options and the sub-command tree.

Each command group lives in its own module and imports its heavy dependencies (azure, requests,
fastapi, cwltool) inside the command body, so that ``import genoflow.cli`` stays fast for cron
and CI use.
"""

from __future__ import annotations

from typing import Any, Optional, cast

import typer
from typer.core import TyperGroup

from genoflow import __version__
from genoflow.cli.state import CliState, state_of

HELP = """\
genoflow: upload paired FASTQ or BAM to Azure Blob, run BWA + variant calling on a
Microsoft-Genomics-compatible or GA4GH WES service, fetch BAM/BAI/VCF, and move finished
data to cooler storage tiers.

Configuration comes from flags > GENOFLOW_* variables > the config file (-f, $GENOFLOW_CONFIG,
./genoflow.yaml, user config dir) > defaults. Start with 'genoflow config init'.

Exit codes: 0 ok, 1 internal error, 2 usage/config/input error, 3 run failed, 4 run cancelled,
5 timed out, 6 service/storage unavailable, 7 auth refused, 8 data integrity error,
9 QC outside qc.thresholds ('qc');
'status' returns 10 queued, 20 in progress.
"""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"genoflow {__version__}")
        raise typer.Exit()


def _global_options(
    ctx: typer.Context,
    config: Optional[str] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None,
        "-f",
        "--config",
        metavar="FILE",
        help="Config file (YAML, or a Microsoft Genomics config.txt). May follow the sub-command.",
    ),
    output: Optional[str] = typer.Option(  # noqa: UP045
        None,
        "-o",
        "--output",
        metavar="FORMAT",
        help="json, jsonc, table, tsv, csv, yaml or none (default: $GENOFLOW_OUTPUT, else "
        "table). May follow the sub-command. In 'list', -o pass|fail is the outcome filter.",
    ),
    query: Optional[str] = typer.Option(  # noqa: UP045
        None,
        "--query",
        metavar="JMESPATH",
        help="JMESPath applied to the output document, e.g. \"[?state=='failed'].id\".",
    ),
    json_output: bool = typer.Option(False, "--json", help="Same as -o json."),
    quiet: bool = typer.Option(
        False, "-q", "--quiet", help="No progress or notices on stderr (errors still)."
    ),
    verbose: int = typer.Option(
        0, "-v", "--verbose", count=True, help="More log output (-vv: debug)."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    import os

    from genoflow.cli.main import configure_logging
    from genoflow.cli.output import OUTPUT_ENV, check_query

    fmt = _output_format(output, json_output)
    ctx.obj = CliState(
        config_file=config,
        json=fmt in ("json", "jsonc"),
        verbose=verbose,
        debug=debug,
        output=fmt,
        output_chosen=output is not None or json_output or bool(os.environ.get(OUTPUT_ENV)),
        output_flag=output is not None or json_output,
        query=check_query(query) if query else None,
        quiet=quiet,
    )
    configure_logging(verbose, debug)


def _output_format(output: str | None, json_output: bool) -> str:
    """-o wins, then --json, then $GENOFLOW_OUTPUT, then table."""
    import os

    from genoflow.cli.output import DEFAULT_FORMAT, OUTPUT_ENV, check_format

    if output is not None:
        return check_format(output)
    if json_output:
        return "json"
    env = os.environ.get(OUTPUT_ENV, "").strip()
    return check_format(env, OUTPUT_ENV) if env else DEFAULT_FORMAT


def build_app() -> TyperGroup:
    from genoflow.cli import config_cmds

    app = typer.Typer(
        name="genoflow",
        help=HELP,
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_global_options)
    app.add_typer(config_cmds.app, name="config")
    from genoflow.cli import transfer_cmds

    transfer_cmds.register(app)
    from genoflow.cli import run_cmds

    run_cmds.register(app)
    from genoflow.cli import fetch_cmds, tier_cmds

    fetch_cmds.register(app)
    tier_cmds.register(app)  # tier plan|apply|lifecycle-policy, cost
    from genoflow.cli import server_cmds

    app.add_typer(server_cmds.app, name="server")
    from genoflow.cli import local_cmds

    local_cmds.register(app)  # local up|down|status, demo data|run
    from genoflow.cli import lake_cmds

    lake_cmds.register(app)  # lake add|report|export
    from genoflow.cli import qc_cmds

    qc_cmds.register(app)  # qc RUN...
    from genoflow.cli import pipeline_cmds

    app.add_typer(pipeline_cmds.app, name="pipeline")  # pipeline show|pack|job
    from genoflow.cli import reference_cmds

    reference_cmds.register(app)  # reference upload
    command = cast(TyperGroup, typer.main.get_command(app))
    _readable_metavars(command)
    return command


def _needs_metavar(option: Any) -> bool:
    return bool(option.metavar is None and option.name and not (option.is_flag or option.count))


def _readable_metavars(command: Any) -> None:
    """Help without Python type names: typer writes ``ID <str>`` and ``--port <int>``; options
    without a metavar of their own get their name (``--port PORT``), arguments just theirs."""
    from typer.core import TyperArgument, TyperOption

    for param in getattr(command, "params", []):
        if isinstance(param, TyperArgument):
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
            if param.metavar is None:  # NAME, FILE...: as in the usage line and the errors
                param.metavar = str(param.name).upper() + ("..." if param.nargs != 1 else "")
            param._usage_display_name = _usage_name(param)  # type: ignore[method-assign]
        elif isinstance(param, TyperOption) and _needs_metavar(param):
            param.metavar = str(param.name).upper()
    for sub in getattr(command, "commands", {}).values():
        _readable_metavars(sub)


def _usage_name(argument: Any) -> Any:
    """The usage line's ``ID`` / ``[ID]`` / ``FILE...``: typer writes ``{ID}`` (braces read
    as literal text), ``{RUN...}...`` for a metavar that already says ``...``, and
    lowercase names."""
    name = str(argument.metavar).removesuffix("...")
    if argument.nargs != 1:
        name += "..."
    return lambda: name if argument.required else f"[{name}]"


__all__ = ["build_app", "state_of"]
