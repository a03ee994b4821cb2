"""The lab's QC limits (config ``qc.thresholds``) applied to a run's ``qc.json``, and the one
record per run that ``genoflow qc`` prints.

A limit is ``<metric>_min`` or ``<metric>_max``; the metrics are named in :data:`METRICS`.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# metric -> (section, field) of qc.json
METRICS: dict[str, tuple[str, str]] = {
    "mean_coverage": ("coverage", "mean"),
    "median_coverage": ("coverage", "median"),
    "fraction_ge_10x": ("coverage", "fraction_ge_10x"),
    "fraction_ge_20x": ("coverage", "fraction_ge_20x"),
    "mapped_rate": ("reads", "mapped_rate"),
    "properly_paired_rate": ("reads", "properly_paired_rate"),
    "duplicate_rate": ("reads", "duplicate_rate"),
    "insert_size_median": ("insert_size", "median"),
    "ti_tv": ("variants", "ti_tv"),
    "het_hom_ratio": ("variants", "het_hom_ratio"),
}
COUNTS = ("records", "snv", "insertion", "deletion", "mnv", "other")


@dataclass(frozen=True)
class Flag:
    """A value outside a limit (``value`` None: the run has no such value to check)."""

    metric: str
    value: float | None
    bound: str  # min | max
    limit: float

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.metric} missing ({self.bound} {self.limit:g})"
        sign = "<" if self.bound == "min" else ">"
        return f"{self.metric} {self.value:.4g} {sign} {self.limit:g}"


def metric(qc: Mapping[str, Any], name: str) -> float | None:
    section, field = METRICS[name]
    value = (qc.get(section) or {}).get(field)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def flags(qc: Mapping[str, Any], limits: Mapping[str, float | None]) -> list[Flag]:
    """The limits ``qc`` breaks, in the order the limits are given (unset limits skipped)."""
    found = []
    for key, limit in limits.items():
        if limit is None:
            continue
        name, _, bound = key.rpartition("_")
        value = metric(qc, name)
        low, high = bound == "min", bound == "max"
        if value is None or (low and value < limit) or (high and value > limit):
            found.append(Flag(name, value, bound, float(limit)))
    return found


def qc_record(
    run: str, qc: Mapping[str, Any], limits: Mapping[str, float | None]
) -> dict[str, Any]:
    """One run's QC summary: its metrics, variant counts, ``status`` (pass | fail) and the
    flags that made it fail."""
    broken = flags(qc, limits)
    variants = qc.get("variants") or {}
    return {
        "run": run,
        "sample": qc.get("sample"),
        "status": "fail" if broken else "pass",
        **{name: metric(qc, name) for name in METRICS},
        **{name: variants.get(name) for name in COUNTS},
        "flags": [str(flag) for flag in broken],
    }
