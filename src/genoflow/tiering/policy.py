"""The tiering policy: rules that select blobs and say where they go after how long.

A rule selects blobs by role (input, output, untracked: tied to no run, or lake: a file of the
variant lake's tables), kind, container, name prefix and index tags, and by the state of their
runs; it fires once the blob's age, counted from the run's end, the blob's last modification or
creation, the fetch of the outputs, or the time a VCF's calls were added to the lake, reaches
``days``; its action is a cooler tier or ``delete``.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from genoflow.errors import ConfigError
from genoflow.model.tags import KINDS
from genoflow.tiering.facts import DELETE, TIERS, RunPhase
from genoflow.tiering.prices import packaged_text

DEFAULT_POLICY_FILE = "default-policy.yaml"

Role = Literal["input", "output", "untracked", "lake"]
TERMINAL_STATES: tuple[RunPhase, ...] = (RunPhase.succeeded, RunPhase.failed, RunPhase.cancelled)


class Since(str, Enum):
    run_end = "run_end"  # the run's end time, from the service
    modified = "modified"  # the blob's Last-Modified (tier changes do not move it)
    created = "created"  # the blob's creation time
    fetched = "fetched"  # the time 'genoflow fetch' downloaded the run's outputs
    lake = "lake"  # the time 'genoflow lake add' put a VCF's calls in the lake (its tag)

    @property
    def needs_run(self) -> bool:
        return self in (Since.run_end, Since.fetched, Since.lake)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)
    role: Role
    kinds: tuple[str, ...] = ()  # empty: every kind, including unknown ones
    container: str | None = None
    prefix: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    run_states: tuple[RunPhase, ...] = TERMINAL_STATES
    since: Since = Since.run_end
    days: float = Field(ge=0)
    wait_for_fetch: bool = False
    action: str

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [kind for kind in value if kind not in KINDS]
        if unknown:
            raise ValueError(f"unknown kind(s) {unknown}: use {', '.join(KINDS)}")
        return value

    @field_validator("run_states")
    @classmethod
    def _states(cls, value: tuple[RunPhase, ...]) -> tuple[RunPhase, ...]:
        if RunPhase.active in value:
            raise ValueError(
                "blobs of active runs are never tiered: use succeeded, failed or cancelled"
            )
        if not value:
            raise ValueError("must name at least one of succeeded, failed, cancelled")
        return value

    @field_validator("action")
    @classmethod
    def _action(cls, value: str) -> str:
        for name in (*TIERS[1:], DELETE):
            if value.lower() == name.lower():
                return name
        raise ValueError(f"must be one of Cool, Cold, Archive or delete (got {value!r})")

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.role in ("untracked", "lake") and (self.since.needs_run or self.wait_for_fetch):
            raise ValueError(
                f"rule {self.name!r}: {self.role} blobs have no run: use since: modified or created"
            )
        if self.wait_for_fetch and self.role != "output":
            raise ValueError(f"rule {self.name!r}: wait_for_fetch applies to outputs only")
        if self.since in (Since.fetched, Since.lake) and self.role != "output":
            raise ValueError(
                f"rule {self.name!r}: since: {self.since.value} applies to outputs only"
            )
        return self


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    deletable_roles: tuple[Role, ...] = ()
    # A blob whose tier changed less than this many days ago is not archived: a blob someone
    # rehydrated stays online that long before the rules may archive it again.
    rearchive_after_days: float = Field(30, ge=0)
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> Policy:
        names = [rule.name for rule in self.rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"rule names must be unique: {', '.join(duplicates)}")
        return self


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in the YAML file at ``path``, or the packaged default policy."""
    if path is None:
        return parse_policy(packaged_text(DEFAULT_POLICY_FILE), "the default policy")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the tiering policy {path}: {exc.strerror}") from None
    return parse_policy(text, str(path))


def parse_policy(text: str, origin: str) -> Policy:
    try:
        document: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{origin}: a tiering policy is a mapping with a 'rules:' list")
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {_describe(exc, document)}") from None


def _describe(exc: ValidationError, document: dict[str, Any]) -> str:
    problems = []
    for error in exc.errors():
        location = _location(error["loc"], document)
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{location}: {message}" if location else message)
    return "; ".join(problems)


def _location(loc: tuple[Any, ...], document: dict[str, Any]) -> str:
    """'rules[1] (inputs-to-cool).days' rather than pydantic's tuple."""
    parts: list[str] = []
    rules = document.get("rules")
    for index, part in enumerate(loc):
        if isinstance(part, int) and index > 0 and loc[index - 1] == "rules":
            name = (
                rules[part].get("name")
                if isinstance(rules, list) and isinstance(rules[part], dict)
                else None
            )
            parts[-1] += f"[{part}]" + (f" ({name})" if name else "")
        elif isinstance(part, int):
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts)
