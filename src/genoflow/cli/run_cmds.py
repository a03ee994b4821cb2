"""``genoflow submit | list | status | wait | cancel``, with the old msgen flag spellings.

msgen took several values after one flag (``-b1 A_1.fq.gz B_1.fq.gz``) and booleans as values
(``-bqsr false``); click has neither, so :class:`MsgenCommand` rewrites such argv into the
repeated/``=value`` forms click understands before parsing. Heavy imports stay in the bodies.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand

from genoflow.cli.output import Column, View, bases_cell, duration_cell
from genoflow.cli.state import CliState, service_client, state_of
from genoflow.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from genoflow.config.loader import Settings
    from genoflow.model.descriptor import OptionSpec
    from genoflow.model.runs import Run, RunFilters
    from genoflow.orchestration.submit import SheetRow, SubmitOutcome

MULTI_VALUE = frozenset(
    {
        "-b1",
        "-b2",
        "--input-blob-name-1",
        "--input-blob-name-2",
        "--r1",
        "--r2",
        "-w",
        "--workflow-id",
    }
)
BOOL_VALUE = frozenset(
    {
        "-bqsr",
        "--bqsr-enabled",
        "-bz",
        "--bgzip-output",
        "-ow",
        "--output-overwrite",
        "-ol",
        "--output-include-logfiles",
        "-pl",
        "--poll",
    }
)
_BOOL_WORDS = {
    "true": "true",
    "false": "false",
    "yes": "true",
    "no": "false",
    "1": "true",
    "0": "false",
    "on": "true",
    "off": "false",
}


def msgen_argv(args: Sequence[str]) -> list[str]:
    """``-b1 A B`` -> ``-b1 A -b1 B``; ``-bqsr`` / ``-bqsr false`` -> ``-bqsr=true|false``."""
    out: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if token == "--":
            out.extend(args[index - 1 :])
            break
        if token in MULTI_VALUE:
            start = index
            while index < len(args) and not args[index].startswith("-"):
                out.extend((token, args[index]))
                index += 1
            if index == start:
                out.append(token)  # no value: let click say so
        elif token in BOOL_VALUE:
            word = args[index].lower() if index < len(args) else ""
            if word in _BOOL_WORDS:
                out.append(f"{token}={_BOOL_WORDS[word]}")
                index += 1
            else:
                out.append(f"{token}=true")
        else:
            out.append(token)
    return out


class MsgenCommand(TyperCommand):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, msgen_argv(args))


def _bool(value: str | None, flag: str) -> bool | None:
    if value is None:
        return None
    word = _BOOL_WORDS.get(value.strip().lower())
    if word is None:
        raise UsageError(f"{flag} takes true or false, not {value!r}")
    return word == "true"


# --- shared service options ---------------------------------------------------------------

API_URL = typer.Option(
    None, "-u", "--api-url-base", metavar="URL", help="Service base URL (service.url)."
)
ACCESS_KEY = typer.Option(
    None,
    "-k",
    "--access-key",
    metavar="KEY",
    help="Subscription key / bearer token (service.api_key).",
)
WORKFLOW_IDS = typer.Option(
    [], "-w", "--workflow-id", metavar="ID...", help="Run id(s) (msgen spelling)."
)


def _service_overrides(url: str | None, key: str | None) -> dict[str, tuple[Any, str]]:
    return {"service.url": (url, "flag -u"), "service.api_key": (key, "flag -k")}


def _client(state: CliState, url: str | None, key: str | None) -> Any:
    settings = state.settings(overrides=_service_overrides(url, key))
    return service_client(settings, flag="-u/--api-url-base")


def _ids(positional: list[str], flagged: list[str]) -> list[str]:
    ids = [*positional, *flagged]
    if not ids:
        raise UsageError("no run id given", hint="pass one or more ids, or -w ID")
    return ids


def register(app: typer.Typer) -> None:
    app.command("submit", cls=MsgenCommand)(submit)
    app.command("list", cls=MsgenCommand, help=LIST_HELP)(list_cmd)
    app.command("status", cls=MsgenCommand, help=STATUS_HELP)(status)
    app.command("wait", cls=MsgenCommand, help=WAIT_HELP)(wait)
    app.command("cancel", cls=MsgenCommand, help=CANCEL_HELP)(cancel)
    app.command("logs", help=LOGS_HELP)(logs)


# --- submit -------------------------------------------------------------------------------


def submit(
    ctx: typer.Context,
    reads_1: list[str] = typer.Option(
        [],
        "-b1",
        "--input-blob-name-1",
        "--r1",
        metavar="FILE...",
        help="Read-1 FASTQ files (local or blob names), or a BAM.",
    ),
    reads_2: list[str] = typer.Option(
        [],
        "-b2",
        "--input-blob-name-2",
        "--r2",
        metavar="FILE...",
        help="Read-2 FASTQ files, in the same order as -b1.",
    ),
    sample: str | None = typer.Option(
        None,
        "--sample",
        metavar="NAME",
        help="Sample name (default: from the first input's name).",
    ),
    samples: Path | None = typer.Option(
        None,
        "--samples",
        metavar="SHEET",
        help="Batch: a CSV or TSV sample sheet, one run per row (columns sample, r1, r2, ...: "
        "see docs/submit.md).",
    ),
    prefix: str = typer.Option(
        "{sample}",
        "--prefix",
        metavar="PREFIX",
        help="Blob folder for uploaded local inputs; {sample} is the sample name, '' the "
        "container root.",
    ),
    process: str | None = typer.Option(
        None,
        "-p",
        "--process-name",
        "--process",
        metavar="NAME",
        help="Pipeline process name (default snapgatk: BWA + GATK).",
    ),
    process_args: str | None = typer.Option(
        None,
        "-pa",
        "--process-args",
        metavar="K=V;...",
        help="Process arguments, e.g. R=b37m1 (the reference).",
    ),
    reference: str | None = typer.Option(
        None,
        "--reference",
        metavar="NAME",
        help="Reference genome name: b37m1, hg19m1, hg38m1, hg38m1x, or one the server knows.",
    ),
    bqsr: str | None = typer.Option(
        None,
        "-bqsr",
        "--bqsr-enabled",
        metavar="[true|false]",
        help="Base quality score recalibration (default true).",
    ),
    read_group: str | None = typer.Option(
        None,
        "-rg",
        "--read-group",
        metavar="'@RG\\tID:..'",
        help="Read group line for the BAM header (starts @RG, at most 1000 characters).",
    ),
    ref_confidence: str | None = typer.Option(
        None,
        "-erc",
        "--emit-ref-confidence",
        metavar="none|gvcf",
        help="gvcf writes a gVCF (<base>.g.vcf) instead of a VCF (default none).",
    ),
    bgzip: str | None = typer.Option(
        None,
        "-bz",
        "--bgzip-output",
        metavar="[true|false]",
        help="bgzip the VCF and write a .tbi index (default: true for gVCF, else false).",
    ),
    description: str | None = typer.Option(
        None,
        "-d",
        "--description",
        metavar="DESCRIPTION",
        help="Free text kept with the run (at most 500 characters).",
    ),
    output_base: str | None = typer.Option(
        None,
        "-of",
        "--output-filename-base",
        metavar="BASE",
        help="Write BASE.bam, BASE.vcf... (may hold '/'); default: a folder per run.",
    ),
    overwrite: str | None = typer.Option(
        None,
        "-ow",
        "--output-overwrite",
        metavar="[true|false]",
        help="Replace existing outputs of the same name (default false: the run fails).",
    ),
    include_logs: str | None = typer.Option(
        None,
        "-ol",
        "--output-include-logfiles",
        metavar="[true|false]",
        help="Also write <base>.logs.zip with the tools' logs (default true).",
    ),
    known_sites: list[str] = typer.Option(
        [],
        "--known-sites",
        metavar="VCF",
        help="BQSR known sites (repeatable): a name beside the reference, or a blob URL.",
    ),
    sas_hours: int | None = typer.Option(
        None,
        "-sas",
        "--sas-duration",
        metavar="HOURS",
        help="Lifetime of the SAS tokens the service gets (default 48).",
    ),
    poll: str | None = typer.Option(
        None, "-pl", "--poll", metavar="[true|false]", help="Same as --wait (msgen spelling)."
    ),
    input_account: str | None = typer.Option(
        None,
        "-ia",
        "--input-storage-account-name",
        metavar="ACCOUNT",
        help="Storage account of the inputs (storage.account_name).",
    ),
    input_key: str | None = typer.Option(
        None,
        "-ik",
        "--input-storage-account-key",
        metavar="KEY",
        help="Its account key (storage.account_key; better in the config or environment).",
    ),
    input_container: str | None = typer.Option(
        None,
        "-ic",
        "--input-storage-account-container",
        metavar="CONTAINER",
        help="Container of the inputs (storage.input_container).",
    ),
    output_account: str | None = typer.Option(
        None,
        "-oa",
        "--output-storage-account-name",
        metavar="ACCOUNT",
        help="Storage account for the outputs (default: the input account).",
    ),
    output_key: str | None = typer.Option(
        None,
        "-ok",
        "--output-storage-account-key",
        metavar="KEY",
        help="Its account key (storage.output_account_key).",
    ),
    output_container: str | None = typer.Option(
        None,
        "-oc",
        "--output-storage-account-container",
        metavar="CONTAINER",
        help="Container for the outputs (storage.output_container).",
    ),
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
    wait_: bool = typer.Option(False, "--wait", help="Block until the run finishes."),
    timeout: float | None = typer.Option(
        None, "--timeout", min=0, metavar="SECONDS", help="With --wait: give up after this long."
    ),
    force: bool = typer.Option(False, "--force", help="Submit even if an identical run exists."),
    concurrency: int = typer.Option(
        4, "--concurrency", min=1, max=32, metavar="N", help="Batch: submissions at once (1-32)."
    ),
) -> None:
    """Submit an alignment + variant-calling run (uploading local inputs first).

    Local files are uploaded to <sample>/<file name> (see --prefix). Without -of each run
    writes its outputs into its own folder, <sample>/<8 characters of its submission key>/
    <sample>.bam ...; -of BASE writes BASE.bam ... as msgen did. Submitting the same inputs
    with the same options again returns the existing run (exit 0) unless --force, which
    makes a new run in a new folder. Exit codes with --wait: 0 succeeded, 3 failed,
    4 cancelled, 5 timed out.

    \b
    Examples:
      genoflow submit -b1 NA12878_R1.fq.gz -b2 NA12878_R2.fq.gz --wait
      genoflow submit --samples sheet.csv --prefix 'batch7/{sample}'
      genoflow submit -b1 NA12878.bam -of NA12878-rerun
    """
    state = state_of(ctx)
    overrides = {
        **_service_overrides(api_url, access_key),
        **_option_overrides(ctx.params),
        "workflow.sas_duration_hours": (sas_hours, "flag -sas"),
        "storage.account_name": (input_account, "flag -ia"),
        "storage.account_key": (input_key, "flag -ik"),
        "storage.input_container": (input_container, "flag -ic"),
        "storage.output_account_name": (output_account, "flag -oa"),
        "storage.output_account_key": (output_key, "flag -ok"),
        "storage.output_container": (output_container, "flag -oc"),
    }
    settings = state.settings(overrides=overrides)
    block = wait_ or bool(_bool(poll, "-pl")) or settings.config.workflow.poll
    if samples is not None:
        if reads_1 or reads_2 or sample:
            raise UsageError("--samples cannot be combined with -b1/-b2/--sample")
        _submit_batch(state, settings, overrides, samples, prefix, force, concurrency)
        return
    from genoflow.orchestration import api

    with state.progress("upload", settings) as tracker_for:  # the inputs' uploads
        outcome = api.submit_sample(
            settings,
            reads_1,
            reads_2,
            sample=sample,
            prefix=prefix,
            force=force,
            info=state.info,
            tracker_for=tracker_for,
        )
    _announce_submit(state, outcome)
    if not block:
        state.render(api.outcome_record(outcome), SUBMIT_VIEW)
        _next_steps(state, outcome.run.id)
        return
    from genoflow.orchestration.runs import wait_exit_code
    from genoflow.orchestration.submit import with_run

    runs = api.wait_runs(settings, [outcome.run.id], timeout=timeout, info=state.info)
    state.render(api.outcome_record(with_run(outcome, runs[0])), SUBMIT_VIEW)
    raise typer.Exit(int(wait_exit_code(runs)))


def _option_overrides(params: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
    """The run options' flags as config overrides, by the descriptor's table."""
    from genoflow.model.descriptor import OPTIONS

    return {
        spec.config_path: (_flag_value(params[spec.param], spec), f"flag {spec.flag}")
        for spec in OPTIONS
    }


def _flag_value(value: Any, spec: OptionSpec) -> Any:
    if value is None or value == []:
        return None  # not given: the file, environment or default decides
    if spec.kind == "bool":
        return _bool(value, spec.flag)
    return value.lower() if spec.kind == "lower" else value


# As a table a submission is its run id alone, so ID=$(genoflow submit ...) captures the id
# (what is happening goes to stderr); -o json/yaml/tsv give the whole record.
SUBMIT_VIEW = View(bare="id")


def _announce_submit(state: CliState, outcome: SubmitOutcome) -> None:
    run = outcome.run
    if outcome.existing:
        state.info(
            f"{outcome.sample}: already submitted as run {run.id} ({run.state.value}); "
            "not submitting again (pass --force to submit anyway)"
        )
    else:
        state.info(f"{outcome.sample}: submitted run {run.id}")


def _next_steps(state: CliState, run_id: str) -> None:
    """dsub-style hints, for people only: on a terminal's stderr and not with -o json."""
    if state.json or state.quiet or not sys.stderr.isatty():
        return
    state.info(
        f"next: 'genoflow status {run_id}' (its state now), 'genoflow wait {run_id}' (block "
        f"until it ends), 'genoflow logs {run_id} --follow', 'genoflow cancel {run_id}'"
    )


