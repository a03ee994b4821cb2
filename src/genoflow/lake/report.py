"""``genoflow lake report``: the questions the lake answers, from its Delta tables on Blob.

Each table's current files come through deltalake's Arrow dataset and are queried by DuckDB
(in-process; extension downloads switched off: they cannot work offline):

* samples per month: distinct samples (and runs) by the month their run ended, from ``runs``;
* unique variants: distinct (contig, start, REF, ALT) over the ALT alleles some sample carries
  (a genotype with that allele), from ``calls``, as written (no normalisation);
* variants by class (SNV, insertion, deletion, MNV, other; htslib's rules, see
  :mod:`genoflow.lake.classes`) and the SNV REF>ALT spectrum, of those unique variants.

The unique-variant query groups them by (REF, ALT) pair; classes and the spectrum are read off
those pairs (far fewer than variants) in Python.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from genoflow.lake.classes import TRANSITIONS, classify
from genoflow.lake.location import Lake, mapped
from genoflow.lake.schema import CALLS_TABLE, CLASSES, RUNS_TABLE
from genoflow.lake.tables import read_table

if TYPE_CHECKING:
    import duckdb

SAMPLES_PER_MONTH = """
SELECT strftime(date_trunc('month', coalesce(runEnded, ingestedAt)), '%Y-%m') AS month,
       count(DISTINCT sampleId) AS samples, count(*) AS runs
FROM runs GROUP BY month ORDER BY month
"""

TOTALS = "SELECT count(*) AS runs, count(DISTINCT sampleId) AS samples FROM runs"

# One row per distinct (REF, ALT) pair among the unique carried variants, with their number.
VARIANT_PAIRS = """
SELECT referenceAllele AS ref, alt, count(*) AS variants FROM (
  SELECT DISTINCT contigName, start, referenceAllele, alternateAlleles[allele] AS alt
  FROM (SELECT contigName, start, referenceAllele, alternateAlleles, unnest(calls) AS allele
        FROM calls)
  WHERE allele > 0
) GROUP BY ref, alt
"""

SPECTRUM = tuple(f"{r}>{a}" for r in "ACGT" for a in "ACGT" if r != a)


@dataclass
class LakeReport:
    runs: int = 0
    samples: int = 0
    samples_per_month: list[dict[str, Any]] = field(default_factory=list)
    unique_variants: int = 0
    by_class: dict[str, int] = field(default_factory=dict)
    spectrum: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    calls_version: int | None = None
    runs_version: int | None = None

    @property
    def ti_tv(self) -> float | None:
        ti = sum(n for key, n in self.spectrum.items() if tuple(key.split(">")) in TRANSITIONS)
        tv = sum(self.spectrum.values()) - ti
        return round(ti / tv, 3) if tv else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "samples": self.samples,
            "samples_per_month": self.samples_per_month,
            "unique_variants": self.unique_variants,
            "variants_by_class": self.by_class,
            "snv_spectrum": self.spectrum,
            "ti_tv": self.ti_tv,
            "tables": {CALLS_TABLE: self.calls_version, RUNS_TABLE: self.runs_version},
            "seconds": {key: round(value, 3) for key, value in self.seconds.items()},
        }


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never downloads an extension."""
    import duckdb

    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )


def lake_report(lake: Lake) -> LakeReport:
    """The report over the tables' current versions (NotFoundError when the lake is empty)."""
    calls, runs = read_table(lake, CALLS_TABLE), read_table(lake, RUNS_TABLE)
    report = LakeReport(calls_version=calls.version(), runs_version=runs.version())
    con = connect()
    with mapped("reading the lake", lake):
        con.register(CALLS_TABLE, calls.to_pyarrow_dataset())
        con.register(RUNS_TABLE, runs.to_pyarrow_dataset())
        con.execute("SET TimeZone = 'UTC'")
        _samples(con, report)
        pairs = _timed(report, "unique_variants", lambda: con.execute(VARIANT_PAIRS).fetchall())
        _timed(report, "variants_by_class", lambda: _classes(pairs, report))
    return report


def _samples(con: duckdb.DuckDBPyConnection, report: LakeReport) -> None:
    def query() -> None:
        rows = con.execute(SAMPLES_PER_MONTH).fetchall()
        report.samples_per_month = [
            {"month": month, "samples": samples, "runs": runs} for month, samples, runs in rows
        ]
        totals = con.execute(TOTALS).fetchone()
        report.runs, report.samples = (int(totals[0]), int(totals[1])) if totals else (0, 0)

    _timed(report, "samples_per_month", query)


def _classes(pairs: list[tuple[str, str, int]], report: LakeReport) -> None:
    by_class: Counter[str] = Counter({name: 0 for name in CLASSES})
    spectrum: Counter[str] = Counter({key: 0 for key in SPECTRUM})
    for ref, alt, variants in pairs:
        kind = classify(ref, alt)
        if kind.name is None:
            continue
        by_class[kind.name] += variants
        if kind.name == "SNV" and f"{kind.ref}>{kind.alt}" in spectrum:
            spectrum[f"{kind.ref}>{kind.alt}"] += variants
    report.by_class = dict(by_class)
    report.spectrum = dict(spectrum)
    report.unique_variants = sum(by_class.values())


def _timed(report: LakeReport, name: str, work: Any) -> Any:
    started = time.perf_counter()
    result = work()
    report.seconds[name] = time.perf_counter() - started
    return result
