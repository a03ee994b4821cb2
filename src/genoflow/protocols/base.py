"""The service-client contract both protocols implement (no requests import here).

Errors: every method raises genoflow.errors classes only: ``NotFoundError`` for an unknown run,
``AuthError`` for a refused key, ``BadRequestError`` (exit 2) when the service rejects the input,
``UnavailableError`` when the service cannot be reached or keeps failing after the retry budget;
for a submit, its ``maybe_processed`` says whether the service may have created the run anyway.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

from genoflow.model.runs import Run, RunFilters
from genoflow.model.submission import SubmitRequest
from genoflow.model.tags import SUBMISSION_KEY

DEFAULT_PAGE_SIZE = 50


class ServiceClient(ABC):
    """A run service. Implementations: ``msgenomics`` (Microsoft Genomics REST API) and ``wes``
    (GA4GH WES 1.1), chosen by :func:`genoflow.protocols.open_client`."""

    protocol: ClassVar[str]

    @abstractmethod
    def submit(self, request: SubmitRequest) -> Run:
        """Create a run. Never retried blindly: repeated only when the service provably did
        not receive it. The request's ``submission_key`` is recorded with the run when the
        protocol can carry it (then ``Run.tags[SUBMISSION_KEY]`` holds it)."""

    @abstractmethod
    def get(self, run_id: str) -> Run:
        """The run's current record; ``NotFoundError`` when there is no such run."""

    @abstractmethod
    def list(
        self, filters: RunFilters | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[Run]:
        """Runs matching ``filters``, fetched lazily page by page (stop iterating to stop
        fetching). Newest first when the server can order them."""

    @abstractmethod
    def cancel(self, run_id: str) -> Run:
        """Ask for cancellation and return the run's record. Cancelling a run that already
        finished is not an error here; the caller decides what to say."""

    @abstractmethod
    def service_info(self) -> Mapping[str, Any]:
        """A cheap authenticated probe: what the service says about itself."""

    def find_by_key(self, key: str) -> Run | None:
        """The newest run recorded with submission key ``key``, if the service keeps it."""
        for run in self.list(RunFilters()):
            if run.tags.get(SUBMISSION_KEY) == key:
                return run
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections."""


def pages(
    fetch: Callable[[int, str | None], tuple[list[Run], str | None]], page_size: int
) -> Iterator[Run]:
    """Iterate pages from ``fetch(page_number, token) -> (runs, next_token)``.

    Ends on an empty page, on an empty next token, and (for servers that ignore paging and
    answer the same page again) on a page holding nothing new.
    """
    seen: set[str] = set()
    token: str | None = None
    number = 0
    while True:
        runs, next_token = fetch(number, token)
        fresh = [run for run in runs if run.id not in seen]
        if not fresh:
            return
        seen.update(run.id for run in fresh)
        yield from fresh
        if not next_token or next_token == token:
            return
        token, number = next_token, number + 1


def matching(runs: Iterable[Run], filters: RunFilters) -> Iterator[Run]:
    """Apply on the client what the server did not filter; stop at ``since`` on ordered lists."""
    for run in runs:
        if filters.since and filters.newest_first and run.created and run.created < filters.since:
            return
        if filters.matches(run):
            yield run
