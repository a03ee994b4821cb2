"""Fast sanity checks of local inputs, run before a single byte is uploaded.

A 100 GB upload of the wrong file is an expensive mistake: these checks read only the first
kilobytes (gzip magic, the first FASTQ records, the BAM magic) and raise InputError (exit 2).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import BinaryIO

from genoflow.errors import InputError
from genoflow.model.tags import kind_of

GZIP_MAGIC = b"\x1f\x8b"
BAM_MAGIC = b"BAM\x01"
FASTQ_RECORDS_CHECKED = 8
_SEQUENCE_LETTERS = frozenset(b"ACGTNacgtnRYKMSWBDHVUryk msw bdhvu.-".replace(b" ", b""))


def check_input(path: Path) -> None:
    """Check a file by its name: FASTQ (plain or gzip), BAM, or any other ``.gz``."""
    kind = kind_of(path.name)
    if kind == "fastq":
        check_fastq(path)
    elif kind == "bam":
        _check_bam(path)
    elif path.name.endswith(".gz"):
        _require_gzip(path)


def check_fastq(path: Path) -> None:
    """Raise InputError unless ``path`` starts with valid FASTQ records (gzip if named .gz)."""
    gzipped = path.name.endswith(".gz")
    if gzipped:
        _require_gzip(path)
    try:
        with _open(path, gzipped) as stream:
            records = _check_records(path, stream)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(
            f"{path}: cannot read it as {'gzipped ' if gzipped else ''}FASTQ: {exc}"
        ) from exc
    if records == 0:
        raise InputError(f"{path}: no FASTQ records (the file is empty)")


def _open(path: Path, gzipped: bool) -> BinaryIO:
    return gzip.open(path, "rb") if gzipped else path.open("rb")  # type: ignore[return-value]


def _check_records(path: Path, stream: BinaryIO) -> int:
    for number in range(1, FASTQ_RECORDS_CHECKED + 1):
        lines = [stream.readline() for _ in range(4)]
        if not lines[0]:
            return number - 1
        header, sequence, plus, quality = (line.rstrip(b"\r\n") for line in lines)
        where = f"{path}: record {number} is not FASTQ"
        if not header.startswith(b"@"):
            raise InputError(
                f"{where}: the header line must start with '@'",
                hint="is this really a FASTQ file (not FASTA, BAM or text)?",
            )
        if not sequence or not set(sequence) <= _SEQUENCE_LETTERS:
            raise InputError(f"{where}: the sequence line has characters other than bases")
        if not plus.startswith(b"+"):
            raise InputError(f"{where}: the third line must start with '+'")
        if len(quality) != len(sequence):
            raise InputError(
                f"{where}: quality and sequence lengths differ "
                f"({len(quality)} vs {len(sequence)}; truncated file?)"
            )
    return FASTQ_RECORDS_CHECKED


def _require_gzip(
    path: Path,
    problem: str = "named .gz but it is not gzip-compressed",
    hint: str = "compress it with gzip (or bgzip), or rename it",
) -> None:
    with path.open("rb") as stream:
        if stream.read(2) != GZIP_MAGIC:
            raise InputError(f"{path}: {problem}", hint=hint)


def _check_bam(path: Path) -> None:
    _require_gzip(
        path,
        "named .bam but it is not a BAM file (not BGZF-compressed)",
        "is it SAM or text? convert it with 'samtools view -b', or rename it",
    )
    try:
        with gzip.open(path, "rb") as stream:
            magic = stream.read(4)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read it as BAM: {exc}") from exc
    if magic != BAM_MAGIC:
        raise InputError(f"{path}: named .bam but it is not a BAM file (no BAM magic)")
