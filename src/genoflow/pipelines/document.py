"""The packed pipeline document: its text, its entry points and its content hash.

``genoflow-pipeline.cwl`` is one CWL v1.2 ``$graph`` (package data, the only copy of the
steps). ``#main`` reads URLs and commits the outputs to Blob (any engine); ``#analysis`` is the
same analysis on files the engine can read, which genoflow server runs on its staged inputs.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from genoflow.pipelines.job import Form

WORKFLOW_FILE = "genoflow-pipeline.cwl"


def workflow_path() -> Path:
    """The packed CWL document (package data)."""
    return Path(__file__).resolve().parent / WORKFLOW_FILE


def entry_point(form: Form = "main") -> str:
    """What to hand an engine to run ``form``: ``<path>#analysis`` (``main`` is the default)."""
    return f"{workflow_path()}#{form}"


def workflow_text() -> str:
    return workflow_path().read_text(encoding="utf-8")


def workflow_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(workflow_text())
    return document


def document_digest(document: Mapping[str, Any]) -> str:
    """sha256 of the document's canonical JSON: the same workflow in YAML or JSON, with any
    layout or key order, has one digest."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def builtin_digest() -> str:
    return document_digest(workflow_document())


def is_builtin(text: str | bytes) -> bool:
    """True when ``text`` (YAML or JSON) is the packed pipeline, whatever its layout."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(document, dict) and document_digest(document) == builtin_digest()


@functools.lru_cache(maxsize=1)
def main_inputs() -> frozenset[str]:
    """The input names of ``#main``: what a CWL job for the pipeline may set."""
    return frozenset(graph_process("main")["inputs"])


def graph_process(process_id: str) -> dict[str, Any]:
    """One process of the ``$graph`` by id (``align``, ``deliver``...)."""
    for process in workflow_document()["$graph"]:
        if process.get("id") == process_id:
            return dict(process)
    raise KeyError(process_id)
