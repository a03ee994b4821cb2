"""The storage contract: what genoflow needs from a blob store, without naming any SDK.

:class:`BlobStore` is the abstract interface; its docstrings are the contract every
implementation keeps. The Azure implementation lives in :mod:`genoflow.storage.azure_blob`, the
only module that imports ``azure.*``. Every method raises genoflow errors only:
:class:`~genoflow.errors.AuthError` (exit 7), :class:`~genoflow.errors.UnavailableError`
(exit 6), :class:`~genoflow.errors.NotFoundError`, :class:`~genoflow.errors.UsageError` (e.g. an
archived blob that must be rehydrated first), :class:`~genoflow.errors.IntegrityError` (a block
the service rejected as corrupt) or :class:`~genoflow.errors.ServiceError`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

from genoflow.errors import IntegrityError, ServiceError, UsageError

TIERS = ("Hot", "Cool", "Cold", "Archive")

# Takes each piece of a range read, in order: (offset in the blob, the bytes; valid only
# during the call, as the buffer is reused for the next piece).
RangeSink = Callable[[int, memoryview], None]

REHYDRATE_HINT = (
    "an archived blob must be rehydrated before it can be read: "
    "az storage blob set-tier --tier Hot --rehydrate-priority High --account-name ACCOUNT "
    "--container-name {container} --name {name}, or copy it to a new Hot blob "
    "(az storage blob copy start --tier Hot ...); rehydration takes up to 1 h (High) or 15 h"
)


@dataclass(frozen=True)
class BlobInfo:
    """What genoflow knows about one blob; ``tags`` is None unless asked for."""

    container: str
    name: str
    size: int
    md5: str | None  # hex of Content-MD5
    tier: str | None  # "Hot" / "Cool" / "Cold" / "Archive"
    archive_status: str | None
    last_modified: datetime
    created: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] | None = None
    etag: str | None = None
    tier_changed: datetime | None = None  # when the tier was last set explicitly

    def __repr__(self) -> str:
        return f"BlobInfo({self.container}/{self.name}, {self.size} B, tier={self.tier})"

    @property
    def archived(self) -> bool:
        """True while the blob is offline: archived, or still being rehydrated."""
        return self.tier == "Archive"


@dataclass(frozen=True)
class BatchFailure:
    """One sub-request of a Blob Batch that still failed after the retries."""

    name: str
    status: int
    error_code: str | None
    message: str


@dataclass(frozen=True)
class TierFailure(BatchFailure):
    """A tier change that did not happen (see :meth:`BlobStore.set_tiers`)."""

    tier: str = ""


@dataclass(frozen=True)
class StagedBlock:
    """A block staged but not yet committed (block id as given to ``stage_block``)."""

    block_id: str
    size: int


class LockHeldError(ServiceError):
    """The lock blob is leased by someone else (another genoflow job holds it)."""


class Lease(abc.ABC):
    """An exclusive lease on a lock blob; a context manager that releases on exit."""

    lease_id: str

    @abc.abstractmethod
    def renew(self) -> None:
        """Extend the lease by its duration; raises LockHeldError if it was lost."""

    @abc.abstractmethod
    def release(self) -> None:
        """Give the lease up (idempotent)."""

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class BlobStore(abc.ABC):
    """A storage account (or one container of it, when opened with a SAS).

    Implementations are thread-safe: the transfer layer calls them from a pool of threads.
    """

    account_name: str
    account_url: str

    # --- account and containers -------------------------------------------------------------
    @abc.abstractmethod
    def check(self) -> str:
        """Make one cheap call that proves the endpoint answers and the credentials work.

        Returns a one-line description (account, endpoint, auth method), never a secret.
        """

    @abc.abstractmethod
    def ensure_container(self, container: str) -> None:
        """Create the container if it does not exist (idempotent)."""

    # --- blob properties ---------------------------------------------------------------------
    @abc.abstractmethod
    def get_blob(self, container: str, name: str) -> BlobInfo:
        """The blob's properties; raises NotFoundError when it (or its container) is missing."""

    def find_blob(self, container: str, name: str) -> BlobInfo | None:
        """The blob's properties, or None when it does not exist."""
        from genoflow.errors import NotFoundError

        try:
            return self.get_blob(container, name)
        except NotFoundError:
            return None

    @abc.abstractmethod
    def list_blobs(
        self, container: str, prefix: str = "", *, include_tags: bool = False
    ) -> Iterator[BlobInfo]:
        """Blobs whose name starts with ``prefix``, in name order (metadata always included)."""

    @abc.abstractmethod
    def set_tags(
        self,
        container: str,
        name: str,
        tags: Mapping[str, str],
        *,
        accumulate: Collection[str] = (),
    ) -> None:
        """Merge ``tags`` into the blob's index tags (read, update, write: not atomic).

        A value of ``""`` keeps the key with an empty value; existing keys not named stay. For
        the keys in ``accumulate`` the value is a space-separated list of words: the new words
        are added to the ones already there (oldest dropped past the 256-character limit).
        Works on archived blobs too.
        """

    @abc.abstractmethod
    def set_metadata(self, container: str, name: str, metadata: Mapping[str, str]) -> None:
        """Merge ``metadata`` into the blob's metadata (read, update, write: not atomic).

        Changes the blob's ETag and Last-Modified; refused on archived blobs.
        """

    @abc.abstractmethod
    def set_tiers(
        self,
        container: str,
        changes: Sequence[tuple[str, str]],
        *,
        rehydrate_priority: str | None = None,
    ) -> list[TierFailure]:
        """Move blobs to tiers: ``changes`` is (blob name, "Hot"|"Cool"|"Cold"|"Archive").

        Uses Blob Batch, at most 256 sub-requests per request; sub-requests that fail with a
        transient status are retried (per ``storage.retry``). Returns what still failed (an
        empty list when everything moved). ``batch_requests`` counts the batch requests sent.
        """

    @abc.abstractmethod
    def delete_blobs(self, container: str, names: Sequence[str]) -> list[BatchFailure]:
        """Delete blobs with Blob Batch (<=256 per request); a missing blob is not a failure."""

    # --- URLs and SAS ------------------------------------------------------------------------
    def blob_url(self, container: str, name: str, sas: str | None = None) -> str:
        """The blob's URL, with ``sas`` (a token, with or without '?') appended when given."""
        from urllib.parse import quote

        url = f"{self.account_url}/{container}/{quote(name, safe='/')}"
        return blob_url_with_sas(url, sas) if sas else url

    @abc.abstractmethod
    def blob_read_sas(self, container: str, name: str, hours: int) -> str:
        """A read-only SAS token for one blob valid ``hours`` hours: ``sv=`` first, no '?'."""

    @abc.abstractmethod
    def container_sas(self, container: str, hours: int, permission: str = "rwd") -> str:
        """A SAS token for a container (default read/write/delete, no list): ``sv=`` first."""

    def sas_until(self, container: str, name: str | None, permission: str, expiry: datetime) -> str:
        """A SAS token with exactly ``permission`` (letters as in :mod:`genoflow.storage.sas`)
        for blob ``name``, or for the container when ``name`` is None, valid until ``expiry``
        (aware): what a third-party WES server is handed (``sas.FOREIGN_*_PERMISSIONS``)."""
        raise UsageError(f"{type(self).__name__} cannot make SAS tokens")

    # --- locks ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def acquire_lock(self, container: str, name: str, seconds: int = 60) -> Lease:
        """Lease the lock blob ``name`` (created empty if missing) for 15-60 s (or -1: forever).

        Raises LockHeldError, saying so, when another holder has it. Use as a context manager.
        """

    # --- what the transfer layer needs ---------------------------------------------------------
    @abc.abstractmethod
    def stage_block(
        self, container: str, name: str, block_id: str, data: bytes | memoryview, md5: bytes
    ) -> None:
        """Stage one block; ``md5`` (raw 16 bytes) is sent so the service rejects corruption.

        A block the service rejects as not matching its MD5 raises IntegrityError.
        """

    @abc.abstractmethod
    def uncommitted_blocks(self, container: str, name: str) -> list[StagedBlock]:
        """Blocks staged for ``name`` but not committed (empty when none or no such blob)."""

    @abc.abstractmethod
    def committed_block_ids(self, container: str, name: str) -> list[str]:
        """The ids of the committed blocks of ``name``, in order."""

    @abc.abstractmethod
    def commit_blocks(
        self,
        container: str,
        name: str,
        block_ids: Sequence[str],
        *,
        content_md5: bytes,
        tier: str | None = None,
        metadata: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> BlobInfo:
        """Commit the staged blocks as the blob's content, storing ``content_md5`` (raw bytes).

        Returns the blob's properties as the service reports them after the commit.
        """

    @abc.abstractmethod
    def put_blob(
        self,
        container: str,
        name: str,
        data: bytes,
        *,
        overwrite: bool = True,
        metadata: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> BlobInfo:
        """Write a small blob in one request (Content-MD5 set and checked by the service)."""

    @abc.abstractmethod
    def read_range(
        self, container: str, name: str, offset: int, length: int, etag: str | None = None
    ) -> bytes:
        """``length`` bytes of the blob from ``offset``; with ``etag``, fails if it changed."""

    def read_range_to(
        self,
        container: str,
        name: str,
        offset: int,
        length: int,
        sink: RangeSink,
        buffer: memoryview,
        etag: str | None = None,
    ) -> None:
        """Read ``length`` bytes of the blob from ``offset`` (with ``etag``: that version),
        handing them in order to ``sink(offset, piece)`` in pieces of at most ``len(buffer)``,
        each read into ``buffer`` (reused: so memory does not grow with the range's length).

        Implementations read straight from the socket into ``buffer`` and retry a body cut
        midway from where it stopped, within ``storage.retry``; this default copies
        :meth:`read_range`'s answers.
        """
        done = 0
        while done < length:
            count = min(len(buffer), length - done)
            data = self.read_range(container, name, offset + done, count, etag=etag)
            if len(data) != count:
                raise IntegrityError(
                    f"short read of {container}/{name} at {offset + done}: "
                    f"{len(data)} of {count} bytes"
                )
            buffer[:count] = data
            sink(offset + done, buffer[:count])
            done += count

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections (optional)."""


TAG_VALUE_LIMIT = 256


def merge_tags(
    current: Mapping[str, str], new: Mapping[str, str], accumulate: Collection[str] = ()
) -> dict[str, str]:
    """``current`` updated with ``new``; keys in ``accumulate`` keep their old words too."""
    merged = dict(current)
    for key, value in new.items():
        if key in accumulate:
            words = list(dict.fromkeys([*current.get(key, "").split(), *value.split()]))
            while len(" ".join(words)) > TAG_VALUE_LIMIT and len(words) > 1:
                words.pop(0)
            value = " ".join(words)
        merged[key] = value
    return merged


def blob_url_with_sas(url: str, sas: str | None) -> str:
    """``url`` with the SAS token appended (handles a leading '?' and an existing query)."""
    if not sas:
        return url
    token = sas.lstrip("?")
    return f"{url}{'&' if '?' in url else '?'}{token}"


def sv_first(token: str) -> str:
    """Reorder a SAS query string so that ``sv=`` comes first (as the old service expected)."""
    parts = token.lstrip("?").split("&")
    version = [p for p in parts if p.startswith("sv=")]
    return "&".join(version + [p for p in parts if not p.startswith("sv=")])
