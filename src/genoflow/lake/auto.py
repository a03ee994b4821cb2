"""Building the lake's collaborators from the configuration, and ``lake.auto``: adding runs to
the lake as soon as ``genoflow wait`` (or ``submit --wait``) sees them succeed.

Importing this module needs no part of the ``lake`` extra (``wait`` imports it whether or not
the lake is on); the lake's modules are imported once a run is to be added."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from genoflow.errors import GenoflowError
from genoflow.lake import require_extra
from genoflow.lake.location import Lake, lake_of
from genoflow.model.runs import Run, RunState

if TYPE_CHECKING:
    from genoflow.config.schema import GenoflowConfig
    from genoflow.lake.fetching import Sources
    from genoflow.lake.ingest import AddResult, LakeWriter
    from genoflow.protocols.base import ServiceClient


def configured_lake(config: GenoflowConfig) -> Lake:
    return lake_of(config.storage, config.lake.container)


def configured_sources(config: GenoflowConfig, client: ServiceClient) -> Sources:
    from genoflow.lake.fetching import Sources
    from genoflow.storage import open_store

    storage = config.storage
    return Sources(
        client,
        open_store(storage, output=True),
        storage.output_container,
        (open_store(storage), storage.input_container),
    )


def add_succeeded(
    config: GenoflowConfig,
    client: ServiceClient,
    runs: Sequence[Run],
    info: Callable[[str], None],
) -> list[AddResult]:
    """With ``lake.auto`` on, add the succeeded ``runs`` to the lake (others are skipped).

    A lake that cannot be written does not undo the runs' success: each failure is one line
    on ``info`` naming the command that retries it, and the run is left out."""
    done = [run for run in runs if run.state is RunState.SUCCEEDED]
    if not config.lake.auto or not done:
        return []
    try:
        require_extra()
    except GenoflowError as exc:
        info(f"lake.auto: {exc.one_line()}")
        return []
    from genoflow.lake.ingest import LakeWriter

    try:
        sources = configured_sources(config, client)
        writer = LakeWriter(configured_lake(config), sources.store)
    except GenoflowError as exc:
        info(f"lake.auto: the lake is not writable: {exc.one_line()}")
        return []
    from genoflow.lake.tables import compact_if_fragmented

    with writer:
        results = _add_each(sources, writer, done, info)
        try:
            compact_if_fragmented(writer.lake, writer.runs)
        except GenoflowError as exc:  # the runs are in; compaction is only housekeeping
            info(f"lake.auto: the runs table was not compacted: {exc.one_line()}")
        return results


def _add_each(
    sources: Sources, writer: LakeWriter, runs: list[Run], info: Callable[[str], None]
) -> list[AddResult]:
    """Each run on its own: one that fails is reported and left out, the others go on."""
    from genoflow.lake.ingest import add_run

    results: list[AddResult] = []
    for run in runs:
        try:
            result = add_run(sources, writer, run, now=datetime.now(timezone.utc))
        except GenoflowError as exc:
            info(
                f"lake.auto: run {run.id} not added: {exc.one_line()} "
                f"(retry with 'genoflow lake add {run.id}')"
            )
            continue
        info(f"lake.auto: run {run.id}: {result.status} ({result.records} records)")
        results.append(result)
    return results
