"""The CWL pipeline run by cwltool on the simulated sample: real tools, real outputs."""

from __future__ import annotations

import gzip
import itertools
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

from genoflow.demo import DemoData, evaluate
from genoflow.pipelines import ReferenceFiles, build_job, workflow_path
from genoflow.pipelines.direct import write_direct_script
from tests.pipeline.conftest import (
    EngineRun,
    demo_job,
    header_lines,
    needs_tools,
    path_lines,
    run_engine,
)

pytestmark = [pytest.mark.pipeline, needs_tools]


def test_workflow_is_valid_cwl() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cwltool", "--validate", str(workflow_path())],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "is valid CWL" in result.stdout + result.stderr
    assert "warning" not in result.stderr.lower()


def test_bam_is_coordinate_sorted_marked_and_indexed(fastq_run: EngineRun) -> None:
    outputs = fastq_run.outputs
    assert outputs.bai == Path(f"{outputs.bam}.bai") and outputs.bai.is_file()
    with pysam.AlignmentFile(str(outputs.bam)) as bam:
        header = bam.header.to_dict()
        assert header["HD"]["SO"] == "coordinate"
        assert any(
            pg["ID"].startswith("samtools") and "markdup" in pg.get("CL", "") for pg in header["PG"]
        )
        assert header["RG"][0]["ID"] == "DEMO" and header["RG"][0]["SM"] == "DEMO"
        positions = [(r.reference_id, r.reference_start) for r in bam if not r.is_unmapped]
    assert positions == sorted(positions)
    stats = subprocess.run(
        ["samtools", "idxstats", str(outputs.bam)], capture_output=True, text=True, check=True
    )
    mapped = sum(int(line.split("\t")[2]) for line in stats.stdout.splitlines())
    assert mapped > 0.95 * len(positions)


def test_vcf_parses_and_finds_the_truth(
    fastq_run: EngineRun, demo: DemoData, reference: ReferenceFiles
) -> None:
    outputs = fastq_run.outputs
    assert outputs.vcf.name == "DEMO.vcf.gz"
    assert outputs.vcf_index == Path(f"{outputs.vcf}.tbi")
    with pysam.VariantFile(str(outputs.vcf)) as vcf:
        assert list(vcf.header.samples) == ["DEMO"]
        in_chr2 = list(vcf.fetch("chr2"))  # uses the .tbi
    assert in_chr2 and all(record.chrom == "chr2" for record in in_chr2)
    scores = evaluate(outputs.vcf, demo.truth_vcf, reference.fasta)
    assert scores.snv.recall >= 0.95 and scores.snv.precision >= 0.95, scores.summary()
    assert scores.indel.recall >= 0.95 and scores.indel.precision >= 0.95, scores.summary()


def test_per_step_logs_hold_the_tools_stderr(fastq_run: EngineRun) -> None:
    logs = {log.name: log.read_text() for log in fastq_run.outputs.logs}
    assert set(logs) == {"align.log", "call.log", "qc.log"}
    assert "bwa mem" in logs["align.log"] and "DUPLICATE TOTAL" in logs["align.log"]


def _split_pair(demo: DemoData, directory: Path) -> list[tuple[Path, Path]]:
    """The demo FASTQs as two pairs of files, for a multi-pair run."""
    pairs: list[tuple[Path, Path]] = []
    halves = {1: [], 2: []}  # type: dict[int, list[Path]]
    for mate, source in ((1, demo.fastq_r1), (2, demo.fastq_r2)):
        with gzip.open(source, "rt") as reads:
            lines = reads.readlines()
        middle = len(lines) // 8 * 4
        for part, chunk in enumerate((lines[:middle], lines[middle:])):
            target = directory / f"part{part}_{mate}.fq.gz"
            with gzip.open(target, "wt") as out:
                out.writelines(chunk)
            halves[mate].append(target)
    pairs.extend(zip(halves[1], halves[2], strict=True))
    return pairs


