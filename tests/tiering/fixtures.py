"""A fixture world for tiering tests: runs in every state and their blobs, at a fixed 'now'."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from genoflow.model import tags as t
from genoflow.tiering.facts import BlobFacts, RunFacts, RunPhase, format_time

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
IN, OUT = "inputs", "outputs"


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


RUNS = (
    RunFacts("1", RunPhase.succeeded, ended=days_ago(100), bases_processed=10_000_000_000),
    RunFacts("2", RunPhase.succeeded, ended=days_ago(40), bases_processed=5_000_000_000),
    RunFacts("3", RunPhase.failed, ended=days_ago(40)),
    RunFacts("4", RunPhase.active),
    RunFacts("5", RunPhase.succeeded, ended=days_ago(3)),
)


def input_blob(
    run: str, name: str, size: int = 10 * 2**30, tier: str = "Hot", base: str | None = None
) -> BlobFacts:
    tags = {t.RUN_ID: run, t.ROLE: t.ROLE_INPUT, t.KIND: "fastq", t.SAMPLE: name.split("_")[0]}
    if base:
        tags[t.OUTPUT_BASE] = f"{OUT}/{base}"
    return BlobFacts(
        IN, name, size, tier, last_modified=days_ago(120), created=days_ago(120), tags=tags
    )


def output_blob(
    name: str,
    size: int = 2**30,
    tier: str = "Hot",
    fetched_days_ago: float | None = None,
    run: str | None = None,
    modified: float = 40,
) -> BlobFacts:
    """Untagged unless ``run`` is given: outputs are tied to runs through their inputs' tags."""
    tags: dict[str, str] = {}
    if run:
        tags = {t.RUN_ID: run, t.ROLE: t.ROLE_OUTPUT}
    if fetched_days_ago is not None:
        tags[t.FETCHED] = format_time(days_ago(fetched_days_ago))
    return BlobFacts(
        OUT,
        name,
        size,
        tier,
        last_modified=days_ago(modified),
        created=days_ago(modified),
        tags=tags,
    )


BLOBS = (
    # run 1: succeeded 100 days ago; inputs Hot -> Archive; outputs fetched 90 days ago
    input_blob("1", "s1_1.fq.gz", base="s1"),
    input_blob("1", "s1_2.fq.gz", base="s1"),
    output_blob("s1.bam", fetched_days_ago=90, run="1", modified=100),
    output_blob("s1.bam.bai", fetched_days_ago=90, run="1", modified=100),
    output_blob("s1.vcf", fetched_days_ago=90, run="1", modified=100),
    # run 2: succeeded 40 days ago; inputs already Cool -> stay (Archive only after 90 days);
    # BAM not fetched (held), found through the output base named on its inputs
    input_blob("2", "s2_1.fq.gz", tier="Cool", base="s2"),
    output_blob("s2.bam"),
    output_blob("s2.logs.zip"),
    # run 3: failed 40 days ago: inputs not "succeeded" -> untouched; BAM fetched -> Cool
    input_blob("3", "s3_1.fq.gz", base="s3"),
    output_blob("s3.bam", fetched_days_ago=35),
    # run 4: running: nothing touched even though its input is old
    input_blob("4", "s4_1.fq.gz", base="s4"),
    output_blob("s4.bam", modified=1),
    # run 5: succeeded 3 days ago: too young for anything
    input_blob("5", "s5_1.fq.gz", base="s5"),
    output_blob("s5.bam", fetched_days_ago=1, modified=3),
    # an input already archived (never re-archived), an unknown run, an untracked blob
    input_blob("1", "s1_3.fq.gz", tier="Archive"),
    input_blob("99", "old_1.fq.gz"),
    BlobFacts(IN, "notes/readme.txt", 100, "Hot", last_modified=days_ago(400)),
)
