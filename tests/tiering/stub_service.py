"""A seeded run service for tiering tests: the policy's run lookup only (storage stays real)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from genoflow.errors import NotFoundError
from genoflow.model.runs import Run, RunFilters, RunState
from genoflow.model.submission import SubmitRequest
from genoflow.protocols.base import ServiceClient


def run(
    run_id: str,
    state: str,
    ended_days_ago: float | None = None,
    sample: str | None = None,
    now: datetime | None = None,
) -> Run:
    now = now or datetime.now(timezone.utc)
    ended = now - timedelta(days=ended_days_ago) if ended_days_ago is not None else None
    return Run(
        id=run_id, state=RunState(state), ended=ended, sample=sample, bases_processed=1_000_000
    )


class SeededService(ServiceClient):
    protocol = "seeded"

    def __init__(self, runs: list[Run]) -> None:
        self.runs = {r.id: r for r in runs}
        self.gets: list[str] = []

    def submit(self, request: SubmitRequest) -> Run:
        raise NotImplementedError("the tiering tests never submit")

    def get(self, run_id: str) -> Run:
        self.gets.append(run_id)
        if run_id not in self.runs:
            raise NotFoundError(f"no run {run_id}", status=404)
        return self.runs[run_id]

    def list(self, filters: RunFilters | None = None, **_: Any) -> Iterator[Run]:
        yield from self.runs.values()

    def cancel(self, run_id: str) -> Run:
        return self.get(run_id)

    def service_info(self) -> Mapping[str, Any]:
        return {"seeded": True}
