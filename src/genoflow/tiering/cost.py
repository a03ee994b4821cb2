"""``genoflow cost``: the inventory by container and tier, its monthly cost, and cost per run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from genoflow.tiering.engine import RunIndex
from genoflow.tiering.facts import TIERS, BlobFacts, RunFacts, in_lake
from genoflow.tiering.prices import GIB, PriceTable


@dataclass
class Holding:
    blobs: int = 0
    bytes: int = 0
    monthly: float = 0.0

    def add(self, size: int, monthly: float) -> None:
        self.blobs += 1
        self.bytes += size
        self.monthly += monthly

    @classmethod
    def sum_of(cls, holdings: Iterable[Holding]) -> Holding:
        total = cls()
        for holding in holdings:
            total.blobs += holding.blobs
            total.bytes += holding.bytes
            total.monthly += holding.monthly
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "blobs": self.blobs,
            "bytes": self.bytes,
            "gb": round(self.bytes / GIB, 3),
            "monthly": round(self.monthly, 4),
        }


@dataclass
class RunHolding:
    run: RunFacts
    by_tier: dict[str, Holding] = field(default_factory=dict)

    @property
    def total(self) -> Holding:
        return Holding.sum_of(self.by_tier.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.id,
            "state": self.run.phase.value,
            "bases_processed": self.run.bases_processed,
            **self.total.to_dict(),
            "tiers": {tier: h.to_dict() for tier, h in self.by_tier.items()},
        }


@dataclass
class CostReport:
    currency: str
    by_container: dict[str, dict[str, Holding]] = field(default_factory=dict)
    per_run: list[RunHolding] = field(default_factory=list)
    untracked: Holding = field(default_factory=Holding)
    lake_container: str | None = None
    lake: Holding = field(default_factory=Holding)  # the variant lake's table files

    @property
    def total(self) -> Holding:
        return Holding.sum_of(h for tiers in self.by_container.values() for h in tiers.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "total": self.total.to_dict(),
            "containers": {
                name: {tier: h.to_dict() for tier, h in tiers.items()}
                for name, tiers in self.by_container.items()
            },
            "untracked": self.untracked.to_dict(),
            "lake": {"container": self.lake_container, **self.lake.to_dict()},
            "runs": [holding.to_dict() for holding in self.per_run],
        }


def cost_report(
    blobs: Iterable[BlobFacts],
    runs: Iterable[RunFacts],
    prices: PriceTable,
    containers: Iterable[str] = (),
    lake_container: str | None = None,
) -> CostReport:
    """Group ``blobs`` by container and tier, and by the runs they are tied to; the variant
    lake's table files (in ``lake_container``) are summed as the lake's footprint.

    A blob shared by several runs (an input submitted twice) counts once per run in the per-run
    table, and once in the totals.
    """
    blobs = list(blobs)
    index = RunIndex(runs)
    index.learn_output_bases(blobs)
    report = CostReport(currency=prices.currency, lake_container=lake_container)
    for name in containers:
        report.by_container.setdefault(name, {})
    per_run: dict[str, RunHolding] = {}
    for blob in blobs:
        tier = blob.current_tier
        monthly = prices.storage_month(blob.size, tier)
        report.by_container.setdefault(blob.container, {}).setdefault(tier, Holding()).add(
            blob.size, monthly
        )
        if in_lake(blob.container, blob.name, lake_container):
            report.lake.add(blob.size, monthly)
            continue
        tie = index.tie(blob)
        if not tie.runs:
            report.untracked.add(blob.size, monthly)
        for run in tie.runs:
            holding = per_run.setdefault(run.id, RunHolding(run))
            holding.by_tier.setdefault(tier, Holding()).add(blob.size, monthly)
    for tiers in report.by_container.values():
        ordered = {tier: tiers[tier] for tier in TIERS if tier in tiers}
        tiers.clear()
        tiers.update(ordered)
    report.per_run = sorted(per_run.values(), key=lambda h: h.total.bytes, reverse=True)
    return report
