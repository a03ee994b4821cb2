"""Generated single-sample VCFs (bgzipped + tabix-indexed with pysam) for the lake tests and bench.

Samples draw their calls from one shared pool of sites, so some variants recur across samples
(unique-variant counts are then less than the sum of calls). The mix covers every class the
report counts: SNVs, insertions, deletions, MNVs, multi-allelic sites, symbolic alleles, and
reference-only genotypes (0/0, which carry no variant).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pysam

BASES = "ACGT"
CONTIGS = (("chr1", 5_000_000), ("chr2", 4_000_000), ("chrX", 3_000_000))


@dataclass(frozen=True)
class Site:
    contig: str
    pos: int  # 1-based, as in the VCF
    ref: str
    alts: tuple[str, ...]


def _alts(rng: random.Random, ref_base: str) -> tuple[str, tuple[str, ...]]:
    other = [b for b in BASES if b != ref_base]
    roll = rng.random()
    if roll < 0.80:
        return ref_base, (rng.choice(other),)
    if roll < 0.88:  # insertion
        return ref_base, (ref_base + "".join(rng.choices(BASES, k=rng.randint(1, 6))),)
    if roll < 0.95:  # deletion
        return ref_base + "".join(rng.choices(BASES, k=rng.randint(1, 6))), (ref_base,)
    if roll < 0.97:  # MNV
        ref = ref_base + rng.choice(BASES)
        return ref, ("".join(rng.choice([b for b in BASES if b != c]) for c in ref),)
    if roll < 0.995:  # multi-allelic: an SNV and an insertion
        return ref_base, (rng.choice(other), ref_base + rng.choice(BASES))
    return ref_base, ("<DEL>",)  # symbolic: class "other"


def site_pool(size: int, seed: int = 7) -> list[Site]:
    """``size`` distinct sites over CONTIGS, sorted as a VCF is."""
    rng = random.Random(seed)
    total = sum(length for _, length in CONTIGS)
    sites: list[Site] = []
    for contig, length in CONTIGS:
        count = max(1, size * length // total)
        positions = sorted(rng.sample(range(100, length - 100), count))
        for pos in positions:
            ref, alts = _alts(rng, rng.choice(BASES))
            sites.append(Site(contig, pos, ref, alts))
    return sites[:size]


HEADER = """##fileformat=VCFv4.2
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=LowQual,Description="Low quality">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Raw read depth">
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">
##ALT=<ID=DEL,Description="Deletion">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">
##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">
"""


def _genotype(rng: random.Random, n_alts: int) -> str:
    if n_alts > 1 and rng.random() < 0.5:
        return "1/2"
    roll = rng.random()
    if roll < 0.03:
        return "0/0"
    if roll < 0.05:
        return "0|1"
    return "0/1" if roll < 0.6 else "1/1"


def _line(rng: random.Random, site: Site, index: int) -> str:
    gt = _genotype(rng, len(site.alts))
    depth = rng.randint(5, 60)
    ad = ",".join(str(rng.randint(0, depth)) for _ in range(len(site.alts) + 1))
    qual = f"{rng.uniform(3, 900):.2f}" if index % 50 else "."
    filt = "LowQual" if float(qual if qual != "." else 0) < 20 else "PASS"
    info = f"DP={depth}" + (";SVTYPE=DEL" if site.alts[0] == "<DEL>" else "")
    name = f"rs{index}" if index % 3 == 0 else "."
    fields = (site.contig, site.pos, name, site.ref, ",".join(site.alts), qual, filt, info)
    sample = f"{gt}:{depth}:{rng.randint(1, 99)}:{ad}"
    return "\t".join(map(str, fields)) + f"\tGT:DP:GQ:AD\t{sample}\n"


def write_vcf(path: Path, sample: str, pool: list[Site], variants: int, seed: int) -> Path:
    """``path`` (.vcf.gz, bgzipped, with its .tbi): ``variants`` sites of ``pool``, one sample."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(len(pool)), min(variants, len(pool))))
    plain = path.with_suffix("")  # x.vcf
    with plain.open("w") as handle:
        handle.write(HEADER)
        for contig, length in CONTIGS:
            handle.write(f"##contig=<ID={contig},length={length}>\n")
        handle.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n")
        handle.writelines(_line(rng, pool[i], i) for i in chosen)
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path
