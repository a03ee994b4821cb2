"""A run's QC: what the pipeline's #qc step measured with samtools, mosdepth and bcftools.

* :func:`tool`: the step's script (parsing the tools' outputs, ``<base>.qc.json``, the HTML
  page), loaded from the packed pipeline as a module: one copy of the code, which the
  pipeline's workers run without genoflow installed and genoflow imports;
* :mod:`~genoflow.qc.thresholds`: the lab's limits (config ``qc.thresholds``) and the flags;
* :mod:`~genoflow.qc.fetching`: a run's recorded ``qc.json``, downloaded and verified.

``qc.schema.json`` (package data) is the JSON Schema of ``qc.json``; docs/qc.md explains it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from types import ModuleType
from typing import Any

SCHEMA_FILE = Path(__file__).resolve().parent / "qc.schema.json"
STEP_ID = "qc"  # the CommandLineTool in genoflow-pipeline.cwl's $graph
SCRIPT_NAME = "qc.py"  # its InitialWorkDirRequirement entry


def script_text() -> str:
    """The #qc step's script, as the packed pipeline embeds it."""
    from genoflow.pipelines.document import graph_process

    listing = graph_process(STEP_ID)["requirements"]["InitialWorkDirRequirement"]["listing"]
    text: str = next(item["entry"] for item in listing if item.get("entryname") == SCRIPT_NAME)
    return text


@functools.lru_cache(maxsize=1)
def tool() -> ModuleType:
    """The #qc step's script as a module (its ``main`` is not run)."""
    from genoflow.pipelines.document import workflow_path

    module = ModuleType("genoflow.qc.step")
    module.__file__ = f"{workflow_path()}#{STEP_ID}/{SCRIPT_NAME}"
    exec(compile(script_text(), module.__file__, "exec"), module.__dict__)
    return module


def schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return document


__all__ = ["SCHEMA_FILE", "schema", "script_text", "tool"]
