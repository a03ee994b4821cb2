"""A small, deterministic demo sample: reference, diploid variants, paired reads, truth VCF.

Everything is drawn from one ``random.Random(seed)``, files are written with fixed gzip
headers (no timestamps, no names), so the same seed gives byte-identical files. Pure Python:
a 300 kb reference at 30x (~30 000 pairs) takes about a second, 500 000 pairs well under a
minute.

The reference is "genome-like" without pretending to be real: isochore-like segments of
varying GC content, a diverged interspersed repeat family (Alu-like), microsatellites and
homopolymer runs. Variants are placed only in unique sequence, away from repeats and from
chromosome ends, so a correct pipeline can find them.
"""

from __future__ import annotations

import gzip
import itertools
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BASES = "ACGT"
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
REPEAT_UNIT_LENGTH = 300
END_MARGIN = 600  # no variants this close to a chromosome end: coverage tapers off there
VARIANT_SPACING = 40  # minimum distance between two truth variants
REPEAT_MARGIN = 150  # no variants this close to a repeat: reads there may map ambiguously


@dataclass(frozen=True)
class Variant:
    chrom: str
    pos: int  # 1-based, VCF convention (indels anchored on the preceding base)
    ref: str
    alt: str
    genotype: tuple[int, int]  # allele on haplotype 0 and 1; (1, 1) is homozygous

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1


@dataclass(frozen=True)
class DemoData:
    """Paths and facts of one simulated sample."""

    directory: Path
    reference: Path
    fastq_r1: Path
    fastq_r2: Path
    truth_vcf: Path  # bgzipped
    truth_index: Path  # tabix .tbi
    sample: str
    read_pairs: int
    read_length: int
    snvs: int
    indels: int

    @property
    def bases(self) -> int:
        return 2 * self.read_pairs * self.read_length


@dataclass(frozen=True)
class _Chromosome:
    name: str
    sequence: str
    repeats: tuple[tuple[int, int], ...]  # 0-based half-open intervals


def simulate(
    out_dir: Path,
    *,
    seed: int = 1,
    reference_length: int = 300_000,
    coverage: float = 30.0,
    read_length: int = 150,
    snvs: int = 300,
    indels: int = 60,
    read_pairs: int | None = None,
    insert_mean: int = 350,
    insert_sd: int = 40,
    error_rate: float = 0.002,
    sample: str = "DEMO",
) -> DemoData:
    """Write ``reference.fa``, ``DEMO_1.fq.gz``, ``DEMO_2.fq.gz`` and ``truth.vcf.gz`` (+ .tbi).

    ``read_pairs`` overrides ``coverage`` (the benchmark asks for a pair count).
    """
    if reference_length < 20_000:
        raise ValueError("reference_length must be at least 20000 bases")
    if read_length < 50 or insert_mean < read_length:
        raise ValueError("read_length must be >= 50 and insert_mean >= read_length")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    chromosomes = _make_reference(rng, reference_length)
    variants = _place_variants(rng, chromosomes, snvs, indels)
    pairs = read_pairs or round(coverage * reference_length / (2 * read_length))

    reference = out_dir / "reference.fa"
    _write_fasta(reference, chromosomes)
    truth_vcf = _write_truth(out_dir / "truth.vcf", chromosomes, variants, sample)
    haplotypes = _haplotypes(chromosomes, variants)
    r1, r2 = out_dir / f"{sample}_1.fq.gz", out_dir / f"{sample}_2.fq.gz"
    reads = _ReadSimulator(rng, haplotypes, read_length, insert_mean, insert_sd, error_rate, sample)
    _write_fastq_pair(r1, r2, reads.pairs(pairs))
    return DemoData(
        directory=out_dir,
        reference=reference,
        fastq_r1=r1,
        fastq_r2=r2,
        truth_vcf=truth_vcf,
        truth_index=Path(f"{truth_vcf}.tbi"),
        sample=sample,
        read_pairs=pairs,
        read_length=read_length,
        snvs=sum(v.is_snv for v in variants),
        indels=sum(not v.is_snv for v in variants),
    )


# --- reference ----------------------------------------------------------------------------


def _make_reference(rng: random.Random, total_length: int) -> list[_Chromosome]:
    repeat_unit = _random_bases(rng, REPEAT_UNIT_LENGTH, 0.52)
    first = int(total_length * 0.6)
    return [
        _make_chromosome(rng, "chr1", first, repeat_unit),
        _make_chromosome(rng, "chr2", total_length - first, repeat_unit),
    ]


