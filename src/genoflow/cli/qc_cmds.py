"""``genoflow qc RUN...``: each run's QC summary from its recorded ``<base>.qc.json``, with
the values outside the lab's limits (config ``qc.thresholds``) flagged."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import typer

from genoflow.cli.output import Column, View
from genoflow.cli.state import CliState, service_client, state_of
from genoflow.errors import ExitCode, GenoflowError

if TYPE_CHECKING:
    from genoflow.model.runs import Run
    from genoflow.protocols.base import ServiceClient

QC_HELP = """\
Print each run's QC (one record per run): reads mapped, properly paired and duplicated, mean
and median coverage, bases at >= 10x/20x, median insert size, variants by class, Ti/Tv and
het/hom, as the pipeline's qc step measured them (samtools, mosdepth, bcftools; docs/qc.md).

The run's <base>.qc.json is downloaded and checked against the MD5 the run recorded. Values
outside the limits set in qc.thresholds are listed under 'flags' and the run's status is
'fail'.

Exit codes: 9 a run's QC is outside a threshold, 2 a run without QC (or not finished),
8 a qc.json that is not what the run recorded.

\b
Examples:
  genoflow qc 12
  genoflow qc 12 13 14 -o tsv
  GENOFLOW_QC__THRESHOLDS__MEAN_COVERAGE_MIN=25 genoflow qc 12
"""


def _pct(value: Any) -> str:
    return f"{100 * float(value):.1f}%"


QC_VIEW = View(
    columns=(
        Column("run"),
        Column("sample"),
        Column("status", "qc"),
        Column("mean_coverage", "mean cov", lambda v: f"{float(v):.1f}"),
        Column("median_coverage", "median cov", lambda v: f"{float(v):g}"),
        Column("fraction_ge_20x", ">=20x", _pct),
        Column("mapped_rate", "mapped", _pct),
        Column("duplicate_rate", "dup", _pct),
        Column("insert_size_median", "insert", lambda v: f"{float(v):g}"),
        Column("snv", "SNV"),
        Column("insertion", "ins"),
        Column("deletion", "del"),
        Column("ti_tv", "Ti/Tv", lambda v: f"{float(v):.2f}"),
        Column("het_hom_ratio", "het/hom", lambda v: f"{float(v):.2f}"),
        Column("flags"),
    )
)


def qc_cmd(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(..., metavar="RUN...", help="Run ids of the service."),
) -> None:
    from genoflow.lake.auto import configured_sources
    from genoflow.qc.fetching import fetch_qc
    from genoflow.qc.thresholds import qc_record

    state = state_of(ctx)
    config = state.settings().config
    limits = config.qc.thresholds.model_dump()
    client = service_client(state.settings())
    try:
        sources = configured_sources(config, client)
        now = datetime.now(timezone.utc)
        records = [qc_record(run, fetch_qc(sources, run, now), limits) for run in run_ids]
    finally:
        client.close()
    render(state, records)
    if any(record["status"] == "fail" for record in records):
        raise typer.Exit(int(ExitCode.QC_FAILED))


def render(state: CliState, records: list[dict[str, Any]]) -> None:
    """One record per run, through the output layer (-o table|json|tsv...)."""
    state.render(records, QC_VIEW)


def register(app: typer.Typer) -> None:
    app.command("qc", help=QC_HELP)(qc_cmd)


# --- genoflow list --qc ---------------------------------------------------------------------
LIST_QC_KEYS = ("status", "mean_coverage", "fraction_ge_20x", "duplicate_rate", "ti_tv", "flags")
LIST_QC_COLUMNS = (
    Column("qc.status", "qc"),
    Column("qc.mean_coverage", "mean cov", lambda v: f"{float(v):.1f}"),
    Column("qc.fraction_ge_20x", ">=20x", _pct),
    Column("qc.duplicate_rate", "dup", _pct),
    Column("qc.ti_tv", "Ti/Tv", lambda v: f"{float(v):.2f}"),
)


def with_qc(
    state: CliState, client: ServiceClient, runs: list[Run], view: View
) -> tuple[list[dict[str, Any]], View]:
    """``list --qc``: each run's record with a ``qc`` object (None for a run that recorded
    no qc.json: not finished, failed, or from a pipeline without the qc step; or whose qc.json
    could not be read, said on stderr), and the view with QC columns. One small download per
    run with QC."""
    from genoflow.lake.auto import configured_sources
    from genoflow.lake.qc import has_qc
    from genoflow.qc.fetching import fetch_qc
    from genoflow.qc.thresholds import qc_record

    config = state.settings().config
    limits = config.qc.thresholds.model_dump()
    sources = configured_sources(config, client)
    now = datetime.now(timezone.utc)
    records = []
    for run in runs:
        record = run.to_dict()
        record["qc"] = None
        if has_qc(run):
            try:
                summary = qc_record(run.id, fetch_qc(sources, run.id, now, run), limits)
            except GenoflowError as exc:  # one unreadable qc.json does not hide the list
                state.info(f"run {run.id}: QC not read: {exc.one_line()}")
            else:
                record["qc"] = {key: summary[key] for key in LIST_QC_KEYS}
        records.append(record)
    columns = (*view.columns, *LIST_QC_COLUMNS)
    return records, View(columns=columns, rows=view.rows, title=view.title, notes=view.notes)
