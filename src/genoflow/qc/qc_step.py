"""qc.py: a run's QC from the field's own tools, as <base>.qc.json and a self-contained
<base>.qc.html, beside the tools' native outputs named as MultiQC's modules find them.

Python 3.10+, standard library only (any engine; a worker with python3, samtools, mosdepth and
bcftools): the pipeline's #qc step runs this file; genoflow loads the same text as a module
(genoflow.qc.tool()).

    python3 qc.py --bam B.bam --vcf B.vcf.gz --base B [--threads N]   # run the tools, then parse
    python3 qc.py --parse --base B                                    # parse outputs already there

Native outputs: B.stats (samtools stats), B.flagstat (samtools flagstat), B.mosdepth.summary.txt
and B.mosdepth.global.dist.txt (mosdepth), B.bcftools_stats.txt (bcftools stats).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from html import escape
from typing import Any

SCHEMA_VERSION = 1
SCHEMA_ID = "urn:genoflow:schema:qc:1"  # the JSON Schema's $id (genoflow/qc/qc.schema.json)
WINDOW = 1_000_000  # mosdepth's windows: only to get exact base counts over thresholds
THRESHOLDS = (1, 10, 20, 30)
VARIANT_FILTER = ".,PASS"  # bcftools stats -f: records whose FILTER is PASS or missing
COVERAGE_REGION = "every reference contig in the BAM header (N bases included)"
SUFFIXES = {
    "samtools_stats": ".stats",
    "flagstat": ".flagstat",
    "mosdepth_summary": ".mosdepth.summary.txt",
    "mosdepth_dist": ".mosdepth.global.dist.txt",
    "bcftools_stats": ".bcftools_stats.txt",
}


# --- running the tools ------------------------------------------------------------------------
def run_tools(bam: str, vcf: str, base: str, threads: int = 1) -> None:
    """The tools' native outputs, written as <base><suffix> in the working directory."""
    t = str(max(threads, 1))
    _run(["samtools", "stats", "-@", t, bam], base + SUFFIXES["samtools_stats"])
    _run(["samtools", "flagstat", "-@", t, bam], base + SUFFIXES["flagstat"])
    # -n: no per-base file (slow, large); windows + thresholds give exact counts per depth
    levels = ",".join(str(level) for level in THRESHOLDS)
    _run(["mosdepth", "-n", "-t", t, "-b", str(WINDOW), "-T", levels, base, bam], None)
    # the calls that pass (or carry no FILTER): low-evidence calls would distort Ti/Tv, het/hom
    _run(
        ["bcftools", "stats", "-f", VARIANT_FILTER, "-s", "-", vcf],
        base + SUFFIXES["bcftools_stats"],
    )


