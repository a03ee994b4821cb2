"""The pipeline without an engine: the CWL tools' own scripts run directly by bash.

For the benchmark that compares the server's end-to-end time with "the same tools run directly
as a shell pipeline on the same data and threads": the scripts are read from the CWL documents,
so the baseline cannot drift from what the workflow runs.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from genoflow.errors import UsageError
from genoflow.pipelines.document import graph_process
from genoflow.pipelines.job import PipelineJob


def tool_files(tool: str) -> dict[str, str]:
    """The files (name -> text) a tool of the packed document (``align``, ``call_bcftools``,
    ``deliver``...) writes into its work directory, CWL escapes undone. Entries that are
    expressions (``$(inputs...)``) are left out."""
    listing = graph_process(tool)["requirements"]["InitialWorkDirRequirement"]["listing"]
    return {
        item["entryname"]: _unescape(item["entry"])
        for item in listing
        if not str(item["entry"]).startswith("$(")
    }


def _unescape(entry: str) -> str:
    return entry.replace("\\${", "${").replace("\\$(", "$(")


def write_direct_script(job: PipelineJob, directory: Path) -> Path:
    """Write ``run.sh`` (with ``align.sh`` and ``call.sh``) into ``directory``; return its path.

    ``bash run.sh`` produces the same BAM and VCF as the workflow, in ``directory``.
    """
    if job.caller != "bcftools":
        raise UsageError("the direct script covers the bcftools caller only")
    directory.mkdir(parents=True, exist_ok=True)
    for tool in ("align", "call_bcftools"):
        for name, text in tool_files(tool).items():
            (directory / name).write_text(text)
    doc = job.document
    base, threads, reference = doc["base"], str(doc["threads"]), _path(doc["reference"])
    align = ["-t", threads, "-R", doc["read_group"], "-f", reference, "-o", base]
    align += ["-N", doc["reference_name"]]
    if "input_bam" in doc:
        align += ["-b", _path(doc["input_bam"]), "-B", doc["input_bam_name"]]
    for first, second, first_name, second_name in zip(
        doc.get("fastq_r1", []),
        doc.get("fastq_r2", []),
        doc.get("fastq_r1_names", []),
        doc.get("fastq_r2_names", []),
        strict=True,
    ):
        align += ["-1", _path(first), "-2", _path(second), "-x", first_name, "-y", second_name]
    call = ["-t", threads, "-f", reference, "-N", doc["reference_name"]]
    call += ["-i", f"{base}.bam", "-o", base]
    call += ["-g"] if doc["gvcf"] else []
    call += ["-z"] if doc["bgzip"] else []
    script = directory / "run.sh"
    script.write_text(
        "set -euo pipefail\n"
        f"cd {shlex.quote(str(directory.resolve()))}\n"
        f"bash align.sh {shlex.join(align)} 2> align.log\n"
        f"bash call.sh {shlex.join(call)} 2> call.log\n"
    )
    return script


def _path(file: dict[str, Any]) -> str:
    return str(file["path"])
