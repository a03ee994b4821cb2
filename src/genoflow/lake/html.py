"""The lake report as one self-contained HTML page: inline SVG bar charts, inline CSS, no
script and no external reference, so it opens offline in any browser."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from genoflow.lake.report import LakeReport

_WIDTH, _BAR_AREA, _TOP, _BOTTOM, _LEFT = 640, 200, 24, 56, 56
_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse}td,th{padding:.25rem .75rem;text-align:right;
border-bottom:1px solid #d9e2ec}th:first-child,td:first-child{text-align:left}
svg text{font-size:12px;fill:#1f2933}.bar{fill:#2f6f9f}.axis{stroke:#9aa5b1}
"""


def render_html(report: LakeReport, title: str = "genoflow variant lake") -> str:
    months = report.samples_per_month
    summary = [
        ("runs", report.runs),
        ("samples", report.samples),
        ("unique variants", report.unique_variants),
        ("Ti/Tv (unique SNVs)", report.ti_tv if report.ti_tv is not None else "n/a"),
    ]
    sections = [
        _table(["", "value"], [(name, _fmt(value)) for name, value in summary]),
        "<h2>Samples per month</h2>",
        _bars([m["month"] for m in months], [m["samples"] for m in months], "samples"),
        "<h2>Unique variants by class</h2>",
        _bars(list(report.by_class), list(report.by_class.values()), "variants"),
        _table(["class", "unique variants"], [(k, _fmt(v)) for k, v in report.by_class.items()]),
        "<h2>SNV spectrum (REF&gt;ALT, unique SNVs)</h2>",
        _bars(list(report.spectrum), list(report.spectrum.values()), "SNVs"),
    ]
    versions = f"calls v{report.calls_version}, runs v{report.runs_version}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>Delta tables: {escape(versions)}</p>"
        + "\n".join(sections)
        + "</body></html>\n"
    )


def _fmt(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(header: Sequence[str], rows: Sequence[tuple[str, str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td></tr>" for a, b in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bars(labels: Sequence[str], values: Sequence[int], unit: str) -> str:
    """A bar chart: one bar per label, its value above it, a baseline and the labels below."""
    if not labels:
        return "<p>(no data)</p>"
    peak = max(max(values), 1)
    step = (_WIDTH - _LEFT) / len(labels)
    height = _TOP + _BAR_AREA + _BOTTOM
    parts = [
        f"<svg width='{_WIDTH}' height='{height}' role='img' aria-label='{escape(unit)}'>",
        f"<line class='axis' x1='{_LEFT}' y1='{_TOP + _BAR_AREA}' x2='{_WIDTH}' "
        f"y2='{_TOP + _BAR_AREA}'/>",
    ]
    width = min(step * 0.7, 80.0)  # one month's bar is not the whole chart
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar = _BAR_AREA * value / peak
        middle = _LEFT + (index + 0.5) * step
        x = middle - width / 2
        y = _TOP + _BAR_AREA - bar
        parts += [
            f"<rect class='bar' x='{x:.1f}' y='{y:.1f}' width='{width:.1f}' "
            f"height='{bar:.1f}'><title>{escape(label)}: {value:,} {escape(unit)}</title></rect>",
            f"<text x='{middle:.1f}' y='{y - 4:.1f}' text-anchor='middle'>{value:,}</text>",
            f"<text x='{middle:.1f}' y='{_TOP + _BAR_AREA + 16}' "
            f"text-anchor='middle'>{escape(label)}</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)