BATCH_VIEW = View(
    columns=(
        Column("sample"),
        Column("line"),
        Column("ok", "result", lambda ok: "submitted" if ok else "FAILED"),
        Column("existing", "existing run", lambda v: "yes" if v else "no"),
        Column("id", "run"),
        Column("state"),
        Column("error", "detail"),
    )
)


def _submit_batch(
    state: CliState,
    settings: Settings,
    overrides: Mapping[str, tuple[Any, str]],
    sheet: Path,
    prefix: str,
    force: bool,
    concurrency: int,
) -> None:
    from genoflow.config.loader import load_settings
    from genoflow.orchestration import api

    def row_settings(row: SheetRow) -> Settings:
        row_overrides = {
            **overrides,
            **{
                key_path: (_sheet_value(row.overrides[column], column), f"{sheet}:{row.line}")
                for column, key_path in _sheet_columns().items()
                if column in row.overrides
            },
        }
        return load_settings(state.config_file, overrides=row_overrides)

    with state.progress("upload", settings) as tracker_for:
        results = api.submit_sheet(
            settings,
            sheet,
            row_settings,
            prefix=prefix,
            force=force,
            concurrency=concurrency,
            info=state.info,
            tracker_for=tracker_for,
        )
    state.render([api.batch_record(result) for result in results], BATCH_VIEW)
    failed = sum(not result.ok for result in results)
    if failed:
        state.info(f"{failed} of {len(results)} sample(s) could not be submitted")
        raise typer.Exit(int(ExitCode.USAGE))


