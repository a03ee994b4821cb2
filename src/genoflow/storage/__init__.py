"""Blob storage: the :class:`BlobStore` contract and the factories that open one.

This package is the only one that imports ``azure.*``, and only inside
:mod:`genoflow.storage.azure_blob` / ``_errors``, which the factories below import lazily: importing
``genoflow.storage`` itself stays cheap.

Auth (``storage.auth``; ``auto`` picks the first one set): a connection string, an account key,
a SAS token, or Azure AD through ``DefaultAzureCredential`` (``identity``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from genoflow.config.schema import AuthMethod, RetryConfig, StorageConfig
from genoflow.errors import ConfigError
from genoflow.model.outputs import is_path_style_host, parse_blob_url
from genoflow.storage.base import (
    TIERS,
    BatchFailure,
    BlobInfo,
    BlobStore,
    Lease,
    LockHeldError,
    StagedBlock,
    TierFailure,
    blob_url_with_sas,
)

if TYPE_CHECKING:
    from genoflow.storage.azure_blob import AzureBlobStore

__all__ = [
    "TIERS",
    "BatchFailure",
    "BlobInfo",
    "BlobRef",
    "BlobStore",
    "ContainerRef",
    "Lease",
    "LockHeldError",
    "StagedBlock",
    "TierFailure",
    "blob_url_with_sas",
    "open_blob_with_sas",
    "open_container_with_sas",
    "open_store",
    "split_blob_url",
]


def _pick_auth(storage: StorageConfig) -> AuthMethod:
    if storage.auth is not AuthMethod.auto:
        return storage.auth
    if storage.connection_string:
        return AuthMethod.connection_string
    if storage.account_key:
        return AuthMethod.key
    if storage.sas_token:
        return AuthMethod.sas
    return AuthMethod.identity


def _account_url(storage: StorageConfig, account_name: str | None) -> str:
    if storage.account_url:
        return storage.account_url
    if account_name:
        return f"https://{account_name}.blob.core.windows.net"
    raise ConfigError(
        "no storage account configured",
        hint="set storage.account_name (or storage.account_url / "
        "storage.connection_string), e.g. 'genoflow config init'",
    )


def _account_from_url(url: str) -> str:
    """The account name in a blob endpoint: the first host label, or the first path segment of
    an emulator-style URL (http://127.0.0.1:10000/devstoreaccount1)."""
    parts = urlsplit(url)
    if is_path_style_host(parts.hostname or ""):
        return parts.path.strip("/").split("/")[0]
    return (parts.hostname or "").split(".")[0]


def open_store(
    storage: StorageConfig, *, output: bool = False, concurrency: int | None = None
) -> AzureBlobStore:
    """Open the configured storage account (``output=True``: the output account, if set).

    ``concurrency`` (default ``storage.max_concurrency``) sizes the connection pool.
    """
    _check_keys(storage)
    store = _open(storage, output, concurrency or storage.max_concurrency)
    both = (storage.input_container, storage.output_container)
    store.containers = (storage.output_container,) if output else both
    return store


def _check_keys(storage: StorageConfig) -> None:
    """An account key that is not base64 is a setting to fix (exit 2), not a refusal (7)."""
    keys = {
        "storage.account_key": storage.account_key,
        "storage.output_account_key": storage.output_account_key,
        "storage.connection_string (AccountKey)": _connection_field(
            storage.connection_string, "AccountKey"
        ),
    }
    for key, value in keys.items():
        if not value:
            continue
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            raise ConfigError(
                f"{key} is not a valid account key (not base64)",
                hint="copy the key again from the portal or 'az storage account keys list': "
                "88 characters ending in '=='",
            ) from None


def _connection_field(connection_string: str | None, name: str) -> str | None:
    for part in (connection_string or "").split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def _open(storage: StorageConfig, output: bool, pool: int) -> AzureBlobStore:
    from genoflow.storage import azure_blob as az

    if (
        output
        and storage.output_account_name
        and (storage.output_account_name != storage.account_name)
    ):
        return _open_output(storage, pool)
    method = _pick_auth(storage)
    common: dict[str, Any] = {
        "retry": storage.retry,
        "concurrency": pool,
        "api_version": storage.api_version,
        "auth": method.value,
    }
    if method is AuthMethod.connection_string:
        if not storage.connection_string:
            raise ConfigError("storage.auth is connection_string but it is not set")
        store = az.build_store(
            storage.account_url or "",
            account_name="",
            credential=None,
            connection_string=storage.connection_string,
            sas_token=_connection_field(storage.connection_string, "SharedAccessSignature"),
            **common,
        )
        store._account_key = getattr(store._service.credential, "account_key", None)
        return store
    name = storage.account_name or (
        _account_from_url(storage.account_url) if storage.account_url else None
    )
    url = _account_url(storage, name)
    name = name or _account_from_url(url)
    if method is AuthMethod.key:
        if not storage.account_key:
            raise ConfigError("storage.auth is key but storage.account_key is not set")
        return az.build_store(
            url,
            account_name=name,
            account_key=storage.account_key,
            credential=az.named_key(name, storage.account_key),
            **common,
        )
    if method is AuthMethod.sas:
        if not storage.sas_token:
            raise ConfigError("storage.auth is sas but storage.sas_token is not set")
        return az.build_store(
            url,
            account_name=name,
            credential=az.sas_credential(storage.sas_token),
            sas_token=storage.sas_token,
            **common,
        )
    return az.build_store(url, account_name=name, credential=az.default_identity(), **common)


def _open_output(storage: StorageConfig, pool: int) -> AzureBlobStore:
    from genoflow.storage import azure_blob as az

    name = storage.output_account_name or ""
    url = f"https://{name}.blob.core.windows.net"
    if storage.account_url and _account_from_url(storage.account_url) == name:
        url = storage.account_url
    common: dict[str, Any] = {
        "retry": storage.retry,
        "concurrency": pool,
        "api_version": storage.api_version,
    }
    if storage.output_account_key:
        return az.build_store(
            url,
            account_name=name,
            auth="key",
            account_key=storage.output_account_key,
            credential=az.named_key(name, storage.output_account_key),
            **common,
        )
    return az.build_store(
        url, account_name=name, auth="identity", credential=az.default_identity(), **common
    )


@dataclass(frozen=True)
class BlobRef:
    """One blob reached through a SAS: use with the store's methods or genoflow.transfer."""

    store: BlobStore
    container: str
    name: str


@dataclass(frozen=True)
class ContainerRef:
    """One container reached through a SAS (e.g. where a run writes its outputs)."""

    store: BlobStore
    container: str


def split_blob_url(url: str) -> tuple[str, str, str, str]:
    """(account URL, container, blob name, SAS token or "") of a blob or container URL."""
    base, container, name, query = parse_blob_url(url)
    if not container:
        parts = urlsplit(url)
        raise ConfigError(
            f"not a blob or container URL: {parts.scheme}://{parts.netloc}{parts.path}"
        )
    return base, container, name, query


def open_container_with_sas(
    container_url: str,
    sas: str | None = None,
    *,
    retry: RetryConfig | None = None,
    concurrency: int = 8,
    timeouts: tuple[float, float] | None = None,
) -> ContainerRef:
    """Open a container from its URL and a SAS token (or a URL that carries the token).

    ``timeouts``: (connect, read) seconds of one request; a server bounds a hung host with them.
    """
    from genoflow.storage import azure_blob as az

    account_url, container, _, query = split_blob_url(container_url)
    token = (sas or query).lstrip("?")
    if not token:
        raise ConfigError("a SAS token is needed to open the container", hint="pass ?sv=...")
    store = az.build_store(
        account_url,
        account_name=_account_from_url(account_url),
        auth="sas",
        credential=az.sas_credential(token),
        sas_token=token,
        retry=retry or RetryConfig(),
        concurrency=concurrency,
        scoped_container=container,
        timeouts=timeouts,
    )
    return ContainerRef(store=store, container=container)


def open_blob_with_sas(
    blob_url_with_sas: str,
    *,
    retry: RetryConfig | None = None,
    concurrency: int = 8,
    timeouts: tuple[float, float] | None = None,
) -> BlobRef:
    """Open one blob from its URL with a SAS query string (as the service hands inputs over)."""
    account_url, container, name, query = split_blob_url(blob_url_with_sas)
    if not name:
        raise ConfigError("the URL names a container, not a blob")
    ref = open_container_with_sas(
        f"{account_url}/{container}",
        query,
        retry=retry,
        concurrency=concurrency,
        timeouts=timeouts,
    )
    return BlobRef(store=ref.store, container=container, name=name)
