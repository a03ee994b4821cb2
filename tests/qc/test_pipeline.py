"""The pipeline's qc step, run by cwltool with the rest of #analysis on the demo sample and on
a second one: its files are the analysis' qc output, and its numbers equal the tools run by
hand on the BAM and VCF the same run produced (tests/qc/checks.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from genoflow.demo import simulate
from genoflow.model.outputs import QC_OUTPUTS
from genoflow.pipelines import ReferenceFiles, build_job, prepare_reference
from tests.pipeline.conftest import (  # noqa: F401 - fixtures
    EngineRun,
    demo,
    fastq_run,
    needs_tools,
    reference,
    run_engine,
)
from tests.qc.checks import check_coverage, check_inserts, check_reads, check_variants
from tests.qc.conftest import MISSING

pytestmark = [
    needs_tools,
    pytest.mark.pipeline,
    pytest.mark.skipif("mosdepth" in MISSING, reason="mosdepth is not installed"),
]


@pytest.fixture(scope="session")
def second_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[EngineRun, ReferenceFiles]:
    """A second sample (200 kb, 15x, 100 bp reads) through the same #analysis."""
    folder = tmp_path_factory.mktemp("qc-second")
    data = simulate(
        folder / "reads", seed=23, reference_length=200_000, coverage=15.0, read_length=100,
        insert_mean=250, insert_sd=30, sample="SECOND",
    )  # fmt: skip
    ref = prepare_reference(data.reference, folder / "reference")
    job = build_job(
        reference=ref,
        sample=data.sample,
        fastq_pairs=[(data.fastq_r1, data.fastq_r2)],
        threads=2,
        reference_name="second",
        input_names=("SECOND_1.fq.gz", "SECOND_2.fq.gz"),
    )
    return run_engine(job, folder / "run"), ref


def qc_of(run: EngineRun) -> dict[str, Any]:
    base = run.outputs.bam.name.removesuffix(".bam")
    assert sorted(p.name for p in run.outputs.qc) == sorted(base + s for s, _ in QC_OUTPUTS)
    qc_json = next(p for p in run.outputs.qc if p.name.endswith(".qc.json"))
    document: dict[str, Any] = json.loads(qc_json.read_text())
    assert document["name"] == base
    return document


def check_all(run: EngineRun, fai: Path, tmp_path: Path) -> dict[str, Any]:
    qc = qc_of(run)
    check_reads(qc, run.outputs.bam)
    check_coverage(qc, run.outputs.bam, fai, tmp_path)
    check_inserts(qc, run.outputs.bam)
    check_variants(qc, run.outputs.vcf)
    assert any(log.name == "qc.log" for log in run.outputs.logs)
    return qc


def test_demo_runs_qc_equal_the_tools_by_hand(
    fastq_run: EngineRun,  # noqa: F811 - the fixture imported above
    reference: ReferenceFiles,  # noqa: F811
    tmp_path: Path,
) -> None:
    qc = check_all(fastq_run, Path(f"{reference.fasta}.fai"), tmp_path)
    assert qc["sample"] == "DEMO" and 27 < qc["coverage"]["mean"] < 31


def test_second_runs_qc_equal_the_tools_by_hand(
    second_run: tuple[EngineRun, ReferenceFiles], tmp_path: Path
) -> None:
    run, ref = second_run
    qc = check_all(run, Path(f"{ref.fasta}.fai"), tmp_path)
    assert qc["sample"] == "SECOND" and 12 < qc["coverage"]["mean"] < 16
