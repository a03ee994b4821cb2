"""Translating Azure SDK exceptions into genoflow errors, at the storage boundary only.

Every message names the account or endpoint and never a key or SAS signature (all text passes
through :func:`genoflow.redact.redact`), and fits on one line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from genoflow.backoff import TRANSIENT_STATUSES, unreachable_reason
from genoflow.errors import (
    AuthError,
    ConfigError,
    GenoflowError,
    IntegrityError,
    NotFoundError,
    ServiceError,
    UnavailableError,
    UsageError,
)
from genoflow.redact import redact
from genoflow.storage.base import REHYDRATE_HINT, LockHeldError

_AUTH_CODES = frozenset(
    {
        "AuthenticationFailed",
        "AuthorizationFailure",
        "AuthorizationPermissionMismatch",
        "AuthorizationResourceTypeMismatch",
        "InsufficientAccountPermissions",
        "AuthorizationProtocolMismatch",
        "AuthorizationSourceIPMismatch",
        "AuthorizationServiceMismatch",
    }
)
_INTEGRITY_CODES = frozenset({"Md5Mismatch", "Crc64Mismatch", "InvalidMd5"})
# Refusals of what was asked (a name, a range, a block list...): fix the input, not the network.
_INPUT_CODES = frozenset(
    {
        "OutOfRangeInput",
        "OutOfRangeQueryParameterValue",
        "InvalidBlockList",
        "InvalidBlobOrBlock",
        "InvalidBlockId",
        "InvalidInput",
        "InvalidResourceName",
        "InvalidUri",
        "InvalidHeaderValue",
        "InvalidQueryParameterValue",
        "InvalidRange",
        "InvalidBlobTier",
        "InvalidMetadata",
        "MetadataTooLarge",
        "RequestBodyTooLarge",
    }
)
_LEASE_CODES = frozenset(
    {
        "LeaseAlreadyPresent",
        "LeaseIdMismatchWithLeaseOperation",
        "LeaseLost",
        "LeaseIdMismatchWithBlobOperation",
        "LeaseIdMissing",
    }
)


def first_line(text: str) -> str:
    """The first non-empty line of an SDK message (they carry RequestId/Time lines after it)."""
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return str(text).strip()


def translate(exc: Exception, *, account: str, endpoint: str, what: str) -> GenoflowError:
    """The genoflow error for an SDK exception raised while doing ``what``."""
    if isinstance(exc, GenoflowError):
        return exc
    status = getattr(exc, "status_code", None)
    raw_code = getattr(exc, "error_code", None)
    code = str(getattr(raw_code, "value", raw_code)) if raw_code else None
    detail = redact(first_line(getattr(exc, "message", None) or str(exc)))
    if isinstance(exc, ClientAuthenticationError) or code in _AUTH_CODES or status in (401, 403):
        return AuthError(
            f"storage account {account!r} refused the credentials while {what} ({code or status})",
            hint="check storage.account_key / sas_token / connection_string (and the SAS expiry "
            "and permissions) with 'genoflow config show'",
        )
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return NotFoundError(f"not found while {what}: {code or detail}", status=404)
    if code == "BlobArchived":
        return UsageError(
            f"cannot {what}: the blob is in the Archive tier",
            hint=REHYDRATE_HINT.format(container="CONTAINER", name="BLOB"),
        )
    if code in _INTEGRITY_CODES:
        return IntegrityError(f"the service rejected corrupt data while {what}: {code}")
    if code in _INPUT_CODES:
        return UsageError(
            f"storage refused the request as invalid while {what}: {code}: {detail}",
            hint="check the names, sizes and options given (see docs/exit-codes.md)",
        )
    if code in _LEASE_CODES:
        return LockHeldError(
            f"lease conflict while {what}: {code}",
            status=409,
            hint="another genoflow job holds the lock; wait for it to finish",
        )
    no_connection = unreachable_reason(exc) if isinstance(exc, ServiceRequestError) else None
    if no_connection is not None:
        return UnavailableError(
            f"cannot reach storage at {redact(endpoint)} while {what}: {no_connection}",
            hint="check storage.account_url / account_name (genoflow config show) and that "
            "the storage endpoint is up",
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError) or (
        status in TRANSIENT_STATUSES
    ):
        return UnavailableError(
            f"storage endpoint {redact(endpoint)} unavailable while {what} after retries: {detail}",
            hint="check the network and storage.account_url; storage.retry sets the retries",
        )
    if isinstance(exc, HttpResponseError):
        return ServiceError(
            f"storage error while {what}: {code or status}: {detail}", status=status
        )
    if isinstance(exc, ValueError):
        return ConfigError(f"invalid storage setting while {what}: {detail}")
    if isinstance(exc, AzureError):
        return UnavailableError(f"storage error at {redact(endpoint)} while {what}: {detail}")
    raise exc


@contextlib.contextmanager
def mapped(account: str, endpoint: str, what: str) -> Iterator[None]:
    """Run a block of SDK calls, re-raising any Azure exception as a genoflow error."""
    try:
        yield
    except (AzureError, ValueError) as exc:
        raise translate(exc, account=account, endpoint=endpoint, what=what) from exc
