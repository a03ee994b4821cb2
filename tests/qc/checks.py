"""The QC step's numbers against the tools run by hand on the same BAM and VCF: read counts
from ``samtools view -c``, coverage from mosdepth's per-base output, insert sizes from
``samtools stats``, variants from ``bcftools query``. Used on by-hand and pipeline runs."""

from __future__ import annotations

import gzip
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

TRANSITIONS = {("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")}


def count(bam: Path, *flags: str) -> int:
    out = subprocess.run(["samtools", "view", "-c", *flags, str(bam)], capture_output=True)
    return int(out.stdout)


def check_reads(qc: dict[str, Any], bam: Path) -> None:
    reads = qc["reads"]
    primary = count(bam, "-F", "0x900")
    mapped = count(bam, "-F", "0x904")
    assert reads["total"] == primary > 0
    assert reads["mapped"] == mapped
    assert reads["properly_paired"] == count(bam, "-f", "0x3", "-F", "0x904")
    duplicates = count(bam, "-f", "0x400", "-F", "0x900")
    assert reads["duplicates"] == duplicates
    assert reads["duplicate_rate"] == pytest.approx(duplicates / mapped, abs=1e-6)
    assert reads["mapped_rate"] == pytest.approx(mapped / primary, abs=1e-6)


def per_base_depths(bam: Path, tmp_path: Path) -> Counter[int]:
    """Bases at each depth, from mosdepth's per-base output (the slow, exact way)."""
    prefix = tmp_path / "byhand"
    subprocess.run(["mosdepth", str(prefix), str(bam)], check=True, capture_output=True)
    depths: Counter[int] = Counter()
    with gzip.open(f"{prefix}.per-base.bed.gz", "rt") as bed:
        for line in bed:
            _, start, end, depth = line.split("\t")
            depths[int(depth)] += int(end) - int(start)
    return depths


def check_coverage(qc: dict[str, Any], bam: Path, fai: Path, tmp_path: Path) -> None:
    coverage = qc["coverage"]
    depths = per_base_depths(bam, tmp_path)
    length = sum(depths.values())
    contigs = sum(int(row.split()[1]) for row in fai.read_text().splitlines())
    assert coverage["length"] == length == contigs
    mean = sum(depth * bases for depth, bases in depths.items()) / length
    assert coverage["mean"] == pytest.approx(mean, abs=1e-4)
    for level in (10, 20):
        exact = sum(bases for depth, bases in depths.items() if depth >= level) / length
        assert coverage[f"fraction_ge_{level}x"] == pytest.approx(exact, abs=1e-6)
    # the median from mosdepth's distribution (2 decimals): at least half of the bases (to
    # that rounding) at >= median, fewer than half above it
    median = coverage["median"]
    at_least = sum(bases for depth, bases in depths.items() if depth >= median) / length
    above = sum(bases for depth, bases in depths.items() if depth > median) / length
    assert at_least >= 0.495 and above < 0.505
    assert 0.5 * mean < median < 1.5 * mean


def _sn(stats: str, key: str) -> float:
    line = next(row for row in stats.splitlines() if row.startswith(f"SN\t{key}:"))
    return float(line.split("\t")[2])


def check_inserts(qc: dict[str, Any], bam: Path) -> None:
    inserts = qc["insert_size"]
    stats = subprocess.run(["samtools", "stats", str(bam)], capture_output=True, text=True)
    assert inserts["mean"] == _sn(stats.stdout, "insert size average")
    assert inserts["sd"] == _sn(stats.stdout, "insert size standard deviation")
    histogram = [
        (int(row.split("\t")[1]), int(row.split("\t")[2]))
        for row in stats.stdout.splitlines()
        if row.startswith("IS\t") and int(row.split("\t")[2])
    ]
    assert inserts["histogram"] == [list(pair) for pair in histogram]
    assert inserts["pairs"] == sum(n for _, n in histogram)
    median = inserts["median"]
    below = sum(n for size, n in histogram if size < median)
    assert below < inserts["pairs"] / 2 <= below + dict(histogram)[median]


def _records(vcf: Path) -> list[tuple[str, ...]]:
    """REF, ALT and GT of the records that pass or carry no FILTER."""
    query = ["-f", r"%REF\t%ALT\t[%GT]\n", "-i", 'FILTER="PASS" || FILTER="."']
    out = subprocess.run(["bcftools", "query", *query, str(vcf)], capture_output=True)
    return [tuple(line.split("\t")) for line in out.stdout.decode().splitlines()]


def check_variants(qc: dict[str, Any], vcf: Path) -> None:
    variants = qc["variants"]
    rows = _records(vcf)
    assert all("," not in alt for _, alt, _ in rows)  # biallelic: one class per record
    snvs = [(ref, alt) for ref, alt, _ in rows if len(ref) == len(alt) == 1]
    insertions = [1 for ref, alt, _ in rows if len(alt) > len(ref)]
    deletions = [1 for ref, alt, _ in rows if len(alt) < len(ref)]
    assert variants["records"] == len(rows)
    assert (variants["snv"], variants["insertion"], variants["deletion"]) == (
        len(snvs),
        len(insertions),
        len(deletions),
    )
    assert variants["mnv"] == sum(1 for r, a, _ in rows if len(r) == len(a) > 1)
    ti = sum(1 for pair in snvs if pair in TRANSITIONS)
    assert (variants["transitions"], variants["transversions"]) == (ti, len(snvs) - ti)
    assert variants["ti_tv"] == pytest.approx(ti / (len(snvs) - ti), abs=1e-6)
    genotypes = Counter(gt.replace("|", "/") for _, _, gt in rows)
    assert variants["het"] == genotypes["0/1"] and variants["hom_alt"] == genotypes["1/1"]
    spectrum = {kind: n for kind, n in variants["substitutions"].items() if n}
    assert spectrum == {f"{r}>{a}": n for (r, a), n in Counter(snvs).items()}
