"""The demo dataset: deterministic, genome-like, consistent with its truth; evaluation scores."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pysam
import pytest

from genoflow.demo import DemoData, evaluate, simulate
from genoflow.errors import InputError
from tests.pipeline.conftest import needs_tools

FILES = ("reference.fa", "DEMO_1.fq.gz", "DEMO_2.fq.gz", "truth.vcf.gz", "truth.vcf.gz.tbi")
SMALL = {"reference_length": 40_000, "coverage": 5, "snvs": 40, "indels": 10}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    first = simulate(tmp_path / "a", seed=11, **SMALL)
    simulate(tmp_path / "b", seed=11, **SMALL)
    other = simulate(tmp_path / "c", seed=12, **SMALL)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert first.fastq_r1.read_bytes() != other.fastq_r1.read_bytes()
    assert first.reference.read_bytes() != other.reference.read_bytes()


def test_truth_matches_the_requested_variants(demo: DemoData) -> None:
    with pysam.VariantFile(str(demo.truth_vcf)) as truth:
        records = list(truth.fetch())  # through the .tbi index
    snvs = [r for r in records if len(r.ref) == 1 and len(r.alts[0]) == 1]
    assert (len(snvs), len(records) - len(snvs)) == (demo.snvs, demo.indels) == (300, 60)
    genotypes = {r.samples["DEMO"]["GT"] for r in records}
    assert (1, 1) in genotypes and ((0, 1) in genotypes or (1, 0) in genotypes)
    fasta = pysam.FastaFile(str(demo.reference))
    for record in records:  # REF alleles are the reference's bases
        assert fasta.fetch(record.chrom, record.start, record.stop) == record.ref


def test_reference_is_genome_like(demo: DemoData) -> None:
    fasta = pysam.FastaFile(str(demo.reference))
    assert sum(fasta.lengths) == 300_000 and tuple(fasta.references) == ("chr1", "chr2")
    sequence = fasta.fetch("chr1")
    windows = [sequence[i : i + 5000] for i in range(0, len(sequence) - 5000, 5000)]
    gc = [(w.count("G") + w.count("C")) / len(w) for w in windows]
    assert min(gc) < 0.44 and max(gc) > 0.50  # GC content varies along the chromosome
    assert "A" * 10 in sequence or "T" * 10 in sequence or "C" * 10 in sequence  # low complexity
    counts = Counter(sequence[i : i + 20] for i in range(len(sequence) - 20))
    repeated = sum(count for count in counts.values() if count > 1) / (len(sequence) - 20)
    assert 0.001 < repeated < 0.05  # mostly unique sequence, with some repeats


def test_reads_are_paired_and_as_many_as_asked(demo: DemoData) -> None:
    with gzip.open(demo.fastq_r1, "rt") as first, gzip.open(demo.fastq_r2, "rt") as second:
        names1 = [line.rstrip() for i, line in enumerate(first) if i % 4 == 0]
        names2 = [line.rstrip() for i, line in enumerate(second) if i % 4 == 0]
    assert len(names1) == len(names2) == demo.read_pairs == 30_000
    assert names1[0] == "@DEMO.1/1" and names2[0] == "@DEMO.1/2"
    assert [n[:-2] for n in names1] == [n[:-2] for n in names2]


def test_read_pairs_overrides_coverage(tmp_path: Path) -> None:
    data = simulate(tmp_path, seed=3, read_pairs=1234, **SMALL)
    assert data.read_pairs == 1234 and data.bases == 2 * 1234 * 150


@needs_tools
def test_truth_scores_perfectly_against_itself(demo: DemoData) -> None:
    scores = evaluate(demo.truth_vcf, demo.truth_vcf, demo.reference)
    assert scores.snv.true_positives == 300 and scores.indel.true_positives == 60
    assert scores.all.recall == scores.all.precision == 1.0


@needs_tools
def test_corrupting_one_truth_record_changes_the_scores(demo: DemoData, tmp_path: Path) -> None:
    lines = gzip.decompress(demo.truth_vcf.read_bytes()).decode().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[at].split("\t")
    assert len(fields[3]) == len(fields[4]) == 1, "the first truth record is an SNV"
    fields[4] = next(base for base in "ACGT" if base not in (fields[3], fields[4]))
    lines[at] = "\t".join(fields)
    corrupted = tmp_path / "corrupted.vcf"
    corrupted.write_text("".join(lines))
    scores = evaluate(demo.truth_vcf, corrupted, demo.reference)
    assert (scores.snv.true_positives, scores.snv.false_positives) == (299, 1)
    assert scores.snv.false_negatives == 1
    assert scores.snv.recall == scores.snv.precision == pytest.approx(299 / 300)
    assert scores.indel.recall == 1.0
    assert "SNV" in scores.summary() and "0.9967" in scores.summary()


@needs_tools
def test_evaluate_ignores_reference_calls_and_filtered_records(
    demo: DemoData, tmp_path: Path
) -> None:
    text = gzip.decompress(demo.truth_vcf.read_bytes()).decode()
    header, body = text.split("#CHROM")
    rows = body.splitlines()[1:]
    edited = [rows[0].replace("\tPASS\t", "\tLowQual\t"), rows[1].rsplit("\t", 1)[0] + "\t0/0"]
    calls = tmp_path / "calls.vcf"
    header += '##FILTER=<ID=LowQual,Description="low">\n'
    calls.write_text(
        header + "#CHROM" + body.splitlines()[0] + "\n" + "\n".join(edited + rows[2:]) + "\n"
    )
    scores = evaluate(calls, demo.truth_vcf, demo.reference)
    assert scores.all.false_negatives == 2 and scores.all.false_positives == 0


def test_evaluate_reports_an_unreadable_vcf(demo: DemoData, tmp_path: Path) -> None:
    junk = tmp_path / "junk.vcf"
    junk.write_text("not a vcf\n")
    with pytest.raises(InputError, match="bcftools norm could not read"):
        evaluate(junk, demo.truth_vcf, demo.reference)
