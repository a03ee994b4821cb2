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
# Azure's own naming rules: storage accounts and containers.
ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
CONTAINER_RE = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
SAMPLE_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
MAX_OUTPUT_BASE = 900  # room for the longest output suffix within the 1,024-character limit
FASTQ_RE = re.compile(r"\.(fq|fastq)(\.gz)?$", re.IGNORECASE)
BAM_RE = re.compile(r"\.(bam|sam)$", re.IGNORECASE)
MAX_DESCRIPTION = 500
MAX_READ_GROUP = 1000
# ProcessArgs keys: R (reference) from the first service builds, GERC/BGZIP from later ones.
PROCESS_ARG_KEYS = ("R", "GERC", "BGZIP")
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
    # VCFs of known sites for GATK BQSR: names relative to the reference's folder, or blob URLs
    known_sites: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # any sequence from a wire or a JSON record: stored as a tuple (frozen, hashable)
        object.__setattr__(self, "known_sites", tuple(self.known_sites or ()))

    @property
    def effective_process_args(self) -> str:
        return self.process_args or f"R={self.reference}"

    @property
    def process_arg_values(self) -> dict[str, str]:
        """``K=V;K=V`` as a mapping, keys upper-cased (``R=b37m1;GERC=GVCF``)."""
        pairs = (part.split("=", 1) for part in self.effective_process_args.split(";"))
        return {
            key.strip().upper(): value.strip() for key, value in (p for p in pairs if len(p) == 2)
        }

    @property
    def effective_reference(self) -> str:
        return self.process_arg_values.get("R", self.reference)

    @property
    def effective_bqsr(self) -> bool:
        return True if self.bqsr is None else self.bqsr

    @property
    def effective_ref_confidence(self) -> str:
        chosen = self.emit_ref_confidence or self.process_arg_values.get("GERC") or "none"
        return chosen.lower()

    @property
    def effective_bgzip(self) -> bool:
        """bgzip was on by default for gVCF and off for VCF."""
        if self.bgzip_output is not None:
            return self.bgzip_output
        from_args = self.process_arg_values.get("BGZIP")
        if from_args is not None:
            return from_args.lower() in ("true", "1", "yes")
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


def check_blob_name(name: str, what: str = "blob name") -> None:
    """Azure's rules plus genoflow's: no ``.``/``..`` or empty segments, which the HTTP layer
    would normalise into another container, and no leading or trailing ``/``."""
    segments = name.split("/")
    if not BLOB_NAME_RE.match(name) or any(segment in ("", ".", "..") for segment in segments):
        raise InputError(
            f"invalid {what} {name!r}",
            hint="use only A-Z a-z 0-9 . _ / - (1-1024 characters), with no empty, '.' or '..' "
            "path segments and no leading or trailing '/'",
        )


def check_sample(sample: str) -> str:
    if not SAMPLE_RE.match(sample):
        raise UsageError(
            f"sample name {sample!r} is not valid",
            hint="use 1-128 letters, digits, '.', '_' or '-'",
        )
    return sample


def check_account_name(name: str, what: str = "storage account") -> None:
    if not ACCOUNT_RE.match(name):
        raise InputError(
            f"invalid {what} name {name!r}",
            hint="a storage account name is 3-24 lowercase letters or digits",
        )


