"""BAM and VCF headers name the reference and the inputs as the server knows them; records
are exactly those of the pipeline before headers were named.

Before, the tools wrote the paths they were given into the headers: the staged copies under
the engine's work dir (``.../work/tmp/<x>/stg<uuid>/reference.fa``) and ``/dev/fd/63``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from genoflow.demo import DemoData
from genoflow.pipelines import ReferenceFiles, build_job, derive_read_group
from genoflow.pipelines.direct import tool_files
from tests.pipeline.conftest import (
    BLOB_NAMES,
    REFERENCE_NAME,
    EngineRun,
    header_lines,
    needs_tools,
    path_lines,
    run_engine,
)

pytestmark = [pytest.mark.pipeline, needs_tools]

# name_header as the packed document gives it to the tools (CWL escapes undone)
NAME_HEADER = tool_files("align")["name-header.sh"]


@pytest.fixture(scope="module")
def by_hand(
    demo: DemoData, reference: ReferenceFiles, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The records' oracle: the demo job run by hand with the commands the tool scripts ran
    before headers were named (same tools, options and threads; real paths, no renaming)."""
    directory = tmp_path_factory.mktemp("by-hand")
    ref, r1, r2 = (shlex.quote(str(p)) for p in (reference.fasta, demo.fastq_r1, demo.fastq_r2))
    read_group = shlex.quote(derive_read_group(demo.sample))
    script = f"""set -euo pipefail
cd {shlex.quote(str(directory))}
bwa mem -t 2 -K 100000000 -R {read_group} {ref} <(cat {r1}) <(cat {r2}) \\
  | samtools fixmate -@ 2 -m -u - - | samtools sort -@ 2 -T sort.tmp -u - \\
  | samtools markdup -@ 2 -s -T markdup.tmp - DEMO.bam
bcftools mpileup --threads 2 -f {ref} -a AD,DP -Ou DEMO.bam \\
  | bcftools call --threads 2 -m -v -Ou \\
  | bcftools filter -m+ -s LowQual -e 'TYPE!="ref" && QUAL<10' -Ou \\
  | bcftools filter -m+ -s LowDP -e 'TYPE!="ref" && INFO/DP<3' -O z -o DEMO.vcf.gz
"""
    subprocess.run(["bash", "-c", script], check=True, capture_output=True)
    return directory


def _unfiltered(records: str) -> list[list[str]]:
    return [row[:6] + row[7:] for row in (line.split("\t") for line in records.splitlines())]


def _records(path: Path) -> str:
    if path.name.endswith(".bam"):
        command = ["samtools", "view", "--no-PG", str(path)]
    else:
        command = ["bcftools", "view", "-H", "--no-version", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def test_headers_name_the_reference_and_the_blobs_never_a_path(
    fastq_run: EngineRun, reference: ReferenceFiles
) -> None:
    bam, vcf = fastq_run.outputs.bam, fastq_run.outputs.vcf
    run_dir = bam.parent.parent  # holds the engine's work/ (staged inputs, tmp) and out/
    assert path_lines(bam, run_dir, reference.fasta.parent) == []
    assert path_lines(vcf, run_dir, reference.fasta.parent) == []
    programs = [line for line in header_lines(bam) if line.startswith("@PG")]
    bwa = programs[0].split("\t")
    assert bwa[:3] == ["@PG", "ID:bwa", "PN:bwa"] and bwa[3].startswith("VN:0.7")
    assert bwa[4].startswith("CL:bwa mem -t 2 -K 100000000 -R @RG\\tID:DEMO\\tSM:DEMO")
    assert bwa[4].endswith(f"PL:ILLUMINA {REFERENCE_NAME} {BLOB_NAMES[0]} {BLOB_NAMES[1]}")
    markdup = (
        "CL:samtools markdup -@ 2 -s -T markdup.tmp --write-index - DEMO.bam##idx##DEMO.bam.bai"
    )
    assert programs[-1].endswith(markdup)
    lines = header_lines(vcf)
    assert f"##reference={REFERENCE_NAME}" in lines
    assert any(line.startswith("##bcftoolsVersion=1.") for line in lines)  # tool versions kept
    mpileup = f"##bcftoolsCommand=mpileup --threads 2 -f {REFERENCE_NAME} -a AD,DP -Ou DEMO.bam"
    assert mpileup in lines
    assert any(line.startswith("##bcftools_callCommand=call --threads 2 -m -v") for line in lines)


def test_records_are_those_of_the_pipeline_run_by_hand(fastq_run: EngineRun, by_hand: Path) -> None:
    hand_bam, hand_vcf = by_hand / "DEMO.bam", by_hand / "DEMO.vcf.gz"
    assert path_lines(hand_bam) and path_lines(hand_vcf)  # the oracle's headers hold paths
    assert _records(fastq_run.outputs.bam) == _records(hand_bam)
    assert _records(fastq_run.outputs.vcf) == _records(hand_vcf)
    assert len(_records(hand_vcf).splitlines()) > 300


def test_name_header_rewrites_header_lines_only(tmp_path: Path) -> None:
    text = (
        "@HD\tVN:1.6\n"
        "@PG\tID:bwa\tCL:bwa mem /w/a b/ref.fa /dev/fd/63 /dev/fd/62\n"
        "##reference=file:///w/a b/ref.fa\n"
        "r1\t0\tchr1\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\tXS:Z:/w/a b/ref.fa\n"
        "@PG\tafter the first record: a record, left alone /dev/fd/63\n"
    )
    script = (
        f"source {shlex.quote(str(tmp_path / 'name-header.sh'))}\n"
        'name_header "b37 & co" "/w/a b/ref.fa" "b37 & co" /dev/fd/63 R1.fq.gz '
        '/dev/fd/62 "<(cat x y)"'
    )
    (tmp_path / "name-header.sh").write_text(NAME_HEADER)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], input=text, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "@HD\tVN:1.6",
        "@PG\tID:bwa\tCL:bwa mem b37 & co R1.fq.gz <(cat x y)",
        "##reference=b37 & co",
        *text.splitlines()[3:],
    ]


