"""A run's recorded ``<base>.qc.json``: downloaded and checked against the MD5 the run
recorded, by :func:`genoflow.orchestration.fetch.fetch_outputs` (the one place that does it)."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genoflow.errors import NotFoundError, UsageError
from genoflow.model.outputs import QC_KIND

if TYPE_CHECKING:
    from genoflow.lake.fetching import Sources
    from genoflow.model.runs import Run


def fetch_qc(
    sources: Sources, run_id: str, now: datetime, run: Run | None = None
) -> dict[str, Any]:
    """The run's qc.json as a dict. NotFoundError (exit 2) when the run recorded none (a run
    from before the QC step), IntegrityError (8) when it is not what the run recorded,
    UsageError (2) when it is not a QC document this genoflow reads. ``run``: the run as the
    caller already read it (else it is read here)."""
    from genoflow.orchestration.fetch import fetch_outputs

    if run is None:  # a run the service does not have is said so, not "no QC"
        run = sources.client.get(run_id)
    with tempfile.TemporaryDirectory(prefix="genoflow-qc-") as folder:
        try:
            fetched = fetch_outputs(
                sources.client,
                sources.store,
                sources.output_container,
                run_id,
                Path(folder),
                kinds=frozenset({QC_KIND}),
                now=now,
                inputs=sources.inputs,
                mark_fetched=False,  # reading QC is not a delivery: no tag write
                run=run,
            )
        except NotFoundError:
            raise NotFoundError(
                f"run {run_id} has no QC among its outputs (no <base>.qc.json)",
                hint="runs from a pipeline without the qc step have none",
            ) from None
        item = next((f for f in fetched.files if f.blob.endswith(".qc.json")), None)
        if item is None:
            raise NotFoundError(f"run {run_id} has no QC among its outputs (no <base>.qc.json)")
        return read_qc(item.path, item.blob)


def read_qc(path: Path, name: str) -> dict[str, Any]:
    from genoflow.qc import tool

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{name} is not JSON: {exc}") from None
    version = document.get("schema_version") if isinstance(document, dict) else None
    if version != tool().SCHEMA_VERSION:
        raise UsageError(
            f"{name}: QC schema version {version!r}, this genoflow reads {tool().SCHEMA_VERSION}",
            hint="upgrade genoflow to read QC written by a newer pipeline",
        )
    return dict(document)
