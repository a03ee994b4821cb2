"""Two aligned and called samples (the demo sample and a second one at lower coverage, shorter
reads and inserts), made by running the real tools as the pipeline does; and the QC step's
outputs on each."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from genoflow.demo import simulate
from genoflow.model.outputs import QC_KINDS, RunOutput, kind_of
from genoflow.model.runs import Run
from genoflow.qc import tool
from tests.lake.conftest import LakeCase, case, lake_service  # noqa: F401 - fixtures

TOOLS = ("bwa", "samtools", "bcftools", "mosdepth")
MISSING = [name for name in TOOLS if shutil.which(name) is None]
needs_tools = pytest.mark.skipif(bool(MISSING), reason=f"not installed: {', '.join(MISSING)}")
ARTEFACTS = Path(os.environ.get("GENOFLOW_TEST_ARTEFACTS", Path(__file__).parents[2] / "tmp"))


@dataclass(frozen=True)
class Sample:
    name: str
    bam: Path
    vcf: Path
    reference: Path
    folder: Path  # where the QC step ran: <name>.qc.json, .qc.html and the native outputs

    @property
    def qc_json(self) -> Path:
        return self.folder / f"{self.name}.qc.json"


def align_and_call(
    folder: Path, name: str, contig: str | None = None, **simulated: object
) -> tuple[Path, Path, Path]:
    """Simulated reads aligned and called as the pipeline does; with ``contig``, against that
    contig of the reference only (the other contigs' reads stay unmapped or map poorly)."""
    data = simulate(folder / "reads", **simulated)  # type: ignore[arg-type]
    ref = data.reference
    if contig is not None:
        subprocess.run(["samtools", "faidx", str(ref)], check=True)
        only = folder / "reference.fa"
        with only.open("w") as handle:
            subprocess.run(["samtools", "faidx", str(ref), contig], stdout=handle, check=True)
        ref = only
    subprocess.run(["bwa", "index", str(ref)], check=True, capture_output=True)
    subprocess.run(["samtools", "faidx", str(ref)], check=True)
    bam, vcf = folder / f"{name}.bam", folder / f"{name}.vcf.gz"
    rg = rf"@RG\tID:{name}\tSM:{name}"
    script = (
        f"bwa mem -t 2 -K 100000000 -R '{rg}' {ref} {data.fastq_r1} {data.fastq_r2} "
        f"| samtools fixmate -m -u - - | samtools sort -u -T {folder}/sort - "
        f"| samtools markdup -s -T {folder}/markdup - {bam} && samtools index {bam} && "
        f"bcftools mpileup -f {ref} -a AD,DP -Ou {bam} | bcftools call -mv -Ou "
        f"| bcftools filter -s LowQual -e 'QUAL<20' -Oz -o {vcf} && "  # some calls not PASS
        f"bcftools index -t {vcf}"
    )
    subprocess.run(["bash", "-o", "pipefail", "-c", script], check=True, capture_output=True)
    return bam, vcf, ref


def qc_of(folder: Path, name: str, contig: str | None = None, **simulated: object) -> Sample:
    bam, vcf, ref = align_and_call(folder, name, contig, **simulated)
    out = folder / "qc"
    out.mkdir()
    cwd = Path.cwd()
    os.chdir(out)  # the step writes into its working directory
    try:
        assert tool().main(["--bam", str(bam), "--vcf", str(vcf), "--base", name]) == 0
    finally:
        os.chdir(cwd)
    return Sample(name, bam, vcf, ref, out)


@pytest.fixture(scope="session")
def demo_sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """The demo sample: 300 kb, 30x, 150 bp reads, 350 bp inserts."""
    return qc_of(tmp_path_factory.mktemp("demo"), "DEMO", seed=7)


@pytest.fixture(scope="session")
def second_sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """A second sample: 200 kb, 15x, 100 bp reads, 250 bp inserts."""
    return qc_of(
        tmp_path_factory.mktemp("second"),
        "SECOND",
        seed=23,
        reference_length=200_000,
        coverage=15.0,
        read_length=100,
        insert_mean=250,
        insert_sd=30,
        sample="SECOND",
    )


@pytest.fixture(scope="session")
def partial_sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """The demo's reads against its first contig only: many reads unmapped, so mapped,
    duplicate and properly paired rates have denominators that differ."""
    return qc_of(tmp_path_factory.mktemp("partial"), "PARTIAL", "chr1", seed=7, sample="PARTIAL")


@pytest.fixture(scope="session", params=["demo", "second", "partial"])
def sample(request: pytest.FixtureRequest) -> Sample:
    fixture: Sample = request.getfixturevalue(f"{request.param}_sample")
    return fixture


def publish_run(lake: LakeCase, sample: Sample, *, with_qc: bool = True) -> Run:
    """A succeeded run of the sample on the lake tests' service, whose recorded outputs are
    its VCF and (unless ``with_qc`` is False) its QC files, uploaded to Azurite with their MD5."""
    base = f"{sample.name}/{sample.name}"
    outputs = list(lake.publish(sample.vcf, base))
    if with_qc:
        for path in sorted(sample.folder.glob(f"{sample.name}.*")):
            name = base + path.name[len(sample.name) :]
            kind = kind_of(name)
            if kind in QC_KINDS:
                data = path.read_bytes()
                lake.store.put_blob(lake.outputs, name, data)
                md5 = hashlib.md5(data).hexdigest()
                outputs.append(RunOutput(name, kind, len(data), md5, lake.outputs))
    return lake.service.run(sample.name, tuple(outputs))
