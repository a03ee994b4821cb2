"""``genoflow tier plan|apply|lifecycle-policy``, ``genoflow cost`` and ``genoflow fetch``.

Heavy imports (azure, requests) happen inside the command bodies only.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from genoflow.cli.state import CliState, service_client, state_of
from genoflow.errors import ExitCode, GenoflowError, UsageError

if TYPE_CHECKING:
    from genoflow.tiering.engine import Plan
    from genoflow.tiering.jobs import Inventory
    from genoflow.tiering.policy import Policy
    from genoflow.tiering.prices import PriceTable

tier_app = typer.Typer(
    help="Plan and apply storage-tier moves (safe to run from cron).", no_args_is_help=True
)

POLICY_HELP = "Tiering policy YAML (default: tiering.policy, else the packaged default policy)."
AS_OF_HELP = "Evaluate ages as if it were this UTC time (ISO 8601), e.g. to preview a date."
APPLY_AS_OF_HELP = (
    "Judge ages as of this earlier UTC time (ISO 8601); a future time is refused: preview it "
    "with 'tier plan --as-of'."
)


def _now(as_of: str | None) -> datetime:
    if not as_of:
        return datetime.now(timezone.utc)
    from genoflow.tiering.facts import parse_time

    moment = parse_time(as_of)
    if moment is None:
        raise UsageError(f"--as-of {as_of!r} is not an ISO 8601 time", hint="e.g. 2026-09-01")
    return moment


# Clock skew between hosts allowed before an --as-of counts as the future.
AS_OF_SKEW = timedelta(minutes=5)


def _apply_time(as_of: str | None) -> datetime:
    """The time apply judges ages at: now, or an earlier --as-of, never a later one."""
    moment = _now(as_of)
    if moment > datetime.now(timezone.utc) + AS_OF_SKEW:
        raise UsageError(
            f"--as-of {as_of} is in the future: apply would move blobs before their time",
            hint="preview a later date with 'genoflow tier plan --as-of'; apply acts on ages now",
        )
    return moment


def _policy_and_prices(state: CliState, policy_file: Path | None) -> tuple[Policy, PriceTable]:
    from genoflow.tiering.policy import load_policy
    from genoflow.tiering.prices import load_prices

    tiering = state.settings().config.tiering
    return load_policy(policy_file or tiering.policy), load_prices(tiering.prices)


def _inventory(state: CliState) -> Inventory:
    from genoflow.tiering.jobs import open_stores, read_inventory

    settings = state.settings()
    stores, containers = open_stores(settings.config.storage, settings.config.lake.container)
    client = service_client(settings)
    try:
        return read_inventory(stores, containers, client)
    finally:
        client.close()


@tier_app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    policy: Optional[Path] = typer.Option(None, "--policy", "-p", help=POLICY_HELP),  # noqa: UP045
    allow_delete: bool = typer.Option(False, "--allow-delete", help="Include deletions."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help=AS_OF_HELP),  # noqa: UP045
) -> None:
    """List every blob the policy would change, with totals and costs. Changes nothing."""
    from genoflow.tiering.apply import summary
    from genoflow.tiering.jobs import plan_job

    state = state_of(ctx)
    rules, prices = _policy_and_prices(state, policy)
    now = _now(as_of)
    plan = plan_job(_inventory(state), rules, prices, now, allow_delete=allow_delete)
    if state.json:
        state.emit_json({**summary(plan, None, 0.0), "changes": _changes(plan)})
        return
    _print_plan(state, plan, prices.currency)


def _changes(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "blob": f"{d.blob.container}/{d.blob.name}",
            "size": d.blob.size,
            "tier": d.blob.current_tier,
            "new_tier": d.target,
            "rule": d.rule,
            "reason": d.reason,
            "runs": list(d.run_ids),
        }
        for d in plan.decisions
    ]


def _print_plan(state: CliState, plan: Plan, currency: str) -> None:
    from genoflow.tiering.prices import GIB

    rows = [
        (c["blob"], _gb(c["size"]), c["tier"], c["new_tier"], c["rule"], c["reason"])
        for c in _changes(plan)
    ]
    state.table(
        ["blob", "GB", "tier", "new tier", "rule", "reason"],
        rows,
        title=f"{len(rows)} change(s), {plan.bytes_changed / GIB:.2f} GB",
    )
    out = state.out()
    out.print(
        f"monthly storage: {plan.cost_before:.2f} -> {plan.cost_after:.2f} {currency} "
        f"(of {plan.scanned_blobs} blobs, {plan.scanned_bytes / GIB:.2f} GB)"
    )
    out.print(
        f"early-deletion charges: {plan.early_deletion:.2f} {currency}; "
        f"tier-change writes: {plan.transition_cost:.4f} {currency}"
    )
    for reason, count in sorted(plan.held.items()):
        out.print(f"held: {count} blob(s): {reason}")
    if plan.tag_updates:
        out.print(f"apply will also tag {len(plan.tag_updates)} blob(s) with their run")


def _gb(size: int) -> str:
    return f"{size / 2**30:.2f}"


@tier_app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    policy: Optional[Path] = typer.Option(None, "--policy", "-p", help=POLICY_HELP),  # noqa: UP045
    allow_delete: bool = typer.Option(
        False, "--allow-delete", help="Carry out delete rules (only for deletable roles)."
    ),
    as_of: Optional[str] = typer.Option(None, "--as-of", help=APPLY_AS_OF_HELP),  # noqa: UP045
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
    early (another apply running, an error, SIGTERM from cron's timeout), it still prints one
    JSON line, with ok false and the error, and releases the lock; a rerun finishes the rest.
    """
    import signal

    from genoflow.tiering.apply import stopped_summary
    from genoflow.tiering.jobs import apply_job, open_stores

    # SIGTERM (cron's timeout, systemd stop) unwinds like Ctrl-C: the lock is released at once.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    state = state_of(ctx)
    started = time.monotonic()
    try:
        now = _apply_time(as_of)
        rules, prices = _policy_and_prices(state, policy)
        settings = state.settings()
        stores, containers = open_stores(settings.config.storage, settings.config.lake.container)
        client = service_client(settings)
        try:
            _, result, line = apply_job(
                stores,
                containers,
                client,
                rules,
                prices,
                now,
                allow_delete=allow_delete,
                lock_wait=lock_wait,
            )
        finally:
            client.close()
    except (GenoflowError, KeyboardInterrupt) as exc:
        error = exc.one_line() if isinstance(exc, GenoflowError) else "interrupted"
        state.emit_json(stopped_summary(error, time.monotonic() - started))
        raise
    state.emit_json(line)
    if not result.ok:
        state.info(f"{result.failed} change(s) failed; rerun 'genoflow tier apply' to retry them")
        return int(ExitCode.UNAVAILABLE)
    return int(ExitCode.OK)