def _sheet_columns() -> dict[str, str]:
    from genoflow.orchestration.submit import SHEET_OVERRIDES

    return SHEET_OVERRIDES


def _sheet_value(text: str, column: str = "") -> Any:
    from genoflow.model.descriptor import OPTIONS

    if any(spec.sheet == column and spec.kind == "list" for spec in OPTIONS):
        return [part for part in text.split(";") if part]  # several values: a;b
    lowered = text.lower()
    return _BOOL_WORDS[lowered] == "true" if lowered in ("true", "false") else text


# --- list ---------------------------------------------------------------------------------

LIST_HELP = """\
List runs, newest first (pages are fetched only as far as --limit needs).

In 'list', -o pass or -o fail is msgen's outcome filter (succeeded or failed runs); any other
-o value is the output format (json, tsv, ...): the two sets of values do not overlap.
--since and --until take an age (24h, 7d: that long ago) or an ISO date or time (2026-05-01,
2026-05-01T12:00Z; UTC unless it says).

\b
Examples:
  genoflow list --since 7d
  genoflow list -o fail --limit 10
  genoflow list --state succeeded --qc
  genoflow list -o json --query "[?state=='succeeded'].id"
  genoflow list -o tsv | awk -F'\\t' '$2 == "failed" {print $1}'
"""


