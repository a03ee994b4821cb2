"""Blob index tags that tie blobs to runs, so that every host (e.g. the tiering cron job) sees them.

Written on inputs at submit, on outputs when a run's outputs are fetched or tiered. Values must be
valid blob index tag values (letters, digits, space and ``+-.:=_/``, at most 256 characters).
"""

from __future__ import annotations

from collections.abc import Mapping

# re-exported: output naming lives in model.outputs
from genoflow.model.outputs import kind_of as kind_of

RUN_ID = "genoflow-run"  # the run id as the service knows it
ROLE = "genoflow-role"  # "input" or "output"
KIND = "genoflow-kind"  # fastq, bam, bai, vcf, gvcf, tbi, logs
SAMPLE = "genoflow-sample"  # sample name
SUBMISSION_KEY = "genoflow-key"  # idempotency key of the submission
FETCHED = "genoflow-fetched"  # UTC time the outputs were fetched, ISO 8601 (…Z)
# On inputs: "<run id>=<output container>/<output base>" for each run that read them,
# space-separated (an older form without "<run id>=" applies to every run the blob names).
OUTPUT_BASE = "genoflow-output"

ROLE_INPUT = "input"
ROLE_OUTPUT = "output"

KINDS = ("fastq", "bam", "bai", "vcf", "gvcf", "tbi", "logs")


def output_base_word(run_id: str, container: str, base: str) -> str:
    """One run's entry in the OUTPUT_BASE tag."""
    return f"{run_id}={container}/{base}"


def output_bases(tags: Mapping[str, str], run_id: str) -> list[tuple[str, str]]:
    """(container, base) pairs the OUTPUT_BASE tag gives for ``run_id`` (if RUN_ID names it)."""
    if run_id not in tags.get(RUN_ID, "").split():
        return []
    found = []
    for word in tags.get(OUTPUT_BASE, "").split():
        owner, separator, location = word.partition("=")
        if not separator:
            location = word  # the older form: any run the blob names
        elif owner != run_id:
            continue
        container, _, base = location.partition("/")
        if container and base and (container, base) not in found:
            found.append((container, base))
    return found
