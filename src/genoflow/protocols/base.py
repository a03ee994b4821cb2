"""The service-client contract both protocols implement (no requests import here).

Errors: every method raises genoflow.errors classes only: ``NotFoundError`` for an unknown run,
``AuthError`` for a refused key, ``BadRequestError`` (exit 2) when the service rejects the input,
``UnavailableError`` when the service cannot be reached or keeps failing after the retry budget;
for a submit, its ``maybe_processed`` says whether the service may have created the run anyway.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit

from genoflow.errors import NotFoundError, UsageError
from genoflow.model.runs import Run, RunFilters
from genoflow.model.submission import SubmitRequest
from genoflow.model.tags import SUBMISSION_KEY

DEFAULT_PAGE_SIZE = 50
# What a service may call itself (a foreign server's tag is taken only if it looks like an id).
SERVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


class ServiceClient(ABC):
    """A run service. Implementations: ``msgenomics`` (Microsoft Genomics REST API) and ``wes``
    (GA4GH WES 1.1), chosen by :func:`genoflow.protocols.open_client`."""

    protocol: ClassVar[str]
    # cancel() watches the run for a bounded time and returns it as last seen: still queued or
    # running then means the server accepted the cancel but did not carry it out.
    watches_cancel: ClassVar[bool] = False

    @abstractmethod
    def submit(self, request: SubmitRequest) -> Run:
        """Create a run. Never retried blindly: repeated only when the service provably did
        not receive it. The request's ``submission_key`` is recorded with the run when the
        protocol can carry it (then ``Run.tags[SUBMISSION_KEY]`` holds it)."""

    def portable(self) -> bool:
        """True when the service does not hold genoflow's pipeline (a WES server other than
        genoflow server): submit then sends the packed pipeline with a CWL job for ``#main``
        (:meth:`submit_job`). Raises UsageError (exit 2) when the service cannot run it: ask
        before uploading anything."""
        return False

    def submit_job(self, request: SubmitRequest, job: Mapping[str, Any], workflow: str) -> Run:
        """Create a run of the packed pipeline ``workflow`` with the CWL job ``job``."""
        raise UsageError(f"the {self.protocol} service runs only its own pipeline")

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

    def service_identity(self) -> str:
        """The service's stable identity, learned once: genoflow server's own id (``gf-...``),
        else one derived from the service URL (``url-<8 hex>``). Runs are named everywhere by
        (service identity, run id); every ``Run`` a client returns has it in ``Run.service``."""
        raise NotImplementedError(f"{type(self).__name__} does not name its service")

    def logs(self, run_id: str, offset: int = 0) -> tuple[str, int]:
        """The run's log (engine and tool stderr, redacted by the server) from byte ``offset``
        on, and the offset to ask for next (follow a running run by calling again)."""
        raise UsageError(f"the {self.protocol} service offers no run logs")

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


def url_identity(url: str) -> str:
    """``url-<8 hex>``: a stable identity for a service that names none, from its URL with the
    scheme and host lower-cased, a default port and trailing slashes dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    default_port = {"http": 80, "https": 443}.get(scheme)
    netloc = host if parts.port in (None, default_port) else f"{host}:{parts.port}"
    normal = f"{scheme}://{netloc}{parts.path.rstrip('/')}"
    return "url-" + hashlib.sha256(normal.encode()).hexdigest()[:8]


def named_identity(value: object) -> str | None:
    """``value`` if a service may use it as its identity, else None."""
    return value if isinstance(value, str) and SERVICE_ID_RE.match(value) else None


def log_chunk(body: bytes, start_header: str | None, offset: int) -> tuple[str, int]:
    """(text from ``offset`` on, next offset) of a log answer. A server that honoured the
    offset says where its body starts; one that did not sent the whole log."""
    start = int(start_header) if start_header and start_header.isdigit() else 0
    if start > offset:  # the log was cut (e.g. rewritten): take what there is
        offset = start
    data = _whole_characters(body[max(0, offset - start) :])
    return data.decode("utf-8", errors="replace"), offset + len(data)


def _whole_characters(data: bytes) -> bytes:
    """``data`` without a UTF-8 character cut at its end (it comes whole with the next chunk)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            return data[: exc.start]
    return data


@contextmanager
def missing_run_named(run_id: str, base_url: str) -> Iterator[None]:
    """A 404 for a run: "no run 12 on the service at URL", not the HTTP exchange alone."""
    try:
        yield
    except NotFoundError as exc:
        from genoflow.protocols.http import origin
        from genoflow.redact import redact

        raise NotFoundError(
            f"no run {run_id} on the service at {redact(origin(base_url))}"
            f" (it answered: {exc.message})",
            status=exc.status,
            hint="'genoflow list' shows the runs it has; check service.url if the run is on "
            "another service",
        ) from None
