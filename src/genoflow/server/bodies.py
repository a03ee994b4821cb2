"""Reading request bodies defensively: JSON with a nesting limit, before any parser recurses.

``json.loads`` recurses once per nesting level: a 1 MiB body of ``[[[[...`` exhausts the
interpreter's recursion limit and would surface as a 500. No genoflow request nests more than
a handful of levels, so anything deeper than :data:`MAX_JSON_DEPTH` is refused as a 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 32

# Strings are skipped whole (brackets inside them do not count; an unterminated one runs to
# the end, which keeps the scan linear); C-speed scanning.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


class BodyError(ValueError):
    """A request body genoflow refuses to parse (HTTP 400)."""


def json_depth(text: str) -> int:
    """The deepest nesting of objects/arrays in ``text`` (0 for a scalar)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def check_depth(text: str, what: str = "request body") -> None:
    if json_depth(text) > MAX_JSON_DEPTH:
        raise BodyError(f"{what}: JSON nested deeper than {MAX_JSON_DEPTH} levels")


def load_json(data: bytes | str, what: str = "request body") -> Any:
    """Parse JSON after checking its depth; a one-line BodyError for anything unreadable."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise BodyError(f"{what} is not UTF-8") from None
    check_depth(text, what)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BodyError(f"{what} is not valid JSON: {exc}") from None
