"""The use cases as library calls: submit a sample or a sheet, wait, fetch, plan and apply
tiers, storage cost.

Each takes loaded :class:`Settings` and returns records (plain dicts in the published schemas,
``genoflow/schemas``) or the model objects they are made from. The CLI parses its flags, calls
one of these and renders the record; the demo calls them directly. Nothing here prints: people
get lines through ``info``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genoflow.config.loader import Settings
    from genoflow.model.runs import Run
    from genoflow.orchestration.fetch import FetchResult
    from genoflow.orchestration.runs import CancelOutcome
    from genoflow.orchestration.submit import BatchResult, SheetRow, SubmitOutcome
    from genoflow.protocols.base import ServiceClient
    from genoflow.tiering.jobs import Inventory
    from genoflow.tiering.policy import Policy
    from genoflow.tiering.prices import PriceTable
    from genoflow.transfer.progress import Tracker

log = logging.getLogger(__name__)
Info = Callable[[str], None]


# --- records ----------------------------------------------------------------------------------


def outcome_record(outcome: SubmitOutcome | CancelOutcome) -> dict[str, Any]:
    """schemas/submission or schemas/cancel: the run's id and state on top (``--query id``),
    then what submit or cancel did."""
    return {"id": outcome.run.id, "state": outcome.run.state.value, **outcome.to_dict()}


def batch_record(result: BatchResult) -> dict[str, Any]:
    """schemas/submission (a sheet row): ``ok``/``error`` say whether the row was submitted."""
    base: dict[str, Any] = {"sample": result.sample, "line": result.line, "ok": result.ok}
    if result.outcome is None:
        return {**base, "id": None, "state": None, "error": result.error}
    return {**base, **outcome_record(result.outcome), "error": None}


def transfer_record(summary: Mapping[str, Any]) -> dict[str, Any]:
    """schemas/transfer: one file moved (or skipped) by upload, download or fetch; the common
    keys first, then what only one of them says (blocks staged, ranges fetched...)."""
    common = {
        "name": summary["name"],
        "container": summary.get("container"),
        "path": str(summary["path"]),
        "size": summary.get("size", summary.get("bytes")),
        "md5": summary.get("md5"),
        "status": summary["status"],
        "skipped": bool(summary.get("skipped")),
        "verified": summary.get("verified", True),
        "seconds": summary.get("seconds"),
        "mib_per_s": summary.get("mib_per_s"),
        "checked_against": summary.get("checked_against", "blob"),
    }
    extra = {k: v for k, v in summary.items() if k not in common and k not in ("bytes", "blob")}
    return {**common, **extra}


def fetch_record(result: FetchResult, container: str) -> dict[str, Any]:
    """schemas/fetch: the run and its files as transfer records."""
    data = result.to_dict()
    files = [
        transfer_record(
            {
                **item,
                "name": item["blob"],
                "container": container,
                "status": "skipped" if item["skipped"] else "downloaded",
            }
        )
        for item in data["files"]
    ]
    return {"id": data["run"], "service": data["service"], "state": data["state"], "files": files}


# --- use cases ------------------------------------------------------------------------------


def submit_sample(
    settings: Settings,
    reads_1: Sequence[str] = (),
    reads_2: Sequence[str] = (),
    *,
    sample: str | None = None,
    prefix: str = "{sample}",
    force: bool = False,
    info: Info = log.info,
    tracker_for: Callable[[str, int], Tracker] | None = None,
) -> SubmitOutcome:
    """Upload local inputs (resumable, verified) and submit one run; an identical earlier
    submission is returned as ``existing`` unless ``force``. ``tracker_for(label, size)``:
    each upload's progress tracker."""
    from genoflow.model.submission import check_sample, derive_sample, pair_warnings
    from genoflow.orchestration.submit import (
        open_submitter,
        options_from_settings,
        plan_inputs,
        upload_prefix,
    )

    workflow = settings.config.workflow
    plan = plan_inputs(
        list(reads_1) or list(workflow.input_blob_name_1),
        list(reads_2) or list(workflow.input_blob_name_2),
    )
    name = check_sample(sample or derive_sample(plan.reads_1[0]))
    plan = plan.under(upload_prefix(prefix, name))
    for warning in pair_warnings(plan.reads_1, plan.reads_2):
        info(f"warning: {warning}")
    submitter = open_submitter(settings, force=force, info=info, tracker_for=tracker_for)
    return submitter.submit(plan, name, options_from_settings(settings, name))


def submit_sheet(
    settings: Settings,
    sheet: Path,
    row_settings: Callable[[SheetRow], Settings],
    *,
    prefix: str = "{sample}",
    force: bool = False,
    concurrency: int = 4,
    info: Info = log.info,
    tracker_for: Callable[[str, int], Tracker] | None = None,
) -> list[BatchResult]:
    """One run per row of a CSV/TSV sample sheet; ``row_settings`` adds a row's own columns
    to the settings. A bad row never stops the others."""
    from genoflow.model.submission import check_sample
    from genoflow.orchestration.submit import (
        open_submitter,
        options_from_settings,
        plan_inputs,
        read_sample_sheet,
        submit_batch,
        upload_prefix,
    )

    rows = read_sample_sheet(sheet)
    submitter = open_submitter(settings, force=force, info=info, tracker_for=tracker_for)

    def submit_row(row: SheetRow) -> SubmitOutcome:
        own = row_settings(row)
        name = check_sample(row.sample)
        plan = plan_inputs(row.reads_1, row.reads_2).under(upload_prefix(prefix, name))
        return submitter.submit(plan, name, options_from_settings(own, name))

    return submit_batch(rows, submit_row, concurrency)


