"""model/outputs.py: the one home of output naming, and the output record."""

from __future__ import annotations

import ast
from typing import Any

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
from genoflow.pipelines.document import graph_process


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


def _literal(script: str, name: str) -> Any:
    """The literal assigned to ``name`` at the top of an embedded script."""
    for node in ast.parse(script).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"no {name} = ... in the script")


def _entry(process: str, entryname: str) -> str:
    listing = graph_process(process)["requirements"]["InitialWorkDirRequirement"]["listing"]
    text: str = next(item["entry"] for item in listing if item.get("entryname") == entryname)
    return text


def test_the_pipelines_copies_of_the_qc_files_agree_with_qc_outputs() -> None:
    """The QC files are named in four places: QC_OUTPUTS here, and three copies the pipeline
    keeps standalone: deliver.py's KINDS, qc.py's SUFFIXES and the #qc step's output glob."""
    suffixes = {suffix for suffix, _ in QC_OUTPUTS}
    deliver = _literal(_entry("deliver", "deliver.py"), "KINDS")
    qc_kinds = [(s, k) for s, k in deliver if k == "qc" or k.startswith("qc-")]
    assert sorted(qc_kinds) == sorted(QC_OUTPUTS)
    measured = set(_literal(_entry("qc", "qc.py"), "SUFFIXES").values())
    assert measured | {".qc.json", ".qc.html"} == suffixes
    glob = graph_process("qc")["outputs"]["files"]["outputBinding"]["glob"]
    prefix = "$(inputs.base)"
    assert all(pattern.startswith(prefix) for pattern in glob), glob
    assert sorted(pattern[len(prefix) :] for pattern in glob) == sorted(suffixes)
