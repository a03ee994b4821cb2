"""``genoflow fetch``: download a finished run's outputs, verified, and mark them fetched.

The outputs are found from what every host can see: blob URLs in the run's ``outputs`` (WES),
else the output base that ``submit`` wrote in the ``genoflow-output`` tag of the run's inputs,
else the run's sample name (the default output base). After a complete download each output
gets the ``genoflow-run``/``genoflow-role``/``genoflow-kind`` tags and ``genoflow-fetched``,
which ``genoflow tier`` policies may wait for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genoflow.errors import NotFoundError, UsageError
from genoflow.model import tags as tagnames
from genoflow.model.runs import Run
from genoflow.tiering.engine import output_base_of
from genoflow.tiering.facts import format_time
from genoflow.tiering.sources import output_refs

if TYPE_CHECKING:
    from genoflow.protocols.base import ServiceClient
    from genoflow.storage.base import BlobInfo, BlobStore

FETCHABLE_KINDS = ("bam", "bai", "vcf", "gvcf", "tbi", "logs")
# A variant file is of little use without its index; a run asked for gVCF has no plain VCF.
_BRINGS_ALONG = {"vcf": ("gvcf", "tbi"), "gvcf": ("tbi",)}


@dataclass(frozen=True)
class FetchedFile:
    blob: str
    path: Path
    size: int
    verified: bool
    skipped: bool


@dataclass
class FetchResult:
    run_id: str
    state: str
    files: list[FetchedFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "state": self.state,
            "files": [
                {
                    "blob": f.blob,
                    "path": str(f.path),
                    "size": f.size,
                    "verified": f.verified,
                    "skipped": f.skipped,
                }
                for f in self.files
            ],
        }


def parse_kinds(text: str | None) -> frozenset[str] | None:
    """``--only bam,vcf`` -> {"bam", "vcf"}; "vcf" also brings the gVCF and its index."""
    if not text:
        return None
    kinds = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(kinds - set(FETCHABLE_KINDS))
    if unknown:
        raise UsageError(
            f"--only: unknown kind(s) {', '.join(unknown)}",
            hint=f"use a comma-separated list of {', '.join(FETCHABLE_KINDS)}",
        )
    return frozenset(kinds).union(*(_BRINGS_ALONG.get(kind, ()) for kind in kinds))


def fetch_outputs(
    client: ServiceClient,
    store: BlobStore,
    container: str,
    run_id: str,
    dest: Path,
    *,
    kinds: frozenset[str] | None,
    now: datetime,
    inputs: tuple[BlobStore, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FetchResult:
    """Download the outputs of run ``run_id`` from ``container`` into ``dest``, then tag them."""
    from genoflow.transfer import download_blob

    run = client.get(run_id)
    _require_finished(run)

    def wanted(name: str) -> bool:
        return kinds is None or tagnames.kind_of(name) in kinds

    found, missing = find_outputs(run, store, container, inputs)
    missing = [name for name in missing if wanted(name)]
    if missing:
        raise NotFoundError(
            f"run {run_id} lists outputs that are not in {container}: {', '.join(missing)}",
            hint="they were moved or deleted; fetch the others with --only",
        )
    blobs = [b for b in found if wanted(b.name)]
    if not blobs:
        raise NotFoundError(
            f"no outputs of run {run_id} found in container {container}",
            hint="check storage.output_container, or --only",
        )
    _refuse_archived(blobs)
    dest.mkdir(parents=True, exist_ok=True)
    result = FetchResult(run.id, run.state.value)
    for blob in blobs:
        if progress:
            progress(f"fetching {container}/{blob.name} ({blob.size} bytes)")
        done = download_blob(store, container, blob.name, dest)
        result.files.append(
            FetchedFile(blob.name, Path(done.path), done.bytes, done.verified, done.skipped)
        )
    for blob in blobs:  # only once every file is verified on disk
        store.set_tags(container, blob.name, fetched_tags(blob, run.id, now))
    return result


def _require_finished(run: Run) -> None:
    if run.state.terminal:
        return
    raise UsageError(
        f"run {run.id} is {run.state.display_name.lower()}: its outputs can be "
        "fetched once it has finished",
        hint=f"wait for it with 'genoflow wait {run.id}'",
    )


def _refuse_archived(blobs: Iterable[BlobInfo]) -> None:
    from genoflow.storage.base import REHYDRATE_HINT

    archived = [b for b in blobs if b.archived]
    if archived:
        first = archived[0]
        names = ", ".join(b.name for b in archived)
        raise UsageError(
            f"cannot fetch {names}: in the Archive tier",
            hint=REHYDRATE_HINT.format(container=first.container, name=first.name),
        )


def fetched_tags(blob: BlobInfo, run_id: str, now: datetime) -> dict[str, str]:
    runs = set((blob.tags or {}).get(tagnames.RUN_ID, "").split()) | {run_id}
    tags = {
        tagnames.RUN_ID: " ".join(sorted(runs)),
        tagnames.ROLE: tagnames.ROLE_OUTPUT,
        tagnames.FETCHED: format_time(now),
    }
    kind = tagnames.kind_of(blob.name)
    if kind:
        tags[tagnames.KIND] = kind
    return tags


def find_outputs(
    run: Run, store: BlobStore, container: str, inputs: tuple[BlobStore, str] | None = None
) -> tuple[list[BlobInfo], list[str]]:
    """The run's output blobs in name order (see the module docstring for how), and the names
    of outputs the run lists (WES ``outputs``) that are not in ``container``."""
    listed = output_refs(run.output_document)
    named = sorted({ref.name for ref in listed if ref.container == container})
    if named:
        found = {name: store.find_blob(container, name) for name in named}
        missing = [name for name, info in found.items() if info is None]
        return [info for info in found.values() if info is not None], missing
    for base in _output_bases(run, container, inputs):
        prefix_blobs = store.list_blobs(container, base, include_tags=True)
        matched = [b for b in prefix_blobs if output_base_of(b.name) == base]
        if matched:
            return matched, []
    return [], []


def _output_bases(run: Run, container: str, inputs: tuple[BlobStore, str] | None) -> list[str]:
    bases: list[str] = []
    if inputs is not None:
        input_store, input_container = inputs
        for info in input_store.list_blobs(input_container, include_tags=True):
            for out_container, base in tagnames.output_bases(info.tags or {}, run.id):
                if out_container == container and base not in bases:
                    bases.append(base)
    if run.sample and run.sample not in bases:
        bases.append(run.sample)
    return bases


__all__ = ["FetchResult", "fetch_outputs", "find_outputs", "parse_kinds"]