def _make_chromosome(rng: random.Random, name: str, length: int, repeat_unit: str) -> _Chromosome:
    parts: list[str] = []
    repeats: list[tuple[int, int]] = []
    size = 0
    while size < length:
        gc = rng.uniform(0.35, 0.60)  # one isochore-like segment
        segment_end = min(length, size + rng.randint(4_000, 20_000))
        while size < segment_end:
            unique = _random_bases(rng, min(segment_end - size, rng.randint(1_500, 6_000)), gc)
            parts.append(unique)
            size += len(unique)
            element = _repeat_element(rng, repeat_unit)
            if size + len(element) < length - END_MARGIN:
                repeats.append((size, size + len(element)))
                parts.append(element)
                size += len(element)
    return _Chromosome(name, "".join(parts)[:length], tuple(repeats))


def _repeat_element(rng: random.Random, repeat_unit: str) -> str:
    kind = rng.random()
    if kind < 0.5:  # an interspersed repeat copy, 8-20 % diverged from the family consensus
        return _mutate(rng, repeat_unit, rng.uniform(0.08, 0.20))
    if kind < 0.8:  # a microsatellite
        unit = rng.choice(["CA", "GT", "AAT", "AGAT", "TTTA", "GGC"])
        return unit * rng.randint(6, 18)
    return rng.choice(BASES) * rng.randint(10, 25)  # a homopolymer run


def _random_bases(rng: random.Random, length: int, gc: float) -> str:
    at = (1 - gc) / 2
    return "".join(rng.choices(BASES, weights=(at, gc / 2, gc / 2, at), k=length))


def _mutate(rng: random.Random, sequence: str, rate: float) -> str:
    bases = list(sequence)
    for index in range(len(bases)):
        if rng.random() < rate:
            bases[index] = rng.choice(BASES.replace(bases[index], ""))
    return "".join(bases)


# --- variants -----------------------------------------------------------------------------


def _place_variants(
    rng: random.Random, chromosomes: list[_Chromosome], snvs: int, indels: int
) -> list[Variant]:
    kinds = ["snv"] * snvs + ["indel"] * indels
    rng.shuffle(kinds)
    total = sum(len(c.sequence) for c in chromosomes)
    variants: list[Variant] = []
    taken: dict[str, list[int]] = {c.name: [] for c in chromosomes}
    for kind in kinds:
        for _attempt in range(1_000):
            chrom = rng.choices(
                chromosomes, weights=[len(c.sequence) / total for c in chromosomes]
            )[0]
            start = rng.randrange(END_MARGIN, len(chrom.sequence) - END_MARGIN)
            if _is_free(chrom, taken[chrom.name], start):
                taken[chrom.name].append(start)
                variants.append(_make_variant(rng, chrom, start, kind))
                break
        else:
            raise ValueError("too many variants for this reference length")
    return sorted(variants, key=lambda v: ([c.name for c in chromosomes].index(v.chrom), v.pos))


def _is_free(chrom: _Chromosome, taken: list[int], start: int) -> bool:
    if any(abs(start - other) < VARIANT_SPACING for other in taken):
        return False
    return not any(
        begin - REPEAT_MARGIN <= start < end + REPEAT_MARGIN for begin, end in chrom.repeats
    )


def _make_variant(rng: random.Random, chrom: _Chromosome, start: int, kind: str) -> Variant:
    genotype = (1, 1) if rng.random() < 0.35 else rng.choice([(0, 1), (1, 0)])
    sequence = chrom.sequence
    if kind == "snv":
        ref = sequence[start]
        return Variant(chrom.name, start + 1, ref, rng.choice(BASES.replace(ref, "")), genotype)
    size = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 8, 10])
    anchor = sequence[start]
    if rng.random() < 0.5:  # insertion after the anchor base
        inserted = _random_bases(rng, size, 0.5)
        return Variant(chrom.name, start + 1, anchor, anchor + inserted, genotype)
    return Variant(chrom.name, start + 1, sequence[start : start + 1 + size], anchor, genotype)


def _haplotypes(chromosomes: list[_Chromosome], variants: list[Variant]) -> list[str]:
    """Both haplotypes of every chromosome, with the variants applied."""
    haplotypes = []
    for chrom in chromosomes:
        own = [v for v in variants if v.chrom == chrom.name]
        for hap in (0, 1):
            parts, cursor = [], 0
            for variant in own:
                if variant.genotype[hap]:
                    begin = variant.pos - 1
                    parts.append(chrom.sequence[cursor:begin])
                    parts.append(variant.alt)
                    cursor = begin + len(variant.ref)
            parts.append(chrom.sequence[cursor:])
            haplotypes.append("".join(parts))
    return haplotypes


# --- reads --------------------------------------------------------------------------------


