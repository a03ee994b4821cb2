"""A run's QC: what the pipeline's #qc step measured with samtools, mosdepth and bcftools.

* :func:`tool`: the step's script (parsing the tools' outputs, ``<base>.qc.json``, the HTML
  page), loaded as a module: one copy of the code for the pipeline and for genoflow;
* :mod:`~genoflow.qc.thresholds`: the lab's limits (config ``qc.thresholds``) and the flags;
* :mod:`~genoflow.qc.fetching`: a run's recorded ``qc.json``, downloaded and verified.

``qc.schema.json`` (package data) is the JSON Schema of ``qc.json``; docs/qc.md explains it.
"""

from __future__ import annotations

import functools
import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

SCHEMA_FILE = Path(__file__).resolve().parent / "qc.schema.json"


@functools.lru_cache(maxsize=1)
def tool() -> ModuleType:
    """The #qc step's script as a module."""
    return importlib.import_module("genoflow.qc.qc_step")


def schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return document


__all__ = ["SCHEMA_FILE", "schema", "tool"]
