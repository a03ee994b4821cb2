"""The pipeline without an engine: the CWL tools' own scripts run directly by bash.

For the benchmark that compares the server's end-to-end time with "the same tools run directly
as a shell pipeline on the same data and threads": the scripts are read from the CWL documents,
so the baseline cannot drift from what the workflow runs.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from genoflow.errors import UsageError
from genoflow.pipelines.job import PipelineJob

TOOLS_DIR = Path(__file__).resolve().parent / "tools"


def tool_script(tool: str) -> str:
    """The bash script a CWL tool writes into its work directory, CWL escapes undone."""
    document = yaml.safe_load((TOOLS_DIR / f"{tool}.cwl").read_text())
    listing = document["requirements"]["InitialWorkDirRequirement"]["listing"]
    entry: str = listing[0]["entry"]
    return entry.replace("\\${", "${").replace("\\$(", "$(")


def write_direct_script(job: PipelineJob, directory: Path) -> Path:
    """Write ``run.sh`` (with ``align.sh`` and ``call.sh``) into ``directory``; return its path.

    ``bash run.sh`` produces the same BAM and VCF as the workflow, in ``directory``.
    """
    if job.caller != "bcftools":
        raise UsageError("the direct script covers the bcftools caller only")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "align.sh").write_text(tool_script("align"))
    (directory / "call.sh").write_text(tool_script("call-bcftools"))
    doc = job.document
    base, threads = doc["base"], str(doc["threads"])
    align = ["-t", threads, "-R", doc["read_group"], "-f", _path(doc["reference"]), "-o", base]
    if "input_bam" in doc:
        align += ["-b", _path(doc["input_bam"])]
    for first, second in zip(doc.get("fastq_r1", []), doc.get("fastq_r2", []), strict=True):
        align += ["-1", _path(first), "-2", _path(second)]
    call = ["-t", threads, "-f", _path(doc["reference"]), "-i", f"{base}.bam", "-o", base]
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
