"""The tiering jobs end to end: read the inventory and the runs, plan, apply, report cost.

Each job takes its collaborators (stores, service client, clock value) as arguments, so tests
run it against Azurite with a seeded service and any "now".
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from genoflow.errors import NotFoundError
from genoflow.tiering.apply import LOCK_SECONDS, ApplyResult, apply_lock, apply_plan, summary
from genoflow.tiering.cost import CostReport, cost_report
from genoflow.tiering.engine import Plan, make_plan
from genoflow.tiering.facts import BlobFacts, RunFacts
from genoflow.tiering.policy import Policy
from genoflow.tiering.prices import PriceTable
from genoflow.tiering.sources import collect_runs, list_blob_facts

if TYPE_CHECKING:
    from genoflow.config.schema import StorageConfig
    from genoflow.protocols.base import ServiceClient
    from genoflow.storage.base import BlobStore


@dataclass
class Inventory:
    stores: dict[str, BlobStore]  # container -> the store holding it
    containers: dict[str, str]  # role (input, output, lake) -> container
    blobs: list[BlobFacts]
    runs: list[RunFacts]

    @property
    def lake(self) -> str | None:
        return self.containers.get("lake")


def open_stores(
    storage: StorageConfig, lake: str | None = None
) -> tuple[dict[str, BlobStore], dict[str, str]]:
    """The input and output containers' stores, and the lake's (in the output account)."""
    from genoflow.storage import open_store

    inputs, outputs = storage.input_container, storage.output_container
    stores: dict[str, BlobStore] = {inputs: open_store(storage)}
    stores.setdefault(outputs, open_store(storage, output=True))
    containers = {"input": inputs, "output": outputs}
    if lake:
        stores.setdefault(lake, stores[outputs])
        containers["lake"] = lake
    return stores, containers


def read_inventory(
    stores: Mapping[str, BlobStore], containers: Mapping[str, str], client: ServiceClient
) -> Inventory:
    blobs: list[BlobFacts] = []
    for container, store in stores.items():
        try:
            blobs.extend(list_blob_facts(store, container))
        except NotFoundError:
            if container != containers.get("lake"):
                raise  # a lake never written to has no container yet: nothing to tier
    return Inventory(dict(stores), dict(containers), blobs, collect_runs(client, blobs))


def plan_job(
    inventory: Inventory,
    policy: Policy,
    prices: PriceTable,
    now: datetime,
    *,
    allow_delete: bool = False,
) -> Plan:
    return make_plan(
        inventory.blobs,
        inventory.runs,
        policy,
        now,
        prices,
        allow_delete=allow_delete,
        lake_container=inventory.lake,
    )


def apply_job(
    stores: Mapping[str, BlobStore],
    containers: Mapping[str, str],
    client: ServiceClient,
    policy: Policy,
    prices: PriceTable,
    now: datetime,
    *,
    allow_delete: bool = False,
    workers: int = 4,
    lock_wait: float = 0.0,
    lock_seconds: int = LOCK_SECONDS,
) -> tuple[Plan, ApplyResult, dict[str, Any]]:
    """Lock, read everything afresh, plan and apply; returns the cron summary too."""
    started = time.monotonic()
    lock_container = containers["output"]
    lock = apply_lock(stores[lock_container], lock_container, seconds=lock_seconds, wait=lock_wait)
    with lock as guard:
        inventory = read_inventory(stores, containers, client)
        plan = plan_job(inventory, policy, prices, now, allow_delete=allow_delete)
        result = apply_plan(plan, stores, workers=workers, stop=guard.lost)
    return plan, result, summary(plan, result, time.monotonic() - started)


def cost_job(inventory: Inventory, prices: PriceTable) -> CostReport:
    return cost_report(
        inventory.blobs, inventory.runs, prices, inventory.stores, lake_container=inventory.lake
    )
