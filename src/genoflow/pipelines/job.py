"""The CWL job document for one run, and the notes on options that cannot be honoured.

:func:`job_for` is the one mapper from a run's descriptor (:class:`SubmitRequest`) to a CWL job,
used by the server (the ``#analysis`` form on the inputs it staged) and by the client
(``genoflow pipeline job``: the ``#main`` form on URLs, which any CWL engine runs).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

from genoflow.errors import InputError, UsageError
from genoflow.model.submission import InputKind, SubmitRequest
from genoflow.pipelines.reference import BWA_SUFFIXES, ReferenceFiles

Caller = Literal["bcftools", "gatk"]
Form = Literal["analysis", "main"]  # the packed document's entry points
Location = Path | str  # a local path, or a URL (http, https) the engine reads
# main-form inputs naming each reference index file (a URL's secondary files cannot be found by
# suffix): input name -> the file's suffix after the FASTA's name (or, for dict, its stem)
REFERENCE_INDEX_INPUTS = {f"reference_{s.lstrip('.')}": s for s in (*BWA_SUFFIXES, ".fai")} | {
    "reference_dict": ".dict"
}
CALLERS: tuple[Caller, ...] = ("bcftools", "gatk")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
BWA_BATCH = 100_000_000  # bwa mem -K: fixed, so alignments depend on neither threads nor shards
BYTES_PER_PAIR = 200  # gzipped FASTQ, 2 x 150 bp: estimates the pairs from the input's size
CALL_SHARD_MIN_BYTES = 32 << 20  # below (~160k pairs) one calling job is as fast: no shards
MIN_PART_PAIRS = 1_000_000  # an alignment part is worth its split and its job below this
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
    qc: list[Path] = field(default_factory=list)  # the qc step's files (docs/qc.md)


@dataclass(frozen=True)
class Sharding:
    """How a run is cut into jobs. None: chosen from the input's size and the cores.

    ``shard_reads``: read pairs per alignment part (0: one align job). ``call_shards``: calling
    jobs over regions of the reference (1: one). ``cores``: cores the engine may use at once
    (default: this machine's).
    """

    shard_reads: int | None = None
    call_shards: int | None = None
    cores: int | None = None


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
    reference: ReferenceFiles | Location,
    sample: str,
    fastq_pairs: Sequence[tuple[Location, Location]] = (),
    bam: Location | None = None,
    read_group: str | None = None,
    threads: int = 1,
    caller: Caller = "bcftools",
    gvcf: bool = False,
    bgzip: bool = False,
    bqsr: bool = False,
    known_sites: Sequence[Location] = (),
    base: str | None = None,
    gatk_available: bool | None = None,
    reference_name: str | None = None,
    input_names: Sequence[str] = (),
    sharding: Sharding = Sharding(),
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

    ``sharding`` (docs/pipeline.md, "Shards") sets ``shard_reads`` and ``call_regions``; what
    it leaves None is chosen by :func:`plan_shards`.
    """
    fasta = reference.fasta if isinstance(reference, ReferenceFiles) else reference
    _check_request(fastq_pairs, bam, threads, caller)
    notes: list[str] = []
    if gatk_available is None:
        gatk_available = shutil.which("gatk") is not None
    chosen = _choose_caller(caller, gatk_available, notes)
    document: dict[str, Any] = {
        "reference": _file(fasta),
        "read_group": normalise_read_group(read_group or derive_read_group(sample)),
        "threads": threads,
        "caller": chosen,
        "gvcf": gvcf,
        "bgzip": bgzip,
        "base": safe_name(base or sample),
        "reference_name": header_name(reference_name or _stem(fasta)),
    }
    document.update(_input_files(fastq_pairs, bam, input_names))
    reads = [p for pair in fastq_pairs for p in pair] + ([bam] if bam is not None else [])
    document.update(
        plan_shards(
            sharding,
            input_bytes=_local_size(reads),
            threads=threads,
            fai=None if _is_url(fasta) else Path(f"{fasta}.fai"),
            fastq=bam is None,
            caller=chosen,
            gvcf=gvcf,
        )
    )
    sites = _bqsr_sites(bqsr, chosen, gatk_available, known_sites, notes)
    if sites:
        document["known_sites"] = [_file(site) for site in sites]
    return PipelineJob(document=document, caller=chosen, notes=notes)


@dataclass(frozen=True)
class JobFiles:
    """Where the engine reads a run's files: local paths (the server's staged copies) or URLs.

    ``reads`` are in the descriptor's ``blob_names()`` order (r1, r2 of each pair, or the BAM).
    The ``main`` form also needs each reference index file (``index``: input name of
    REFERENCE_INDEX_INPUTS -> location; derived from a local FASTA when empty) and
    ``output_url``, the output container's URL with a SAS that may create and write blobs.
    """

    reads: Sequence[Location]
    reference: Location
    index: Mapping[str, Location] = field(default_factory=dict)
    known_sites: Sequence[Location] = ()
    output_url: str | None = None

    def reference_index(self) -> dict[str, Location]:
        if self.index:
            return dict(self.index)
        if _is_url(self.reference):
            raise UsageError("give the URL of each reference index file, as for the FASTA")
        fasta = ReferenceFiles(Path(self.reference))
        return {
            name: fasta.dict if suffix == ".dict" else Path(f"{fasta.fasta}{suffix}")
            for name, suffix in REFERENCE_INDEX_INPUTS.items()
        }


def plan_shards(
    sharding: Sharding,
    *,
    input_bytes: int | None,
    threads: int,
    fai: Path | None,
    fastq: bool,
    caller: Caller,
    gvcf: bool,
) -> dict[str, Any]:
    """The job's ``bwa_batch``, ``shard_reads`` and ``call_regions``.

    Alignment parts only pay when several align jobs run at once (``cores // threads`` >= 2:
    a cluster; on one machine bwa already uses every thread) and each part has at least
    MIN_PART_PAIRS. Calling shards: one per core, as ``bcftools mpileup`` uses one core, for
    inputs of CALL_SHARD_MIN_BYTES or more; regions need the reference's .fai (not for URLs).
    An unknown input size (URLs) shards nothing unless asked.
    """
    cores = sharding.cores or os.cpu_count() or 1
    size = input_bytes or 0
    shard_reads = sharding.shard_reads
    if shard_reads is None:
        pairs, jobs = size // BYTES_PER_PAIR, cores // threads
        big = jobs >= 2 and pairs >= 2 * MIN_PART_PAIRS
        shard_reads = max(MIN_PART_PAIRS, math.ceil(pairs / jobs)) if big else 0
    call_shards = sharding.call_shards
    if call_shards is None:
        call_shards = cores if size >= CALL_SHARD_MIN_BYTES else 1
    plan: dict[str, Any] = {"bwa_batch": BWA_BATCH, "shard_reads": shard_reads if fastq else 0}
    if call_shards > 1 and caller == "bcftools" and fai is not None and fai.is_file():
        regions = plan_call_regions(_contig_lengths(fai), call_shards, cut_anywhere=not gvcf)
        if len(regions) > 1:
            plan["call_regions"] = regions
    return plan


def plan_call_regions(
    contigs: Sequence[tuple[str, int]], shards: int, *, cut_anywhere: bool
) -> list[str]:
    """``contigs`` (name, length) cut into at most ``shards`` lists of regions of about equal
    length, in order; each list as the pipeline's ``call_regions`` item (CHROM, START, END,
    1-based inclusive, tab-separated, one per line).

    ``cut_anywhere`` False (gVCF) cuts only between contigs: a gVCF reference block cut in two
    would differ from the unsharded run's. Cutting inside a contig is safe for variant sites:
    mpileup sees every read overlapping a region (tests/pipeline/test_sharding.py).
    """
    total = sum(length for _, length in contigs)
    ends = [total * (i + 1) // shards for i in range(shards)]  # cumulative length at each cut
    lists: list[list[tuple[str, int, int]]] = [[]]
    done = 0
    for name, length in contigs:
        start = 1
        # between contigs only: a contig goes to the next list when more than half of it is
        # past this list's target
        open_list = lists[-1] and len(lists) < shards
        if not cut_anywhere and open_list and done + length / 2 > ends[len(lists) - 1]:
            lists.append([])
        while (
            cut_anywhere
            and len(lists) < shards
            and done + length - start + 1 > ends[len(lists) - 1]
        ):
            last = start + ends[len(lists) - 1] - done - 1
            if last >= start:
                lists[-1].append((name, start, last))
                done, start = done + last - start + 1, last + 1
            lists.append([])
        if start <= length:
            lists[-1].append((name, start, length))
            done += length - start + 1
    return ["\n".join(f"{n}\t{s}\t{e}" for n, s, e in regions) for regions in lists if regions]


def _contig_lengths(fai: Path) -> list[tuple[str, int]]:
    rows = (line.split("\t") for line in fai.read_text().splitlines() if line)
    return [(row[0], int(row[1])) for row in rows]


def _local_size(paths: Sequence[Location]) -> int | None:
    if any(_is_url(path) for path in paths):
        return None
    return sum(Path(path).stat().st_size for path in paths)


def caller_of(process: str) -> Caller:
    """The old service's GATK processes call with GATK; the rest with bcftools."""
    return "gatk" if "gatk" in process.lower() else "bcftools"


def job_for(
    request: SubmitRequest,
    files: JobFiles,
    *,
    form: Form = "analysis",
    threads: int = 1,
    gatk_available: bool | None = None,
    sharding: Sharding = Sharding(),
) -> PipelineJob:
    """The CWL job of the run ``request`` describes, for the entry point ``form``.

    Every option maps here and nowhere else: caller (from the process), gVCF and bgzip (their
    effective values), BQSR known sites, the read group (derived from the sample when unset),
    the headers' names (the reference's registered name, the input blob names) and, for
    ``main``, where and how deliver commits the outputs.
    """
    options = request.options
    base = options.output_filename_base or request.sample
    pairs = list(zip(files.reads[0::2], files.reads[1::2], strict=True))
    job = build_job(
        reference=files.reference,
        sample=request.sample,
        fastq_pairs=() if request.kind is InputKind.BAM else pairs,
        bam=files.reads[0] if request.kind is InputKind.BAM else None,
        read_group=options.read_group,
        threads=threads,
        caller=caller_of(options.process),
        gvcf=options.effective_ref_confidence == "gvcf",
        bgzip=options.effective_bgzip,
        bqsr=options.effective_bqsr,
        known_sites=files.known_sites,
        base=base.replace("/", "_"),
        gatk_available=gatk_available,
        reference_name=options.effective_reference,
        input_names=request.blob_names(),
        sharding=sharding,
    )
    if form == "main":
        _to_main_form(job.document, files, base, request)
    return job


def _to_main_form(
    document: dict[str, Any], files: JobFiles, base: str, request: SubmitRequest
) -> None:
    """``#main`` takes the output location and the reference's index files as inputs."""
    if not files.output_url:
        raise UsageError("the portable job needs the output container's URL with its SAS")
    document.pop("base")
    document.update({name: _file(where) for name, where in files.reference_index().items()})
    document.update(
        output_url=files.output_url,
        output_base=base,
        overwrite=request.options.overwrite,
        include_logs=request.options.include_logs,
    )


def _is_url(location: Location) -> bool:
    return isinstance(location, str) and location.startswith(("http://", "https://"))


def header_name(text: str) -> str:
    """``text`` fit for a SAM or VCF header line: control characters (tab, newline) -> '_'."""
    return _HEADER_BREAKING.sub("_", text).strip() or "unnamed"


def _input_files(
    fastq_pairs: Sequence[tuple[Location, Location]],
    bam: Location | None,
    input_names: Sequence[str],
) -> dict[str, Any]:
    """The job's input files and, for the headers, the name of each."""
    paths = [bam] if bam is not None else [p for pair in fastq_pairs for p in pair]
    if input_names and len(input_names) != len(paths):
        raise UsageError(f"{len(input_names)} input names given for {len(paths)} input files")
    names = [header_name(name) for name in input_names or [_name(path) for path in paths]]
    if bam is not None:
        return {"input_bam": _file(bam), "input_bam_name": names[0]}
    return {
        "fastq_r1": [_file(path) for path in paths[0::2]],
        "fastq_r2": [_file(path) for path in paths[1::2]],
        "fastq_r1_names": names[0::2],
        "fastq_r2_names": names[1::2],
    }


def _check_request(
    fastq_pairs: Sequence[tuple[Location, Location]],
    bam: Location | None,
    threads: int,
    caller: str,
) -> None:
    if bool(fastq_pairs) == (bam is not None):
        raise UsageError("give either FASTQ pairs or one BAM as input, not both and not neither")
    if threads < 1:
        raise UsageError(f"threads must be at least 1, not {threads}")
    if caller not in CALLERS:
        raise UsageError(f"unknown variant caller {caller!r}: use one of {', '.join(CALLERS)}")
    for path in [p for pair in fastq_pairs for p in pair] + ([bam] if bam else []):
        if not _is_url(path) and not Path(path).is_file():
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
    bqsr: bool,
    chosen: Caller,
    gatk_available: bool,
    known_sites: Sequence[Location],
    notes: list[str],
) -> Sequence[Location]:
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
        if not _is_url(site) and not Path(site).is_file():
            raise InputError(f"known sites file not found: {site}")
    return known_sites


def _file(where: Location) -> dict[str, str]:
    """A CWL File: a URL as its location, a local path resolved."""
    if _is_url(where):
        return {"class": "File", "location": str(where)}
    return {"class": "File", "path": str(Path(where).resolve())}


def _name(where: Location) -> str:
    """The file name of a path or URL (without its query: a SAS)."""
    return PurePosixPath(urlsplit(str(where)).path).name if _is_url(where) else Path(where).name


def _stem(where: Location) -> str:
    return PurePosixPath(_name(where)).stem


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
            qc=[Path(item["path"]) for item in data.get("qc") or []],
        )
    except (KeyError, TypeError, StopIteration) as error:
        raise ValueError(f"the engine's output object lacks {error}") from error
