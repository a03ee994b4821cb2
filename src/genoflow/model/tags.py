"""Blob index tags that tie blobs to runs, so that every host (e.g. the tiering cron job) sees them.

Written on inputs at submit, on outputs when a run's outputs are fetched or tiered. Values must be
valid blob index tag values (letters, digits, space and ``+-.:=_/``, at most 256 characters).
"""

from __future__ import annotations

from collections.abc import Mapping

# re-exported: output naming lives in model.outputs
from genoflow.model.outputs import QC_KINDS
from genoflow.model.outputs import kind_of as kind_of

# Runs are named "<service identity>:<run id>" (two services' run 1 are different runs);
# space-separated, one word per run. A bare "<run id>" (written before runs were qualified) is
# read as the reading service's own run, unless the blob also names another service's run.
RUN_ID = "genoflow-run"
ROLE = "genoflow-role"  # "input" or "output"
KIND = "genoflow-kind"  # fastq, bam, bai, vcf, gvcf, tbi, logs
SAMPLE = "genoflow-sample"  # sample name
SUBMISSION_KEY = "genoflow-key"  # idempotency key of the submission
FETCHED = "genoflow-fetched"  # UTC time the outputs were fetched, ISO 8601 (…Z)
# On inputs: "<run word>=<output container>/<output base>" for each run that read them,
# space-separated (an older form without "<run word>=" applies to every run the blob names).
OUTPUT_BASE = "genoflow-output"

ROLE_INPUT = "input"
ROLE_OUTPUT = "output"

KINDS = ("fastq", "bam", "bai", "vcf", "gvcf", "tbi", "logs", *QC_KINDS)


def run_word(service: str | None, run_id: str) -> str:
    """How tags name run ``run_id`` of ``service`` (the bare id when the service is unnamed)."""
    return f"{service}:{run_id}" if service else run_id


def own_run_id(word: str, service: str | None) -> str | None:
    """The run id if ``word`` names a run of ``service`` (bare words count), else None."""
    if service and word.startswith(f"{service}:"):
        return word[len(service) + 1 :]
    return None if ":" in word else word


def runs_named(tags: Mapping[str, str], service: str | None) -> tuple[list[str], list[str]]:
    """(ids of ``service``'s runs the RUN_ID tag names, the words naming other services' runs)."""
    ours: list[str] = []
    others: list[str] = []
    for word in tags.get(RUN_ID, "").split():
        run_id = own_run_id(word, service)
        if run_id is None:
            others.append(word)
        elif run_id not in ours:
            ours.append(run_id)
    return ours, others


def output_base_word(service: str | None, run_id: str, container: str, base: str) -> str:
    """One run's entry in the OUTPUT_BASE tag."""
    return f"{run_word(service, run_id)}={container}/{base}"


def output_bases(
    tags: Mapping[str, str], service: str | None, run_id: str
) -> list[tuple[str, str]]:
    """(container, base) pairs the OUTPUT_BASE tag gives for ``service``'s run ``run_id`` (if
    RUN_ID names it). Bare words are trusted only while the blob names no other service's run:
    then they could be either's."""
    ours, others = runs_named(tags, service)
    if run_id not in ours:
        return []
    found = []
    for word in tags.get(OUTPUT_BASE, "").split():
        owner, separator, location = word.partition("=")
        if not separator:
            location, owner = word, run_id  # the oldest form: any run the blob names
        if ":" not in owner and others:
            continue  # ambiguous: an older bare word on a blob two services used
        if own_run_id(owner, service) != run_id:
            continue
        container, _, base = location.partition("/")
        if container and base and (container, base) not in found:
            found.append((container, base))
    return found
