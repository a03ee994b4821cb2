"""What a submission is (inputs, pipeline options, destinations), its validation rules and its
idempotency key. Pure: no I/O; the rules are the old ``msgen`` client's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import PurePosixPath

from genoflow.errors import InputError, UsageError

BLOB_NAME_RE = re.compile(r"^[A-Za-z0-9._/-]{1,1024}$")
FASTQ_RE = re.compile(r"\.(fq|fastq)(\.gz)?$", re.IGNORECASE)
BAM_RE = re.compile(r"\.(bam|sam)$", re.IGNORECASE)
MAX_DESCRIPTION = 500
MAX_READ_GROUP = 1000
REFERENCES = ("b37m1", "hg19m1", "hg38m1", "hg38m1x")
REF_CONFIDENCE = ("none", "gvcf")


class InputKind(str, Enum):
    FASTQ = "fastq"
    BAM = "bam"


@dataclass(frozen=True)
class PipelineOptions:
    """Pipeline options. ``None`` means "not set by the user": the old protocol sends only the
    optional arguments the user set, and the service applies its defaults to the rest."""

    process: str = "snapgatk"
    process_args: str | None = None
    reference: str = "b37m1"
    bqsr: bool | None = None
    read_group: str | None = None
    emit_ref_confidence: str | None = None
    bgzip_output: bool | None = None
    output_filename_base: str = ""
    overwrite: bool = False
    include_logs: bool = True
    description: str | None = None

    @property
    def effective_process_args(self) -> str:
        return self.process_args or f"R={self.reference}"

    @property
    def effective_reference(self) -> str:
        args = dict(
            part.split("=", 1) for part in self.effective_process_args.split(";") if "=" in part
        )
        return args.get("R", self.reference)

    @property
    def effective_bqsr(self) -> bool:
        return True if self.bqsr is None else self.bqsr

    @property
    def effective_ref_confidence(self) -> str:
        return (self.emit_ref_confidence or "none").lower()

    @property
    def effective_bgzip(self) -> bool:
        """bgzip was on by default for gVCF and off for VCF."""
        if self.bgzip_output is not None:
            return self.bgzip_output
        return self.effective_ref_confidence == "gvcf"


@dataclass(frozen=True)
class SubmitRequest:
    """One run to submit: blob names relative to their container, plus the SAS tokens the
    service reads and writes through (never an account key)."""

    sample: str
    kind: InputKind
    reads_1: tuple[str, ...]
    reads_2: tuple[str, ...]
    options: PipelineOptions
    input_account: str
    input_container: str
    output_account: str
    output_container: str
    input_sas: Mapping[str, str] = field(default_factory=dict)
    output_sas: str = ""
    input_account_url: str | None = None
    output_account_url: str | None = None
    submission_key: str | None = None

    def __repr__(self) -> str:  # never show the SAS tokens
        return f"SubmitRequest(sample={self.sample!r}, inputs={list(self.blob_names())})"

    def blob_names(self) -> list[str]:
        """Input blobs in the old service's order: pairs interleaved, r1[0], r2[0], r1[1]..."""
        if self.kind is InputKind.BAM:
            return list(self.reads_1)
        names: list[str] = []
        for first, second in zip(self.reads_1, self.reads_2, strict=True):
            names.extend((first, second))
        return names

    def input_url(self, name: str) -> str:
        base = self.input_account_url or f"https://{self.input_account}.blob.core.windows.net"
        sas = self.input_sas.get(name)
        return f"{base}/{self.input_container}/{name}" + (f"?{sas}" if sas else "")

    def output_url(self) -> str:
        base = self.output_account_url or f"https://{self.output_account}.blob.core.windows.net"
        sas = f"?{self.output_sas}" if self.output_sas else ""
        return f"{base}/{self.output_container}{sas}"


# --- validation (each raises a one-line UsageError/InputError) -----------------------------------


def check_blob_name(name: str) -> None:
    if not BLOB_NAME_RE.match(name) or name.startswith("/"):
        raise InputError(
            f"invalid blob name {name!r}",
            hint="use only A-Z a-z 0-9 . _ / - (1-1024 characters, not starting with /)",
        )


def classify_inputs(reads_1: Sequence[str], reads_2: Sequence[str]) -> InputKind:
    """Check the -b1/-b2 lists as the old client did and say whether they are FASTQ or BAM."""
    if not reads_1:
        raise UsageError("no input given", hint="pass -b1 R1.fq.gz -b2 R2.fq.gz, or -b1 x.bam")
    kinds = {_kind_of(name) for name in (*reads_1, *reads_2)}
    if kinds == {InputKind.BAM}:
        if reads_2 or len(reads_1) != 1:
            raise InputError("a BAM/SAM input is given alone: one file with -b1 and no -b2")
        return InputKind.BAM
    if kinds != {InputKind.FASTQ}:
        raise InputError("FASTQ and BAM inputs cannot be mixed in one run")
    if len(reads_1) != len(reads_2):
        raise InputError(
            f"-b1 lists {len(reads_1)} file(s) but -b2 lists {len(reads_2)}",
            hint="give the second read of every pair, in the same order",
        )
    for index, (first, second) in enumerate(zip(reads_1, reads_2, strict=True)):
        if first == second:
            raise InputError(f"{first!r} is both read 1 and read 2 of pair {index + 1}")
    if len(set(reads_1) | set(reads_2)) != len(reads_1) + len(reads_2):
        raise InputError("the same file is listed twice among the inputs")
    return InputKind.FASTQ


