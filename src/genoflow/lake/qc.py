"""A run's QC record in the lake's ``qc`` table: its recorded ``<base>.qc.json`` (fetched and
verified by :func:`genoflow.qc.fetching.fetch_qc`) as one row, in one commit keyed by the run
(idempotent, as the other tables). Runs whose pipeline had no QC step have no row."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from genoflow.lake.schema import QC_COLUMNS, QC_SCHEMA
from genoflow.lake.tables import commit_run, holds
from genoflow.model.outputs import QC_KIND
from genoflow.model.runs import Run

if TYPE_CHECKING:
    from deltalake import DeltaTable

    from genoflow.lake.fetching import Sources
    from genoflow.lake.location import Lake


def has_qc(run: Run) -> bool:
    """Whether the run recorded a qc.json among its outputs."""
    return any(output.kind == QC_KIND for output in run.outputs)


def needs_qc(table: DeltaTable, run: Run, word: str) -> bool:
    return has_qc(run) and not holds(table, word)


def add_qc(
    lake: Lake, table: DeltaTable, sources: Sources, run: Run, word: str, now: datetime
) -> bool:
    """The run's QC row committed (False: no QC recorded, or the table has it already)."""
    from genoflow.qc.fetching import fetch_qc

    if not needs_qc(table, run, word):
        return False
    qc = fetch_qc(sources, run.id, now, run)
    row = qc_row(run, word, qc, now)
    return commit_run(lake, table, word, lambda: iter([row]), QC_SCHEMA, [], {})


def qc_row(run: Run, word: str, qc: Mapping[str, Any], now: datetime) -> pa.RecordBatch:
    values: dict[str, Any] = {
        "runId": word,
        "service": run.service,
        "serviceRunId": run.id,
        "sampleId": qc.get("sample") or run.sample or "",
        "qcSchemaVersion": int(qc["schema_version"]),
        "qcJson": json.dumps(qc, separators=(",", ":")),
        "ingestedAt": now,
    }
    for column, section, field, _ in QC_COLUMNS:
        values[column] = (qc.get(section) or {}).get(field)
    return pa.RecordBatch.from_pylist([values], schema=QC_SCHEMA)
