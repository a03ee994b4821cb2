"""The published JSON Schemas of genoflow's output documents (``-o json``), one per document.

Each file is ``<name>.schema.json`` with ``$id`` ``urn:genoflow:schema:<name>:<version>``; a
version changes only when a key is removed or changes meaning (added keys keep it). Records
nest by ``$ref`` to those ids (a submission holds a run). docs/output.md describes them.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

VERSION = 1

# The document each command prints, by command path.
COMMAND_SCHEMAS = {
    "submit": "submission",
    "submit --samples": "submission-batch",
    "list": "runs",
    "status": "runs",
    "wait": "runs",
    "cancel": "cancel",
    "logs": "log",
    "upload": "transfers",
    "download": "transfers",
    "fetch": "fetch",
    "tier plan": "plan",
    "tier apply": "apply",
    "cost": "cost",
    "config init": "written",
    "config show": "config",
    "config check": "checks",
    "pipeline pack": "written",
    "local up": "local-status",
    "local status": "local-status",
    "local down": "local-down",
    "demo data": "demo-data",
    "demo run": "demo-run",
    "reference upload": "reference-upload",
    "server reference add": "server-reference",
    "server reference list": "server-references",
    "lake add": "lake-add",
    "lake report": "lake-report",
    "lake export": "lake-export",
    "qc": "qc-summary",
}
# Commands whose stdout is an artefact of its own format, not a document: the packed CWL,
# the CWL job, Azure's lifecycle policy, the server itself.
NOT_DOCUMENTS = ("pipeline show", "pipeline job", "tier lifecycle-policy", "server")


def names() -> list[str]:
    folder = resources.files(__name__)
    return sorted(
        entry.name.removesuffix(".schema.json")
        for entry in folder.iterdir()
        if entry.name.endswith(".schema.json")
    )


def schema(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def schema_id(name: str) -> str:
    return f"urn:genoflow:schema:{name}:{VERSION}"
