"""``genoflow submit | list | status | wait | cancel``, with the old msgen flag spellings.

msgen took several values after one flag (``-b1 A_1.fq.gz B_1.fq.gz``) and booleans as values
(``-bqsr false``); click has neither, so :class:`MsgenCommand` rewrites such argv into the
repeated/``=value`` forms click understands before parsing. Heavy imports stay in the bodies.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand

from genoflow.cli.state import CliState, service_client, state_of
from genoflow.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from genoflow.config.loader import Settings
    from genoflow.model.descriptor import OptionSpec
    from genoflow.model.runs import Run, RunFilters
    from genoflow.orchestration.submit import SheetRow, SubmitOutcome, Submitter

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

API_URL = typer.Option(None, "-u", "--api-url-base", help="Service base URL (service.url).")
ACCESS_KEY = typer.Option(
    None, "-k", "--access-key", help="Subscription key / bearer token (service.api_key)."
)
WORKFLOW_IDS = typer.Option([], "-w", "--workflow-id", help="Run id (msgen spelling).")


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
    app.command("list", cls=MsgenCommand)(list_cmd)
    app.command("status", cls=MsgenCommand)(status)
    app.command("wait", cls=MsgenCommand)(wait)
    app.command("cancel", cls=MsgenCommand)(cancel)
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
        help="Sample name (default: from the first input's name).",
    ),
    samples: Path | None = typer.Option(
        None,
        "--samples",
        metavar="SHEET.csv",
        help="Batch: one run per row (sample,r1,r2,...).",
    ),
    prefix: str = typer.Option(
        "{sample}",
        "--prefix",
        metavar="PREFIX",
        help="Blob folder for uploaded local inputs; {sample} is the sample name, '' the "
        "container root.",
    ),
    process: str | None = typer.Option(None, "-p", "--process-name", "--process"),
    process_args: str | None = typer.Option(
        None,
        "-pa",
        "--process-args",
        help="K=V;K=V, e.g. R=b37m1",
    ),
    reference: str | None = typer.Option(
        None,
        "--reference",
        help="b37m1, hg19m1, hg38m1, hg38m1x",
    ),
    bqsr: str | None = typer.Option(None, "-bqsr", "--bqsr-enabled", metavar="[true|false]"),
    read_group: str | None = typer.Option(None, "-rg", "--read-group"),
    ref_confidence: str | None = typer.Option(
        None, "-erc", "--emit-ref-confidence", help="none or gvcf"
    ),
    bgzip: str | None = typer.Option(None, "-bz", "--bgzip-output", metavar="[true|false]"),
    description: str | None = typer.Option(None, "-d", "--description"),
    output_base: str | None = typer.Option(None, "-of", "--output-filename-base"),
    overwrite: str | None = typer.Option(None, "-ow", "--output-overwrite", metavar="[true|false]"),
    include_logs: str | None = typer.Option(
        None, "-ol", "--output-include-logfiles", metavar="[true|false]"
    ),
    known_sites: list[str] = typer.Option(
        [],
        "--known-sites",
        metavar="VCF",
        help="BQSR known sites (repeatable): a name beside the reference, or a blob URL.",
    ),
    sas_hours: int | None = typer.Option(None, "-sas", "--sas-duration"),
    poll: str | None = typer.Option(None, "-pl", "--poll", help="Same as --wait."),
    input_account: str | None = typer.Option(None, "-ia", "--input-storage-account-name"),
    input_key: str | None = typer.Option(None, "-ik", "--input-storage-account-key"),
    input_container: str | None = typer.Option(None, "-ic", "--input-storage-account-container"),
    output_account: str | None = typer.Option(None, "-oa", "--output-storage-account-name"),
    output_key: str | None = typer.Option(None, "-ok", "--output-storage-account-key"),
    output_container: str | None = typer.Option(None, "-oc", "--output-storage-account-container"),
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
    wait_: bool = typer.Option(False, "--wait", help="Block until the run finishes."),
    timeout: float | None = typer.Option(None, "--timeout", min=0, help="With --wait: seconds."),
    force: bool = typer.Option(False, "--force", help="Submit even if an identical run exists."),
    concurrency: int = typer.Option(
        4, "--concurrency", min=1, max=32, help="Batch: submissions at once."
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
    outcome = _submit_single(state, settings, reads_1, reads_2, sample, prefix, force)
    _report_submit(state, outcome)
    if block:
        _wait_and_exit(state, settings, [outcome.run.id], timeout)


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


def _submit_single(
    state: CliState,
    settings: Settings,
    reads_1: list[str],
    reads_2: list[str],
    sample: str | None,
    prefix: str,
    force: bool,
) -> SubmitOutcome:
    from genoflow.model.submission import check_sample, derive_sample, pair_warnings
    from genoflow.orchestration.submit import (
        open_submitter,
        options_from_settings,
        plan_inputs,
        upload_prefix,
    )

    workflow = settings.config.workflow
    reads_1 = reads_1 or list(workflow.input_blob_name_1)
    reads_2 = reads_2 or list(workflow.input_blob_name_2)
    plan = plan_inputs(reads_1, reads_2)
    name = check_sample(sample or derive_sample(plan.reads_1[0]))
    plan = plan.under(upload_prefix(prefix, name))
    options = options_from_settings(settings, name)
    for warning in pair_warnings(plan.reads_1, plan.reads_2):
        state.info(f"warning: {warning}")
    submitter = open_submitter(settings, force=force, info=state.info)
    return submitter.submit(plan, name, options)


def _report_submit(state: CliState, outcome: SubmitOutcome) -> None:
    run = outcome.run
    if state.json:
        state.emit_json(outcome.to_dict())
        return
    if outcome.existing:
        state.info(
            f"{outcome.sample}: already submitted as run {run.id} ({run.state.value}); "
            "not submitting again (pass --force to submit anyway)"
        )
    else:
        state.info(f"{outcome.sample}: submitted run {run.id}")
    sys.stdout.write(f"{run.id}\n")


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
    from genoflow.orchestration.submit import open_submitter, read_sample_sheet, submit_batch

    rows = read_sample_sheet(sheet)
    submitter = open_submitter(settings, force=force, info=state.info)

    def submit_row(row: SheetRow) -> SubmitOutcome:
        row_overrides = {
            **overrides,
            **{
                key_path: (_sheet_value(row.overrides[column], column), f"{sheet}:{row.line}")
                for column, key_path in _sheet_columns().items()
                if column in row.overrides
            },
        }
        row_settings = load_settings(state.config_file, overrides=row_overrides)
        return _submit_row(submitter, row_settings, row, prefix)

    results = submit_batch(rows, submit_row, concurrency)
    if state.json:
        state.emit_json([result.to_dict() for result in results])
    else:
        state.table(
            ("sample", "line", "result", "run", "state", "detail"),
            [
                (
                    r.sample,
                    r.line,
                    "existing"
                    if r.outcome and r.outcome.existing
                    else "submitted"
                    if r.ok
                    else "FAILED",
                    r.outcome.run.id if r.outcome else "",
                    r.outcome.run.state.value if r.outcome else "",
                    r.error or "",
                )
                for r in results
            ],
        )
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


def _submit_row(
    submitter: Submitter, settings: Settings, row: SheetRow, prefix: str
) -> SubmitOutcome:
    from genoflow.model.submission import check_sample
    from genoflow.orchestration.submit import (
        options_from_settings,
        plan_inputs,
        upload_prefix,
    )

    sample = check_sample(row.sample)
    plan = plan_inputs(row.reads_1, row.reads_2).under(upload_prefix(prefix, sample))
    return submitter.submit(plan, sample, options_from_settings(settings, sample))


# --- list ---------------------------------------------------------------------------------


def list_cmd(
    ctx: typer.Context,
    state_filter: list[str] = typer.Option(
        [],
        "--state",
        help="queued, running, succeeded, failed, cancelled, cancelling (repeatable).",
    ),
    outcome: str | None = typer.Option(None, "-o", "--outcome", help="pass or fail"),
    description: str | None = typer.Option(
        None, "-d", "--description", "--with-description", help="Description contains TEXT."
    ),
    process: str | None = typer.Option(
        None, "-p", "--process", "--with-process", help="Process contains TEXT."
    ),
    since: str | None = typer.Option(None, "--since", help="ISO date or age: 24h, 7d."),
    limit: int = typer.Option(50, "--limit", min=0, help="At most N runs (0: all)."),
    in_range: str | None = typer.Option(
        None,
        "-r",
        "--in-range",
        help="N or N:M over runs oldest first (-1 newest).",
    ),
    as_csv: bool = typer.Option(False, "--csv", help="CSV on stdout."),
    export_to: str | None = typer.Option(
        None,
        "-e",
        "--export-to",
        help="csv (msgen spelling of --csv).",
    ),
    output_file: Path | None = typer.Option(
        None,
        "-of",
        "--output-file",
        help="Write the CSV/JSON here, not stdout.",
    ),
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
) -> None:
    """List runs, newest first (pages are fetched only as far as --limit needs)."""
    from genoflow.orchestration.runs import list_runs

    state = state_of(ctx)
    if export_to is not None and export_to.lower() != "csv":
        raise UsageError(f"-e/--export-to supports csv, not {export_to!r}")
    filters = _filters(state_filter, outcome, description, process, since)
    client = _client(state, api_url, access_key)
    runs = list_runs(client, filters, limit=limit or None, in_range=in_range)
    if as_csv or export_to:
        _write(output_file, _csv(runs))
    elif state.json or output_file:
        import json

        _write(output_file, json.dumps([run.to_dict() for run in runs], default=str) + "\n")
    else:
        _table(state, runs)


def _filters(
    states: list[str],
    outcome: str | None,
    description: str | None,
    process: str | None,
    since: str | None,
) -> RunFilters:
    from genoflow.model.runs import OUTCOME_STATES, Outcome, RunFilters, RunState, parse_since

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
            raise UsageError(f"--outcome {outcome!r} is not pass or fail") from None
    try:
        start = parse_since(since, datetime.now(timezone.utc)) if since else None
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    return RunFilters(
        states=frozenset(wanted), description=description, process=process, since=start
    )


_COLUMNS = (
    "id",
    "state",
    "sample/description",
    "process",
    "created",
    "wall time",
    "bases processed",
)


def _row(run: Run) -> tuple[str, ...]:
    from genoflow.model.runs import format_bases, format_duration

    label = run.sample or run.description or ""
    if run.sample and run.description and run.description != f"sample {run.sample}":
        label = f"{run.sample}: {run.description}"
    return (
        run.id,
        run.state.value,
        label,
        run.process or "",
        run.created.strftime("%Y-%m-%d %H:%M") if run.created else "",
        format_duration(run.wall_time),
        format_bases(run.bases_processed),
    )


def _table(state: CliState, runs: list[Run]) -> None:
    if not runs:
        state.info("no runs")
        return
    state.table(_COLUMNS, [_row(run) for run in runs])


_CSV_FIELDS = (
    "id", "state", "state_name", "message", "description", "sample", "process", "created",
    "ended", "wall_seconds", "bases_processed",
)  # fmt: skip


def _csv(runs: list[Run]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for run in runs:
        data = run.to_dict()
        writer.writerow(["" if data[key] is None else data[key] for key in _CSV_FIELDS])
    return buffer.getvalue()


def _write(path: Path | None, text: str) -> None:
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")


# --- status / wait / cancel -----------------------------------------------------------------


def msgen_line(run: Run) -> str:
    """The old client's display, fixed to lead with the state name (its known bug was to print
    only the Message, so scripts waiting for "Failed" hung)."""
    when = (run.ended or run.created or datetime.now(timezone.utc)).strftime("%m/%d/%Y %H:%M:%S")
    line = f"[{when} - Workflow ID: {run.id}]: Status: {run.state.display_name}"
    return line + (f"; Message: {run.message}" if run.message else "")


def _show_runs(state: CliState, runs: list[Run], fmt: str) -> None:
    if state.json:
        state.emit_json([run.to_dict() for run in runs])
    elif fmt == "msgen":
        for run in runs:
            sys.stdout.write(msgen_line(run) + "\n")
    else:
        state.table(
            ("id", "state", "message"),
            [(run.id, run.state.value, run.message or "") for run in runs],
        )


def status(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(None, metavar="ID...", show_default=False),
    workflow_ids: list[str] = WORKFLOW_IDS,
    fmt: str = typer.Option("table", "--format", help="table or msgen (the old one-liner)."),
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
) -> None:
    """Show runs' states. Exit 0 succeeded, 10 queued, 20 in progress, 3 failed, 4 cancelled
    (with several runs: the most alarming)."""
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


def wait(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(None, metavar="ID...", show_default=False),
    workflow_ids: list[str] = WORKFLOW_IDS,
    timeout: float | None = typer.Option(None, "--timeout", min=0, help="Give up after S seconds."),
    fmt: str = typer.Option("table", "--format", help="table or msgen."),
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
) -> None:
    """Wait until runs finish. Exit 0 all succeeded, 3 one failed, 4 one cancelled, 5 timed
    out."""
    state = state_of(ctx)
    ids = _ids(run_ids or [], workflow_ids)
    _check_format(fmt)
    settings = state.settings(overrides=_service_overrides(api_url, access_key))
    _wait_and_exit(state, settings, ids, timeout, fmt)


def _wait_and_exit(
    state: CliState, settings: Settings, ids: list[str], timeout: float | None, fmt: str = "table"
) -> None:
    from genoflow.orchestration.runs import Waiter, wait_exit_code
    from genoflow.protocols import open_client

    settings.require("service.url", flag="-u/--api-url-base")
    service = settings.config.service
    waiter = Waiter(
        open_client(service),
        service.poll_interval,
        service.poll_max_interval,
        on_change=lambda run: state.info(f"run {run.id}: {run.state.display_name}"),
    )
    runs = waiter.wait(ids, timeout)
    from genoflow.lake.auto import add_succeeded

    # lake.auto: succeeded runs go to the variant lake; a failure there is one line, never
    # the wait's exit code.
    add_succeeded(settings.config, waiter.client, runs, state.info)
    _show_runs(state, runs, fmt)
    raise typer.Exit(int(wait_exit_code(runs)))


def cancel(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(None, metavar="ID...", show_default=False),
    workflow_ids: list[str] = WORKFLOW_IDS,
    api_url: str | None = API_URL,
    access_key: str | None = ACCESS_KEY,
) -> None:
    """Cancel runs. Idempotent: a run that already finished is left alone (exit 0). A WES
    server that accepts a cancel but does not carry it out (the run is still running some
    seconds later, e.g. wes-server with cwltool) is reported: exit 6."""
    from genoflow.orchestration.runs import cancel_runs

    state = state_of(ctx)
    ids = _ids(run_ids or [], workflow_ids)
    outcomes = cancel_runs(_client(state, api_url, access_key), ids)
    if state.json:
        state.emit_json([outcome.to_dict() for outcome in outcomes])
    else:
        for outcome in outcomes:
            _report_cancel(state, outcome)
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
    sys.stdout.write(f"{run.id}\t{run.state.value}\n")


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
    settings = state.settings(overrides=_service_overrides(api_url, access_key))
    client = service_client(settings, flag="-u/--api-url-base")

    def write(text: str) -> None:
        sys.stdout.write(redact(text))
        sys.stdout.flush()

    try:
        run = show_log(
            client, run_id, write, follow=follow, interval=settings.config.service.poll_interval
        )
    finally:
        client.close()
    if follow:
        state.info(f"run {run.id}: {run.state.display_name}")
        raise typer.Exit(int(wait_exit_code([run])))
