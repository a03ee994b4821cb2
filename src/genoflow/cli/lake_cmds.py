"""``genoflow lake add|report|export``: the variant lake (Delta tables on Blob).

Heavy imports (deltalake, duckdb, pyarrow, pysam) happen inside the command bodies only.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from genoflow.cli.output import Column, View
from genoflow.cli.state import CliState, service_client, state_of
from genoflow.errors import GenoflowError
from genoflow.lake import require_extra

if TYPE_CHECKING:
    from genoflow.lake.fetching import Sources
    from genoflow.lake.ingest import LakeWriter
    from genoflow.lake.location import Lake
    from genoflow.model.runs import Run

lake_app = typer.Typer(
    help="The variant lake: every run's calls in Delta tables that Spark, DuckDB and Polars "
    "read (see docs/tertiary.md).",
    no_args_is_help=True,
)

ADD_HELP = """\
Append succeeded runs' calls to the lake's Delta tables (container lake.container).

Each run's VCF is downloaded, checked against the MD5 its service recorded, and streamed into
one commit of the calls table (one row per sample and VCF record, Glow's column names), then
its record into the runs table. Adding a run twice changes nothing; a failure or kill midway
leaves the tables as they were; several 'lake add' at once are safe.

Exit codes: 2 a run that has not succeeded (nothing written) or whose VCF is missing,
7 the lake container may not be written, 8 a VCF that is not what the run recorded.

\b
Examples:
  genoflow lake add 12 13 14
  genoflow lake add 12 -o json
"""


def _lake(state: CliState) -> Lake:
    from genoflow.lake.auto import configured_lake

    return configured_lake(state.settings().config)


@lake_app.command("add", help=ADD_HELP)
def add_cmd(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(..., metavar="RUN...", help="Run ids of the service."),
) -> None:
    require_extra()
    from genoflow.lake.auto import configured_sources
    from genoflow.lake.ingest import LakeWriter, succeeded_runs

    state = state_of(ctx)
    config = state.settings().config
    client = service_client(state.settings())
    try:
        runs = succeeded_runs(client, run_ids)  # every run checked before anything is written
        sources = configured_sources(config, client)
        with LakeWriter(_lake(state), sources.store) as writer:
            _add_each(state, sources, writer, runs)
    finally:
        client.close()


def _add_each(state: CliState, sources: Sources, writer: LakeWriter, runs: list[Run]) -> None:
    from genoflow.lake.ingest import add_runs

    now = datetime.now(timezone.utc)
    results: list[dict[str, Any]] = []
    try:
        for result in add_runs(sources, writer, runs, now=now, progress=state.info):
            results.append(result.to_dict())
    except GenoflowError:
        state.render(results, ADD_VIEW)  # stopped midway: still one document, what was added
        raise
    state.render(results, ADD_VIEW)


ADD_VIEW = View(
    columns=(
        Column("run"),
        Column("status"),
        Column("records"),
        Column("variants"),
        Column("seconds", "seconds", lambda v: f"{float(v):.1f}"),
    )
)


REPORT_HELP = """\
Samples per month, unique variants, variants by class and the SNV spectrum, from the lake's
Delta tables (DuckDB over the tables' current files). --html FILE also writes a page with the
plots that opens offline.

\b
Examples:
  genoflow lake report
  genoflow lake report -o json --query unique_variants
  genoflow lake report --html lake.html
"""


@lake_app.command("report", help=REPORT_HELP)
def report_cmd(
    ctx: typer.Context,
    html: Optional[Path] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None, "--html", metavar="FILE", help="Also write the report with plots as HTML."
    ),
) -> None:
    require_extra()
    from genoflow.lake.report import lake_report

    state = state_of(ctx)
    report = lake_report(_lake(state))
    if html is not None:
        from genoflow.lake.html import render_html

        html.write_text(render_html(report), encoding="utf-8")
        state.info(f"wrote {html}")
    state.render(report.to_dict(), REPORT_VIEW)


def _report_notes(data: dict[str, Any]) -> list[str]:
    lines = [f"unique variants: {data.get('unique_variants')}"]
    lines += [f"  {name}: {count}" for name, count in (data.get("variants_by_class") or {}).items()]
    lines.append(f"SNV spectrum (Ti/Tv {data.get('ti_tv')}):")
    lines += [f"  {name}: {count}" for name, count in (data.get("snv_spectrum") or {}).items()]
    return lines


REPORT_VIEW = View(
    columns=(Column("month"), Column("samples"), Column("runs")),
    rows="samples_per_month",
    title=lambda data: f"{data['samples']} samples in {data['runs']} runs, per month",
    notes=_report_notes,
)


EXPORT_HELP = """\
Write a lake table's current version as plain Parquet files (hive-partitioned by sampleId and
contigName for calls) into FOLDER, for tools that do not read Delta.

\b
Examples:
  genoflow lake export parquet/calls
  genoflow lake export parquet/runs --table runs
  genoflow lake export parquet/s1 --sample s1 --contig chr1
"""


@lake_app.command("export", help=EXPORT_HELP)
def export_cmd(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., metavar="FOLDER", help="Where to write (empty or new)."),
    table: str = typer.Option("calls", "--table", help="calls, runs or qc."),
    sample: Optional[str] = typer.Option(None, "--sample", help="Only this sample's calls."),  # noqa: UP045
    contig: Optional[str] = typer.Option(None, "--contig", help="Only this contig's calls."),  # noqa: UP045
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into a non-empty folder."),
) -> None:
    require_extra()
    from genoflow.lake.export import export_table

    state = state_of(ctx)
    result = export_table(
        _lake(state), table, folder, sample=sample, contig=contig, overwrite=overwrite
    )
    state.render(result.to_dict())


def register(app: typer.Typer) -> None:
    app.add_typer(lake_app, name="lake")
