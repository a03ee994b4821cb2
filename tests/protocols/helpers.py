"""Fake clock and client factory for protocol tests (no test sleeps for real)."""

from __future__ import annotations

from dataclasses import dataclass, field

from genoflow.config.schema import Protocol, RetryConfig, ServiceConfig
from genoflow.model.submission import InputKind, PipelineOptions, SubmitRequest
from genoflow.protocols import ServiceClient, open_client

SE = "se=2024-05-03T12%3A00%3A00Z"


@dataclass
class FakeClock:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(
    protocol: str,
    url: str,
    clock: FakeClock,
    *,
    key: str | None = None,
    attempts: int = 6,
    total: float = 600.0,
    workflow_engine: str | None = None,
) -> ServiceClient:
    service = ServiceConfig(
        protocol=Protocol(protocol),
        url=url,
        api_key=key,
        timeout=5,
        workflow_engine=workflow_engine,
        retry=RetryConfig(attempts=attempts, initial_delay=1, max_delay=8, total_seconds=total),
    )
    return open_client(service, sleep=clock.sleep, clock=clock.time)


def two_pair_request(key: str | None = None) -> SubmitRequest:
    """The request behind tests/data/protocols/msgenomics_submit_two_pairs_gvcf.json."""
    names = ("A_1.fq.gz", "A_2.fq.gz", "B_1.fq.gz", "B_2.fq.gz")
    sas = {n: f"sv=2023-11-03&{SE}&sr=b&sp=r&sig={n[0]}{n[2]}SIG" for n in names}
    return SubmitRequest(
        sample="NA12878",
        kind=InputKind.FASTQ,
        reads_1=("A_1.fq.gz", "B_1.fq.gz"),
        reads_2=("A_2.fq.gz", "B_2.fq.gz"),
        options=PipelineOptions(
            bqsr=True,
            read_group=r"@RG\tID:x\tSM:y",
            emit_ref_confidence="gvcf",
            bgzip_output=True,
            description="sample NA12878",
        ),
        input_account="myaccount",
        input_container="inputs",
        output_account="myaccount",
        output_container="outputs",
        input_sas=sas,
        output_sas=f"sv=2023-11-03&{SE}&sr=c&sp=rwd&sig=OUTSIG",
        submission_key=key,
    )


def bam_request() -> SubmitRequest:
    return SubmitRequest(
        sample="t3",
        kind=InputKind.BAM,
        reads_1=("runs/t3.bam",),
        reads_2=(),
        options=PipelineOptions(
            process="gatk4",
            reference="hg38m1x",
            output_filename_base="t3/out",
            overwrite=True,
            include_logs=False,
            description="tumour run 3",
        ),
        input_account="myaccount",
        input_container="inputs",
        output_account="outacct",
        output_container="results",
        input_sas={"runs/t3.bam": "sv=2023-11-03&sr=b&sp=r&sig=BAMSIG"},
        output_sas="?sv=2023-11-03&sr=c&sp=rwd&sig=OUTSIG",
    )
