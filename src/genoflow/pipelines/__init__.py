"""The analysis pipeline: CWL v1.2 documents (package data) and the Python around them.

``workflow_path()`` is the main CWL; ``prepare_reference`` builds a reference's indexes once;
``check_inputs`` validates FASTQ pairs or a BAM before the engine starts (failure codes as the
Microsoft Genomics service reported them); ``build_job`` writes the job document;
``engine_command`` runs it with cwltool or Toil; ``collect_outputs`` reads the result.
"""

from __future__ import annotations

from pathlib import Path

from genoflow.pipelines.checks import InputCheckError, InputStats, check_inputs
from genoflow.pipelines.engine import (
    TOIL_REQUIREMENT,
    Engine,
    engine_command,
    engine_environment,
)
from genoflow.pipelines.job import (
    Caller,
    PipelineJob,
    PipelineOutputs,
    build_job,
    collect_outputs,
    derive_read_group,
    normalise_read_group,
)
from genoflow.pipelines.reference import ReferenceFiles, prepare_reference

WORKFLOW_FILE = "genoflow-pipeline.cwl"


def workflow_path() -> Path:
    """The main CWL workflow (its tools are in ``tools/`` beside it)."""
    return Path(__file__).resolve().parent / WORKFLOW_FILE


__all__ = [
    "TOIL_REQUIREMENT",
    "Caller",
    "Engine",
    "InputCheckError",
    "InputStats",
    "PipelineJob",
    "PipelineOutputs",
    "ReferenceFiles",
    "build_job",
    "check_inputs",
    "collect_outputs",
    "derive_read_group",
    "engine_command",
    "engine_environment",
    "normalise_read_group",
    "prepare_reference",
    "workflow_path",
]