def _kind_of(name: str) -> InputKind:
    if FASTQ_RE.search(name):
        return InputKind.FASTQ
    if BAM_RE.search(name):
        return InputKind.BAM
    raise InputError(
        f"{name!r} is neither FASTQ nor BAM",
        hint="FASTQ names end .fq/.fastq (optionally .gz), BAM names .bam/.sam",
    )


def pair_warnings(reads_1: Sequence[str], reads_2: Sequence[str]) -> list[str]:
    """Pairs whose names differ in more than one character (a warning, as the old client)."""
    warnings = []
    for first, second in zip(reads_1, reads_2, strict=False):
        same_length = sum(a != b for a, b in zip(first, second, strict=False))
        differing = same_length + abs(len(first) - len(second))
        if differing > 1:
            warnings.append(
                f"{first} and {second} differ in more than one character: are they really a pair?"
            )
    return warnings


def check_options(options: PipelineOptions) -> None:
    if options.description is not None and len(options.description) > MAX_DESCRIPTION:
        raise UsageError(
            f"the description has {len(options.description)} characters; "
            f"at most {MAX_DESCRIPTION} are allowed"
        )
    if options.read_group is not None and (
        not options.read_group.startswith("@RG") or len(options.read_group) > MAX_READ_GROUP
    ):
        raise UsageError(
            "the read group must start with @RG and be at most 1000 characters",
            hint=r"e.g. -rg '@RG\tID:lane1\tSM:NA12878'",
        )
    confidence = options.emit_ref_confidence
    if confidence is not None and confidence.lower() not in REF_CONFIDENCE:
        raise UsageError(f"emit-ref-confidence {confidence!r} is not one of none, gvcf")
    for part in filter(None, (options.process_args or "").split(";")):
        if "=" not in part:
            raise UsageError(
                f"process args {options.process_args!r} are not K=V;K=V", hint="e.g. -pa R=b37m1"
            )
    base = options.output_filename_base
    if base and (not BLOB_NAME_RE.match(base) or base.startswith("/")):
        raise UsageError(
            f"output file name base {base!r} is not a valid blob name",
            hint="use only A-Z a-z 0-9 . _ / -",
        )


_READ_SUFFIX = re.compile(
    r"([._-](R?[12]|read[12]))?(_\d{3})?\.(fq|fastq|bam|sam)(\.gz)?$", re.IGNORECASE
)


def derive_sample(first_input: str) -> str:
    """A sample name from the first input: ``NA12878_R1.fq.gz`` -> ``NA12878``."""
    stem = _READ_SUFFIX.sub("", PurePosixPath(first_input).name)
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).strip("._-")
    return stem or "sample"


# --- idempotency ----------------------------------------------------------------------------

KEY_LENGTH = 32
_KEY_MARK = re.compile(r"\[gf:([0-9a-f]{32})\]")


def submission_key(
    sample: str,
    inputs: Sequence[tuple[str, str]],
    options: PipelineOptions,
    output_account: str,
    output_container: str,
) -> str:
    """A digest of everything that makes two submissions "the same": the inputs' checksums (in
    order), the sample, the pipeline options and the output location. Not the description, and
    not the SAS tokens, which differ on every submit."""
    material = {
        "sample": sample,
        "inputs": [[name, checksum] for name, checksum in inputs],
        "options": {k: v for k, v in asdict(options).items() if k != "description"},
        "output": [output_account, output_container],
    }
    encoded = json.dumps(material, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:KEY_LENGTH]


def key_mark(key: str) -> str:
    """The marker recorded in the old protocol's Description (searchable with substringof)."""
    return f"[gf:{key}]"


def description_with_key(description: str | None, key: str) -> str | None:
    """The description carrying the key, or None when it would exceed the 500-character limit."""
    text = f"{description} {key_mark(key)}" if description else key_mark(key)
    return text if len(text) <= MAX_DESCRIPTION else None


def key_from_description(description: str | None) -> str | None:
    match = _KEY_MARK.search(description or "")
    return match.group(1) if match else None


def strip_key(description: str | None) -> str | None:
    """The description as the user wrote it."""
    if description is None:
        return None
    return _KEY_MARK.sub("", description).strip()
