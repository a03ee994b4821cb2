"""The lake's Delta tables: their Arrow schemas, partitioning and names.

``calls`` has one row per sample and VCF record, with Glow's VCF column names (``contigName``,
0-based ``start``, ``end``, ``names``, ``referenceAllele``, ``alternateAlleles``, ``qual``,
``filters``) and Glow's genotype field names flattened beside them (``calls``, ``phased``,
``depth``, ``conditionalQuality``, ``alleleDepths``), plus where the row came from
(``sampleId``, ``runId`` = ``<service>:<run id>``, ``service``, ``ingestedAt``). Partitioned by
``sampleId`` and ``contigName``: a sample or a contig is read without touching the other files.

``runs`` has one row per run added: its identity, sample, VCF and the counts of what it carried.

``qc`` has one row per run added whose pipeline measured its QC (``<base>.qc.json``, see
docs/qc.md): the headline values as columns, and the whole document as JSON text.
"""

from __future__ import annotations

import pyarrow as pa

from genoflow.lake import CALLS_TABLE as CALLS_TABLE
from genoflow.lake import QC_TABLE as QC_TABLE
from genoflow.lake import RUNS_TABLE as RUNS_TABLE

CALLS_PARTITIONS = ["sampleId", "contigName"]

_STRINGS = pa.list_(pa.string())
_INTS = pa.list_(pa.int32())
_TIME = pa.timestamp("us", tz="UTC")

# The columns a report reads come first: a Parquet file then holds them side by side (partition
# columns are not in the files), so one ranged read per file fetches them all.
CALLS_SCHEMA = pa.schema(
    [
        pa.field("contigName", pa.string(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("referenceAllele", pa.string(), nullable=False),
        pa.field("alternateAlleles", _STRINGS),
        pa.field("calls", _INTS),  # allele indices, -1 where missing (as Glow)
        pa.field("end", pa.int64(), nullable=False),
        pa.field("names", _STRINGS),
        pa.field("qual", pa.float64()),
        pa.field("filters", _STRINGS),
        pa.field("phased", pa.bool_()),
        pa.field("depth", pa.int32()),  # FORMAT/DP
        pa.field("conditionalQuality", pa.int32()),  # FORMAT/GQ
        pa.field("alleleDepths", _INTS),  # FORMAT/AD
        pa.field("sampleId", pa.string(), nullable=False),
        pa.field("runId", pa.string(), nullable=False),
        pa.field("service", pa.string()),
        pa.field("ingestedAt", _TIME, nullable=False),
    ]
)

# Variant classes, as htslib names them (SNP, INDEL split into insertion/deletion, MNP, OTHER).
CLASSES = ("SNV", "insertion", "deletion", "MNV", "other")

RUNS_SCHEMA = pa.schema(
    [
        pa.field("runId", pa.string(), nullable=False),
        pa.field("service", pa.string()),
        pa.field("serviceRunId", pa.string(), nullable=False),
        pa.field("sampleId", pa.string(), nullable=False),
        pa.field("runCreated", _TIME),
        pa.field("runEnded", _TIME),
        pa.field("vcf", pa.string(), nullable=False),  # container/name of the VCF read
        pa.field("vcfMd5", pa.string()),
        pa.field("records", pa.int64(), nullable=False),  # rows written to calls
        pa.field("variants", pa.int64(), nullable=False),  # alt alleles the sample carries
        *(pa.field(f"{name}Count", pa.int64(), nullable=False) for name in CLASSES),
        pa.field("callsVersion", pa.int64()),  # the calls table's version after the add
        pa.field("ingestedAt", _TIME, nullable=False),
    ]
)

# qc.json value -> column: (column, section, field, type)
QC_COLUMNS = (
    ("readsTotal", "reads", "total", pa.int64()),
    ("readsMapped", "reads", "mapped", pa.int64()),
    ("mappedRate", "reads", "mapped_rate", pa.float64()),
    ("properlyPairedRate", "reads", "properly_paired_rate", pa.float64()),
    ("duplicateRate", "reads", "duplicate_rate", pa.float64()),
    ("meanCoverage", "coverage", "mean", pa.float64()),
    ("medianCoverage", "coverage", "median", pa.int64()),
    ("fractionGe10x", "coverage", "fraction_ge_10x", pa.float64()),
    ("fractionGe20x", "coverage", "fraction_ge_20x", pa.float64()),
    ("insertSizeMedian", "insert_size", "median", pa.int64()),
    ("insertSizeMean", "insert_size", "mean", pa.float64()),
    ("variantRecords", "variants", "records", pa.int64()),
    ("snvCount", "variants", "snv", pa.int64()),
    ("insertionCount", "variants", "insertion", pa.int64()),
    ("deletionCount", "variants", "deletion", pa.int64()),
    ("mnvCount", "variants", "mnv", pa.int64()),
    ("tiTv", "variants", "ti_tv", pa.float64()),
    ("hetHomRatio", "variants", "het_hom_ratio", pa.float64()),
)

QC_SCHEMA = pa.schema(
    [
        pa.field("runId", pa.string(), nullable=False),
        pa.field("service", pa.string()),
        pa.field("serviceRunId", pa.string(), nullable=False),
        pa.field("sampleId", pa.string(), nullable=False),
        *(pa.field(column, kind) for column, _, _, kind in QC_COLUMNS),
        pa.field("qcSchemaVersion", pa.int64(), nullable=False),
        pa.field("qcJson", pa.string(), nullable=False),  # the whole qc.json
        pa.field("ingestedAt", _TIME, nullable=False),
    ]
)
