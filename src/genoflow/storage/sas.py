"""What a SAS token permits, read from the token itself (pure: no I/O).

A lab is often handed a container SAS (``sr=c``) or a user-delegation SAS (``skoid=``...) rather
than an account key: such a token cannot create containers or read account information, so
genoflow asks for neither, and ``config check`` says which of genoflow's operations the token
allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs

_LETTERS = {
    "r": "read",
    "a": "add",
    "c": "create",
    "w": "write",
    "d": "delete",
    "l": "list",
    "t": "tags",
    "f": "find by tags",
    "x": "delete versions",
    "y": "permanent delete",
    "i": "immutability",
    "m": "move",
    "e": "execute",
    "p": "process",
    "u": "update",
}
_RESOURCES = {"b": "blob", "c": "container", "bv": "blob version", "bs": "blob snapshot"}


@dataclass(frozen=True)
class SasScope:
    """The parts of a SAS token that decide what it may do (never its signature)."""

    account_level: bool  # an account SAS (ss/srt) rather than a service SAS (sr)
    resource: str  # "account", "container", "blob", ...
    permissions: str  # the sp letters
    expiry: str | None
    delegated: bool  # signed with a user delegation key (Azure AD)
    resource_types: str = ""  # srt of an account SAS: s(ervice) c(ontainer) o(bject)

    @property
    def may_create_containers(self) -> bool:
        return self.account_level and "c" in self.resource_types and "c" in self.permissions

    @property
    def may_read_account(self) -> bool:
        return self.account_level and "s" in self.resource_types

    def operations(self) -> list[str]:
        """genoflow's operations this token allows, as a user would name them."""
        sp = self.permissions
        allowed = []
        if "r" in sp and ("w" in sp or "c" in sp):
            allowed.append("upload")
        if "r" in sp:
            allowed.append("download")
        if "l" in sp:
            allowed.append("list")
        if "w" in sp:
            allowed.append("set tier")
        if "d" in sp:
            allowed.append("delete")
        if "t" in sp:
            allowed.append("tags")
        if self.may_create_containers:
            allowed.append("create containers")
        return allowed

    def describe(self) -> str:
        kind = "user-delegation " if self.delegated else ""
        letters = ", ".join(_LETTERS.get(letter, letter) for letter in self.permissions)
        allowed = ", ".join(self.operations()) or "none of genoflow's operations"
        until = f"; expires {self.expiry}" if self.expiry else ""
        return (
            f"{kind}{self.resource} SAS granting {letters or 'nothing'} (allows: {allowed}){until}"
        )


def parse_sas(token: str) -> SasScope:
    """The scope of a SAS query string (with or without '?')."""
    fields = {key: values[0] for key, values in parse_qs(token.lstrip("?")).items()}
    account_level = "srt" in fields or "ss" in fields
    resource = "account" if account_level else _RESOURCES.get(fields.get("sr", ""), "unknown")
    return SasScope(
        account_level=account_level,
        resource=resource,
        permissions=fields.get("sp", ""),
        expiry=fields.get("se"),
        delegated="skoid" in fields,
        resource_types=fields.get("srt", ""),
    )


# --- what a third-party WES server is handed ----------------------------------------------------
# Such servers store and echo every SAS they are given (request, logs, job files), so each is
# the least the run needs: read on each input blob (per-blob SAS), create + write on the output
# container without read, list or delete. A container SAS is the narrowest scope Azure signs for
# a set of blobs whose names the engine chooses: a directory SAS (sr=d) needs a hierarchical
# namespace account, and the deliver step takes one container URL (docs/protocols.md).
FOREIGN_INPUT_PERMISSIONS = "r"
FOREIGN_OUTPUT_PERMISSIONS = "cw"
# The run's expected length: start-up and queueing, then the input at a slow engine's pace.
RUN_START_ALLOWANCE = timedelta(hours=1)
INPUT_BYTES_PER_HOUR = 2 << 30
EXPIRY_MARGIN = 1.5


def run_expiry(now: datetime, input_bytes: int, ceiling_hours: float) -> datetime:
    """When the SAS of a run on a third-party server expire: soon after its expected end
    (1 h, plus 1 h per 2 GiB of input, times 1.5), and never later than ``ceiling_hours``
    (``workflow.sas_duration_hours``) from ``now``."""
    expected = RUN_START_ALLOWANCE + timedelta(hours=input_bytes / INPUT_BYTES_PER_HOUR)
    return now + min(expected * EXPIRY_MARGIN, timedelta(hours=ceiling_hours))
