"""Reading the old Microsoft Genomics ``config.txt`` (``key: value`` lines, msgen key names).

Users downloaded this file from the portal and passed it with ``msgen submit -f config.txt``;
genoflow reads the same file so that nothing has to be rewritten. Empty values mean "use the
default", list values are separated by whitespace, ``#`` starts a comment line.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genoflow.errors import ConfigError
from genoflow.model.descriptor import OPTIONS


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"true", "yes", "1", "on"}:
        return True
    if lowered in {"false", "no", "0", "off"}:
        return False
    raise ValueError("must be true or false")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("must be a whole number") from None


def _words(text: str) -> list[str]:
    return text.split()


def _text(text: str) -> str:
    return text


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "text": _text,
    "bool": _bool,
    "lower": lambda text: text.strip().lower(),
    "list": _words,
}

# msgen key -> (genoflow dotted key path, converter); the run options' keys come from the
# descriptor's table (genoflow.model.descriptor.OPTIONS)
MSGEN_KEYS: dict[str, tuple[str, Callable[[str], Any]]] = {
    **{
        spec.msgen_key: (spec.config_path, _CONVERTERS[spec.kind])
        for spec in OPTIONS
        if spec.msgen_key
    },
    "api_url_base": ("service.url", _text),
    "access_key": ("service.api_key", _text),
    "input_storage_account_name": ("storage.account_name", _text),
    "input_storage_account_key": ("storage.account_key", _text),
    "input_storage_account_container": ("storage.input_container", _text),
    "output_storage_account_name": ("storage.output_account_name", _text),
    "output_storage_account_key": ("storage.output_account_key", _text),
    "output_storage_account_container": ("storage.output_container", _text),
    "sas_duration": ("workflow.sas_duration_hours", _int),
    "poll": ("workflow.poll", _bool),
    "input_blob_name_1": ("workflow.input_blob_name_1", _words),
    "input_blob_name_2": ("workflow.input_blob_name_2", _words),
}

# Keys the old client accepted for its other commands (list/status/cancel); they select what a
# single command acts on rather than configure anything, so genoflow reads and ignores them.
IGNORED_KEYS = frozenset(
    {
        "workflow_id",
        "in_range",
        "outcome",
        "with_description",
        "with_process",
        "export_to",
        "output_file",
        "command",
    }
)


def looks_like_msgen(text: str) -> bool:
    """True when the file's keys are msgen's flat key names rather than genoflow's sections."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key = line.split(":", 1)[0].strip()
        return key in MSGEN_KEYS or key in IGNORED_KEYS
    return False


def parse_msgen(text: str, path: Path) -> dict[str, Any]:
    """Parse a msgen config.txt into genoflow dotted key paths (empty values are skipped)."""
    values: dict[str, Any] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            raise ConfigError(
                f"{path}:{number}: expected 'key: value', got {line[:40]!r}",
                hint="msgen config.txt lines are 'key: value'; '#' starts a comment",
            )
        key, value = (part.strip() for part in line.split(":", 1))
        if key in IGNORED_KEYS or not value:
            continue
        if key not in MSGEN_KEYS:
            close = difflib.get_close_matches(key, MSGEN_KEYS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "remove the line"
            raise ConfigError(f"{path}:{number}: unknown msgen key {key!r}", hint=hint)
        target, convert = MSGEN_KEYS[key]
        try:
            values[target] = convert(value)
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: {key}: {exc} (got {value!r})") from None
    return values