def list_cmd(
    ctx: typer.Context,
    state_filter: list[str] = typer.Option(
        [],
        "--state",
        metavar="STATE",
        help="queued, running, succeeded, failed, cancelled, cancelling (repeatable).",
    ),
    outcome: str | None = typer.Option(
        None,
        "-o",
        "--outcome",
        metavar="pass|fail",
        help="Only succeeded (pass) or failed (fail) runs. -o FORMAT is the output format.",
    ),
    description: str | None = typer.Option(
        None,
        "-d",
        "--description",
        "--with-description",
        metavar="WORDS",
        help="Only runs whose description contains WORDS.",
    ),
    process: str | None = typer.Option(
        None,
        "-p",
        "--process",
        "--with-process",
        metavar="WORDS",
        help="Only runs whose process name contains WORDS.",
    ),
    since: str | None = typer.Option(
        None, "--since", metavar="WHEN", help="Created since: 24h, 7d, 2026-05-01, ISO time."
    ),
    until: str | None = typer.Option(
        None, "--until", metavar="WHEN", help="Created at or before: 24h (ago), a date or time."
    ),
    limit: int = typer.Option(50, "--limit", min=0, metavar="N", help="At most N runs (0: all)."),
    in_range: str | None = typer.Option(
        None,
        "-r",
        "--in-range",
        metavar="N[:M]",
        help="N or N:M over runs oldest first (-1 newest).",
    ),
    as_csv: bool = typer.Option(False, "--csv", help="Same as -o csv."),
    export_to: str | None = typer.Option(
        None,
        "-e",
        "--export-to",
        metavar="csv",
        help="csv (msgen spelling of -o csv).",
    ),
    output_file: Path | None = typer.Option(
        None,
        "-of",
        "--output-file",
        metavar="FILE",
        help="Write the output here, not to stdout (JSON unless -o/--csv says otherwise).",
    ),
    with_qc: bool = typer.Option(
        False, "--qc", help="Add QC columns from each run's qc.json (genoflow qc; docs/qc.md)."
    ),
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
) -> None:
    from genoflow.orchestration.runs import list_runs

    state = state_of(ctx)
    if export_to is not None and export_to.lower() != "csv":
        raise UsageError(f"-e/--export-to supports csv, not {export_to!r}")
    filters = _filters(state_filter, outcome, description, process, since, until)
    client = _client(state, api_url, access_key)
    runs = list_runs(client, filters, limit=limit or None, in_range=in_range)
    if as_csv or export_to:
        state.output = "csv"
    elif output_file is not None and state.output == "table":
        state.output = "json"  # msgen's -of wrote a file for programs
    if not runs and state.output == "table":
        state.info("no runs")
        return
    if with_qc:
        from genoflow.cli.qc_cmds import with_qc as qc_columns

        records, view = qc_columns(state, client, runs, RUN_VIEW)
        _render_to(state, output_file, records, view)
        return
    _render_to(state, output_file, [run.to_dict() for run in runs], RUN_VIEW)


