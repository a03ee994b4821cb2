"""``genoflow tier plan|apply|lifecycle-policy`` and ``genoflow cost``.

Heavy imports (azure, requests) happen inside the command bodies only.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import typer

from genoflow.cli.output import Column, View, bases_cell, size_cell
from genoflow.cli.state import state_of
from genoflow.errors import ExitCode, GenoflowError, UsageError

tier_app = typer.Typer(
    help="Plan and apply storage-tier moves (safe to run from cron).", no_args_is_help=True
)

POLICY_HELP = "Tiering policy YAML (default: tiering.policy, else the packaged default policy)."
AS_OF_HELP = (
    "Judge ages as if it were this time: an ISO date or time (UTC unless it says), or 30d "
    "(30 days from now), to preview a date."
)
APPLY_AS_OF_HELP = (
    "Judge ages as of this earlier time: an ISO date or time, or 2d (two days ago); a future "
    "time is refused: preview it with 'tier plan --as-of'."
)


def _now(as_of: str | None, future: bool = True) -> datetime:
    """--as-of: an ISO date or time, or an age: ``90d`` is 90 days from now for a plan (a
    preview) and 90 days ago for apply."""
    now = datetime.now(timezone.utc)
    if not as_of:
        return now
    from genoflow.units import parse_moment

    try:
        return parse_moment(as_of, now, future=future)
    except ValueError as exc:
        raise UsageError(f"--as-of: {exc}") from None


# Clock skew between hosts allowed before an --as-of counts as the future.
AS_OF_SKEW = timedelta(minutes=5)


def _apply_time(as_of: str | None) -> datetime:
    """The time apply judges ages at: now, or an earlier --as-of, never a later one."""
    moment = _now(as_of, future=False)
    if moment > datetime.now(timezone.utc) + AS_OF_SKEW:
        raise UsageError(
            f"--as-of {as_of} is in the future: apply would move blobs before their time",
            hint="preview a later date with 'genoflow tier plan --as-of'; apply acts on ages now",
        )
    return moment


@tier_app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    policy: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--policy", "-p", metavar="FILE", help=POLICY_HELP
    ),
    allow_delete: bool = typer.Option(False, "--allow-delete", help="Include deletions."),
    as_of: Optional[str] = typer.Option(  # noqa: UP045
        None, "--as-of", metavar="WHEN", help=AS_OF_HELP
    ),
) -> None:
    """List every blob the policy would change, with totals and costs. Changes nothing.

    \b
    Examples:
      genoflow tier plan
      genoflow tier plan --as-of 90d            # what would move in 90 days
      genoflow tier plan -o json --query planned_bytes
    """
    from genoflow.orchestration.api import plan_tiers

    state = state_of(ctx)
    record = plan_tiers(state.settings(), policy=policy, allow_delete=allow_delete, now=_now(as_of))
    state.render(record, PLAN_VIEW)


def _plan_notes(plan: dict[str, Any]) -> list[str]:
    currency = plan["currency"]
    lines = [
        f"{plan['planned']} change(s), {size_cell(plan['planned_bytes'])}, as of {plan['as_of']}",
        f"monthly storage: {plan['cost_before']:.2f} -> {plan['cost_after']:.2f} {currency} "
        f"(of {plan['scanned']} blobs, {size_cell(plan['scanned_bytes'])})",
        f"early-deletion charges: {plan['early_deletion']:.2f} {currency}; "
        f"tier-change writes: {plan['transition_cost']:.4f} {currency}",
    ]
    lines += [f"held: {count} blob(s): {why}" for why, count in sorted(plan["held"].items())]
    if plan["tag_updates"]:
        lines.append(f"apply will also tag {plan['tag_updates']} blob(s) with their run")
    return lines


PLAN_VIEW = View(
    columns=(
        Column("blob"),
        Column("size", "size", size_cell),
        Column("tier"),
        Column("new_tier", "new tier"),
        Column("rule"),
        Column("reason"),
    ),
    rows="changes",
    notes=_plan_notes,
)


@tier_app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    policy: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--policy", "-p", metavar="FILE", help=POLICY_HELP
    ),
    allow_delete: bool = typer.Option(
        False, "--allow-delete", help="Carry out delete rules (only for deletable roles)."
    ),
    as_of: Optional[str] = typer.Option(  # noqa: UP045
        None, "--as-of", metavar="WHEN", help=APPLY_AS_OF_HELP
    ),
    lock_wait: float = typer.Option(
        0.0,
        "--lock-wait",
        min=0,
        metavar="SECONDS",
        help="If another apply holds the lock, wait up to this long (default: exit at once).",
    ),
) -> int:
    """Apply the plan with Blob Batch; print one JSON summary line; exit 0 only if all succeeded.

    One apply at a time across hosts (a lease on a lock blob in the output container). Stopped
    early (another apply running, an error, SIGTERM from cron's timeout), it still prints its
    summary, with ok false and the error, and releases the lock; a rerun finishes the rest.
    Built for cron, it prints JSON unless -o (or GENOFLOW_OUTPUT) asks for another format.

    \b
    Examples:
      genoflow tier apply -o json >> /var/log/genoflow-tier.log
      genoflow tier apply --lock-wait 600 --allow-delete
    """
    import signal

    from genoflow.orchestration.api import apply_tiers
    from genoflow.tiering.apply import stopped_summary

    state = state_of(ctx)
    if not state.output_chosen:
        state.output = "json"  # built for cron: one JSON line a night unless -o says otherwise
    started = time.monotonic()
    try:
        # SIGTERM (cron's timeout, systemd stop) unwinds like Ctrl-C: the lock is released at
        # once. Set inside the try, so that a SIGTERM arriving right away still gets its line.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        record = apply_tiers(
            state.settings(),
            policy=policy,
            allow_delete=allow_delete,
            now=_apply_time(as_of),
            lock_wait=lock_wait,
        )
    except (GenoflowError, KeyboardInterrupt) as exc:
        error = exc.one_line() if isinstance(exc, GenoflowError) else "interrupted"
        state.render(stopped_summary(error, time.monotonic() - started))
        raise
    state.render(record)
    if not record["ok"]:
        state.info(
            f"{record['failed']} change(s) failed; rerun 'genoflow tier apply' to retry them"
        )
        return int(ExitCode.UNAVAILABLE)
    return int(ExitCode.OK)


@tier_app.command("lifecycle-policy")
def lifecycle_cmd(
    ctx: typer.Context,
    policy: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--policy", "-p", metavar="FILE", help=POLICY_HELP
    ),
    output: Optional[Path] = typer.Option(  # noqa: UP045
        None, "-o", "--output", metavar="FILE", help="Write the JSON to FILE instead of stdout."
    ),
) -> None:
    """Write the Azure lifecycle-management policy equivalent to the policy's age/prefix rules.

    The policy is Azure's own JSON document, written as it is (not through -o).

    \b
    Examples:
      genoflow tier lifecycle-policy -o policy.json
      genoflow tier lifecycle-policy --policy my-tiering.yaml
    """
    from genoflow.tiering.lifecycle import lifecycle_policy
    from genoflow.tiering.policy import load_policy

    state = state_of(ctx)
    state.as_it_is("Azure's lifecycle-management policy JSON", to_file=True)
    config = state.settings().config
    rules = load_policy(policy or config.tiering.policy)
    storage = config.storage
    export = lifecycle_policy(
        rules, {"input": storage.input_container, "output": storage.output_container}
    )
    text = json.dumps(export.policy, indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        state.info(
            f"wrote {output} ({len(export.policy['rules'])} rule(s)); apply it with "
            f"'az storage account management-policy create --policy @{output} ...'"
        )
    else:
        typer.echo(text, nl=False)
    for name, why in export.not_expressed:
        state.info(f"not expressed: rule {name}: {why}")
    for name, what in export.approximated:
        state.info(f"approximated: rule {name}: {what}")


COST_HELP = """\
Storage inventory by container and tier, monthly cost, and per run: bases, storage, tier.

\b
Examples:
  genoflow cost
  genoflow cost -o json --query total.monthly
  genoflow cost -o tsv --query runs
"""


def cost_cmd(ctx: typer.Context) -> None:
    from genoflow.orchestration.api import storage_cost

    state = state_of(ctx)
    record = storage_cost(state.settings())
    state.render(record, _cost_view(record["currency"]))


def _cost_view(currency: str) -> View:
    def notes(data: dict[str, Any]) -> list[str]:
        total, lake = data["total"], data["lake"]
        lines = [
            f"storage: {size_cell(total['bytes'])}, {total['monthly']:.2f} {currency}/month",
            f"variant lake (container {lake['container']}): {lake['blobs']} files, "
            f"{size_cell(lake['bytes'])}, {lake['monthly']:.2f} {currency}/month",
        ]
        for name, tiers in data["containers"].items():
            for tier, h in tiers.items():
                lines.append(
                    f"container {name} {tier}: {h['blobs']} blobs, {size_cell(h['bytes'])}, "
                    f"{h['monthly']:.2f} {currency}/month"
                )
        return lines

    return View(
        columns=(
            Column("run"),
            Column("state"),
            Column("bases_processed", "bases", bases_cell),
            Column("blobs"),
            Column("bytes", "size", size_cell),
            Column("monthly", f"{currency}/month", lambda v: f"{float(v):.2f}"),
        ),
        rows="runs",
        title="per run",
        notes=notes,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(tier_app, name="tier")
    app.command("cost", help=COST_HELP)(cost_cmd)
