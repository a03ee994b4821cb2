"""Reference preparation, the job document with its notes, and the engine command lines."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

from genoflow.demo import DemoData
from genoflow.errors import ConfigError, InputError, UsageError
from genoflow.pipelines import (
    ReferenceFiles,
    build_job,
    collect_outputs,
    derive_read_group,
    engine_command,
    engine_environment,
    normalise_read_group,
    prepare_reference,
    workflow_path,
)
from tests.pipeline.conftest import needs_tools

TAB = "\t"


@pytest.fixture
def pair(demo: DemoData) -> list[tuple[Path, Path]]:
    return [(demo.fastq_r1, demo.fastq_r2)]


# --- reference ----------------------------------------------------------------------------


@needs_tools
def test_prepare_reference_builds_every_index_once(demo: DemoData, tmp_path: Path) -> None:
    reference = prepare_reference(demo.reference, tmp_path / "ref")
    assert reference.fasta == (tmp_path / "ref" / "reference.fa").resolve()
    assert [p.name for p in reference.all_files()[1:]] == [
        "reference.fa.amb", "reference.fa.ann", "reference.fa.bwt", "reference.fa.pac",
        "reference.fa.sa", "reference.fa.fai", "reference.dict",
    ]  # fmt: skip
    assert reference.is_complete()
    assert "@SQ\tSN:chr1\tLN:180000" in reference.dict.read_text()
    assert not list(reference.fasta.parent.glob(".*"))  # no temporary files left behind
    built = {p: p.stat().st_mtime_ns for p in reference.all_files()}
    again = prepare_reference(demo.reference, tmp_path / "ref")
    assert again == reference and built == {p: p.stat().st_mtime_ns for p in again.all_files()}


@needs_tools
def test_prepare_reference_rebuilds_after_the_fasta_changes(tmp_path: Path) -> None:
    fasta = tmp_path / "tiny.fa"
    fasta.write_text(">c1\n" + "ACGTTGCAAG" * 100 + "\n")
    reference = prepare_reference(fasta, tmp_path)  # in place: the FASTA's own directory
    assert reference.fasta == fasta.resolve() and reference.is_complete()
    fasta.write_text(">c1\n" + "ACGTTGCAAG" * 200 + "\n")
    earlier = fasta.stat().st_mtime - 10  # the indexes predate the new FASTA
    for index in reference.all_files()[1:]:
        os.utime(index, (earlier, earlier))
    assert not reference.is_complete()
    prepare_reference(fasta, tmp_path)
    assert reference.is_complete() and "LN:2000" in reference.dict.read_text()


@needs_tools
def test_prepare_reference_unpacks_a_gzipped_fasta(tmp_path: Path) -> None:
    packed = tmp_path / "packed.fa.gz"
    packed.write_bytes(gzip.compress(b">c1\n" + b"ACGTTGCAAG" * 100 + b"\n"))
    reference = prepare_reference(packed, tmp_path / "ref")
    assert reference.fasta.name == "packed.fa" and reference.is_complete()


def test_prepare_reference_rejects_what_is_not_a_fasta(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        prepare_reference(tmp_path / "absent.fa", tmp_path / "ref")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(InputError, match="not a FASTA"):
        prepare_reference(text, tmp_path / "ref")


# --- job ----------------------------------------------------------------------------------


def test_job_document_for_fastq_pairs(
    reference: ReferenceFiles, pair: list[tuple[Path, Path]]
) -> None:
    job = build_job(reference=reference, sample="NA 12878", fastq_pairs=pair * 2, threads=4)
    doc = job.document
    assert doc["read_group"] == r"@RG\tID:NA_12878\tSM:NA_12878\tLB:NA_12878\tPL:ILLUMINA"
    assert doc["base"] == "NA_12878" and doc["threads"] == 4 and doc["caller"] == "bcftools"
    assert [f["path"] for f in doc["fastq_r1"]] == [str(pair[0][0].resolve())] * 2
    assert doc["reference"] == {"class": "File", "path": str(reference.fasta)}
    assert "input_bam" not in doc and "known_sites" not in doc and job.notes == []


def test_job_names_the_reference_and_inputs_for_the_headers(
    reference: ReferenceFiles, pair: list[tuple[Path, Path]]
) -> None:
    names = ["run/L1_R1.fq.gz", "run/L1_R2.fq.gz", "run/L2_R1.fq.gz", "run/L2\tR2\n.fq.gz"]
    doc = build_job(
        reference=reference, sample="S", fastq_pairs=pair * 2,
        reference_name="b37m1", input_names=names,
    ).document  # fmt: skip
    assert doc["reference_name"] == "b37m1"
    assert doc["fastq_r1_names"] == ["run/L1_R1.fq.gz", "run/L2_R1.fq.gz"]
    assert doc["fastq_r2_names"] == ["run/L1_R2.fq.gz", "run/L2_R2_.fq.gz"]  # no tab, newline
    unnamed = build_job(reference=reference, sample="S", fastq_pairs=pair).document
    assert unnamed["reference_name"] == reference.fasta.stem  # not its path
    assert unnamed["fastq_r1_names"] == [pair[0][0].name]
    bam = build_job(reference=reference, sample="S", bam=pair[0][0], input_names=["x/in.bam"])
    assert bam.document["input_bam_name"] == "x/in.bam" and "fastq_r1_names" not in bam.document
    with pytest.raises(UsageError, match="3 input names given for 2 input files"):
        build_job(reference=reference, sample="S", fastq_pairs=pair, input_names=names[:3])


def test_bqsr_without_gatk_is_skipped_with_a_note(
    reference: ReferenceFiles, pair: list[tuple[Path, Path]], tmp_path: Path
) -> None:
    sites = tmp_path / "dbsnp.vcf.gz"
    sites.write_bytes(b"")
    job = build_job(
        reference=reference, sample="S", fastq_pairs=pair, caller="gatk", bqsr=True,
        known_sites=[sites], gatk_available=False,
    )  # fmt: skip
    assert job.caller == "bcftools" and job.document["caller"] == "bcftools"
    assert "known_sites" not in job.document
    assert job.notes == [
        "GATK HaplotypeCaller requested but GATK is not installed: "
        "variants called with bcftools mpileup | bcftools call instead",
        "BQSR requested but GATK is not installed: skipped",
    ]


@pytest.mark.skipif(shutil.which("gatk") is not None, reason="GATK is installed here")
def test_bqsr_note_when_gatk_is_looked_up_on_path(
    reference: ReferenceFiles, pair: list[tuple[Path, Path]]
) -> None:
    job = build_job(reference=reference, sample="S", fastq_pairs=pair, bqsr=True)
    assert job.notes == ["BQSR requested but GATK is not installed: skipped"]


def test_gatk_with_bqsr_passes_known_sites_or_notes_their_absence(
    reference: ReferenceFiles, pair: list[tuple[Path, Path]], tmp_path: Path
) -> None:
    sites = tmp_path / "known.vcf.gz"
    sites.write_bytes(b"")
    common = {"reference": reference, "sample": "S", "fastq_pairs": pair, "caller": "gatk"}
    with_sites = build_job(**common, bqsr=True, known_sites=[sites], gatk_available=True)
    assert with_sites.caller == "gatk" and with_sites.notes == []
    assert with_sites.document["known_sites"] == [{"class": "File", "path": str(sites)}]
    without = build_job(**common, bqsr=True, gatk_available=True, gvcf=True)
    assert without.notes == [
        "BQSR requested but no known sites are configured for this reference: skipped"
    ]
    assert without.document["gvcf"] is True
    on_bcftools = build_job(**{**common, "caller": "bcftools"}, bqsr=True, gatk_available=True)
    assert on_bcftools.notes == ["BQSR requested but the variant caller is bcftools: skipped"]


def test_read_groups() -> None:
    assert normalise_read_group(f"@RG{TAB}ID:x{TAB}SM:y") == r"@RG\tID:x\tSM:y"
    assert normalise_read_group(r"@RG\tID:x\tSM:y") == r"@RG\tID:x\tSM:y"
    assert derive_read_group("a/b") == r"@RG\tID:a_b\tSM:a_b\tLB:a_b\tPL:ILLUMINA"
    for bad in ("ID:x", r"@RG\tSM:y", r"@RG\tID:", "@RG\tID:x\nSM:y"):
        with pytest.raises(InputError):
            normalise_read_group(bad)


def test_bad_requests_are_refused(
    reference: ReferenceFiles, pair: list[tuple[Path, Path]], demo: DemoData, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match="either FASTQ pairs or one BAM"):
        build_job(reference=reference, sample="S", fastq_pairs=pair, bam=demo.fastq_r1)
    with pytest.raises(UsageError, match="either FASTQ pairs or one BAM"):
        build_job(reference=reference, sample="S")
    with pytest.raises(UsageError, match="threads"):
        build_job(reference=reference, sample="S", fastq_pairs=pair, threads=0)
    with pytest.raises(UsageError, match="unknown variant caller"):
        build_job(reference=reference, sample="S", fastq_pairs=pair, caller="freebayes")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not found"):
        build_job(reference=reference, sample="S", fastq_pairs=[(tmp_path / "x", demo.fastq_r2)])


# --- engines ------------------------------------------------------------------------------


def test_cwltool_command(tmp_path: Path) -> None:
    command = engine_command(
        "cwltool", workflow_path(), tmp_path / "job.json", tmp_path / "out", tmp_path / "w",
        ["--parallel"],
    )  # fmt: skip
    assert Path(command[0]).name == "cwltool"
    assert command[-2:] == [str(workflow_path()), str(tmp_path / "job.json")]
    assert "--no-container" in command and "--parallel" in command
    assert command[command.index("--outdir") + 1] == str(tmp_path / "out")
    assert command[command.index("--tmpdir-prefix") + 1].startswith(str(tmp_path / "w"))
    with_containers = engine_command(
        "cwltool", workflow_path(), tmp_path / "j", tmp_path / "o", tmp_path / "w", containers=True
    )
    assert "--no-container" not in with_containers


def test_toil_command(tmp_path: Path) -> None:
    command = engine_command(
        "toil", workflow_path(), tmp_path / "j", tmp_path / "o", tmp_path / "w",
        executable="/opt/toil/bin/toil-cwl-runner",
    )  # fmt: skip
    assert command[0] == "/opt/toil/bin/toil-cwl-runner"
    assert command[command.index("--batchSystem") + 1] == "single_machine"
    assert command[command.index("--jobStore") + 1] == str(tmp_path / "w" / "jobstore")
    slurm = engine_command(
        "toil", workflow_path(), tmp_path / "j", tmp_path / "o", tmp_path / "w",
        ["--batchSystem", "slurm"], executable="/opt/toil/bin/toil-cwl-runner",
    )  # fmt: skip
    assert slurm.count("--batchSystem") == 1 and "slurm" in slurm
    env = engine_environment(command, {"PATH": "/usr/bin"})
    assert env["PATH"] == "/opt/toil/bin:/usr/bin"  # toil starts _toil_worker from PATH


def test_toil_missing_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="toil-cwl-runner is not installed"):
        engine_command("toil", workflow_path(), tmp_path, tmp_path, tmp_path)
    with pytest.raises(UsageError, match="unknown workflow engine"):
        engine_command("nextflow", workflow_path(), tmp_path, tmp_path, tmp_path)  # type: ignore[arg-type]


def test_the_packed_document_is_the_only_pipeline_file() -> None:
    here = workflow_path().parent
    assert workflow_path().is_file() and not (here / "tools").exists()
    assert sorted(p.name for p in here.glob("*.cwl")) == ["genoflow-pipeline.cwl"]


def test_collect_outputs_reads_the_engine_json() -> None:
    output = {
        "bam": {"path": "/o/S.bam", "secondaryFiles": [{"path": "/o/S.bam.bai"}]},
        "vcf": {"path": "/o/S.vcf.gz", "secondaryFiles": [{"path": "/o/S.vcf.gz.tbi"}]},
        "logs": [{"path": "/o/align.log"}, {"path": "/o/call.log"}],
    }
    outputs = collect_outputs(output)
    assert outputs.bai == Path("/o/S.bam.bai") and outputs.vcf_index == Path("/o/S.vcf.gz.tbi")
    assert [p.name for p in outputs.logs] == ["align.log", "call.log"]
    with pytest.raises(ValueError, match="lacks"):
        collect_outputs('{"bam": {"path": "/o/S.bam"}}')