class _ReadSimulator:
    """Paired-end reads from random fragments of random haplotypes, with substitution errors."""

    def __init__(
        self,
        rng: random.Random,
        haplotypes: list[str],
        read_length: int,
        insert_mean: int,
        insert_sd: int,
        error_rate: float,
        sample: str,
    ) -> None:
        self.rng = rng
        self.haplotypes = haplotypes
        self.cumulative = list(itertools.accumulate(len(h) for h in haplotypes))
        self.read_length = read_length
        self.insert_mean, self.insert_sd = insert_mean, insert_sd
        self.sample = sample
        self.log_keep = math.log(1 - error_rate)
        self.qualities = [self._quality_template() for _ in range(64)]
        self.next_error = self._gap()

    def _gap(self) -> int:
        return int(math.log(1 - self.rng.random()) / self.log_keep)

    def _quality_template(self) -> str:
        # high quality that slowly degrades along the read, as on an Illumina instrument
        length = self.read_length
        scores = [
            max(12, min(40, round(38 - 8 * (i / length) ** 2 + self.rng.gauss(0, 1.5))))
            for i in range(length)
        ]
        return "".join(chr(33 + s) for s in scores)

    def pairs(self, count: int) -> Iterator[tuple[str, str, str, str, str]]:
        """Yield (name, seq1, qual1, seq2, qual2)."""
        rng, length = self.rng, self.read_length
        for index in range(count):
            hap = rng.choices(self.haplotypes, cum_weights=self.cumulative)[0]
            fragment = max(length, min(len(hap), int(rng.gauss(self.insert_mean, self.insert_sd))))
            start = rng.randrange(0, len(hap) - fragment + 1)
            forward = hap[start : start + length]
            reverse = hap[start + fragment - length : start + fragment][::-1].translate(_COMPLEMENT)
            if rng.random() < 0.5:
                forward, reverse = reverse, forward
            seq1, qual1 = self._sequence_errors(forward)
            seq2, qual2 = self._sequence_errors(reverse)
            yield f"{self.sample}.{index + 1}", seq1, qual1, seq2, qual2

    def _sequence_errors(self, read: str) -> tuple[str, str]:
        quality = self.rng.choice(self.qualities)
        if self.next_error >= len(read):
            self.next_error -= len(read)
            return read, quality
        bases, scores = list(read), list(quality)
        while self.next_error < len(read):
            at = self.next_error
            bases[at] = self.rng.choice(BASES.replace(bases[at], ""))
            scores[at] = chr(33 + self.rng.randint(8, 30))  # errors tend to have lower quality
            self.next_error += 1 + self._gap()
        self.next_error -= len(read)
        return "".join(bases), "".join(scores)


# --- files --------------------------------------------------------------------------------


@contextmanager
def _deterministic_gzip(path: Path) -> Iterator[gzip.GzipFile]:
    # no file name and a zero timestamp in the header: same content, same bytes
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as compressed,
    ):
        yield compressed


def _write_fastq_pair(r1: Path, r2: Path, pairs: Iterator[tuple[str, str, str, str, str]]) -> None:
    with _deterministic_gzip(r1) as out1, _deterministic_gzip(r2) as out2:
        chunk1: list[str] = []
        chunk2: list[str] = []
        for name, seq1, qual1, seq2, qual2 in pairs:
            chunk1.append(f"@{name}/1\n{seq1}\n+\n{qual1}\n")
            chunk2.append(f"@{name}/2\n{seq2}\n+\n{qual2}\n")
            if len(chunk1) >= 10_000:
                out1.write("".join(chunk1).encode())
                out2.write("".join(chunk2).encode())
                chunk1.clear()
                chunk2.clear()
        out1.write("".join(chunk1).encode())
        out2.write("".join(chunk2).encode())


def _write_fasta(path: Path, chromosomes: list[_Chromosome]) -> None:
    with path.open("w") as out:
        for chrom in chromosomes:
            out.write(f">{chrom.name}\n")
            sequence = chrom.sequence
            out.writelines(f"{sequence[i : i + 60]}\n" for i in range(0, len(sequence), 60))


def _write_truth(
    path: Path, chromosomes: list[_Chromosome], variants: list[Variant], sample: str
) -> Path:
    import pysam

    lines = ["##fileformat=VCFv4.2", "##source=genoflow.demo.simulate"]
    lines += [f"##contig=<ID={c.name},length={len(c.sequence)}>" for c in chromosomes]
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    lines.append(
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", sample])
    )
    for v in variants:
        genotype = "1/1" if v.genotype == (1, 1) else f"{v.genotype[0]}|{v.genotype[1]}"
        lines.append(f"{v.chrom}\t{v.pos}\t.\t{v.ref}\t{v.alt}\t.\tPASS\t.\tGT\t{genotype}")
    path.write_text("\n".join(lines) + "\n")
    compressed = pysam.tabix_index(str(path), preset="vcf", force=True)
    return Path(compressed)