def wait_runs(
    settings: Settings,
    ids: Sequence[str],
    *,
    timeout: float | None = None,
    info: Info = log.info,
) -> list[Run]:
    """Poll until every run has ended (WaitTimeoutError after ``timeout`` s); with lake.auto,
    succeeded runs are added to the variant lake (a lake failure is a line on ``info``)."""
    from genoflow.lake.auto import add_succeeded
    from genoflow.orchestration.runs import Waiter

    service = settings.config.service
    with _service(settings, flag="-u/--api-url-base") as client:
        waiter = Waiter(
            client,
            service.poll_interval,
            service.poll_max_interval,
            on_change=lambda run: info(f"run {run.id}: {run.state.display_name}"),
        )
        runs = waiter.wait(list(ids), timeout)
        add_succeeded(settings.config, client, runs, info)
    return runs


def fetch_run(
    settings: Settings,
    run_id: str,
    output_dir: Path,
    *,
    only: str | None = None,
    overwrite: bool = False,
    info: Info = log.info,
    tracker_for: Callable[[str, int], Tracker] | None = None,
) -> FetchResult:
    """Download a finished run's outputs into ``output_dir``, verified, and tag them fetched;
    ``tracker_for(label, size)`` gives each download's progress tracker."""
    from genoflow.orchestration.fetch import fetch_outputs, parse_kinds
    from genoflow.storage import open_store

    config = settings.config
    kinds = parse_kinds(only)
    with _service(settings) as client:
        return fetch_outputs(
            client,
            open_store(config.storage, output=True),
            config.storage.output_container,
            run_id,
            output_dir,
            kinds=kinds,
            now=datetime.now(timezone.utc),
            inputs=(open_store(config.storage), config.storage.input_container),
            progress=info,
            overwrite=overwrite,
            tracker_for=tracker_for,
        )


def plan_tiers(
    settings: Settings,
    *,
    policy: Path | None = None,
    allow_delete: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """schemas/plan: every blob the policy would change (nothing is changed), with totals."""
    from genoflow.tiering.apply import summary
    from genoflow.tiering.jobs import plan_job
    from genoflow.units import iso_z

    rules, prices = _policy_and_prices(settings, policy)
    inventory = _inventory(settings)
    moment = now or datetime.now(timezone.utc)
    plan = plan_job(inventory, rules, prices, moment, allow_delete=allow_delete)
    changes = [
        {
            "blob": f"{d.blob.container}/{d.blob.name}",
            "container": d.blob.container,
            "name": d.blob.name,
            "size": d.blob.size,
            "tier": d.blob.current_tier,
            "new_tier": d.target,
            "rule": d.rule,
            "reason": d.reason,
            "runs": list(d.run_ids),
        }
        for d in plan.decisions
    ]
    return {
        **summary(plan, None, 0.0),
        "as_of": iso_z(moment),
        "currency": prices.currency,
        "scanned_bytes": plan.scanned_bytes,
        "tag_updates": len(plan.tag_updates),
        "changes": changes,
    }


def apply_tiers(
    settings: Settings,
    *,
    policy: Path | None = None,
    allow_delete: bool = False,
    now: datetime | None = None,
    lock_wait: float = 0.0,
) -> dict[str, Any]:
    """schemas/apply: take the apply lock (waiting up to ``lock_wait`` s for another host's),
    read everything afresh, plan as of ``now`` and apply with Blob Batch. ``ok`` is false when
    a change failed; a rerun retries what is left."""
    from genoflow.tiering.jobs import apply_job, open_stores

    rules, prices = _policy_and_prices(settings, policy)
    config = settings.config
    stores, containers = open_stores(config.storage, config.lake.container)
    with _service(settings) as client:
        _, _, record = apply_job(
            stores,
            containers,
            client,
            rules,
            prices,
            now or datetime.now(timezone.utc),
            allow_delete=allow_delete,
            lock_wait=lock_wait,
        )
    return record


def storage_cost(settings: Settings) -> dict[str, Any]:
    """schemas/cost: the storage inventory by container and tier, its monthly cost, per run."""
    from genoflow.tiering.jobs import cost_job
    from genoflow.tiering.prices import load_prices

    prices = load_prices(settings.config.tiering.prices)  # no policy: cost moves nothing
    return cost_job(_inventory(settings), prices).to_dict()


def _policy_and_prices(settings: Settings, policy: Path | None) -> tuple[Policy, PriceTable]:
    from genoflow.tiering.policy import load_policy
    from genoflow.tiering.prices import load_prices

    tiering = settings.config.tiering
    return load_policy(policy or tiering.policy), load_prices(tiering.prices)


def _inventory(settings: Settings) -> Inventory:
    """Every blob of the input, output and lake containers, with the service's runs."""
    from genoflow.tiering.jobs import open_stores, read_inventory

    stores, containers = open_stores(settings.config.storage, settings.config.lake.container)
    with _service(settings) as client:
        return read_inventory(stores, containers, client)


@contextmanager
def _service(settings: Settings, *, flag: str | None = None) -> Iterator[ServiceClient]:
    from genoflow.protocols import open_client

    settings.require("service.url", flag=flag)
    client = open_client(settings.config.service)
    try:
        yield client
    finally:
        client.close()
