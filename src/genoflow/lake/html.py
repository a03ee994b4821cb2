"""The lake report as one self-contained HTML page: inline SVG bar charts, inline CSS, no
script and no external reference, so it opens offline in any browser. The page and its charts
are the QC page's (genoflow.qc.tool()): one look, one copy of the SVG code."""

from __future__ import annotations

from genoflow.lake.report import LakeReport
from genoflow.qc import tool


def render_html(report: LakeReport, title: str = "genoflow variant lake") -> str:
    qc = tool()
    months = report.samples_per_month
    summary = [
        ("runs", report.runs),
        ("samples", report.samples),
        ("unique variants", report.unique_variants),
        ("Ti/Tv (unique SNVs)", report.ti_tv),
    ]
    sections = [
        qc.table(["", "value"], [(name, qc.fmt(value)) for name, value in summary]),
        "<h2>Samples per month</h2>",
        qc.bars([m["month"] for m in months], [m["samples"] for m in months], "samples"),
        "<h2>Unique variants by class</h2>",
        qc.bars(list(report.by_class), list(report.by_class.values()), "variants"),
        qc.table(
            ["class", "unique variants"], [(k, qc.fmt(v)) for k, v in report.by_class.items()]
        ),
        "<h2>SNV spectrum (REF&gt;ALT, unique SNVs)</h2>",
        qc.bars(list(report.spectrum), list(report.spectrum.values()), "SNVs"),
    ]
    versions = f"calls v{report.calls_version}, runs v{report.runs_version}"
    page: str = qc.page(title, f"Delta tables: {versions}", sections)
    return page
