"""Blob index tags that tie blobs to runs, so that every host (e.g. the tiering cron job) sees them.

Written on inputs at submit, on outputs when a run's outputs are fetched or tiered. Values must be
valid blob index tag values (letters, digits, space and ``+-.:=_/``, at most 256 characters).
"""

from __future__ import annotations

RUN_ID = "genoflow-run"  # the run id as the service knows it
ROLE = "genoflow-role"  # "input" or "output"
KIND = "genoflow-kind"  # fastq, bam, bai, vcf, gvcf, tbi, logs
SAMPLE = "genoflow-sample"  # sample name
SUBMISSION_KEY = "genoflow-key"  # idempotency key of the submission
FETCHED = "genoflow-fetched"  # UTC time the outputs were fetched, ISO 8601 (…Z)
OUTPUT_BASE = "genoflow-output"  # on inputs: "<output container>/<output base>" of the run

ROLE_INPUT = "input"
ROLE_OUTPUT = "output"

KINDS = ("fastq", "bam", "bai", "vcf", "gvcf", "tbi", "logs")


def kind_of(blob_name: str) -> str | None:
    """The output/input kind of a blob from its name (None when it is not one of ours)."""
    name = blob_name.lower()
    for suffix, kind in (
        (".g.vcf.gz.tbi", "tbi"),
        (".vcf.gz.tbi", "tbi"),
        (".bam.bai", "bai"),
        (".bai", "bai"),
        (".g.vcf.gz", "gvcf"),
        (".g.vcf", "gvcf"),
        (".vcf.gz", "vcf"),
        (".vcf", "vcf"),
        (".bam", "bam"),
        (".logs.zip", "logs"),
        (".fastq.gz", "fastq"),
        (".fq.gz", "fastq"),
        (".fastq", "fastq"),
        (".fq", "fastq"),
    ):
        if name.endswith(suffix):
            return kind
    return None