def test_bam_input_and_two_pairs_are_named(
    fastq_run: EngineRun, demo: DemoData, reference: ReferenceFiles, tmp_path: Path
) -> None:
    realign = build_job(
        reference=reference,
        sample="FROMBAM",
        bam=fastq_run.outputs.bam,
        reference_name="b37m1",
        input_names=["old/NA12878.bam"],
    )
    run = run_engine(realign, tmp_path / "bam")
    bwa = next(line for line in header_lines(run.outputs.bam) if line.startswith("@PG\tID:bwa"))
    assert bwa.endswith(
        "b37m1 <(samtools collate -@ 1 -O -u old/NA12878.bam collate.tmp"
        " | samtools fastq -@ 1 -F 0x900 -)"
    )
    assert "##reference=b37m1" in header_lines(run.outputs.vcf)
    for output in (run.outputs.bam, run.outputs.vcf):
        assert path_lines(output, tmp_path) == []
    assert _records(run.outputs.vcf)


FAKE_GATK = r"""#!/usr/bin/env bash
# Stands in for GATK HaplotypeCaller (not installed here): writes what GATK's header holds
# (its command line and ##reference with the paths it was given) and calls made by bcftools.
set -euo pipefail
[ "$1" = HaplotypeCaller ] || { echo "fake gatk: HaplotypeCaller only" >&2; exit 2; }
shift
given="$*"
while [ $# -gt 0 ]; do
  case $1 in -R) ref=$2; shift ;; -I) bam=$2; shift ;; -O) out=$2; shift ;; esac
  shift
done
calls() {
  bcftools mpileup -f "$ref" -a AD,DP -Ou "$bam" | bcftools call -m -v -O v \
    | awk -v cl="$given" -v ref="$ref" '/^#CHROM/ {
        print "##GATKCommandLine=<ID=HaplotypeCaller,CommandLine=\"HaplotypeCaller " cl "\">"
        print "##reference=file://" ref } { print }'
}
case $out in *.gz) calls | bgzip > "$out" ;; *) calls > "$out" ;; esac
"""


@pytest.mark.parametrize("bgzip", [False, True])
def test_gatk_script_names_its_header(
    fastq_run: EngineRun,
    demo: DemoData,
    reference: ReferenceFiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bgzip: bool,
) -> None:
    """The GATK step's own script (working name, naming, bgzip, tabix) around a stand-in."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gatk").write_text(FAKE_GATK)
    (tmp_path / "bin" / "gatk").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    job = build_job(
        reference=reference,
        sample=demo.sample,
        fastq_pairs=[(demo.fastq_r1, demo.fastq_r2)],
        caller="gatk",
        gatk_available=True,
        gvcf=True,
        bgzip=bgzip,
        reference_name=REFERENCE_NAME,
        input_names=BLOB_NAMES,
    )
    run = run_engine(job, tmp_path / "run")
    vcf = run.outputs.vcf
    assert vcf.name == ("DEMO.g.vcf.gz" if bgzip else "DEMO.g.vcf")
    assert (run.outputs.vcf_index is not None) is bgzip
    assert path_lines(vcf, tmp_path, reference.fasta.parent) == []
    lines = header_lines(vcf)
    assert f"##reference={REFERENCE_NAME}" in lines
    gatk = next(line for line in lines if line.startswith("##GATKCommandLine="))
    assert f"-R {REFERENCE_NAME} -I DEMO.bam -ERC GVCF" in gatk
    assert gatk.endswith("--create-output-variant-index false -O " + vcf.name + '">')
    # the bcftools step sets FILTER (LowQual, LowDP, PASS); GATK's calls keep its own "."
    assert _unfiltered(_records(vcf)) == _unfiltered(_records(fastq_run.outputs.vcf))
    if bgzip:
        assert subprocess.run(["tabix", "-l", str(vcf)], capture_output=True).returncode == 0
