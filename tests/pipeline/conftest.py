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
    prepare_reference,
    workflow_path,
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
        engine, workflow_path(), job_file, outdir, workdir, executable=executable
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


def demo_job(demo: DemoData, reference: ReferenceFiles) -> PipelineJob:
    """The job every engine runs on the demo sample: 2 threads, bgzipped VCF."""
    return build_job(
        reference=reference,
        sample=demo.sample,
        fastq_pairs=[(demo.fastq_r1, demo.fastq_r2)],
        threads=2,
        bgzip=True,
    )


@pytest.fixture(scope="session")
def fastq_run(
    demo: DemoData, reference: ReferenceFiles, tmp_path_factory: pytest.TempPathFactory
) -> EngineRun:
    """The demo sample run once by cwltool, shared by the tests that inspect its outputs."""
    return run_engine(demo_job(demo, reference), tmp_path_factory.mktemp("cwltool-run"))