def _render_to(state: CliState, path: Path | None, doc: Any, view: View) -> None:
    if path is None:
        state.render(doc, view)
        return
    from genoflow.cli.output import Target, render

    with path.open("w", encoding="utf-8") as stream:
        render(doc, Target(stream, False, state.output, state.query), view)


def _filters(
    states: list[str],
    outcome: str | None,
    description: str | None,
    process: str | None,
    since: str | None,
    until: str | None = None,
) -> RunFilters:
    from genoflow.model.runs import OUTCOME_STATES, Outcome, RunFilters, RunState
    from genoflow.units import parse_moment

    wanted: set[RunState] = set()
    for name in states:
        try:
            wanted.add(RunState(name.lower()))
        except ValueError:
            raise UsageError(
                f"--state {name!r} is not one of {', '.join(s.value for s in RunState)}"
            ) from None
    if outcome is not None:
        try:
            wanted.add(OUTCOME_STATES[Outcome(outcome.lower())])
        except ValueError:
            raise UsageError(
                f"-o/--outcome {outcome!r} is neither pass nor fail nor an output format",
                hint="output formats: json, jsonc, table, tsv, csv, yaml, none",
            ) from None
    now = datetime.now(timezone.utc)
    moments = {}
    for flag, text in (("--since", since), ("--until", until)):
        try:
            moments[flag] = parse_moment(text, now) if text else None
        except ValueError as exc:
            raise UsageError(f"{flag}: {exc}") from None
    start, end = moments["--since"], moments["--until"]
    if start is not None and end is not None and start > end:
        from genoflow.units import iso_z

        raise UsageError(
            f"--since {since} ({iso_z(start)}) is after --until {until} ({iso_z(end)}): "
            "no run can match",
            hint="--since is the older bound: e.g. --since 30d --until 7d",
        )
    return RunFilters(
        states=frozenset(wanted),
        description=description,
        process=process,
        since=moments["--since"],
        until=moments["--until"],
    )