def test_gvcf_from_two_pairs_with_a_given_read_group(
    demo: DemoData, reference: ReferenceFiles, tmp_path: Path
) -> None:
    job = build_job(
        reference=reference,
        sample=demo.sample,
        fastq_pairs=_split_pair(demo, tmp_path),
        read_group="@RG\tID:lane7\tSM:patient1",
        threads=2,
        gvcf=True,
        bgzip=False,
        base="run42",
        reference_name="b37m1",
        input_names=["p/A_R1.fq.gz", "p/A_R2.fq.gz", "p/B_R1.fq.gz", "p/B_R2.fq.gz"],
    )
    run = run_engine(job, tmp_path / "run")
    assert run.outputs.vcf.name == "run42.g.vcf" and run.outputs.vcf_index is None
    bwa = next(line for line in header_lines(run.outputs.bam) if line.startswith("@PG\tID:bwa"))
    assert bwa.endswith("b37m1 <(cat p/A_R1.fq.gz p/B_R1.fq.gz) <(cat p/A_R2.fq.gz p/B_R2.fq.gz)")
    assert "##reference=b37m1" in header_lines(run.outputs.vcf)
    assert path_lines(run.outputs.vcf, tmp_path) == path_lines(run.outputs.bam, tmp_path) == []
    with pysam.VariantFile(str(run.outputs.vcf)) as gvcf:
        records = list(gvcf)
    blocks = [r for r in records if not r.alts and r.stop - r.start > 1]  # END=...
    assert len(blocks) > 100  # reference blocks: this is a gVCF, not a variants-only VCF
    assert sum(b.stop - b.start for b in blocks) > 250_000
    with pysam.AlignmentFile(str(run.outputs.bam)) as bam:
        assert bam.header.to_dict()["RG"] == [{"ID": "lane7", "SM": "patient1"}]
        reads = sum(1 for _ in itertools.islice(bam, None))
    assert reads >= 2 * demo.read_pairs  # both pairs were aligned
    scores = evaluate(run.outputs.vcf, demo.truth_vcf, reference.fasta)
    assert scores.all.recall >= 0.95 and scores.all.precision >= 0.95, scores.summary()


def test_bam_input_is_realigned_and_called(
    fastq_run: EngineRun, demo: DemoData, reference: ReferenceFiles, tmp_path: Path
) -> None:
    job = build_job(reference=reference, sample="FROMBAM", bam=fastq_run.outputs.bam, threads=2)
    run = run_engine(job, tmp_path)
    assert run.outputs.vcf.name == "FROMBAM.vcf"
    with pysam.AlignmentFile(str(run.outputs.bam)) as bam:
        assert bam.header.to_dict()["RG"][0]["SM"] == "FROMBAM"
        assert bam.mapped >= 0.95 * 2 * demo.read_pairs
    scores = evaluate(run.outputs.vcf, demo.truth_vcf, reference.fasta)
    assert scores.all.recall >= 0.95 and scores.all.precision >= 0.95, scores.summary()


def test_direct_shell_pipeline_matches_the_workflow(
    fastq_run: EngineRun, demo: DemoData, reference: ReferenceFiles, tmp_path: Path
) -> None:
    # the benchmark's baseline: the tools' scripts run by bash, without an engine
    script = write_direct_script(demo_job(demo, reference), tmp_path)
    assert "\\$" not in (tmp_path / "align.sh").read_text()
    subprocess.run(["bash", str(script)], check=True, capture_output=True)
    with pysam.VariantFile(str(tmp_path / "DEMO.vcf.gz")) as direct:
        direct_calls = [(r.chrom, r.pos, r.ref, r.alts) for r in direct]
    with pysam.VariantFile(str(fastq_run.outputs.vcf)) as workflow:
        assert direct_calls == [(r.chrom, r.pos, r.ref, r.alts) for r in workflow]


def test_demo_command_simulates_and_evaluates(tmp_path: Path) -> None:
    def run(*args: str) -> str:
        command = [sys.executable, "-m", "genoflow.demo", *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    listing = run("simulate", str(tmp_path), "--seed", "4", "--pairs", "500", "--length", "30000")
    assert "pairs\t500" in listing and (tmp_path / "truth.vcf.gz.tbi").is_file()
    truth, fasta = str(tmp_path / "truth.vcf.gz"), str(tmp_path / "reference.fa")
    summary = run("evaluate", truth, truth, fasta)
    assert summary.splitlines()[-1].split()[-2:] == ["1.0000", "1.0000"]
