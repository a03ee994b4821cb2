"""Where the lake is: its container in the output storage account, and how ``deltalake``
(delta-rs, no JVM) reaches it: storage options built from genoflow's storage settings.

The options hold credentials: :class:`Lake` never shows them (``repr`` omits them) and every
secret is registered for redaction before any error message can carry it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from genoflow.config.schema import StorageConfig
from genoflow.errors import AuthError, ConfigError, NotFoundError, UnavailableError
from genoflow.lake import CALLS_TABLE, RUNS_TABLE
from genoflow.redact import redact, register_secret

_AZURE_SUFFIX = ".blob.core.windows.net"


@dataclass(frozen=True)
class Lake:
    """The lake container and the options delta-rs needs to open its tables."""

    container: str
    account_name: str
    options: Mapping[str, str] = field(repr=False, compare=False)

    def uri(self, table: str) -> str:
        return f"az://{self.container}/{table}"

    @property
    def calls_uri(self) -> str:
        return self.uri(CALLS_TABLE)

    @property
    def runs_uri(self) -> str:
        return self.uri(RUNS_TABLE)

    def storage_options(self) -> dict[str, str]:
        return dict(self.options)


def lake_of(storage: StorageConfig, container: str) -> Lake:
    """The lake in ``container`` of the output account (the account outputs are written to)."""
    if storage.output_account_name and storage.output_account_name != storage.account_name:
        return _output_account_lake(storage, container)
    fields = _connection_fields(storage.connection_string)
    url = storage.account_url or fields.get("blobendpoint")
    name = storage.account_name or fields.get("accountname") or _account_in(url)
    if not name:
        raise ConfigError(
            "no storage account configured for the lake",
            hint="set storage.account_name (or storage.account_url / storage.connection_string)",
        )
    key = storage.account_key or fields.get("accountkey")
    sas = storage.sas_token or fields.get("sharedaccesssignature")
    return Lake(container, name, _options(name, url, key, sas, storage.auth.value))


def _output_account_lake(storage: StorageConfig, container: str) -> Lake:
    name = storage.output_account_name or ""
    url = storage.account_url if _account_in(storage.account_url) == name else None
    return Lake(container, name, _options(name, url, storage.output_account_key, None, "auto"))


def _options(
    name: str, url: str | None, key: str | None, sas: str | None, auth: str
) -> dict[str, str]:
    options = {"account_name": name}
    if url and not url.rstrip("/").endswith(f"{name}{_AZURE_SUFFIX}"):
        options["azure_storage_endpoint"] = url.rstrip("/")  # an emulator or a private endpoint
        if url.startswith("http://"):
            options["allow_http"] = "true"
    if key and auth in ("auto", "key", "connection_string"):
        register_secret(key)
        options["account_key"] = key
    elif sas and auth in ("auto", "sas", "connection_string"):
        register_secret(sas)
        options["sas_token"] = sas.lstrip("?")
    # auth identity: delta-rs finds its own credential (AZURE_* variables, managed identity).
    return options


def _connection_fields(text: str | None) -> dict[str, str]:
    if text:
        register_secret(text)
    pairs = (part.partition("=") for part in (text or "").split(";") if "=" in part)
    return {key.strip().lower(): value.strip() for key, _, value in pairs}


def _account_in(url: str | None) -> str | None:
    """The account of a blob endpoint: the host's first label, or the first path segment of an
    emulator-style URL (http://127.0.0.1:10000/devstoreaccount1)."""
    if not url:
        return None
    match = re.match(r"^https?://([^/:]+)(?::\d+)?/?([^/?]*)", url)
    if not match:
        return None
    host, first = match.groups()
    return host.split(".")[0] if host.endswith(_AZURE_SUFFIX) else (first or None)


# --- delta-rs errors -> genoflow errors --------------------------------------------------------

_AUTH = ("lacked the necessary privileges", "403 Forbidden", "AuthorizationFailure")
_MISSING = ("ContainerNotFound", "404 Not Found")
_DOWN = ("error sending request", "Connection refused", "timed out", "dns error")


@contextlib.contextmanager
def mapped(what: str, lake: Lake) -> Iterator[None]:
    """Turn a delta-rs/object-store error raised while doing ``what`` into a one-line genoflow
    error: refused -> AuthError (7), container missing -> NotFoundError (2), unreachable ->
    UnavailableError (6). Conflicts and genoflow's own errors pass through."""
    from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

    try:
        yield
    except (CommitFailedError, TableNotFoundError):
        raise  # the callers' business: retry, or create the table
    except (OSError, DeltaError) as exc:  # object-store failures come as OSError
        _raise_mapped(what, lake, exc)


def _raise_mapped(what: str, lake: Lake, exc: BaseException) -> NoReturn:
    text = str(exc)
    where = f"lake container {lake.container} in account {lake.account_name}"
    if any(marker in text for marker in _AUTH):
        raise AuthError(
            f"{what}: the credential may not do this in {where}",
            hint="the lake needs read, write, list and delete on its container "
            "(storage.account_key, or a container SAS with racwdl)",
        ) from None
    if any(marker in text for marker in _MISSING):
        raise NotFoundError(
            f"{what}: {where} does not exist", hint="run 'genoflow lake add' once to create it"
        ) from None
    if any(marker in text for marker in _DOWN):
        raise UnavailableError(f"{what}: storage unreachable ({where})") from None
    first = redact(text.strip().splitlines()[0] if text.strip() else type(exc).__name__)
    raise UnavailableError(f"{what}: {first[:300]}") from None
