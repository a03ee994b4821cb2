"""Human units in one place: binary sizes, durations, bases, and the times people type.

Machine output (``-o json|tsv|csv|yaml``) keeps raw numbers and ISO 8601 UTC with ``Z``; only
tables and messages for people go through the ``format_*`` functions here.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_size(size: int | float | None) -> str:
    """``2.9 MiB``, ``512 B``, ``1.2 TiB`` (binary units, 1 KiB = 1024 B)."""
    if size is None:
        return ""
    value = float(size)
    for unit in _SIZE_UNITS:
        if abs(value) < 1024 or unit == _SIZE_UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def format_rate(bytes_per_second: float) -> str:
    """``112.4 MiB/s``."""
    return f"{format_size(bytes_per_second)}/s"


def format_duration(delta: timedelta | float | None) -> str:
    """``2h 05m 09s``, ``4m 03s``, ``12s`` (a timedelta or seconds)."""
    if delta is None:
        return ""
    seconds = int(max(0.0, delta.total_seconds() if isinstance(delta, timedelta) else delta))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def format_bases(bases: int | None) -> str:
    """``1.35 Gbase``, ``9.0 Mbase``, ``900 bases`` (decimal: sequencing counts in 10^9)."""
    if bases is None:
        return ""
    for scale, unit in ((10**9, "Gbase"), (10**6, "Mbase"), (10**3, "kbase")):
        if bases >= scale:
            return f"{bases / scale:.2f} {unit}"
    return f"{bases} bases"


def iso_z(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z``, whole seconds: the one time format of machine output."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_time(moment: datetime | None) -> str:
    """A table's time: UTC, the zone stated (``2026-05-01 14:03Z``)."""
    if moment is None:
        return ""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%MZ")


_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_moment(text: str, now: datetime, *, future: bool = False) -> datetime:
    """``--since``, ``--as-of``, ``--until``: an age (``90m``, ``24h``, ``7d``, ``2w``: that long
    before ``now``, or after it with ``future``), an ISO date (``2026-05-01``: midnight UTC) or
    an ISO time (``2026-05-01T12:00``, ``...Z`` or an offset; none means UTC).

    Raises ValueError with a message naming the accepted forms.
    """
    cleaned = text.strip()
    match = _AGE.match(cleaned.lower())
    if match:
        delta = timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
        return now + delta if future else now - delta
    moment = _parse_iso(cleaned)
    if moment is None:
        raise ValueError(
            f"{text!r} is not an age (24h, 7d, 2w), an ISO date (2026-05-01) or an ISO time "
            "(2026-05-01T12:00Z)"
        )
    return moment


def _parse_iso(text: str) -> datetime | None:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:  # 2026-13-45: say which value, not just "month must be..."
            raise ValueError(f"{text!r} is not a date: {exc}") from None
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return parse_time(text)


def parse_time(text: str | None) -> datetime | None:
    """Parse ISO 8601 as the services write it: 7-digit fractions, ``Z`` or an offset.

    A time without an offset is taken as UTC (WES servers write ``...Z`` or nothing).
    """
    if not text:
        return None
    cleaned = _FRACTION.sub(r"\1", text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
