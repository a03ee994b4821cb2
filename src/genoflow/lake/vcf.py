"""A VCF streamed into Arrow record batches of the ``calls`` schema, with htslib (pysam).

Memory stays bounded whatever the VCF's size: one batch of ``batch_rows`` rows is built at a
time. Reference blocks (records whose every ALT is reference-only, as in a gVCF) are skipped.
While streaming, :class:`CallCounts` counts the alleles each sample carries, by class.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from genoflow.errors import IntegrityError
from genoflow.lake.classes import REFERENCE_ONLY, classify
from genoflow.lake.schema import CALLS_SCHEMA

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class Origin:
    """Where rows come from: the constant columns of one run's rows."""

    run_id: str  # <service>:<id>
    service: str | None
    ingested_at: datetime


@dataclass
class CallCounts:
    records: int = 0  # rows (sample x record)
    classes: Counter[str] = field(default_factory=Counter)
    samples: set[str] = field(default_factory=set)

    @property
    def variants(self) -> int:
        return sum(self.classes.values())


_COLUMNS = (
    "contigName",
    "start",
    "end",
    "names",
    "referenceAllele",
    "alternateAlleles",
    "qual",
    "filters",
    "calls",
    "phased",
    "depth",
    "conditionalQuality",
    "alleleDepths",
    "sampleId",
)


def read_batches(
    path: Path, origin: Origin, counts: CallCounts, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The calls of ``path`` as record batches; raises IntegrityError on a corrupt VCF."""
    import pysam

    pysam.set_verbosity(0)  # htslib's own stderr lines ("no index file") are not for users
    try:
        with pysam.VariantFile(str(path)) as vcf:
            samples = list(vcf.header.samples)
            counts.samples.update(samples)
            formats = vcf.header.formats
            reader = _Rows(samples, "DP" in formats, "GQ" in formats, "AD" in formats)
            yield from reader.batches(vcf, origin, counts, batch_rows)
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"{path.name} is not a readable VCF: {exc}") from None


class _Rows:
    """Columns of one batch, filled record by record (the hot loop: attribute look-ups and
    appends are bound once per batch)."""

    def __init__(self, samples: list[str], has_dp: bool, has_gq: bool, has_ad: bool) -> None:
        self.samples = samples
        self.fields = (has_dp, has_gq, has_ad)

    def batches(
        self, vcf: Any, origin: Origin, counts: CallCounts, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        columns: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
        for record in vcf:
            counts.records += self.append(record, columns, counts)
            if len(columns["start"]) >= batch_rows:
                yield _to_batch(columns, origin)
                columns = {name: [] for name in _COLUMNS}
        if columns["start"]:
            yield _to_batch(columns, origin)

    def append(self, record: Any, columns: dict[str, list[Any]], counts: CallCounts) -> int:
        """Add a row per sample of ``record``; 0 rows for a reference block."""
        alleles = record.alleles
        alts = alleles[1:]
        if not alts or all(alt in REFERENCE_ONLY for alt in alts):
            return 0
        ref = alleles[0]
        name = record.id
        shared = (
            record.contig,
            record.start,
            record.stop,
            name.split(";") if name else [],
            ref,
            alts,
            record.qual,
            list(record.filter.keys()),
        )
        has_dp, has_gq, has_ad = self.fields
        genotypes = record.samples
        for index, sample_name in enumerate(self.samples):
            sample = genotypes[index]
            calls = [-1 if allele is None else allele for allele in sample.allele_indices]
            for column, value in zip(_SHARED, shared, strict=True):
                columns[column].append(value)
            columns["calls"].append(calls)
            columns["phased"].append(sample.phased)
            columns["depth"].append(sample["DP"] if has_dp else None)
            columns["conditionalQuality"].append(sample["GQ"] if has_gq else None)
            columns["alleleDepths"].append(sample["AD"] if has_ad else None)
            columns["sampleId"].append(sample_name)
            _count(counts, ref, alts, calls)
        return len(self.samples)


_SHARED = _COLUMNS[:8]


def _count(counts: CallCounts, ref: str, alts: tuple[str, ...], calls: list[int]) -> None:
    """Count each ALT allele the sample carries once (a 1/1 is one variant, as bcftools)."""
    if len(calls) == 2:  # diploid: no set needed
        first, second = calls
        if first > 0:
            _tally(counts, ref, alts[first - 1])
        if second > 0 and second != first:
            _tally(counts, ref, alts[second - 1])
        return
    for index in set(calls):
        if index > 0:
            _tally(counts, ref, alts[index - 1])


def _tally(counts: CallCounts, ref: str, alt: str) -> None:
    name = classify(ref, alt).name
    if name is not None:
        counts.classes[name] += 1


def _to_batch(columns: dict[str, list[Any]], origin: Origin) -> pa.RecordBatch:
    rows = len(columns["start"])
    arrays = [pa.array(columns[name], CALLS_SCHEMA.field(name).type) for name in _COLUMNS]
    constants = [
        pa.array([origin.run_id] * rows, pa.string()),
        pa.array([origin.service] * rows, pa.string()),
        pa.array([origin.ingested_at] * rows, CALLS_SCHEMA.field("ingestedAt").type),
    ]
    return pa.RecordBatch.from_arrays([*arrays, *constants], schema=CALLS_SCHEMA)
