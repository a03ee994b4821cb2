"""model/outputs.py: the one home of output naming, and the output record."""

from __future__ import annotations

import pytest

from genoflow.model.outputs import (
    QC_KINDS,
    QC_OUTPUTS,
    RunOutput,
    kind_of,
    output_base_of,
    planned_outputs,
    run_folder_base,
)
from genoflow.model.runs import Run, RunState
from genoflow.model.submission import PipelineOptions


def test_planned_outputs_name_and_kind_each_file() -> None:
    gvcf = PipelineOptions(emit_ref_confidence="gvcf")  # bgzip on by default for gVCF
    names = planned_outputs("H3/0a1b2c3d/H3", gvcf)
    assert names == [
        "H3/0a1b2c3d/H3.bam",
        "H3/0a1b2c3d/H3.bam.bai",
        "H3/0a1b2c3d/H3.g.vcf.gz",
        "H3/0a1b2c3d/H3.g.vcf.gz.tbi",
        *(f"H3/0a1b2c3d/H3{suffix}" for suffix, _ in QC_OUTPUTS),
        "H3/0a1b2c3d/H3.logs.zip",
    ]
    assert [kind_of(n) for n in names] == ["bam", "bai", "gvcf", "tbi", *QC_KINDS, "logs"]
    assert {output_base_of(n) for n in names} == {"H3/0a1b2c3d/H3"}
    plain = planned_outputs("s", PipelineOptions(include_logs=False))
    assert plain == ["s.bam", "s.bam.bai", "s.vcf", *(f"s{suffix}" for suffix, _ in QC_OUTPUTS)]


def test_run_folder_base_is_per_run() -> None:
    assert run_folder_base("NA12878", "5f1e0c9a7b3d2e4f") == "NA12878/5f1e0c9a/NA12878"
    assert output_base_of("x.txt") is None and kind_of("reads_1.fq.gz") == "fastq"


def test_output_record_round_trips_and_rejects_garbage() -> None:
    record = RunOutput("s/s.bam", "bam", 1234, "0123ABCDEF", "outs")
    again = RunOutput.from_dict(record.to_dict())
    assert again == RunOutput("s/s.bam", "bam", 1234, "0123abcdef", "outs")
    assert RunOutput.from_dict({"name": "s.vcf.gz.tbi"}).kind == "tbi"  # kind from the name
    for bad in ({"kind": "bam"}, {"name": "s.bam", "size": "12"}, {"name": "s.bam", "md5": 5}):
        with pytest.raises(ValueError):
            RunOutput.from_dict(bad)


def test_run_to_dict_lists_outputs_and_service() -> None:
    run = Run(
        id="1",
        state=RunState.SUCCEEDED,
        outputs=(RunOutput("s.bam", "bam", 3, "ab", "outs"),),
        service="gf-0123456789ab",
    )
    shown = run.to_dict()
    assert shown["outputs"] == [
        {"name": "s.bam", "kind": "bam", "size": 3, "md5": "ab", "container": "outs"}
    ]
    assert shown["service"] == "gf-0123456789ab" and run.output("bam") is run.outputs[0]
    assert run.output("vcf") is None
