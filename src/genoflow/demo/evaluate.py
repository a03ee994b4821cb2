"""Recall and precision of a call set against a truth set.

Both VCFs are normalised with ``bcftools norm -f REF -m -any`` (indels left-aligned, multi-allelic
records split), then matched on (chrom, pos, ref, alt). Matching is genotype-agnostic: a het
truth variant called hom-alt counts as found. Records that are not variant calls are ignored:
symbolic ALT alleles (``<*>``, ``<NON_REF>``: gVCF reference blocks) and genotypes without an
ALT allele (0/0, ./.). By default (``pass_only``) so are calls whose FILTER is not PASS or "."
(the pipeline's LowQual and LowDP); ``pass_only=False`` scores every call. The truth is read
whole.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from genoflow.errors import InputError

VariantKey = tuple[str, int, str, str]


@dataclass(frozen=True)
class TypeScores:
    """Counts for one variant class; recall/precision are 0.0 when undefined."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def recall(self) -> float:
        found = self.true_positives + self.false_negatives
        return self.true_positives / found if found else 0.0

    @property
    def precision(self) -> float:
        called = self.true_positives + self.false_positives
        return self.true_positives / called if called else 0.0


@dataclass(frozen=True)
class Scores:
    snv: TypeScores
    indel: TypeScores
    all: TypeScores

    def summary(self) -> str:
        rows = [f"{'class':<6} {'TP':>6} {'FP':>6} {'FN':>6} {'recall':>8} {'precision':>9}"]
        for name, score in (("SNV", self.snv), ("indel", self.indel), ("all", self.all)):
            rows.append(
                f"{name:<6} {score.true_positives:>6} {score.false_positives:>6} "
                f"{score.false_negatives:>6} {score.recall:>8.4f} {score.precision:>9.4f}"
            )
        return "\n".join(rows)


def evaluate(
    called_vcf: Path, truth_vcf: Path, reference: Path, *, pass_only: bool = True
) -> Scores:
    """Score ``called_vcf`` (plain or bgzipped VCF/gVCF) against ``truth_vcf``: the calls that
    passed every filter, or with ``pass_only=False`` every call."""
    called = normalised_variants(called_vcf, reference, pass_only=pass_only)
    truth = normalised_variants(truth_vcf, reference, pass_only=False)
    return Scores(
        snv=_score({k for k in called if _is_snv(k)}, {k for k in truth if _is_snv(k)}),
        indel=_score({k for k in called if not _is_snv(k)}, {k for k in truth if not _is_snv(k)}),
        all=_score(called, truth),
    )


def normalised_variants(vcf: Path, reference: Path, *, pass_only: bool = True) -> set[VariantKey]:
    """The (chrom, pos, ref, alt) keys of the variant calls in ``vcf`` after normalisation."""
    command = ["bcftools", "norm", "-f", str(reference), "-m", "-any", "-Ov", str(vcf)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()[-1:] or ["no message"]
        raise InputError(f"bcftools norm could not read {vcf}: {message[0]}")
    keys: set[VariantKey] = set()
    for line in result.stdout.splitlines():
        if not line.startswith("#"):
            key = _variant_key(line.split("\t"), pass_only)
            if key is not None:
                keys.add(key)
    return keys


def _variant_key(fields: list[str], pass_only: bool) -> VariantKey | None:
    chrom, pos, _id, ref, alt, _qual, filters = fields[:7]
    if (pass_only and filters not in ("PASS", ".")) or alt.startswith("<") or alt in (".", "*"):
        return None
    if len(fields) > 9 and not _has_alt_allele(fields[8], fields[9]):
        return None
    return chrom, int(pos), ref.upper(), alt.upper()


def _has_alt_allele(format_field: str, sample_field: str) -> bool:
    keys = format_field.split(":")
    if "GT" not in keys:
        return True
    genotype = sample_field.split(":")[keys.index("GT")]
    return any(allele not in ("0", ".") for allele in genotype.replace("|", "/").split("/"))


def _is_snv(key: VariantKey) -> bool:
    return len(key[2]) == 1 and len(key[3]) == 1


def _score(called: set[VariantKey], truth: set[VariantKey]) -> TypeScores:
    found = len(called & truth)
    return TypeScores(found, len(called) - found, len(truth) - found)
