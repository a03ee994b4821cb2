"""Keeping secrets out of output, logs and error messages.

Two layers: patterns that look like secrets wherever they come from (SAS ``sig=``, connection
string ``AccountKey=``, API-key headers), and the exact secret values the configuration loaded,
registered here so that they are masked even where no pattern would catch them.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # SAS signature in a query string or token: keep the parameter name, drop the value.
    (re.compile(r"(?i)(\bsig=)[^&\s\"'<>]+"), r"\1" + MASK),
    # Connection strings and the like.
    (re.compile(r"(?i)(AccountKey=)[^;\s\"']+"), r"\1" + MASK),
    (re.compile(r"(?i)(SharedAccessSignature=)[^;\s\"']+"), r"\1" + MASK),
    # Headers as they appear in debug dumps of requests.
    (re.compile(r"(?i)(Ocp-Apim-Subscription-Key['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"), r"\1" + MASK),
    (
        re.compile(r"(?i)(Authorization['\"]?\s*[:=]\s*['\"]?(?:Bearer|SharedKey)\s+)[^'\"\s,}]+"),
        r"\1" + MASK,
    ),
)

_lock = threading.Lock()
_known: set[str] = set()

# Short values (e.g. "1", "true") would mask innocent text; real secrets are long.
_MIN_SECRET_LENGTH = 8


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` masks it wherever it appears."""
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        _known.add(value)
        # A SAS token is often printed without its leading '?', or URL-encoded pieces of it.
        _known.add(value.lstrip("?"))


def redact(text: str) -> str:
    """Return ``text`` with every known secret and secret-looking value masked."""
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask(value: object) -> str:
    """How a secret setting is shown: whether it is set, never any part of it."""
    return "(not set)" if not value else f"{MASK} (set)"


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
