"""The Azure Blob implementation of :class:`~genoflow.storage.base.BlobStore`.

The only module (with its helpers in this package) that imports ``azure.*``. It works against
Azure and against Azurite: the REST API version can be pinned (``storage.api_version``), tiers
are passed as ``StandardBlobTier`` enums, and the connection pool is sized to the concurrency.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from azure.core import MatchConditions
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.core.pipeline.policies import HTTPPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.storage.blob import (
    BlobBlock,
    BlobClient,
    BlobLeaseClient,
    BlobProperties,
    BlobSasPermissions,
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    ContentSettings,
    RehydratePriority,
    StandardBlobTier,
    generate_blob_sas,
    generate_container_sas,
)

from genoflow.backoff import (
    QUICK_RETRY_SECONDS,
    SYSTEM_CLOCK,
    TRANSIENT_STATUSES,
    Clock,
    Retrier,
    retry_after_seconds,
    transient_exception,
    unreachable,
)
from genoflow.config.schema import RetryConfig
from genoflow.errors import (
    AuthError,
    ConfigError,
    GenoflowError,
    IntegrityError,
    NotFoundError,
    UnavailableError,
    UsageError,
)
from genoflow.redact import redact, register_secret
from genoflow.storage._errors import first_line, mapped
from genoflow.storage.base import (
    REHYDRATE_HINT,
    BatchFailure,
    BlobInfo,
    BlobStore,
    Lease,
    LockHeldError,
    RangeSink,
    StagedBlock,
    TierFailure,
    merge_tags,
    sv_first,
)
from genoflow.storage.sas import SasScope, parse_sas


class _ToGenoflowLogger(logging.Handler):
    """Hands the SDK's log records to genoflow's logger tree, whose handler formats and redacts
    them: without it Python's last-resort handler prints them bare ("Unable to stream ...")."""

    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger("genoflow.storage.sdk")
        if target.isEnabledFor(record.levelno):
            target.handle(record)


def route_sdk_logs() -> None:
    """Once per process: the "azure" loggers log through genoflow's (idempotent)."""
    sdk = logging.getLogger("azure")
    if not any(isinstance(handler, _ToGenoflowLogger) for handler in sdk.handlers):
        sdk.addHandler(_ToGenoflowLogger())
        sdk.propagate = False


route_sdk_logs()

BATCH_LIMIT = 256  # sub-requests per Blob Batch request
_PROBE_BLOB = "genoflow-access-probe"  # never created: only read, to learn what the SAS may do
_SAS_CLOCK_SKEW = timedelta(minutes=5)