def _run(command: list[str], stdout: str | None) -> None:
    with open(stdout or os.devnull, "w") as handle:
        done = subprocess.run(command, stdout=handle, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        what = " ".join(command[:2])
        raise RuntimeError(f"{what} exited {done.returncode}: {done.stderr[-500:]}")


def tool_versions() -> dict[str, str]:
    versions = {}
    for tool in ("samtools", "mosdepth", "bcftools"):
        try:
            done = subprocess.run([tool, "--version"], capture_output=True)
            out = done.stdout.decode("utf-8", "replace")  # bcftools prints a Latin-1 sign
        except OSError:
            continue
        words = out.split()
        versions[tool] = words[1] if len(words) > 1 else "unknown"
    return versions


# --- parsing ----------------------------------------------------------------------------------
def sections(lines: Iterable[str]) -> dict[str, list[list[str]]]:
    """Rows of a samtools/bcftools stats file by section (first column); comments skipped."""
    found: dict[str, list[list[str]]] = {}
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        fields = line.rstrip("\n").split("\t")
        found.setdefault(fields[0], []).append(fields[1:])
    return found


def parse_flagstat(text: str) -> dict[str, int]:
    """samtools flagstat's default text: 'N + M description' (QC-passed + QC-failed)."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"(\d+) \+ (\d+) (.+?)(?: \(.*)?$", line)
        if match:
            counts.setdefault(match.group(3), int(match.group(1)) + int(match.group(2)))
    return counts


def reads_section(flagstat: dict[str, int]) -> dict[str, Any]:
    """Primary reads: mapped, properly paired and duplicate-marked (counts and rates)."""
    primary = flagstat.get("primary", flagstat.get("in total", 0))
    mapped = flagstat.get("primary mapped", flagstat.get("mapped", 0))
    paired = flagstat.get("paired in sequencing", 0)
    proper = flagstat.get("properly paired", 0)
    duplicates = flagstat.get("primary duplicates", flagstat.get("duplicates", 0))
    return {
        "total": primary,
        "mapped": mapped,
        "mapped_rate": _ratio(mapped, primary),
        "paired": paired,
        "properly_paired": proper,
        "properly_paired_rate": _ratio(proper, paired),
        "duplicates": duplicates,
        "duplicate_rate": _ratio(duplicates, mapped),
    }


def insert_section(stats: dict[str, list[list[str]]]) -> dict[str, Any]:
    """Insert sizes of samtools stats (IS: size, all pairs), with their mean and median."""
    numbers = {row[0].rstrip(":"): row[1] for row in stats.get("SN", [])}
    histogram = [[int(row[0]), int(row[1])] for row in stats.get("IS", []) if int(row[1]) > 0]
    return {
        "pairs": sum(count for _, count in histogram),
        "mean": _number(numbers.get("insert size average")),
        "sd": _number(numbers.get("insert size standard deviation")),
        "median": _median(histogram),
        "histogram": histogram,
    }


def _median(histogram: Sequence[Sequence[int]]) -> int | None:
    total = sum(count for _, count in histogram)
    seen = 0
    for size, count in histogram:
        seen += count
        if 2 * seen >= total:
            return size
    return None


def coverage_section(base: str) -> dict[str, Any]:
    """Mean (bases / length), median and fractions of bases at >= 10x / 20x over the genome."""
    length, bases = _summary_total(base + SUFFIXES["mosdepth_summary"])
    at_least = _threshold_bases(f"{base}.thresholds.bed.gz")
    distribution = _global_dist(base + SUFFIXES["mosdepth_dist"])
    section: dict[str, Any] = {
        "region": COVERAGE_REGION,
        "length": length,
        "mean": round(bases / length, 4) if length else None,
        "median": next((d for d, fraction in distribution if fraction >= 0.5), 0),
        "distribution": sorted(distribution),
    }
    for level in THRESHOLDS:
        section[f"fraction_ge_{level}x"] = _ratio(at_least.get(level, 0), length)
    return section


def _summary_total(path: str) -> tuple[int, int]:
    with open(path) as handle:
        for line in handle:
            fields = line.split("\t")
            if fields[0] == "total":
                return int(fields[1]), int(fields[2])
    raise ValueError(f"{path}: no 'total' row")


def _threshold_bases(path: str) -> dict[int, int]:
    """Bases at >= each threshold, summed over mosdepth's windows (exact integers)."""
    totals: dict[int, int] = {}
    levels: list[int] = []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#"):
                levels = [int(name.rstrip("X")) for name in fields[4:]]
                continue
            for level, count in zip(levels, fields[4:], strict=True):
                totals[level] = totals.get(level, 0) + int(count)
    return totals


def _global_dist(path: str) -> list[tuple[int, float]]:
    """(depth, fraction of bases at >= depth) of mosdepth's 'total' rows, deepest first."""
    rows = []
    with open(path) as handle:
        for line in handle:
            fields = line.split("\t")
            if fields[0] == "total":
                rows.append((int(fields[1]), float(fields[2])))
    return sorted(rows, reverse=True)


def variants_section(stats: dict[str, list[list[str]]]) -> dict[str, Any]:
    """Variant classes, Ti/Tv, het/hom and the SNV spectrum of bcftools stats (first sample)."""
    numbers = {row[1].rstrip(":"): int(row[2]) for row in stats.get("SN", [])}
    lengths = [(int(row[1]), int(row[2])) for row in stats.get("IDD", [])]
    tstv = stats.get("TSTV", [["0", "0", "0"]])[0]
    psc = stats.get("PSC", [])
    psi = stats.get("PSI", [])
    het = int(psc[0][4]) + int(psi[0][6]) + int(psi[0][7]) if psc and psi else None
    hom = int(psc[0][3]) + int(psi[0][8]) + int(psi[0][9]) if psc and psi else None
    return {
        "filter": VARIANT_FILTER,
        "records": numbers.get("number of records", 0),
        "snv": numbers.get("number of SNPs", 0),
        "insertion": sum(n for length, n in lengths if length > 0),
        "deletion": sum(n for length, n in lengths if length < 0),
        "indel": numbers.get("number of indels", 0),
        "mnv": numbers.get("number of MNPs", 0),
        "other": numbers.get("number of others", 0),
        "multiallelic_sites": numbers.get("number of multiallelic sites", 0),
        "transitions": int(tstv[1]),
        "transversions": int(tstv[2]),
        "ti_tv": _ratio(int(tstv[1]), int(tstv[2])),
        "sample": psc[0][1] if psc else None,
        "het": het,
        "hom_alt": hom,
        "het_hom_ratio": _ratio(het, hom) if het is not None and hom is not None else None,
        "substitutions": {row[1]: int(row[2]) for row in stats.get("ST", [])},
    }


def _ratio(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 6) if part is not None and whole else None


def _number(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def summarise(base: str, name: str | None = None) -> dict[str, Any]:
    """The qc.json record of the native outputs <base>.* in the working directory."""
    with open(base + SUFFIXES["samtools_stats"]) as handle:
        samtools = sections(handle)
    with open(base + SUFFIXES["flagstat"]) as handle:
        flagstat = parse_flagstat(handle.read())
    with open(base + SUFFIXES["bcftools_stats"]) as handle:
        bcftools = sections(handle)
    variants = variants_section(bcftools)
    return {
        "$schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "name": name or base,
        "sample": variants.pop("sample"),
        "tools": tool_versions(),
        "reads": reads_section(flagstat),
        "coverage": coverage_section(base),
        "insert_size": insert_section(samtools),
        "variants": variants,
    }


# --- the HTML page ------------------------------------------------------------------------------
# Inline SVG and CSS, no script and no external reference: the page opens offline anywhere.
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse}td,th{padding:.25rem .75rem;text-align:right;
border-bottom:1px solid #d9e2ec}th:first-child,td:first-child{text-align:left}
svg text{font-size:12px;fill:#1f2933}.bar{fill:#2f6f9f}.axis{stroke:#9aa5b1}
.line{fill:none;stroke:#2f6f9f;stroke-width:2}
"""
WIDTH, AREA, TOP, BOTTOM, LEFT = 640, 200, 24, 56, 56


def page(title: str, subtitle: str, sections: Sequence[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(subtitle)}</p>"
        + "\n".join(sections)
        + "</body></html>\n"
    )


def fmt(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.4g}" if isinstance(value, float) else str(value)


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def table(header: Sequence[str], rows: Sequence[tuple[str, str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td></tr>" for a, b in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bars(labels: Sequence[str], values: Sequence[int], unit: str, chart: str = "") -> str:
    """A bar chart: one bar per label, its value above it, a baseline and the labels below."""
    if not labels:
        return "<p>(no data)</p>"
    peak = max(max(values), 1)
    step = (WIDTH - LEFT) / len(labels)
    parts = [_svg_open(unit, chart), _baseline()]
    width = min(step * 0.7, 80.0)  # one bar is not the whole chart
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar = AREA * value / peak
        middle = LEFT + (index + 0.5) * step
        y = TOP + AREA - bar
        parts += [
            f"<rect class='bar' x='{middle - width / 2:.1f}' y='{y:.1f}' width='{width:.1f}' "
            f"height='{bar:.1f}'><title>{escape(label)}: {value:,} {escape(unit)}</title></rect>",
            f"<text x='{middle:.1f}' y='{y - 4:.1f}' text-anchor='middle'>{value:,}</text>",
            f"<text x='{middle:.1f}' y='{TOP + AREA + 16}' "
            f"text-anchor='middle'>{escape(label)}</text>",
        ]
    return "".join(parts) + "</svg>"


def line(points: Sequence[tuple[float, float]], x_label: str, y_label: str, chart: str) -> str:
    """A line chart of (x, y) points, both axes from 0, with the axes' extremes labelled."""
    if not points:
        return "<p>(no data)</p>"
    x_max = max(max(x for x, _ in points), 1.0)
    y_max = max(max(y for _, y in points), 1e-9)
    span = WIDTH - LEFT - 16

    def at(x: float, y: float) -> str:
        return f"{LEFT + span * x / x_max:.1f},{TOP + AREA - AREA * y / y_max:.1f}"

    path = " ".join(at(x, y) for x, y in points)
    return "".join(
        [
            _svg_open(y_label, chart),
            _baseline(),
            f"<line class='axis' x1='{LEFT}' y1='{TOP}' x2='{LEFT}' y2='{TOP + AREA}'/>",
            f"<polyline class='line' points='{path}'/>",
            f"<text x='{LEFT - 4}' y='{TOP + 4}' text-anchor='end'>{fmt(y_max)}</text>",
            f"<text x='{LEFT - 4}' y='{TOP + AREA}' text-anchor='end'>0</text>",
            f"<text x='{LEFT + span / 2:.1f}' y='{TOP + AREA + 16}' text-anchor='middle'>"
            f"{fmt(x_max / 2)}</text>",
            f"<text x='{WIDTH - 16}' y='{TOP + AREA + 16}' text-anchor='end'>{fmt(x_max)}</text>",
            f"<text x='{LEFT + span / 2:.1f}' y='{TOP + AREA + 36}' text-anchor='middle'>"
            f"{escape(x_label)}</text></svg>",
        ]
    )


def _svg_open(label: str, chart: str) -> str:
    height = TOP + AREA + BOTTOM
    named = f" data-chart='{escape(chart)}'" if chart else ""
    return f"<svg width='{WIDTH}' height='{height}' role='img' aria-label='{escape(label)}'{named}>"


def _baseline() -> str:
    return f"<line class='axis' x1='{LEFT}' y1='{TOP + AREA}' x2='{WIDTH}' y2='{TOP + AREA}'/>"


CLASS_LABELS = (
    ("snv", "SNV"),
    ("insertion", "insertion"),
    ("deletion", "deletion"),
    ("mnv", "MNV"),
    ("other", "other"),
)
CHARTS = ("coverage", "insert-size", "variant-classes", "substitutions")


def render_html(qc: dict[str, Any]) -> str:
    reads, cov, inserts, var = qc["reads"], qc["coverage"], qc["insert_size"], qc["variants"]
    summary = [
        ("reads (primary)", fmt(reads["total"])),
        ("mapped", percent(reads["mapped_rate"])),
        ("properly paired", percent(reads["properly_paired_rate"])),
        ("duplicates", percent(reads["duplicate_rate"])),
        ("mean coverage", fmt(cov["mean"])),
        ("median coverage", fmt(cov["median"])),
        ("bases at >= 10x", percent(cov["fraction_ge_10x"])),
        ("bases at >= 20x", percent(cov["fraction_ge_20x"])),
        ("insert size (median, bp)", fmt(inserts["median"])),
        ("variant records (PASS)", fmt(var["records"])),
        ("Ti/Tv", fmt(var["ti_tv"])),
        ("het/hom", fmt(var["het_hom_ratio"])),
    ]
    classes = {label: var[key] for key, label in CLASS_LABELS}
    spectrum = var["substitutions"]
    depth = [(float(d), float(f)) for d, f in cov["distribution"]]
    sizes = [(float(s), float(n)) for s, n in inserts["histogram"]]
    sections = [
        table(["", "value"], summary),
        f"<h2>Coverage: fraction of bases at &gt;= depth ({escape(cov['region'])})</h2>",
        line(depth, "depth", "fraction of bases", CHARTS[0]),
        "<h2>Insert sizes</h2>",
        line(sizes, "insert size (bp)", "pairs", CHARTS[1]),
        "<h2>Variants by class (PASS or no FILTER)</h2>",
        bars(list(classes), list(classes.values()), "variants", CHARTS[2]),
        "<h2>SNV substitution spectrum (REF&gt;ALT)</h2>",
        bars(list(spectrum), list(spectrum.values()), "SNVs", CHARTS[3]),
    ]
    tools = ", ".join(f"{tool} {version}" for tool, version in sorted(qc["tools"].items()))
    return page(f"QC: {qc['name']}", f"sample {qc['sample'] or 'n/a'}; {tools}", sections)


# --- command line -----------------------------------------------------------------------------
def options(argv: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    words: Iterator[str] = iter(argv)
    for word in words:
        found[word] = "1" if word == "--parse" else next(words, "")
    return found


def main(argv: Sequence[str]) -> int:
    given = options(argv)
    base = given.get("--base") or "sample"
    if "--parse" not in given:
        run_tools(given["--bam"], given["--vcf"], base, int(given.get("--threads") or 1))
    qc = summarise(base, given.get("--name"))
    with open(f"{base}.qc.json", "w") as handle:
        json.dump(qc, handle, indent=1)
        handle.write("\n")
    with open(f"{base}.qc.html", "w") as handle:
        handle.write(render_html(qc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
