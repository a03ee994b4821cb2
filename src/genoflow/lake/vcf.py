"""A VCF streamed into Arrow record batches of the ``calls`` schema, with htslib (pysam).

Memory stays bounded whatever the VCF's size: one batch of about ``batch_rows`` rows is built
at a time. Reference blocks (records whose every ALT is reference-only, as in a gVCF) are
skipped. Per record, Python only moves htslib's values into lists; repeating a record's fields
for each sample, and counting the ALT alleles the samples carry (:mod:`genoflow.lake.counts`),
are done by Arrow on whole batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from genoflow.errors import IntegrityError
from genoflow.lake.classes import REFERENCE_ONLY
from genoflow.lake.counts import CallCounts, count_batch
from genoflow.lake.schema import CALLS_SCHEMA

BATCH_ROWS = 16_384  # rows are Python objects until a batch is built: keep it small

# Columns of a record (once per record), then of a sample's genotype (once per row).
SITE_COLUMNS = (
    "contigName",
    "start",
    "end",
    "names",
    "referenceAllele",
    "alternateAlleles",
    "qual",
    "filters",
)
GENOTYPE_COLUMNS = ("calls", "phased", "depth", "conditionalQuality", "alleleDepths")


@dataclass(frozen=True)
class Origin:
    """Where rows come from: the constant columns of one run's rows."""

    run_id: str  # <service>:<id>
    service: str | None
    ingested_at: datetime


def read_batches(
    path: Path,
    origin: Origin,
    counts: CallCounts,
    batch_rows: int = BATCH_ROWS,
    region: tuple[str, int, int] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The calls of ``path`` (of the records that start in ``region``, when given: contig,
    0-based start, end) as record batches; raises IntegrityError on a corrupt VCF."""
    import pysam

    pysam.set_verbosity(0)  # htslib's own stderr lines ("no index file") are not for users
    try:
        with pysam.VariantFile(str(path)) as vcf:
            samples = list(vcf.header.samples)
            counts.samples.update(samples)
            formats = vcf.header.formats
            reader = _Reader(samples, ("DP" in formats, "GQ" in formats, "AD" in formats))
            records = _records(vcf, region)
            for batch in reader.batches(records, origin, batch_rows // max(1, len(samples))):
                count_batch(batch, counts)
                yield batch
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"{path.name} is not a readable VCF: {exc}") from None


def _records(vcf: Any, region: tuple[str, int, int] | None) -> Iterator[Any]:
    if region is None:
        return iter(vcf)  # the file itself: no generator between htslib and the loop
    return _in_window(vcf, region)


def _in_window(vcf: Any, region: tuple[str, int, int]) -> Iterator[Any]:
    contig, start, end = region
    if contig not in vcf.index:
        return  # a contig of the header without records
    for record in vcf.fetch(contig, start, end):
        if record.start >= start:  # one that started in the previous window was read there
            yield record


class _Reader:
    """The hot loop: per record, htslib's values are read once into one tuple for the record
    and one per sample; columns are made from those tuples in C (``zip(*rows)``)."""

    def __init__(self, samples: list[str], fields: tuple[bool, bool, bool]) -> None:
        self.samples = samples
        self.fields = fields

    def batches(self, vcf: Iterator[Any], origin: Origin, records: int) -> Iterator[pa.RecordBatch]:
        """Batches of ``records`` VCF records (times the number of samples rows)."""
        records = max(1, records)
        sites: list[tuple[Any, ...]] = []
        genotypes: list[tuple[Any, ...]] = []
        contigs: dict[int, str] = {}
        samples = range(len(self.samples))
        has_dp, has_gq, has_ad = self.fields
        for record in vcf:
            alleles = record.alleles
            alts = alleles[1:]
            if not alts or (alts[-1] in REFERENCE_ONLY and _reference_only(alts)):
                continue
            rid, name = record.rid, record.id
            contig = contigs.get(rid) or contigs.setdefault(rid, record.contig)
            names = name.split(";") if name else []
            filters = list(record.filter.keys())
            sites.append(
                (contig, record.start, record.stop, names, alleles[0], alts, record.qual, filters)
            )
            by_sample = record.samples
            for index in samples:
                sample = by_sample[index]
                calls = sample.allele_indices
                if None in calls:
                    calls = [-1 if allele is None else allele for allele in calls]
                try:  # a FORMAT key the header declares may be missing from a record
                    values = (
                        sample["DP"] if has_dp else None,
                        sample["GQ"] if has_gq else None,
                        sample["AD"] if has_ad else None,
                    )
                except KeyError:
                    values = tuple(
                        _format(sample, key, on) for key, on in zip(_KEYS, self.fields, strict=True)
                    )
                genotypes.append((calls, sample.phased, *values))
            if len(sites) >= records:
                yield self.batch(sites, genotypes, origin)
                sites, genotypes = [], []
        if sites:
            yield self.batch(sites, genotypes, origin)

    def batch(
        self, sites: list[tuple[Any, ...]], genotypes: list[tuple[Any, ...]], origin: Origin
    ) -> pa.RecordBatch:
        records, width = len(sites), len(self.samples)
        site_arrays = [
            _array(name, values)
            for name, values in zip(SITE_COLUMNS, zip(*sites, strict=True), strict=True)
        ]
        if width != 1:  # every record's fields once per sample, in the genotypes' order
            repeat = pa.array([i for i in range(records) for _ in range(width)], pa.int64())
            site_arrays = [array.take(repeat) for array in site_arrays]
        rows = records * width
        genotype_arrays = [
            _array(name, values)
            for name, values in zip(GENOTYPE_COLUMNS, zip(*genotypes, strict=True), strict=True)
        ]
        columns = {
            **dict(zip(SITE_COLUMNS, site_arrays, strict=True)),
            **dict(zip(GENOTYPE_COLUMNS, genotype_arrays, strict=True)),
            "sampleId": pa.array(self.samples * records, pa.string()),
            "runId": pa.array([origin.run_id] * rows, pa.string()),
            "service": pa.array([origin.service] * rows, pa.string()),
            "ingestedAt": pa.array(
                [origin.ingested_at] * rows, CALLS_SCHEMA.field("ingestedAt").type
            ),
        }
        return pa.RecordBatch.from_arrays(
            [columns[name] for name in CALLS_SCHEMA.names], schema=CALLS_SCHEMA
        )


def _reference_only(alts: tuple[str, ...]) -> bool:
    return all(alt in REFERENCE_ONLY for alt in alts)


_KEYS = ("DP", "GQ", "AD")


def _format(sample: Any, key: str, declared: bool) -> Any:
    """A FORMAT value; None when the header does not declare it or the record lacks it."""
    if not declared:
        return None
    try:
        return sample[key]
    except KeyError:
        return None


def _array(name: str, values: Any) -> pa.Array:
    return pa.array(values, CALLS_SCHEMA.field(name).type)