def _time(text: str) -> str:
    from genoflow.units import format_time, parse_time

    return format_time(parse_time(text))


RUN_VIEW = View(
    columns=(
        Column("id"),
        Column("state"),
        Column("sample"),
        Column("description"),
        Column("process"),
        Column("created", "created (UTC)", _time),
        Column("wall_seconds", "wall time", duration_cell),
        Column("bases_processed", "bases", bases_cell),
    )
)


# --- status / wait / cancel -----------------------------------------------------------------


def msgen_line(run: Run) -> str:
    """The old client's display, fixed to lead with the state name (its known bug was to print
    only the Message, so scripts waiting for "Failed" hung)."""
    when = (run.ended or run.created or datetime.now(timezone.utc)).strftime("%m/%d/%Y %H:%M:%S")
    line = f"[{when} - Workflow ID: {run.id}]: Status: {run.state.display_name}"
    return line + (f"; Message: {run.message}" if run.message else "")


STATUS_VIEW = View(columns=(Column("id"), Column("state"), Column("message")))


def _show_runs(state: CliState, runs: list[Run], fmt: str) -> None:
    if fmt == "msgen" and state.output == "table" and not state.query:
        for run in runs:
            sys.stdout.write(msgen_line(run) + "\n")
        return
    state.render([run.to_dict() for run in runs], STATUS_VIEW)


STATUS_HELP = """\
Show runs' states. Exit 0 succeeded, 10 queued, 20 in progress, 3 failed, 4 cancelled (with
several runs: the most alarming).

\b
Examples:
  genoflow status 12
  genoflow status 12 13 -o json
  genoflow status -w 12 --format msgen     # the old msgen one-liner
"""


RUN_IDS = typer.Argument(
    None, metavar="ID...", show_default=False, help="Run ids (or give them with -w)."
)


def status(
    ctx: typer.Context,
    run_ids: list[str] = RUN_IDS,
    workflow_ids: list[str] = WORKFLOW_IDS,
    fmt: str = typer.Option(
        "table", "--format", metavar="table|msgen", help="msgen: the old one-line display."
    ),
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
) -> None:
    from genoflow.model.runs import combined_exit_code
    from genoflow.orchestration.runs import get_runs

    state = state_of(ctx)
    ids = _ids(run_ids or [], workflow_ids)
    _check_format(fmt)
    runs = get_runs(_client(state, api_url, access_key), ids)
    _show_runs(state, runs, fmt)
    raise typer.Exit(int(combined_exit_code([run.state for run in runs])))


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "msgen"):
        raise UsageError(f"--format {fmt!r} is not table or msgen")


WAIT_HELP = """\
Wait until runs finish, printing each state change on stderr. Exit 0 all succeeded, 3 one
failed, 4 one cancelled, 5 timed out. With lake.auto on, succeeded runs are added to the
variant lake.

\b
Examples:
  genoflow wait 12
  genoflow wait 12 13 --timeout 7200 -o json
  genoflow wait 12 -o tsv --query "[0].state"
"""


def wait(
    ctx: typer.Context,
    run_ids: list[str] = RUN_IDS,
    workflow_ids: list[str] = WORKFLOW_IDS,
    timeout: float | None = typer.Option(
        None, "--timeout", min=0, metavar="SECONDS", help="Give up after this long (exit 5)."
    ),
    fmt: str = typer.Option(
        "table", "--format", metavar="table|msgen", help="msgen: the old one-line display."
    ),
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
) -> None:
    from genoflow.orchestration import api
    from genoflow.orchestration.runs import wait_exit_code

    state = state_of(ctx)
    ids = _ids(run_ids or [], workflow_ids)
    _check_format(fmt)
    settings = state.settings(overrides=_service_overrides(api_url, access_key))
    runs = api.wait_runs(settings, ids, timeout=timeout, info=state.info)
    _show_runs(state, runs, fmt)
    raise typer.Exit(int(wait_exit_code(runs)))


