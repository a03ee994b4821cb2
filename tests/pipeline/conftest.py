"""Fixtures for the pipeline tests: one simulated sample, its prepared reference, and a helper
that runs the real CWL with a real engine (cwltool or toil-cwl-runner)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from genoflow.demo import DemoData, simulate
from genoflow.pipelines import (
    Engine,
    PipelineJob,
    PipelineOutputs,
    ReferenceFiles,
    build_job,
    collect_outputs,
    engine_command,
    engine_environment,
    entry_point,
    prepare_reference,
)

TOOLS = ("bwa", "samtools", "bcftools", "bgzip", "tabix")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
needs_tools = pytest.mark.skipif(bool(MISSING), reason=f"not installed: {', '.join(MISSING)}")


@dataclass(frozen=True)
class EngineRun:
    outputs: PipelineOutputs
    stderr: str


def run_engine(
    job: PipelineJob,
    directory: Path,
    engine: Engine = "cwltool",
    executable: str | None = None,
) -> EngineRun:
    """Write the job, run the engine as the server will, and collect the outputs."""
    directory.mkdir(parents=True, exist_ok=True)
    job_file = job.write(directory / "job.json")
    workdir, outdir = directory / "work", directory / "out"
    workdir.mkdir()
    command = engine_command(
        engine, entry_point("analysis"), job_file, outdir, workdir, executable=executable
    )
    result = subprocess.run(
        command, capture_output=True, text=True, env=engine_environment(command), timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return EngineRun(collect_outputs(result.stdout), result.stderr)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    """The default demo sample: 300 kb reference, 30x paired 150 bp reads, 300 SNVs, 60 indels."""
    return simulate(tmp_path_factory.mktemp("demo"), seed=7)


@pytest.fixture(scope="session")
def reference(demo: DemoData, tmp_path_factory: pytest.TempPathFactory) -> ReferenceFiles:
    return prepare_reference(demo.reference, tmp_path_factory.mktemp("reference"))


# what the server passes: the reference's registered name and the input blob names
REFERENCE_NAME = "demo"
BLOB_NAMES = ("samples/DEMO_R1.fq.gz", "samples/DEMO_R2.fq.gz")


def demo_job(demo: DemoData, reference: ReferenceFiles) -> PipelineJob:
    """The job every engine runs on the demo sample: 2 threads, bgzipped VCF, named inputs."""
    return build_job(
        reference=reference,
        sample=demo.sample,
        fastq_pairs=[(demo.fastq_r1, demo.fastq_r2)],
        threads=2,
        bgzip=True,
        reference_name=REFERENCE_NAME,
        input_names=BLOB_NAMES,
    )


def header_lines(path: Path) -> list[str]:
    """The header of a BAM or VCF as the file holds it.

    ``--no-PG`` / ``--no-version``: without them the viewer adds a line of its own naming the
    path it was given, which is not in the file.
    """
    if path.name.endswith(".bam"):
        command = ["samtools", "view", "-H", "--no-PG", str(path)]
    else:
        command = ["bcftools", "view", "-h", "--no-version", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()


def path_lines(path: Path, *directories: Path) -> list[str]:
    """The header lines of ``path`` that name a temporary path, /dev/fd/N or a directory given."""
    marks = ("/tmp/", "/dev/fd/", *(str(directory) for directory in directories))
    return [line for line in header_lines(path) if any(mark in line for mark in marks)]


@pytest.fixture(scope="session")
def fastq_run(
    demo: DemoData, reference: ReferenceFiles, tmp_path_factory: pytest.TempPathFactory
) -> EngineRun:
    """The demo sample run once by cwltool, shared by the tests that inspect its outputs."""
    return run_engine(demo_job(demo, reference), tmp_path_factory.mktemp("cwltool-run"))
