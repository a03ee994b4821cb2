"""What the tiering engine reasons about: blobs, runs and tiers, as plain immutable facts.

Storage and service objects are turned into these at the edge (``genoflow.tiering.sources``), so
the policy engine, the cost report and their tests never touch the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum

from genoflow.units import iso_z

# Warmest first: a move is allowed only towards a higher index.
TIERS: tuple[str, ...] = ("Hot", "Cool", "Cold", "Archive")
DELETE = "delete"  # the action that removes a blob: "colder" than any tier
ARCHIVE = "Archive"

SECONDS_PER_DAY = 86400.0

# Index tag 'genoflow lake add' writes on a VCF whose calls are in the lake (UTC time, …Z):
# a rule with ``since: lake`` counts a VCF's age from it (the lake answers queries instead).
LAKE_TAG = "genoflow-lake"
# The lake's Delta tables (genoflow.lake.schema): folders of the lake container.
LAKE_TABLES = ("calls", "runs", "qc")


def in_lake(container: str, name: str, lake_container: str | None) -> bool:
    """Whether the blob is a file of the lake's tables (data or log: queries need them all)."""
    return container == lake_container and name.split("/", 1)[0] in LAKE_TABLES


def normalize_tier(tier: str | None) -> str:
    """The canonical tier name; a blob with no reported tier is on the account default (Hot)."""
    if not tier:
        return "Hot"
    for name in TIERS:
        if name.lower() == str(tier).lower():
            return name
    raise ValueError(f"unknown access tier {tier!r}: expected one of {', '.join(TIERS)}")


def tier_rank(tier: str | None) -> int:
    """0 for Hot … 3 for Archive, 4 for delete."""
    if tier == DELETE:
        return len(TIERS)
    return TIERS.index(normalize_tier(tier))


def days_between(earlier: datetime, later: datetime) -> float:
    return (_aware(later) - _aware(earlier)).total_seconds() / SECONDS_PER_DAY


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def format_time(moment: datetime) -> str:
    """UTC, second precision, with a Z: valid as a blob index tag value."""
    return iso_z(moment) or ""  # never empty: moment is a datetime


class RunPhase(str, Enum):
    """The part of a run's state that tiering cares about."""

    active = "active"  # queued, running, cancel requested: its blobs are never touched
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self is not RunPhase.active


@dataclass(frozen=True)
class BlobRef:
    container: str
    name: str

    def __str__(self) -> str:
        return f"{self.container}/{self.name}"


@dataclass(frozen=True)
class RunFacts:
    """A run as the service reports it, with the blobs it names as inputs and outputs."""

    id: str
    phase: RunPhase
    ended: datetime | None = None
    inputs: tuple[BlobRef, ...] = ()
    outputs: tuple[BlobRef, ...] = ()
    bases_processed: int | None = None
    output_bases: tuple[BlobRef, ...] = ()  # container + OUTPUT_FILENAME_BASE of the outputs
    service: str | None = None  # the identity of the service that holds the run

    @property
    def word(self) -> str:
        """How blob tags name this run."""
        from genoflow.model.tags import run_word

        return run_word(self.service, self.id)


@dataclass(frozen=True)
class BlobFacts:
    container: str
    name: str
    size: int
    tier: str | None = "Hot"
    last_modified: datetime | None = None
    created: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    archive_status: str | None = None  # e.g. rehydrate-pending-to-hot
    tier_changed: datetime | None = None  # when the current tier was set (None: never/unknown)

    @property
    def ref(self) -> BlobRef:
        return BlobRef(self.container, self.name)

    @property
    def current_tier(self) -> str:
        return normalize_tier(self.tier)
