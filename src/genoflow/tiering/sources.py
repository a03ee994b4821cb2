"""The edge of the tiering package: storage listings and service runs turned into facts.

Runs come from the service (the cron host is not where ``submit`` ran); blobs from the input
and output containers, with their index tags. Nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from genoflow.errors import ConfigError, NotFoundError
from genoflow.model import tags as tagnames
from genoflow.model.runs import Run, RunFilters, RunState
from genoflow.tiering.facts import BlobFacts, BlobRef, RunFacts, RunPhase

if TYPE_CHECKING:
    from genoflow.protocols.base import ServiceClient
    from genoflow.storage.base import BlobInfo, BlobStore

# genoflow's own housekeeping blobs (the apply lock) are never inventoried or tiered.
PRIVATE_PREFIX = ".genoflow/"

_PHASES = {
    RunState.SUCCEEDED: RunPhase.succeeded,
    RunState.FAILED: RunPhase.failed,
    RunState.CANCELLED: RunPhase.cancelled,
}


def run_facts(run: Run) -> RunFacts:
    """Unknown, queued, running and cancelling all read as active: their blobs are left alone."""
    container = run.input_container
    return RunFacts(
        id=run.id,
        phase=_PHASES.get(run.state, RunPhase.active),
        ended=run.ended,
        inputs=tuple(BlobRef(container, name) for name in run.inputs) if container else (),
        outputs=(*recorded_refs(run), *output_refs(run.output_document)),
        bases_processed=run.bases_processed,
        service=run.service,
    )


def recorded_refs(run: Run) -> Iterator[BlobRef]:
    """The outputs the producer recorded (those that name their container)."""
    for output in run.outputs:
        if output.container:
            yield BlobRef(output.container, output.name)


def output_refs(outputs: Any) -> Iterator[BlobRef]:
    """Blob URLs found anywhere in a run's ``outputs`` (WES servers list output files there)."""
    from genoflow.storage import split_blob_url

    if isinstance(outputs, str):
        if outputs.startswith(("http://", "https://")):
            try:
                _, container, name, _ = split_blob_url(outputs)
            except ConfigError:
                return
            if container and name:
                yield BlobRef(container, name)
    elif isinstance(outputs, dict):
        for value in outputs.values():
            yield from output_refs(value)
    elif isinstance(outputs, (list, tuple)):
        for value in outputs:
            yield from output_refs(value)


def blob_facts(info: BlobInfo) -> BlobFacts:
    return BlobFacts(
        container=info.container,
        name=info.name,
        size=info.size,
        tier=info.tier,
        last_modified=info.last_modified,
        created=info.created,
        tags=dict(info.tags or {}),
        archive_status=info.archive_status,
        tier_changed=info.tier_changed,
    )


def list_blob_facts(store: BlobStore, container: str) -> Iterator[BlobFacts]:
    for info in store.list_blobs(container, include_tags=True):
        if not info.name.startswith(PRIVATE_PREFIX):
            yield blob_facts(info)


def collect_runs(client: ServiceClient, blobs: Iterable[BlobFacts]) -> list[RunFacts]:
    """Every run the service lists, plus any run a blob's tags name that the listing missed.

    Where the listing gives only summaries (WES), the runs that matter are read in full: the
    active ones (their inputs must be held even if a blob's tags lag behind) and the ones a blob
    names (end time, outputs and bases). Other finished runs hold nothing and cost one request
    each, so they are left as listed."""
    listed = {run.id: run for run in client.list(RunFilters())}
    service = next((run.service for run in listed.values() if run.service), None)
    tagged = _tagged_run_ids(blobs, service)
    runs: dict[str, RunFacts] = {}
    for run_id in sorted(set(listed) | tagged):
        run = listed.get(run_id)
        if run is None or (run.summary and (run_id in tagged or run.state not in _PHASES)):
            run = _read(client, run_id) or run
        if run is not None:  # the engine holds blobs of runs the service does not know
            runs[run_id] = run_facts(run)
    return list(runs.values())


def _read(client: ServiceClient, run_id: str) -> Run | None:
    try:
        return client.get(run_id)
    except NotFoundError:
        return None


def _tagged_run_ids(blobs: Iterable[BlobFacts], service: str | None) -> set[str]:
    """Ids of this service's runs that blobs' tags name (other services' runs are not ours)."""
    found: set[str] = set()
    for blob in blobs:
        found.update(tagnames.runs_named(blob.tags, service)[0])
    return found
