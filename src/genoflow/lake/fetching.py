"""A run's VCF for the lake: found, downloaded and checked against the MD5 the run recorded by
:func:`genoflow.orchestration.fetch.fetch_outputs` (the one place that does it), into a
temporary folder of its own; and, once its calls are in the lake, tagged so."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from genoflow.errors import AuthError, NotFoundError
from genoflow.model.runs import Run

if TYPE_CHECKING:
    from collections.abc import Callable

    from genoflow.protocols.base import ServiceClient
    from genoflow.storage.base import BlobInfo, BlobStore

    Progress = Callable[[str], None]


@dataclass
class Sources:
    """Where runs and their outputs are: the service, and the output storage."""

    client: ServiceClient
    store: BlobStore
    output_container: str
    inputs: tuple[BlobStore, str] | None = None


@dataclass
class FetchedVcf:
    """A run's VCF downloaded (and verified) into its own temporary folder."""

    path: Path
    blob: BlobInfo
    names: list[str]  # the blobs fetched: the VCF and its index
    folder: tempfile.TemporaryDirectory[str]

    def cleanup(self) -> None:
        self.folder.cleanup()


def download_vcf(
    sources: Sources, run: Run, now: datetime, progress: Progress | None = None
) -> FetchedVcf:
    folder = tempfile.TemporaryDirectory(prefix="genoflow-lake-")
    try:
        path, blob, names = fetch_vcf(sources, run, Path(folder.name), now, progress)
    except BaseException:
        folder.cleanup()
        raise
    return FetchedVcf(path, blob, names, folder)


def fetch_vcf(
    sources: Sources, run: Run, folder: Path, now: datetime, progress: Progress | None
) -> tuple[Path, BlobInfo, list[str]]:
    """The run's VCF (or gVCF), downloaded into ``folder`` and verified against the run's
    recorded MD5 by fetch (IntegrityError, exit 8, when it differs; NotFoundError, exit 2,
    when it is missing); with the names of the blobs fetched (the VCF and its index)."""
    from genoflow.orchestration.fetch import fetch_outputs, parse_kinds

    fetched = fetch_outputs(
        sources.client,
        sources.store,
        sources.output_container,
        run.id,
        folder,
        kinds=parse_kinds("vcf"),
        now=now,
        inputs=sources.inputs,
        progress=progress,
    )
    for kind in ("vcf", "gvcf"):
        for item in fetched.files:
            if _kind(item.blob) == kind:
                container = _container_of(run, item.blob, sources.output_container)
                info = sources.store.get_blob(container, item.blob)
                return item.path, info, [f.blob for f in fetched.files]
    raise NotFoundError(f"run {run.id} has no VCF among its outputs")


def _kind(name: str) -> str | None:
    from genoflow.model.outputs import kind_of

    return kind_of(name)


def _container_of(run: Run, name: str, default: str) -> str:
    recorded = next((o for o in run.outputs if o.name == name), None)
    return (recorded.container if recorded else None) or default


def tag_in_lake(
    store: BlobStore, container: str, names: list[str], now: datetime, progress: Progress | None
) -> None:
    """Mark the VCF and its index as in the lake (a tiering rule with ``since: lake`` may then
    cool them sooner). Best effort: the lake is written; a credential that may not write tags
    only loses the mark."""
    from genoflow.tiering.facts import LAKE_TAG, format_time

    for name in names:
        try:
            store.set_tags(container, name, {LAKE_TAG: format_time(now)})
        except AuthError:
            if progress:
                progress(f"note: could not tag {container}/{name} as in the lake")
