"""The analysis pipeline: one packed CWL v1.2 document (package data) and the Python around it.

``workflow_path()`` is the packed document (``entry_point("analysis")`` what the server runs,
``#main`` what any engine runs on URLs); ``prepare_reference`` builds a reference's indexes
once; ``check_inputs`` validates FASTQ pairs or a BAM before the engine starts (failure codes
as the Microsoft Genomics service reported them); ``job_for`` maps a run's descriptor to a CWL
job; ``engine_command`` runs it with cwltool or Toil; ``collect_outputs`` reads the result.
"""

from __future__ import annotations

from genoflow.pipelines.checks import InputCheckError, InputStats, check_inputs
from genoflow.pipelines.document import (
    WORKFLOW_FILE,
    entry_point,
    is_builtin,
    workflow_document,
    workflow_path,
    workflow_text,
)
from genoflow.pipelines.engine import (
    TOIL_REQUIREMENT,
    Engine,
    engine_command,
    engine_environment,
)
from genoflow.pipelines.job import (
    Caller,
    JobFiles,
    PipelineJob,
    PipelineOutputs,
    build_job,
    collect_outputs,
    derive_read_group,
    job_for,
    normalise_read_group,
)
from genoflow.pipelines.reference import ReferenceFiles, prepare_reference

__all__ = [
    "TOIL_REQUIREMENT",
    "WORKFLOW_FILE",
    "Caller",
    "Engine",
    "InputCheckError",
    "InputStats",
    "JobFiles",
    "PipelineJob",
    "PipelineOutputs",
    "ReferenceFiles",
    "build_job",
    "check_inputs",
    "collect_outputs",
    "derive_read_group",
    "engine_command",
    "engine_environment",
    "entry_point",
    "is_builtin",
    "job_for",
    "normalise_read_group",
    "prepare_reference",
    "workflow_document",
    "workflow_path",
    "workflow_text",
]