def check_container_name(name: str, what: str = "container") -> None:
    if not CONTAINER_RE.match(name):
        raise InputError(
            f"invalid {what} name {name!r}",
            hint="3-63 lowercase letters, digits or hyphens, no leading, trailing or double hyphen",
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
    """Every pipeline option the service must honour, checked the same way by client and
    server: an option that cannot be honoured is an error, never silently dropped."""
    if options.description is not None and len(options.description) > MAX_DESCRIPTION:
        raise UsageError(
            f"the description has {len(options.description)} characters; "
            f"at most {MAX_DESCRIPTION} are allowed"
        )
    if options.read_group is not None:
        check_read_group(options.read_group)
    confidence = options.emit_ref_confidence
    if confidence is not None and confidence.lower() not in REF_CONFIDENCE:
        raise UsageError(
            f"emit-ref-confidence {confidence!r} is not one of {', '.join(REF_CONFIDENCE)}"
        )
    _check_process_args(options.process_args)
    _check_known_sites(options.known_sites)
    base = options.output_filename_base
    if base:
        check_blob_name(base, "output file name base")
        if len(base) > MAX_OUTPUT_BASE:
            raise UsageError(
                f"output file name base has {len(base)} characters; at most {MAX_OUTPUT_BASE}"
            )


MAX_KNOWN_SITES = 32


def is_url(text: str) -> bool:
    return text.startswith(("https://", "http://"))


def _check_known_sites(sites: Sequence[str]) -> None:
    """Each: a blob URL, or a file name relative to the reference's folder (blob-name rules)."""
    if len(sites) > MAX_KNOWN_SITES:
        raise UsageError(f"{len(sites)} known-sites files given; at most {MAX_KNOWN_SITES}")
    for site in sites:
        if not is_url(site):
            check_blob_name(site, "known-sites file name")


def check_read_group(read_group: str) -> None:
    r"""One ``@RG`` line with an ``ID:`` field; tabs as real tabs or the two characters ``\t``."""
    fields = read_group.replace("\t", "\\t").split("\\t")
    problem = None
    if len(read_group) > MAX_READ_GROUP:
        problem = f"has {len(read_group)} characters; at most {MAX_READ_GROUP} are allowed"
    elif any(ord(char) < 32 and char != "\t" for char in read_group):
        problem = "must be one line (no newline or control characters)"
    elif fields[0] != "@RG" or not any(f.startswith("ID:") and len(f) > 3 for f in fields[1:]):
        problem = "must start with @RG and have an ID: field"
    if problem:
        raise UsageError(f"the read group {problem}", hint=r"e.g. -rg '@RG\tID:lane1\tSM:NA12878'")


def _check_process_args(process_args: str | None) -> None:
    for part in (process_args or "").split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not value.strip():
            raise UsageError(
                f"process args {process_args!r} are not K=V;K=V", hint="e.g. -pa R=b37m1"
            )
        if key.strip().upper() not in PROCESS_ARG_KEYS:
            raise UsageError(
                f"process arg {key.strip()!r} is not one this pipeline honours",
                hint=f"known: {', '.join(PROCESS_ARG_KEYS)} (e.g. -pa R=b37m1)",
            )
        if key.strip().upper() == "GERC" and value.strip().lower() not in REF_CONFIDENCE:
            raise UsageError(f"process arg GERC={value.strip()} is not one of none, gvcf")


def validate_request(request: SubmitRequest) -> None:
    """A whole submission, as the server checks it at the door (and the client before it
    posts): options, input names and kinds, storage account and container names."""
    check_options(request.options)
    check_sample(request.sample)
    check_account_name(request.input_account, "input storage account")
    check_account_name(request.output_account, "output storage account")
    check_container_name(request.input_container, "input container")
    check_container_name(request.output_container, "output container")
    names = request.blob_names()
    if not names:
        raise InputError("no input blobs were given")
    for name in names:
        check_blob_name(name, "input blob name")
    if request.kind is InputKind.BAM:
        classify_inputs(request.reads_1, ())
    else:
        classify_inputs(request.reads_1, request.reads_2)


_SAMPLE_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def read_group_sample(read_group: str | None) -> str | None:
    r"""The ``SM:`` of an ``@RG`` line (tabs real or written ``\t``), made a valid sample name."""
    for field_ in (read_group or "").replace("\t", "\\t").split("\\t")[1:]:
        if field_.startswith("SM:"):
            name = _SAMPLE_UNSAFE.sub("_", field_[3:].strip()).strip("._-")[:128]
            return name or None
    return None


def sample_of(read_group: str | None, first_input: str) -> str:
    """A wire without a sample field: the read group's SM, else a name derived from the first
    input. Never the output base, which names files, not the sample."""
    return read_group_sample(read_group) or derive_sample(first_input)


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
        "options": {
            key: value
            for key, value in asdict(options).items()
            # unset options added later leave earlier keys as they were
            if key != "description" and not (key in _LATER_OPTIONS and not value)
        },
        "output": [output_account, output_container],
    }
    encoded = json.dumps(material, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:KEY_LENGTH]


_LATER_OPTIONS = frozenset({"known_sites"})


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
