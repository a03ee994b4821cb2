"""Counting the ALT alleles each row's sample carries, by class, on whole Arrow batches.

A carried allele is an allele index > 0 in the row's ``calls``; a homozygous ``1/1`` counts
once (as bcftools counts it). Arrow finds the distinct (row, allele) pairs and groups them by
(REF, ALT); only those distinct pairs (few: SNVs make 12) are classified in Python.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from genoflow.lake.classes import classify


@dataclass
class CallCounts:
    records: int = 0  # rows (sample x record)
    classes: Counter[str] = field(default_factory=Counter)
    samples: set[str] = field(default_factory=set)

    @property
    def variants(self) -> int:
        return sum(self.classes.values())


def count_batch(batch: pa.RecordBatch, counts: CallCounts) -> None:
    counts.records += batch.num_rows
    for ref, alt, carried in carried_pairs(batch):
        name = classify(ref, alt).name
        if name is not None:
            counts.classes[name] += carried


def carried_pairs(batch: pa.RecordBatch) -> list[tuple[str, str, int]]:
    """(REF, ALT, number of rows carrying it) for every pair some row carries."""
    calls = batch.column("calls")
    alleles = pc.list_flatten(calls)
    rows = pc.list_parent_indices(calls)
    carried = pc.greater(alleles, 0)
    distinct = (
        pa.table({"row": pc.filter(rows, carried), "allele": pc.filter(alleles, carried)})
        .group_by(["row", "allele"], use_threads=False)
        .aggregate([])
    )
    row, allele = distinct.column("row"), distinct.column("allele")
    alts = batch.column("alternateAlleles")
    # ALT number `allele` of row `row`: offset of the row's list + allele - 1 in the values
    starts = pc.take(alts.offsets, row)
    positions = pc.add(starts, pc.subtract(pc.cast(allele, pa.int32()), 1))
    pairs = (
        pa.table(
            {
                "ref": pc.take(batch.column("referenceAllele"), row),
                "alt": pc.take(alts.values, positions),
            }
        )
        .group_by(["ref", "alt"], use_threads=False)
        .aggregate([("ref", "count")])
    )
    return list(
        zip(
            pairs.column("ref").to_pylist(),
            pairs.column("alt").to_pylist(),
            pairs.column("ref_count").to_pylist(),
            strict=True,
        )
    )
