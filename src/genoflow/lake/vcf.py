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
        yield from vcf
        return
    contig, start, end = region
    if contig not in vcf.index:
        return  # a contig of the header without records
    for record in vcf.fetch(contig, start, end):
        if record.start >= start:  # one that started in the previous window was read there
            yield record


class _Reader:
    def __init__(self, samples: list[str], fields: tuple[bool, bool, bool]) -> None:
        self.samples = samples
        self.fields = fields

    def batches(self, vcf: Iterator[Any], origin: Origin, records: int) -> Iterator[pa.RecordBatch]:
        """Batches of ``records`` VCF records (times the number of samples rows)."""
        records = max(1, records)
        sites: list[list[Any]] = [[] for _ in SITE_COLUMNS]
        genotypes: list[list[Any]] = [[] for _ in GENOTYPE_COLUMNS]
        for record in vcf:
            if self.append(record, sites, genotypes) and len(sites[1]) >= records:
                yield self.batch(sites, genotypes, origin)
                sites = [[] for _ in SITE_COLUMNS]
                genotypes = [[] for _ in GENOTYPE_COLUMNS]
        if sites[1]:
            yield self.batch(sites, genotypes, origin)

    def append(self, record: Any, sites: list[list[Any]], genotypes: list[list[Any]]) -> bool:
        """The hot loop: one call per VCF record. False for a reference block (skipped)."""
        alleles = record.alleles
        alts = alleles[1:]
        if not alts or all(alt in REFERENCE_ONLY for alt in alts):
            return False
        name = record.id
        contig, start, end, names, ref, alt, qual, filters = sites
        contig.append(record.contig)
        start.append(record.start)
        end.append(record.stop)
        names.append(name.split(";") if name else [])
        ref.append(alleles[0])
        alt.append(alts)
        qual.append(record.qual)
        filters.append(list(record.filter.keys()))
        calls, phased, depth, quality, allele_depths = genotypes
        has_dp, has_gq, has_ad = self.fields
        if has_dp or has_gq or has_ad:  # declared in the header, not always in the record
            present = record.format
            has_dp, has_gq, has_ad = (
                has_dp and "DP" in present,
                has_gq and "GQ" in present,
                (has_ad and "AD" in present),
            )
        for sample in record.samples.values():
            calls.append([-1 if allele is None else allele for allele in sample.allele_indices])
            phased.append(sample.phased)
            depth.append(sample["DP"] if has_dp else None)
            quality.append(sample["GQ"] if has_gq else None)
            allele_depths.append(sample["AD"] if has_ad else None)
        return True

    def batch(
        self, sites: list[list[Any]], genotypes: list[list[Any]], origin: Origin
    ) -> pa.RecordBatch:
        records, width = len(sites[1]), len(self.samples)
        site_arrays = [
            _array(name, values) for name, values in zip(SITE_COLUMNS, sites, strict=True)
        ]
        if width != 1:  # every record's fields once per sample, in the genotypes' order
            repeat = pa.array([i for i in range(records) for _ in range(width)], pa.int64())
            site_arrays = [array.take(repeat) for array in site_arrays]
        rows = records * width
        sample_ids = pa.array(self.samples * records, pa.string())
        return pa.RecordBatch.from_arrays(
            [
                *site_arrays,
                *(_array(n, v) for n, v in zip(GENOTYPE_COLUMNS, genotypes, strict=True)),
                sample_ids,
                pa.array([origin.run_id] * rows, pa.string()),
                pa.array([origin.service] * rows, pa.string()),
                pa.array([origin.ingested_at] * rows, CALLS_SCHEMA.field("ingestedAt").type),
            ],
            schema=CALLS_SCHEMA,
        )


def _array(name: str, values: list[Any]) -> pa.Array:
    return pa.array(values, CALLS_SCHEMA.field(name).type)
