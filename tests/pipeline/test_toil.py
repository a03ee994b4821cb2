"""Toil runs the same CWL (single_machine, no containers) and calls the same variants."""

from __future__ import annotations

import shutil
from pathlib import Path

import pysam
import pytest

from genoflow.demo import DemoData, evaluate
from genoflow.pipelines import TOIL_REQUIREMENT, ReferenceFiles
from tests.pipeline.conftest import (
    EngineRun,
    demo_job,
    header_lines,
    needs_tools,
    path_lines,
    run_engine,
)

TOIL = shutil.which("toil-cwl-runner")

pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.slow,
    needs_tools,
    pytest.mark.skipif(
        TOIL is None,
        reason=f"toil-cwl-runner is not on PATH (pip install '{TOIL_REQUIREMENT}', "
        "e.g. in its own virtualenv, and put its bin/ on PATH)",
    ),
]


def calls(vcf: Path) -> list[tuple[str, int, str, tuple[str, ...], object]]:
    with pysam.VariantFile(str(vcf)) as records:
        return [(r.chrom, r.pos, r.ref, r.alts or (), r.samples[0]["GT"]) for r in records]


def test_toil_calls_the_same_variants_as_cwltool(
    demo: DemoData, reference: ReferenceFiles, fastq_run: EngineRun, tmp_path: Path
) -> None:
    toil = run_engine(demo_job(demo, reference), tmp_path, engine="toil", executable=TOIL)
    assert "toil" in toil.stderr.lower()
    assert toil.outputs.vcf.name == fastq_run.outputs.vcf.name == "DEMO.vcf.gz"
    assert toil.outputs.vcf_index is not None and toil.outputs.vcf_index.is_file()
    toil_calls, cwltool_calls = calls(toil.outputs.vcf), calls(fastq_run.outputs.vcf)
    assert len(toil_calls) > 300
    assert toil_calls == cwltool_calls
    # the headers name the reference and the blobs, whichever engine staged them where
    for toil_output, cwltool_output in (
        (toil.outputs.bam, fastq_run.outputs.bam),
        (toil.outputs.vcf, fastq_run.outputs.vcf),
    ):
        assert path_lines(toil_output, tmp_path, reference.fasta.parent) == []
        assert undated(header_lines(toil_output)) == undated(header_lines(cwltool_output))
    scores = evaluate(toil.outputs.vcf, demo.truth_vcf, reference.fasta)
    assert scores.all.recall >= 0.95 and scores.all.precision >= 0.95, scores.summary()


def undated(lines: list[str]) -> list[str]:
    return [line.split("; Date=")[0] for line in lines]
