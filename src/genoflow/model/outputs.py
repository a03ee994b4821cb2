"""A run's outputs: the record the producer (the server's executor) writes when it commits
each file, and the one home of output naming used by producer and consumers (fetch, tiering,
tags, submit's pre-check).

Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

if TYPE_CHECKING:
    from genoflow.model.submission import PipelineOptions

# The QC step's files (genoflow.qc): suffix -> kind. One kind per file, since a WES outputs
# document is keyed by kind; the tools' native outputs keep the names MultiQC looks for.
QC_KIND = "qc"  # the run's qc.json: the one QC file genoflow reads
QC_OUTPUTS = (
    (".qc.json", QC_KIND),
    (".qc.html", "qc-html"),
    (".bcftools_stats.txt", "qc-bcftools"),
    (".mosdepth.global.dist.txt", "qc-mosdepth-dist"),
    (".mosdepth.summary.txt", "qc-mosdepth"),
    (".flagstat", "qc-flagstat"),
    (".stats", "qc-samtools"),
)
QC_KINDS = tuple(kind for _, kind in QC_OUTPUTS)
OUTPUT_KINDS = ("bam", "bai", "vcf", "gvcf", "tbi", "logs", *QC_KINDS)

# What the pipeline appends to the output base (OUTPUT_FILENAME_BASE) for each output file,
# longest first so that ``.g.vcf.gz.tbi`` is not read as ``.tbi`` of something.
OUTPUT_SUFFIXES = (
    ".g.vcf.gz.tbi",
    ".vcf.gz.tbi",
    ".g.vcf.gz",
    ".vcf.gz",
    ".g.vcf",
    ".vcf",
    ".bam.bai",
    ".bai",
    ".bam",
    ".logs.zip",
    *(suffix for suffix, _ in QC_OUTPUTS),
)

# Name suffix -> kind, inputs (fastq) included; first match wins.
_KIND_SUFFIXES = (
    (".g.vcf.gz.tbi", "tbi"),
    (".vcf.gz.tbi", "tbi"),
    (".bam.bai", "bai"),
    (".bai", "bai"),
    (".g.vcf.gz", "gvcf"),
    (".g.vcf", "gvcf"),
    (".vcf.gz", "vcf"),
    (".vcf", "vcf"),
    (".bam", "bam"),
    (".logs.zip", "logs"),
    *QC_OUTPUTS,
    (".fastq.gz", "fastq"),
    (".fq.gz", "fastq"),
    (".fastq", "fastq"),
    (".fq", "fastq"),
)


@dataclass(frozen=True)
class RunOutput:
    """One output file as the producer committed it. ``md5`` is hex, as the producer computed
    it from the bytes it wrote (not the blob's own Content-MD5)."""

    name: str  # blob name in the output container
    kind: str  # one of OUTPUT_KINDS
    size: int | None = None
    md5: str | None = None
    container: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "size": self.size,
            "md5": self.md5,
            "container": self.container,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunOutput:
        """Raises ValueError when ``name`` is missing or a field has the wrong type."""
        name, size, md5 = data.get("name"), data.get("size"), data.get("md5")
        if not isinstance(name, str) or not name:
            raise ValueError(f"an output record without a name: {dict(data)!r}")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
            raise ValueError(f"output {name}: size {size!r} is not an integer")
        if md5 is not None and not isinstance(md5, str):
            raise ValueError(f"output {name}: md5 {md5!r} is not a string")
        kind = data.get("kind") or kind_of(name) or ""
        container = data.get("container")
        return cls(
            name=name,
            kind=str(kind),
            size=size,
            md5=md5.lower() if md5 else None,
            container=str(container) if container else None,
        )


def blob_url(account_url: str, output: RunOutput) -> str:
    """The output's blob URL (no SAS): ``<account URL>/<container>/<name>``."""
    return f"{account_url.rstrip('/')}/{output.container}/{quote(output.name, safe='/')}"


def parse_blob_url(url: str) -> tuple[str, str, str, str]:
    """(account URL, container, blob name, query) of a blob or container URL; container and
    name may be empty. The account is a path segment on emulator-style hosts (localhost, an IP
    address, a name without a dot)."""
    parts = urlsplit(url)
    path = unquote(parts.path).lstrip("/")
    base = f"{parts.scheme}://{parts.netloc}"
    if is_path_style_host(parts.hostname or ""):
        account, _, path = path.partition("/")
        base = f"{base}/{account}"
    container, _, name = path.partition("/")
    return base, container, name, parts.query


def blob_location(url: str) -> tuple[str, str] | None:
    """(container, blob name) of an http(s) blob URL, or None."""
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    _, container, name, _ = parse_blob_url(url)
    return (container, name) if container and name else None


def is_path_style_host(host: str) -> bool:
    """Whether a blob endpoint on ``host`` names its account in the path (Azurite)."""
    if host == "localhost" or "." not in host:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def kind_of(blob_name: str) -> str | None:
    """The output/input kind of a blob from its name (None when it is not one of ours)."""
    name = blob_name.lower()
    return next((kind for suffix, kind in _KIND_SUFFIXES if name.endswith(suffix)), None)


def output_base_of(name: str) -> str | None:
    """``sample1`` for ``sample1.bam`` or ``sample1.g.vcf.gz.tbi``; None for other names."""
    lower = name.lower()
    for suffix in OUTPUT_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def planned_outputs(base: str, options: PipelineOptions) -> list[str]:
    """Output blob names in a fixed order: bam, bai, vcf, [tbi,] the QC files, [logs.zip]."""
    gvcf = options.effective_ref_confidence == "gvcf"
    vcf = f"{base}.g.vcf" if gvcf else f"{base}.vcf"
    if options.effective_bgzip:
        vcf += ".gz"
    names = [f"{base}.bam", f"{base}.bam.bai", vcf]
    if options.effective_bgzip:
        names.append(f"{vcf}.tbi")
    names += qc_names(base)
    if options.include_logs:
        names.append(logs_name(base))
    return names


def qc_names(base: str) -> list[str]:
    """The QC step's output blob names: qc.json first."""
    return [f"{base}{suffix}" for suffix, _ in QC_OUTPUTS]


def logs_name(base: str) -> str:
    return f"{base}.logs.zip"


def run_folder_base(sample: str, key: str) -> str:
    """The default output base of a run: its own folder, ``<sample>/<key[:8]>/<sample>``, so
    reruns and same-named samples never share names."""
    return f"{sample}/{key[:8]}/{sample}"


__all__ = [
    "OUTPUT_KINDS",
    "OUTPUT_SUFFIXES",
    "QC_KIND",
    "QC_KINDS",
    "QC_OUTPUTS",
    "RunOutput",
    "blob_location",
    "blob_url",
    "is_path_style_host",
    "kind_of",
    "logs_name",
    "output_base_of",
    "parse_blob_url",
    "planned_outputs",
    "qc_names",
    "run_folder_base",
]