CANCEL_HELP = """\
Cancel runs. Idempotent: a run that already finished is left alone (exit 0). A WES server
that accepts a cancel but does not carry it out (the run is still running some seconds later,
e.g. wes-server with cwltool) is reported: exit 6.

\b
Examples:
  genoflow cancel 12
  genoflow cancel 12 13 -o json
"""

CANCEL_VIEW = View(
    columns=(
        Column("id"),
        Column("state"),
        Column("already_finished", "already finished", lambda v: "yes" if v else "no"),
        Column("ignored", "ignored by service", lambda v: "yes" if v else "no"),
    )
)


def cancel(
    ctx: typer.Context,
    run_ids: list[str] = RUN_IDS,
    workflow_ids: list[str] = WORKFLOW_IDS,
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
) -> None:
    from genoflow.orchestration import api
    from genoflow.orchestration.runs import cancel_runs

    state = state_of(ctx)
    ids = _ids(run_ids or [], workflow_ids)
    outcomes = cancel_runs(_client(state, api_url, access_key), ids)
    for outcome in outcomes:
        _report_cancel(state, outcome)
    state.render([api.outcome_record(outcome) for outcome in outcomes], CANCEL_VIEW)
    if any(outcome.ignored for outcome in outcomes):
        raise typer.Exit(int(ExitCode.UNAVAILABLE))


def _report_cancel(state: CliState, outcome: Any) -> None:
    from genoflow.model.runs import RunState

    run = outcome.run
    if outcome.already_finished:
        state.info(f"run {run.id} is already {run.state.display_name.lower()}: nothing to cancel")
    elif run.state.terminal and run.state is not RunState.CANCELLED:
        state.info(f"run {run.id} ended before the cancel took effect: {run.state.display_name}")
    elif outcome.ignored:
        state.info(
            f"run {run.id}: the service accepted the cancel but did not carry it out: the run "
            f"is still {run.state.display_name.lower()} (this server does not stop runs)"
        )
    else:
        state.info(f"run {run.id}: cancellation requested ({run.state.display_name})")


# --- logs -----------------------------------------------------------------------------------

LOGS_HELP = """\
Print a run's log: the pipeline engine's and each tool's stderr, as the service keeps it
(secrets redacted). Works while the run goes on and after it ended, failed and cancelled
runs included. With --follow, new lines are printed as they come until the run ends; then
the exit code is the run's: 0 succeeded, 3 failed, 4 cancelled.

\b
Examples:
  genoflow logs 12
  genoflow logs 12 --follow
  genoflow logs 12 > run-12.log
  genoflow logs 12 -o json --query log
"""


def logs(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., metavar="ID", help="The run whose log to print."),
    follow: bool = typer.Option(False, "--follow", help="Keep printing until the run ends."),
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
) -> None:
    from genoflow.orchestration.runs import show_log, wait_exit_code
    from genoflow.redact import redact

    state = state_of(ctx)
    if follow:  # a stream, printed as it comes: no document for -o FORMAT or --query
        state.as_it_is("the log as it comes (--follow)")
    settings = state.settings(overrides=_service_overrides(api_url, access_key))
    client = service_client(settings, flag="-u/--api-url-base")

    # As text by default (a stream: --follow prints lines as they come); with another -o or a
    # --query the log is one document, {"id", "state", "log"}, once the service has answered.
    as_document = not follow and (state.output != "table" or state.query is not None)
    collected: list[str] | None = [] if as_document else None

    def write(text: str) -> None:
        if collected is not None:
            collected.append(redact(text))
            return
        sys.stdout.write(redact(text))
        sys.stdout.flush()

    try:
        run = show_log(
            client, run_id, write, follow=follow, interval=settings.config.service.poll_interval
        )
    finally:
        client.close()
    if collected is not None:
        state.render({"id": run.id, "state": run.state.value, "log": "".join(collected)})
    if follow:
        state.info(f"run {run.id}: {run.state.display_name}")
        raise typer.Exit(int(wait_exit_code([run])))
