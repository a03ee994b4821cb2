"""The price table: storage per GB-month, operations per 10,000, retrieval per GB, minimum days.

Prices differ by region and redundancy and change over time, so they are configuration: the
defaults are the East US LRS block-blob retail prices (2026) and a YAML file may override any of
them (``tiering.prices``). Azure bills capacity in binary gigabytes (2^30 bytes).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from genoflow.errors import ConfigError
from genoflow.tiering.facts import TIERS

GIB = float(2**30)
DAYS_PER_MONTH = 30.0  # early-deletion charges are prorated in days of a 30-day month

_TIER_KEYS = frozenset(TIERS)


def _tier_map(value: dict[str, float]) -> dict[str, float]:
    unknown = set(value) - _TIER_KEYS
    if unknown:
        raise ValueError(f"unknown tier(s) {sorted(unknown)}: use {', '.join(TIERS)}")
    return value


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str = "eastus"
    redundancy: str = "LRS"
    currency: str = "USD"
    storage_gb_month: dict[str, float] = Field(
        default_factory=lambda: {"Hot": 0.0208, "Cool": 0.0152, "Cold": 0.0036, "Archive": 0.00099}
    )
    write_per_10k: dict[str, float] = Field(
        default_factory=lambda: {"Hot": 0.05, "Cool": 0.10, "Cold": 0.18, "Archive": 0.10}
    )
    read_per_10k: dict[str, float] = Field(
        default_factory=lambda: {"Hot": 0.004, "Cool": 0.01, "Cold": 0.10, "Archive": 5.00}
    )
    retrieval_per_gb: dict[str, float] = Field(
        default_factory=lambda: {"Hot": 0.0, "Cool": 0.01, "Cold": 0.03, "Archive": 0.02}
    )
    minimum_days: dict[str, float] = Field(
        default_factory=lambda: {"Hot": 0.0, "Cool": 30.0, "Cold": 90.0, "Archive": 180.0}
    )

    _check_tiers = field_validator(
        "storage_gb_month", "write_per_10k", "read_per_10k", "retrieval_per_gb", "minimum_days"
    )(_tier_map)

    def storage_month(self, size_bytes: int, tier: str) -> float:
        """Monthly storage cost of ``size_bytes`` held in ``tier``."""
        return size_bytes / GIB * self.storage_gb_month.get(tier, 0.0)

    def early_deletion(self, size_bytes: int, tier: str, days_in_tier: float | None) -> float:
        """Charge for leaving ``tier`` after ``days_in_tier`` (None: unknown, assume just set).

        Azure bills the remaining days of the tier's minimum retention, prorated.
        """
        minimum = self.minimum_days.get(tier, 0.0)
        held = 0.0 if days_in_tier is None else max(days_in_tier, 0.0)
        remaining = max(minimum - held, 0.0)
        return self.storage_month(size_bytes, tier) * remaining / DAYS_PER_MONTH

    def transition(self, count: int, target: str) -> float:
        """Moving a blob to a cooler tier is billed as a write in the destination tier."""
        return count / 10_000 * self.write_per_10k.get(target, 0.0)


def load_prices(path: str | Path | None = None) -> PriceTable:
    """The default table, with the values of the YAML file at ``path`` (if any) overriding it.

    Tier maps are merged key by key, so a file may change one price only.
    """
    if path is None:
        return PriceTable()
    document = _read_yaml(Path(path))
    base = PriceTable().model_dump()
    for key, value in document.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    try:
        return PriceTable.model_validate(base)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: invalid price table: {problems}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: must be a mapping of price keys (e.g. storage_gb_month:)")
    return document


def packaged_text(name: str) -> str:
    return resources.files("genoflow.tiering").joinpath(name).read_text("utf-8")