@tier_app.command("lifecycle-policy")
def lifecycle_cmd(
    ctx: typer.Context,
    policy: Optional[Path] = typer.Option(None, "--policy", "-p", help=POLICY_HELP),  # noqa: UP045
    output: Optional[Path] = typer.Option(  # noqa: UP045
        None, "-o", "--output", help="Write the JSON to FILE instead of stdout."
    ),
) -> None:
    """Write the Azure lifecycle-management policy equivalent to the policy's age/prefix rules."""
    from genoflow.tiering.lifecycle import lifecycle_policy

    state = state_of(ctx)
    rules, _ = _policy_and_prices(state, policy)
    storage = state.settings().config.storage
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


def cost_cmd(ctx: typer.Context) -> None:
    """Storage inventory by container and tier, monthly cost, and per run: bases, storage, tier."""
    from genoflow.tiering.jobs import cost_job

    state = state_of(ctx)
    _, prices = _policy_and_prices(state, None)
    report = cost_job(_inventory(state), prices)
    if state.json:
        state.emit_json(report.to_dict())
        return
    data = report.to_dict()
    rows = [
        (name, tier, h["blobs"], h["gb"], f"{h['monthly']:.2f}")
        for name, tiers in data["containers"].items()
        for tier, h in tiers.items()
    ]
    state.table(
        ["container", "tier", "blobs", "GB", f"{report.currency}/month"],
        rows,
        title=f"storage: {data['total']['gb']} GB, {data['total']['monthly']:.2f} "
        f"{report.currency}/month ({prices.region} {prices.redundancy})",
    )
    run_rows = [
        (
            r["run"],
            r["state"],
            r["bases_processed"] or "",
            r["blobs"],
            r["gb"],
            ", ".join(r["tiers"]),
            f"{r['monthly']:.2f}",
        )
        for r in data["runs"]
    ]
    state.table(
        ["run", "state", "bases", "blobs", "GB", "tiers", f"{report.currency}/month"],
        run_rows,
        title="per run",
    )
    lake = data["lake"]
    state.out().print(
        f"variant lake (container {lake['container']}): {lake['blobs']} files, {lake['gb']} GB, "
        f"{lake['monthly']:.2f} {report.currency}/month"
    )


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
"""


def fetch_cmd(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., metavar="ID", help="The run whose outputs to download."),
    output_dir: Path = typer.Option(Path("."), "-o", "--output-dir", help="Where to write."),
    only: Optional[str] = typer.Option(  # noqa: UP045
        None, "--only", help="Comma-separated kinds: bam,bai,vcf,gvcf,tbi,logs."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace local files that differ from the outputs."
    ),
) -> None:
    from genoflow.orchestration.fetch import fetch_outputs, parse_kinds
    from genoflow.storage import open_store

    state = state_of(ctx)
    settings = state.settings()
    config = settings.config
    kinds = parse_kinds(only)
    client = service_client(settings)
    try:
        result = fetch_outputs(
            client,
            open_store(config.storage, output=True),
            config.storage.output_container,
            run_id,
            output_dir,
            kinds=kinds,
            now=datetime.now(timezone.utc),
            inputs=(open_store(config.storage), config.storage.input_container),
            progress=state.info,
            overwrite=overwrite,
        )
    finally:
        client.close()
    if state.json:
        state.emit_json(result.to_dict())
    else:
        for item in result.files:
            state.out().print(str(item.path))


def register(app: typer.Typer) -> None:
    app.add_typer(tier_app, name="tier")
    app.command("cost")(cost_cmd)
    app.command("fetch", help=FETCH_HELP)(fetch_cmd)