class GenoflowRetry(HTTPPolicy):  # type: ignore[type-arg]
    """Every storage request retried by :class:`genoflow.backoff.Retrier` under
    ``storage.retry``: transient statuses (429 too) and network faults, Retry-After honoured.

    Replaces the SDK's policy, which neither retries 429 nor reads Retry-After. A request sent
    with ``retry_total=0`` is tried once: the ranged download retries those itself, resuming
    mid-body, under one budget per range. Until the endpoint has answered once, a refused
    connection or an unknown host gets one quick retry, not the backoff (a wrong
    storage.account_url, an emulator not started: said in a second, not after half a minute).
    """

    def __init__(self, retry: RetryConfig, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__()
        self.config = retry
        self.clock = clock
        self.reached = False  # an answer came once: a refused connection is then a restart

    def send(self, request: Any) -> Any:
        options = request.context.options
        once = options.pop("retry_total", None) == 0
        for key in _SDK_RETRY_OPTIONS:  # meant for the SDK's policy: never for the transport
            options.pop(key, None)
        retrier = Retrier(self.config, self.clock)
        rewind = _body_rewinder(request.http_request)
        quick_retried = False
        while True:
            try:
                response = self.next.send(request)
            except ClientAuthenticationError:
                raise
            except AzureError as exc:
                if once or (quick_retried and not self.reached and unreachable(exc)):
                    raise
                if not self.reached and unreachable(exc):
                    quick_retried = True
                    self.clock.sleep(QUICK_RETRY_SECONDS)
                elif not retrier.wait():
                    raise
                rewind()
                continue
            self.reached = True
            http_response = response.http_response
            status = http_response.status_code
            retry_after = retry_after_seconds(http_response.headers.get("Retry-After"))
            if once or status not in TRANSIENT_STATUSES or not retrier.wait(retry_after):
                http_response.location_mode = "primary"  # what the SDK's deserializers read
                return response
            rewind()


_SDK_RETRY_OPTIONS = (
    "retry_connect",
    "retry_read",
    "retry_status",
    "retry_to_secondary",
    "location_mode",
    "hosts",
    "retry_hook",
)


def _body_rewinder(http_request: Any) -> Callable[[], None]:
    """Put a stream body back where it was, so that a retried request sends it whole."""
    body = getattr(http_request, "body", None)
    if body is None or not hasattr(body, "seek"):
        return lambda: None
    position = body.tell()
    return lambda: body.seek(position)


def make_transport(
    pool_size: int, connect_timeout: float = 20, read_timeout: float = 120
) -> RequestsTransport:
    """A requests transport whose urllib3 pool holds ``pool_size`` connections per host.

    The default pool (10) overflows when more threads than that share one client, and urllib3
    then opens and discards connections ("Connection pool is full").
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    adapter = HTTPAdapter(
        pool_connections=4,
        pool_maxsize=max(10, pool_size),
        max_retries=Retry(total=False, redirect=False, raise_on_status=False),
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(
        session=session, connection_timeout=connect_timeout, read_timeout=read_timeout
    )


def _value(enum_or_str: Any) -> str | None:
    if enum_or_str is None:
        return None
    return str(getattr(enum_or_str, "value", enum_or_str))


def to_blob_info(container: str, props: BlobProperties, *, with_tags: bool = False) -> BlobInfo:
    md5 = props.content_settings.content_md5 if props.content_settings else None
    return BlobInfo(
        container=container,
        name=props.name,
        size=int(props.size or 0),
        md5=bytes(md5).hex() if md5 else None,
        tier=_value(props.blob_tier),
        archive_status=_value(props.archive_status),
        last_modified=props.last_modified,
        created=props.creation_time,
        metadata=dict(props.metadata or {}),
        tags=dict(props.tags or {}) if with_tags else None,
        etag=props.etag,
        # Azure reports no change time for an inferred (default) tier; Azurite reports one.
        tier_changed=None if props.blob_tier_inferred else props.blob_tier_change_time,
    )


class AzureLease(Lease):
    def __init__(self, store: AzureBlobStore, client: BlobLeaseClient, what: str) -> None:
        self._store = store
        self._client = client
        self._what = what
        self._released = False
        self.lease_id = str(client.id)

    def renew(self) -> None:
        with self._store._mapped(f"renewing the lock {self._what}"):
            self._client.renew()

    def release(self) -> None:
        if self._released:
            return
        with self._store._mapped(f"releasing the lock {self._what}"):
            self._client.release()
        self._released = True


class AzureBlobStore(BlobStore):
    """A storage account reached through one ``BlobServiceClient`` (thread-safe, pooled)."""

    def __init__(
        self,
        service: BlobServiceClient,
        *,
        account_name: str,
        account_url: str,
        auth: str,
        retry: RetryConfig,
        account_key: str | None = None,
        token_credential: Any = None,
        scoped_container: str | None = None,
        sas: SasScope | None = None,
    ) -> None:
        self._service = service
        self.sas = sas
        self.containers: tuple[str, ...] = ()  # the configured ones: what check() probes
        self.account_name = account_name
        self.account_url = account_url.rstrip("/")
        self.auth = auth
        self.retry = retry
        self._account_key = account_key
        self._token_credential = token_credential
        self._scoped_container = scoped_container
        self._delegation_key: Any = None
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # HTTP requests sent, by "METHOD comp"
        self.batch_requests = 0
        self.clock = SYSTEM_CLOCK

    # --- plumbing ------------------------------------------------------------------------------
    def count_request(self, request: Any) -> None:
        """raw_request_hook: counts every HTTP request, retries included."""
        http = request.http_request
        comp = http.query.get("comp", "") if hasattr(http, "query") else ""
        with self._lock:
            self.requests[f"{http.method} {comp}".strip()] += 1

    def _mapped(self, what: str) -> Any:
        return mapped(self.account_name, self.account_url, what)

    def _container(self, container: str) -> ContainerClient:
        return self._service.get_container_client(container)

    def _blob(self, container: str, name: str) -> BlobClient:
        return self._service.get_blob_client(container, name)

    def close(self) -> None:
        self._service.close()

    # --- account and containers ------------------------------------------------------------
    def check(self) -> str:
        """Probe the account (when the credential may) and each configured container; say
        which operations the credential permits."""
        if self.sas is None or self.sas.may_read_account:
            with self._mapped("checking access"):
                self._service.get_account_information()
        containers = [c for c in (self._scoped_container, *self.containers) if c]
        found = {name: self.container_access(name) for name in dict.fromkeys(containers)}
        if found and self.sas is not None and set(found.values()) == {"refused"}:
            raise AuthError(
                f"storage account {self.account_name!r} refused the SAS for every configured "
                f"container ({', '.join(found)})",
                hint="check storage.sas_token: its container (sr=c), permissions and expiry",
            )
        where = "; ".join(f"container {name}: {state}" for name, state in found.items())
        return (
            f"storage account {self.account_name} at {self.account_url} (auth: {self.auth}); "
            f"{self.permits()}" + (f"; {where}" if where else "")
        )

    def permits(self) -> str:
        """What the credential allows, as far as genoflow can tell without trying."""
        if self.sas is not None:
            return self.sas.describe()
        if self.auth == "identity":
            return "Azure AD identity: what it may do depends on its role assignments"
        return "shared key: every operation"

    def container_access(self, container: str) -> str:
        """ "exists", "missing" or "refused", from one read of a blob that does not exist
        (the one probe a container SAS may answer: it may not read container properties)."""
        try:
            with self._mapped(f"checking container {container}"):
                self._blob(container, _PROBE_BLOB).get_blob_properties()
        except NotFoundError as exc:
            return "missing" if "ContainerNotFound" in exc.message else "exists"
        except AuthError:
            return "refused"
        return "exists"

    def ensure_container(self, container: str) -> None:
        """Create the container only when it is missing, and only if the credential may."""
        state = self.container_access(container)
        if state != "missing":
            return  # present, or a credential that cannot see it: the transfer will say
        if self.sas is not None and not self.sas.may_create_containers:
            raise UsageError(
                f"container {container} does not exist in account {self.account_name}, and "
                f"the SAS may not create it ({self.sas.resource} SAS)",
                hint="ask for the container to be created, or check storage.input_container",
            )
        with (
            self._mapped(f"creating container {container}"),
            contextlib.suppress(ResourceExistsError),
        ):
            self._container(container).create_container()

    # --- blob properties -----------------------------------------------------------------------
    def get_blob(self, container: str, name: str) -> BlobInfo:
        try:
            with self._mapped(f"reading the properties of {container}/{name}"):
                props = self._blob(container, name).get_blob_properties()
        except NotFoundError as exc:
            raise NotFoundError(
                f"blob {container}/{name} not found in account {self.account_name}", status=404
            ) from exc
        return to_blob_info(container, props)

    def list_blobs(
        self, container: str, prefix: str = "", *, include_tags: bool = False
    ) -> Iterator[BlobInfo]:
        include = ["metadata", "tags"] if include_tags else ["metadata"]
        with self._mapped(f"listing {container}/{prefix}*"):
            for props in self._container(container).list_blobs(
                name_starts_with=prefix or None, include=include
            ):
                yield to_blob_info(container, props, with_tags=include_tags)

    def set_tags(
        self,
        container: str,
        name: str,
        tags: Mapping[str, str],
        *,
        accumulate: Collection[str] = (),
    ) -> None:
        blob = self._blob(container, name)
        with self._mapped(f"setting tags on {container}/{name}"):
            blob.set_blob_tags(merge_tags(blob.get_blob_tags(), tags, accumulate))

    def set_metadata(self, container: str, name: str, metadata: Mapping[str, str]) -> None:
        blob = self._blob(container, name)
        with self._mapped(f"setting metadata on {container}/{name}"):
            merged = dict(blob.get_blob_properties().metadata or {})
            merged.update(metadata)
            blob.set_blob_metadata(merged)

    # --- batches -------------------------------------------------------------------------------
    def set_tiers(
        self,
        container: str,
        changes: Sequence[tuple[str, str]],
        *,
        rehydrate_priority: str | None = None,
    ) -> list[TierFailure]:
        tier_of = dict(changes)
        priority = RehydratePriority(rehydrate_priority) if rehydrate_priority else None

        def send(names: Sequence[str]) -> list[Any]:
            items = [
                {
                    "name": n,
                    "blob_tier": StandardBlobTier(tier_of[n]),
                    **({"rehydrate_priority": priority} if priority else {}),
                }
                for n in names
            ]
            return list(
                self._container(container).set_standard_blob_tier_blobs(
                    None, *items, raise_on_any_failure=False
                )
            )

        failures = self._run_batches(container, list(tier_of), send, ok=(200, 202))
        return [
            TierFailure(
                name=f.name,
                status=f.status,
                error_code=f.error_code,
                message=f.message,
                tier=tier_of[f.name],
            )
            for f in failures
        ]

    def delete_blobs(self, container: str, names: Sequence[str]) -> list[BatchFailure]:
        def send(chunk: Sequence[str]) -> list[Any]:
            return list(self._container(container).delete_blobs(*chunk, raise_on_any_failure=False))

        return self._run_batches(container, list(dict.fromkeys(names)), send, ok=(200, 202, 404))

    def _run_batches(
        self,
        container: str,
        names: list[str],
        send: Callable[[Sequence[str]], list[Any]],
        ok: tuple[int, ...],
        sleep: Callable[[float], None] | None = None,
    ) -> list[BatchFailure]:
        """Send ``names`` in batches of 256; retry sub-requests that failed transiently."""
        failures: dict[str, BatchFailure] = {}
        pending = names
        clock = Clock(self.clock.monotonic, sleep) if sleep else self.clock
        retrier = Retrier(self.retry, clock)
        answered = False  # once a batch was answered, a later error must not hide its results
        while pending:
            retry_next: list[str] = []
            for start in range(0, len(pending), BATCH_LIMIT):
                chunk = pending[start : start + BATCH_LIMIT]
                try:
                    with self._mapped(f"sending a blob batch to {container}"):
                        responses = send(chunk)
                except GenoflowError as exc:
                    if not answered:
                        raise
                    for name in chunk:
                        failures[name] = BatchFailure(name, 0, None, exc.one_line())
                    continue
                self.batch_requests += 1
                answered = True
                for name, response in zip(chunk, responses, strict=True):
                    status = int(response.status_code)
                    if status in ok:
                        failures.pop(name, None)
                        continue
                    failures[name] = BatchFailure(
                        name=name,
                        status=status,
                        error_code=response.headers.get("x-ms-error-code"),
                        message=str(response.reason or ""),
                    )
                    if status in TRANSIENT_STATUSES:
                        retry_next.append(name)
            if not retry_next or not retrier.wait():
                break
            pending = retry_next
        return list(failures.values())

    # --- SAS -----------------------------------------------------------------------------------
    def _signing(self, hours: int) -> dict[str, Any]:
        """The key material for a SAS: the account key, or a user delegation key (<= 7 days)."""
        if self._account_key:
            return {"account_key": self._account_key}
        if self._token_credential is None:
            raise ConfigError(
                f"cannot make a SAS for account {self.account_name} with auth {self.auth}",
                hint="a SAS needs storage.account_key, a connection string or an Azure AD "
                "identity (storage.auth: identity)",
            )
        if hours > 24 * 7:
            raise UsageError(
                "a SAS signed with an Azure AD identity is valid 7 days at most",
                hint="lower workflow.sas_duration_hours or use an account key",
            )
        now = datetime.now(timezone.utc)
        with self._lock, self._mapped("getting a user delegation key"):
            key = self._delegation_key
            if key is None or key.signed_expiry <= (now + timedelta(hours=hours)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ):
                key = self._service.get_user_delegation_key(
                    now - _SAS_CLOCK_SKEW, now + timedelta(days=7)
                )
                self._delegation_key = key
        return {"user_delegation_key": key}

    def blob_read_sas(self, container: str, name: str, hours: int) -> str:
        now = datetime.now(timezone.utc)
        token = generate_blob_sas(
            self.account_name,
            container,
            name,
            permission=BlobSasPermissions(read=True),
            start=now - _SAS_CLOCK_SKEW,
            expiry=now + timedelta(hours=hours),
            **self._signing(hours),
        )
        register_secret(token)
        return sv_first(token)

    def container_sas(self, container: str, hours: int, permission: str = "rwd") -> str:
        if "l" in permission:
            raise UsageError("container SAS tokens made by genoflow never grant list ('l')")
        now = datetime.now(timezone.utc)
        token = generate_container_sas(
            self.account_name,
            container,
            permission=ContainerSasPermissions.from_string(permission),
            start=now - _SAS_CLOCK_SKEW,
            expiry=now + timedelta(hours=hours),
            **self._signing(hours),
        )
        register_secret(token)
        return sv_first(token)

    def sas_until(self, container: str, name: str | None, permission: str, expiry: datetime) -> str:
        now = datetime.now(timezone.utc)
        hours = max(1, -(-int((expiry - now).total_seconds()) // 3600))  # rounded up
        window: dict[str, Any] = {"permission": permission, "start": now - _SAS_CLOCK_SKEW}
        window.update(expiry=expiry, **self._signing(hours))
        if name is None:
            token = generate_container_sas(self.account_name, container, **window)
        else:
            token = generate_blob_sas(self.account_name, container, name, **window)
        register_secret(token)
        return sv_first(token)

    # --- locks ---------------------------------------------------------------------------------
    def acquire_lock(self, container: str, name: str, seconds: int = 60) -> Lease:
        if seconds != -1 and not 15 <= seconds <= 60:
            raise UsageError(f"a lease lasts 15 to 60 seconds or -1 (forever), not {seconds}")
        blob = self._blob(container, name)
        what = f"{container}/{name}"
        with (
            self._mapped(f"creating the lock blob {what}"),
            contextlib.suppress(ResourceExistsError),
        ):
            blob.upload_blob(b"", overwrite=False)
        client = BlobLeaseClient(blob)
        try:
            with self._mapped(f"acquiring the lock {what}"):
                client.acquire(lease_duration=seconds)
        except LockHeldError as exc:
            raise LockHeldError(
                f"the lock {what} is held by another job",
                status=409,
                hint="another genoflow job is running; wait for it, or break "
                "the lease if it crashed (az storage blob lease break)",
            ) from exc
        return AzureLease(self, client, what)

    # --- transfer primitives ---------------------------------------------------------------------
    def stage_block(
        self, container: str, name: str, block_id: str, data: bytes | memoryview, md5: bytes
    ) -> None:
        body = bytes(data) if isinstance(data, memoryview) else data
        with self._mapped(f"uploading a block of {container}/{name}"):
            self._blob(container, name).stage_block(
                block_id, body, length=len(body), transactional_content_md5=md5
            )

    def uncommitted_blocks(self, container: str, name: str) -> list[StagedBlock]:
        with self._mapped(f"reading the staged blocks of {container}/{name}"):
            try:
                _, uncommitted = self._blob(container, name).get_block_list("uncommitted")
            except ResourceNotFoundError:
                return []
        return [StagedBlock(block_id=b.id, size=int(b.size)) for b in uncommitted]

    def committed_block_ids(self, container: str, name: str) -> list[str]:
        with self._mapped(f"reading the block list of {container}/{name}"):
            committed, _ = self._blob(container, name).get_block_list("committed")
        return [str(b.id) for b in committed]

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
        blob = self._blob(container, name)
        settings = ContentSettings(
            content_type=content_type or "application/octet-stream",
            content_md5=bytearray(content_md5),
        )
        with self._mapped(f"committing {container}/{name}"):
            blob.commit_block_list(
                [BlobBlock(block_id=b) for b in block_ids],
                content_settings=settings,
                metadata=dict(metadata) if metadata else None,
                tags=dict(tags) if tags else None,
                standard_blob_tier=StandardBlobTier(tier) if tier else None,
            )
        return self.get_blob(container, name)

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
        md5 = hashlib.md5(data).digest()
        settings = ContentSettings(
            content_type="application/octet-stream", content_md5=bytearray(md5)
        )
        with self._mapped(f"writing {container}/{name}"):
            self._blob(container, name).upload_blob(
                data,
                overwrite=overwrite,
                content_settings=settings,
                validate_content=True,
                metadata=dict(metadata) if metadata else None,
                tags=dict(tags) if tags else None,
            )
        return self.get_blob(container, name)

    def read_range(
        self, container: str, name: str, offset: int, length: int, etag: str | None = None
    ) -> bytes:
        conditions: dict[str, Any] = (
            {"etag": etag, "match_condition": MatchConditions.IfNotModified} if etag else {}
        )
        what = f"downloading {container}/{name}"
        try:
            with self._mapped(what):
                stream = self._blob(container, name).download_blob(
                    offset=offset, length=length, max_concurrency=1, **conditions
                )
                return bytes(stream.readall())
        except UsageError as exc:
            raise UsageError(
                f"cannot download {container}/{name}: the blob is in the Archive tier",
                hint=REHYDRATE_HINT.format(container=container, name=name),
            ) from exc

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
        """One GET per range, its body read from the socket straight into ``buffer`` piece by
        piece (no copies), each piece handed to ``sink``; a body cut midway is asked for again
        from where it stopped, all within ``storage.retry``."""
        blob = self._blob(container, name)
        what = f"downloading {container}/{name}"
        retrier = Retrier(self.retry, self.clock)
        got = 0
        while got < length:
            try:
                part = _RangeBody(offset + got, length - got, sink, buffer)
                got += self._get_to(blob, part, etag, what)
                fault = None if got == length else _Retry(None, "the body was cut midway")
            except _Retry as retry:
                fault = retry
            if fault is not None and not retrier.wait(fault.after):
                raise UnavailableError(
                    f"storage endpoint {self.account_url} unavailable while {what} after "
                    f"{retrier.tries} tries: {fault.reason}",
                    hint="check the network; storage.retry sets the retries",
                )

    def _get_to(self, blob: BlobClient, part: _RangeBody, etag: str | None, what: str) -> int:
        """Bytes of one GET handed to the part's sink (fewer when the body was cut); raises
        _Retry for a transient answer or a fault before the body, a genoflow error for any
        other answer."""
        headers = {
            "x-ms-range": f"bytes={part.offset}-{part.offset + part.length - 1}",
            "x-ms-version": self._service.api_version,
            **({"If-Match": etag} if etag else {}),
        }
        try:
            with self._mapped(what):
                response = blob._pipeline.run(  # the client's own auth, hooks and transport
                    HttpRequest("GET", blob.url, headers=headers), stream=True, retry_total=0
                ).http_response
        except UnavailableError as exc:  # no answer: refused, reset, timed out
            cause = exc.__cause__ or exc
            raise _Retry(None, redact(first_line(str(cause)))) from exc
        status = response.status_code
        if status in TRANSIENT_STATUSES:
            response.close()
            raise _Retry(retry_after_seconds(response.headers.get("Retry-After")), str(status))
        if status not in (200, 206):
            self._answer_error(response, what, blob)
        declared = response.headers.get("Content-Length")
        if declared is not None and int(declared) != part.length:
            response.close()
            raise IntegrityError(f"{what}: the answer at offset {part.offset} has the wrong length")
        # without a declared length (a proxy re-chunked it) the connection is not reused
        return part.read(response, reuse=declared is not None)

    def _answer_error(self, response: Any, what: str, blob: BlobClient) -> None:
        response.read()
        error = _AnswerError(response.status_code, response.reason, response.headers)
        try:
            with self._mapped(what):
                raise error
        except UsageError as exc:
            if error.code != "BlobArchived":
                raise
            raise UsageError(
                f"cannot download {blob.container_name}/{blob.blob_name}: "
                "the blob is in the Archive tier",
                hint=REHYDRATE_HINT.format(container=blob.container_name, name=blob.blob_name),
            ) from exc


class _AnswerError(HttpResponseError):
    """A non-2xx answer to a range GET, in the shape ``_errors.translate`` reads."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str]) -> None:
        super().__init__(message=f"{status} {reason}")
        self.status_code = status
        self.code = headers.get("x-ms-error-code")
        self.error_code = self.code


class _Retry(Exception):
    """A range read worth another try (``after``: the server's Retry-After, if any)."""

    def __init__(self, after: float | None, reason: str) -> None:
        super().__init__(reason)
        self.after = after
        self.reason = reason


@dataclass
class _RangeBody:
    """What one range GET asks for, and where its body goes."""

    offset: int
    length: int
    sink: RangeSink
    buffer: memoryview

    def read(self, response: Any, reuse: bool = True) -> int:
        """Read the body from the socket into the buffer (urllib3's readinto would copy it once
        more), one buffer-full at a time handed to the sink; the bytes read before a cut are
        handed over too. The connection goes back to the pool only when the body was read
        whole."""
        raw = response.internal_response.raw
        source = getattr(raw, "_fp", None) or raw
        got = 0
        try:
            while got < self.length:
                piece = self.buffer[: min(len(self.buffer), self.length - got)]
                filled = _fill(source, piece)
                if filled:
                    self.sink(self.offset + got, piece[:filled])
                    got += filled
                if filled < len(piece):
                    break  # cut midway: the caller asks for the rest
        except BaseException:  # the sink failed (a full disk, a cancel): drop the connection
            response.internal_response.close()
            raise
        if got == self.length and reuse:
            raw.release_conn()
        else:
            response.internal_response.close()
        return got


def _fill(source: Any, view: memoryview) -> int:
    """Bytes read into ``view``: all of it, or fewer when the body ended or was cut."""
    got = 0
    try:
        while got < len(view):
            count = source.readinto(view[got:])
            if not count:
                break
            got += count
    except Exception as exc:
        if not transient_exception(exc):
            raise
    return got


# --- factories ---------------------------------------------------------------------------------
def client_options(
    retry: RetryConfig,
    concurrency: int,
    api_version: str | None,
    hook: Callable[[Any], None],
    timeouts: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """``timeouts``: (connect, read) seconds of one request (default 20, 120)."""
    connect, read = timeouts or (20.0, 120.0)
    options: dict[str, Any] = {
        "transport": make_transport(concurrency + 4, connect, read),
        "retry_policy": GenoflowRetry(retry),
        "raw_request_hook": hook,
    }
    if api_version:
        options["api_version"] = api_version
    return options


class _HookRelay:
    """The request hook must exist before the store does: it forwards to the store once set."""

    def __init__(self) -> None:
        self.store: AzureBlobStore | None = None

    def __call__(self, request: Any) -> None:
        if self.store is not None:
            self.store.count_request(request)


def build_store(
    account_url: str,
    *,
    account_name: str,
    auth: str,
    credential: Any,
    retry: RetryConfig,
    concurrency: int,
    api_version: str | None = None,
    account_key: str | None = None,
    connection_string: str | None = None,
    scoped_container: str | None = None,
    timeouts: tuple[float, float] | None = None,
    sas_token: str | None = None,
) -> AzureBlobStore:
    relay = _HookRelay()
    options = client_options(retry, concurrency, api_version, relay, timeouts)
    try:
        if connection_string:
            service = BlobServiceClient.from_connection_string(connection_string, **options)
        else:
            service = BlobServiceClient(account_url, credential=credential, **options)
    except ValueError as exc:
        # the SDK's words for a token over http are "Token credential is only supported with
        # HTTPS": say which settings lead there (no key, SAS or connection string given)
        over_http = auth == "identity" and "HTTPS" in str(exc)
        raise ConfigError(
            f"cannot build a storage client for {account_url}: {str(exc).splitlines()[0]}",
            hint="no storage.account_key, sas_token or connection_string is set, so genoflow "
            "signs in with Azure AD, which needs an https:// storage.account_url"
            if over_http
            else None,
        ) from exc
    token = credential if auth == "identity" else None
    store = AzureBlobStore(
        service,
        account_name=account_name or str(service.account_name),
        account_url=account_url or service.url,
        auth=auth,
        retry=retry,
        account_key=account_key,
        token_credential=token,
        scoped_container=scoped_container,
        sas=parse_sas(sas_token) if sas_token else None,
    )
    relay.store = store
    return store


def named_key(account_name: str, key: str) -> AzureNamedKeyCredential:
    return AzureNamedKeyCredential(account_name, key)


def sas_credential(token: str) -> AzureSasCredential:
    register_secret(token)
    return AzureSasCredential(token.lstrip("?"))


def default_identity() -> Any:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise UnavailableError("azure-identity is not installed") from exc
    return DefaultAzureCredential()
