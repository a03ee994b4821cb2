"""The CWL job document for one run, and the notes on options that cannot be honoured."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from genoflow.errors import InputError, UsageError
from genoflow.pipelines.reference import ReferenceFiles

Caller = Literal["bcftools", "gatk"]
CALLERS: tuple[Caller, ...] = ("bcftools", "gatk")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_HEADER_BREAKING = re.compile(r"[\x00-\x1f\x7f]+")  # tabs and newlines split header lines


@dataclass(frozen=True)
class PipelineJob:
    """What to hand to the engine: the job document, and what the run log must say."""

    document: dict[str, Any]
    caller: Caller  # the caller that will actually run
    notes: list[str] = field(default_factory=list)  # requested options that are not honoured

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.document, indent=2) + "\n")
        return path


@dataclass(frozen=True)
class PipelineOutputs:
    """The files a finished run produced (from the engine's JSON on stdout)."""

    bam: Path
    bai: Path
    vcf: Path
    vcf_index: Path | None
    logs: list[Path]


def derive_read_group(sample: str) -> str:
    """The @RG line used when the request gives none: ID, SM and LB are the sample name."""
    name = safe_name(sample)
    return rf"@RG\tID:{name}\tSM:{name}\tLB:{name}\tPL:ILLUMINA"


def safe_name(text: str) -> str:
    """``text`` with runs of characters unsafe in file names and @RG fields replaced by '_'."""
    cleaned = _UNSAFE_NAME.sub("_", text.strip()).strip("_")
    return cleaned or "sample"


def normalise_read_group(read_group: str) -> str:
    r"""The @RG line as ``bwa mem -R`` takes it: tabs written as the two characters ``\t``."""
    line = read_group.strip().replace("\t", r"\t")
    fields = line.split(r"\t")
    if fields[0] != "@RG" or not any(f.startswith("ID:") and len(f) > 3 for f in fields[1:]):
        raise InputError(
            f"read group {read_group!r} is not an @RG line with an ID",
            hint=r"write it as '@RG\tID:name\tSM:sample'",
        )
    if "\n" in line or "\r" in line:
        raise InputError("read group must be one line")
    return line


def build_job(
    *,
    reference: ReferenceFiles,
    sample: str,
    fastq_pairs: Sequence[tuple[Path, Path]] = (),
    bam: Path | None = None,
    read_group: str | None = None,
    threads: int = 1,
    caller: Caller = "bcftools",
    gvcf: bool = False,
    bgzip: bool = False,
    bqsr: bool = False,
    known_sites: Sequence[Path] = (),
    base: str | None = None,
    gatk_available: bool | None = None,
    reference_name: str | None = None,
    input_names: Sequence[str] = (),
) -> PipelineJob:
    """The job document for ``workflow_path()``.

    Inputs are FASTQ pairs (several pairs of one sample are aligned as one stream) or one
    BAM. ``read_group`` None derives one from ``sample``. ``gatk_available`` None looks for a
    ``gatk`` executable on PATH (pass True when the engine runs the GATK container). Options
    that cannot be honoured are dropped with a note; the server must show the notes in the
    run's log and message.

    ``reference_name`` (the reference's registered name; default: the FASTA's name without
    extension) and ``input_names`` (the blob names, in input order: r1, r2 of each pair, or
    the BAM; default: the files' names) are what the BAM and VCF headers name instead of the
    staged paths the tools see.
    """
    _check_request(fastq_pairs, bam, threads, caller)
    notes: list[str] = []
    if gatk_available is None:
        gatk_available = shutil.which("gatk") is not None
    chosen = _choose_caller(caller, gatk_available, notes)
    document: dict[str, Any] = {
        "reference": _file(reference.fasta),
        "read_group": normalise_read_group(read_group or derive_read_group(sample)),
        "threads": threads,
        "caller": chosen,
        "gvcf": gvcf,
        "bgzip": bgzip,
        "base": safe_name(base or sample),
        "reference_name": header_name(reference_name or reference.fasta.stem),
    }
    document.update(_input_files(fastq_pairs, bam, input_names))
    sites = _bqsr_sites(bqsr, chosen, gatk_available, known_sites, notes)
    if sites:
        document["known_sites"] = [_file(site) for site in sites]
    return PipelineJob(document=document, caller=chosen, notes=notes)


def header_name(text: str) -> str:
    """``text`` fit for a SAM or VCF header line: control characters (tab, newline) -> '_'."""
    return _HEADER_BREAKING.sub("_", text).strip() or "unnamed"


def _input_files(
    fastq_pairs: Sequence[tuple[Path, Path]], bam: Path | None, input_names: Sequence[str]
) -> dict[str, Any]:
    """The job's input files and, for the headers, the name of each."""
    paths = [bam] if bam is not None else [p for pair in fastq_pairs for p in pair]
    if input_names and len(input_names) != len(paths):
        raise UsageError(f"{len(input_names)} input names given for {len(paths)} input files")
    names = [header_name(name) for name in input_names or [path.name for path in paths]]
    if bam is not None:
        return {"input_bam": _file(bam), "input_bam_name": names[0]}
    return {
        "fastq_r1": [_file(path) for path in paths[0::2]],
        "fastq_r2": [_file(path) for path in paths[1::2]],
        "fastq_r1_names": names[0::2],
        "fastq_r2_names": names[1::2],
    }


def _check_request(
    fastq_pairs: Sequence[tuple[Path, Path]], bam: Path | None, threads: int, caller: str
) -> None:
    if bool(fastq_pairs) == (bam is not None):
        raise UsageError("give either FASTQ pairs or one BAM as input, not both and not neither")
    if threads < 1:
        raise UsageError(f"threads must be at least 1, not {threads}")
    if caller not in CALLERS:
        raise UsageError(f"unknown variant caller {caller!r}: use one of {', '.join(CALLERS)}")
    for path in [p for pair in fastq_pairs for p in pair] + ([bam] if bam else []):
        if not path.is_file():
            raise InputError(f"input file not found: {path}")


def _choose_caller(requested: Caller, gatk_available: bool, notes: list[str]) -> Caller:
    if requested != "gatk":
        return requested
    if gatk_available:
        return "gatk"
    notes.append(
        "GATK HaplotypeCaller requested but GATK is not installed: "
        "variants called with bcftools mpileup | bcftools call instead"
    )
    return "bcftools"


def _bqsr_sites(
    bqsr: bool, chosen: Caller, gatk_available: bool, known_sites: Sequence[Path], notes: list[str]
) -> Sequence[Path]:
    if not bqsr:
        return ()
    if chosen != "gatk":
        reason = "the variant caller is bcftools" if gatk_available else "GATK is not installed"
        notes.append(f"BQSR requested but {reason}: skipped")
        return ()
    if not known_sites:
        notes.append("BQSR requested but no known sites are configured for this reference: skipped")
        return ()
    for site in known_sites:
        if not site.is_file():
            raise InputError(f"known sites file not found: {site}")
    return known_sites


def _file(path: Path) -> dict[str, str]:
    return {"class": "File", "path": str(path.resolve())}


def collect_outputs(engine_stdout: str | Mapping[str, Any]) -> PipelineOutputs:
    """Read the output object the engine printed (cwltool and toil-cwl-runner print JSON)."""
    data = json.loads(engine_stdout) if isinstance(engine_stdout, str) else engine_stdout
    try:
        bam, vcf = data["bam"], data["vcf"]
        vcf_index = [
            s["path"] for s in vcf.get("secondaryFiles") or [] if s["path"].endswith(".tbi")
        ]
        return PipelineOutputs(
            bam=Path(bam["path"]),
            bai=Path(next(s["path"] for s in bam["secondaryFiles"] if s["path"].endswith(".bai"))),
            vcf=Path(vcf["path"]),
            vcf_index=Path(vcf_index[0]) if vcf_index else None,
            logs=[Path(log["path"]) for log in data.get("logs") or []],
        )
    except (KeyError, TypeError, StopIteration) as error:
        raise ValueError(f"the engine's output object lacks {error}") from error
