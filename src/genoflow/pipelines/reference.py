"""Reference preparation: bwa index, samtools faidx and sequence dictionary, built once."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from genoflow.errors import InputError, RunFailedError

BWA_SUFFIXES = (".amb", ".ann", ".bwt", ".pac", ".sa")


@dataclass(frozen=True)
class ReferenceFiles:
    """A FASTA and the index files the pipeline needs, all beside it in one directory."""

    fasta: Path

    @property
    def fai(self) -> Path:
        return Path(f"{self.fasta}.fai")

    @property
    def dict(self) -> Path:
        return self.fasta.with_suffix(".dict")

    @property
    def bwa_index(self) -> tuple[Path, ...]:
        return tuple(Path(f"{self.fasta}{suffix}") for suffix in BWA_SUFFIXES)

    def all_files(self) -> tuple[Path, ...]:
        return (self.fasta, *self.bwa_index, self.fai, self.dict)

    def is_complete(self) -> bool:
        """True when every index exists and is at least as new as the FASTA."""
        if not self.fasta.is_file():
            return False
        built_after = self.fasta.stat().st_mtime
        return all(p.is_file() and p.stat().st_mtime >= built_after for p in self.all_files()[1:])


def prepare_reference(fasta: Path, dest_dir: Path) -> ReferenceFiles:
    """Place ``fasta`` in ``dest_dir`` and build its bwa index, .fai and .dict there.

    Idempotent: returns at once when the indexes exist and are newer than the FASTA. A gzipped
    FASTA is decompressed (bwa and samtools need random access). Without write access to the
    FASTA's directory the FASTA is hard-linked (or copied) so the indexes sit beside it, as the
    CWL ``secondaryFiles`` require. Building writes to temporary names first, so an interrupted
    build leaves nothing that looks complete.
    """
    if not fasta.is_file():
        raise InputError(
            f"reference FASTA not found: {fasta}", hint="give the path of a FASTA file"
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    reference = ReferenceFiles(_placed_fasta(fasta, dest_dir))
    if reference.is_complete():
        return reference
    _check_fasta(reference.fasta)
    _build(["bwa", "index", "-p", "{out}", str(reference.fasta)], reference.fasta, BWA_SUFFIXES)
    _build(["samtools", "faidx", "--fai-idx", "{out}", str(reference.fasta)], reference.fai, ("",))
    _build(["samtools", "dict", "-o", "{out}", str(reference.fasta)], reference.dict, ("",))
    return reference


def _placed_fasta(fasta: Path, dest_dir: Path) -> Path:
    source = fasta.resolve()
    name = source.name[:-3] if source.name.endswith(".gz") else source.name
    target = dest_dir.resolve() / name
    if target == source:
        return target
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    partial = target.with_name(f".{target.name}.partial")
    if source.name.endswith(".gz"):
        with gzip.open(source, "rb") as compressed, partial.open("wb") as out:
            shutil.copyfileobj(compressed, out, 1 << 20)
    else:
        try:
            partial.unlink(missing_ok=True)
            os.link(source, partial)
        except OSError:
            shutil.copyfile(source, partial)
    os.replace(partial, target)
    return target


def _check_fasta(fasta: Path) -> None:
    with fasta.open("rb") as handle:
        if handle.read(1) != b">":
            raise InputError(
                f"{fasta} is not a FASTA file (it must start with '>')",
                hint="give an uncompressed or gzipped FASTA",
            )


def _build(command: list[str], target: Path, suffixes: tuple[str, ...]) -> None:
    """Run a command writing to a temporary prefix, then rename its outputs into place."""
    temporary = target.with_name(f".{target.name}.building")
    _run([part.replace("{out}", str(temporary)) for part in command], target)
    for suffix in suffixes:
        os.replace(f"{temporary}{suffix}", f"{target}{suffix}")


def _run(command: list[str], subject: Path) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise RunFailedError(f"'{' '.join(command[:2])}' failed for {subject}: {last}")
