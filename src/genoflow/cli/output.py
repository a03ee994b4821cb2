"""The one output layer: every command hands one document here, rendered as ``-o FORMAT``.

The az convention: ``json`` (one document), ``jsonc`` (colored), ``table`` (for people),
``tsv`` (header row, tab-separated, no padding: for awk and ``cut``), ``csv``, ``yaml``, ``none``.
``--query`` is JMESPath, applied to the document before rendering; a query whose result is
one scalar prints the bare value in table/tsv/csv, so ``ID=$(genoflow ... -o tsv --query id)``
captures just the id. Nothing here writes to ``sys.stdout`` itself: the stream is passed in.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from genoflow.errors import UsageError

FORMATS = ("json", "jsonc", "table", "tsv", "csv", "yaml", "none")
DEFAULT_FORMAT = "table"
OUTPUT_ENV = "GENOFLOW_OUTPUT"


def check_format(name: str, source: str = "-o/--output") -> str:
    value = name.strip().lower()
    if value not in FORMATS:
        raise UsageError(f"{source} {name!r} is not one of {', '.join(FORMATS)}")
    return value


@dataclass(frozen=True)
class Column:
    """One table column: the record's key, its header, and how people read its value."""

    key: str
    header: str = ""
    show: Callable[[Any], str] | None = None

    @property
    def title(self) -> str:
        return self.header or self.key


@dataclass(frozen=True)
class View:
    """How a document reads as a table.

    ``rows``: the key of a dict document that holds its records (fetch's ``files``), else the
    document itself is the record or the list of records. ``columns``: the table's columns
    (default: every scalar field). ``notes``: lines for people printed under the table.
    ``bare``: a field whose value alone is the table (``ID=$(genoflow submit ...)``).
    """

    columns: Sequence[Column] = ()
    rows: str | None = None
    title: str | Callable[[Any], str] | None = None
    notes: Callable[[Any], Sequence[str]] = field(default=lambda _doc: ())
    bare: str | None = None  # the table is just this field's value (submit: the run id)


@dataclass(frozen=True)
class Target:
    """Where and how to render: the stream, whether it is a terminal, the format, the query."""

    stream: IO[str]
    tty: bool = False
    fmt: str = DEFAULT_FORMAT
    query: str | None = None


def render(doc: Any, target: Target, view: View | None = None) -> None:
    """Write ``doc`` as ``target.fmt``, after ``target.query``."""
    if target.query:
        doc = apply_query(doc, target.query)
        view = None  # the query chose the shape: columns come from the result
    if target.fmt == "none":
        return
    if target.fmt == "json":
        text = json.dumps(doc, indent=2 if target.tty else None, default=str, ensure_ascii=False)
        target.stream.write(text + "\n")
    elif target.fmt == "jsonc":
        _jsonc(doc, target.stream)
    elif target.fmt == "yaml":
        import yaml

        target.stream.write(yaml.safe_dump(_plain(doc), sort_keys=False, allow_unicode=True))
    elif _is_scalar(doc):
        target.stream.write(_cell(doc) + "\n")
    elif target.fmt in ("tsv", "csv"):
        _delimited(doc, target, view)
    else:
        _table(doc, target, view or View())


def check_query(query: str) -> str:
    """``query`` when it is valid JMESPath (checked before a command does any work: a typo
    must not surface after an upload or a submit)."""
    _compiled(query)
    return query


def apply_query(doc: Any, query: str) -> Any:
    from jmespath.exceptions import JMESPathError  # type: ignore[import-untyped]

    try:
        return _compiled(query).search(doc)
    except JMESPathError as exc:
        raise _query_error(query, exc) from None


def _compiled(query: str) -> Any:
    import jmespath  # type: ignore[import-untyped]
    from jmespath.exceptions import JMESPathError  # type: ignore[import-untyped]

    try:
        return jmespath.compile(query)
    except JMESPathError as exc:
        raise _query_error(query, exc) from None


def _query_error(query: str, exc: Exception) -> UsageError:
    # jmespath's text spans lines (the expression, a caret): keep the first, name the column
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for prefix in ("Invalid jmespath expression: ", "Bad jmespath expression: "):
        first = first.removeprefix(prefix)
    message = first.removesuffix(", for expression:").rstrip(":")
    column = getattr(exc, "lex_position", None)
    if isinstance(column, int) and "column" not in message:
        message += f" at column {column}"
    return UsageError(
        f"--query {query!r} is not valid JMESPath: {message}",
        hint="quote the whole query for the shell, e.g. --query \"[?state=='failed'].id\"",
    )


# --- cells for people: tables show units, the documents keep raw numbers ----------------------


def size_cell(value: Any) -> str:
    """Bytes as KiB/MiB/GiB."""
    from genoflow.units import format_size

    return format_size(int(value))


def bases_cell(value: Any) -> str:
    from genoflow.units import format_bases

    return format_bases(int(value))


def duration_cell(value: Any) -> str:
    """Seconds as ``2h 05m 09s``."""
    from genoflow.units import format_duration

    return format_duration(float(value))


# --- records and cells ----------------------------------------------------------------------


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _records(doc: Any, view: View | None) -> list[Any]:
    if view is not None and view.rows and isinstance(doc, Mapping):
        doc = doc.get(view.rows) or []
    return list(doc) if isinstance(doc, list) else [doc]


def _flat(record: Any) -> dict[str, Any]:
    """A record's scalar fields (and lists of scalars); nested objects one level down as
    ``key.sub``; a bare scalar as ``value``."""
    if not isinstance(record, Mapping):
        return {"value": record}
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if _is_scalar(value) or (
            isinstance(value, list) and all(_is_scalar(item) for item in value)
        ):
            flat[key] = value
        elif isinstance(value, Mapping):
            flat.update(
                {f"{key}.{sub}": inner for sub, inner in value.items() if _is_scalar(inner)}
            )
    return flat


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return list(keys)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_cell(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value)


def _tsv_cell(value: Any) -> str:
    # One record per line, one field per tab: tabs and line breaks inside a value are escaped.
    return _cell(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _delimited(doc: Any, target: Target, view: View | None) -> None:
    records = _records(doc, view)
    if not records and view is not None and view.columns:
        keys = [column.key for column in view.columns]  # no rows: still the header to parse
        rows: list[dict[str, Any]] = []
    elif all(_is_scalar(item) for item in records):  # a list of ids: one per line, no header
        target.stream.writelines(_cell(item) + "\n" for item in records)
        return
    else:
        rows = [_flat(record) for record in records]
        keys = _keys(rows)
    if target.fmt == "tsv":
        target.stream.write("\t".join(keys) + "\n")
        for row in rows:
            target.stream.write("\t".join(_tsv_cell(row.get(key)) for key in keys) + "\n")
        return
    writer = csv.writer(target.stream, lineterminator="\n")
    writer.writerow(keys)
    writer.writerows([_cell(row.get(key)) for key in keys] for row in rows)


# --- table and jsonc: for people ------------------------------------------------------------


def _table(doc: Any, target: Target, view: View) -> None:
    if view.bare and isinstance(doc, Mapping):
        target.stream.write(_cell(doc.get(view.bare)) + "\n")
        return
    records = _records(doc, view)
    if all(_is_scalar(item) for item in records):
        target.stream.writelines(_cell(item) + "\n" for item in records)
    elif isinstance(doc, Mapping) and not view.columns and not view.rows:
        # One record and no chosen columns: a field per line reads better than a wide row.
        pairs = [[key, _cell(value)] for key, value in _flat(doc).items()]
        _grid(target, ["field", "value"], pairs, None)
    else:
        rows = [_flat(record) for record in records]
        columns = list(view.columns) or [Column(key) for key in _keys(rows)]
        cells = [[_show(column, row.get(column.key)) for column in columns] for row in rows]
        headers = [column.title for column in columns]
        if records:
            _grid(target, headers, cells, view.title(doc) if callable(view.title) else view.title)
    for line in view.notes(doc):
        target.stream.write(line + "\n")


def _show(column: Column, value: Any) -> str:
    return _cell(value) if column.show is None or value is None else column.show(value)


def _grid(target: Target, headers: list[str], cells: list[list[str]], title: str | None) -> None:
    if target.tty:
        from rich import box
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        # Cells are data (descriptions, paths, messages): never read as rich markup.
        table = Table(
            *headers,  # plain strings, read without markup: the Console has markup=False
            title=Text(title) if title else None,
            box=box.SIMPLE,
            header_style="bold",
        )
        for row in cells:
            table.add_row(*(Text(text) for text in row))
        Console(file=target.stream, highlight=False, markup=False).print(table)
        return
    # Off a terminal: columns aligned with two spaces, no rules, no padding past the text.
    widths = [max(len(text) for text in column) for column in zip(headers, *cells, strict=True)]
    if title:
        target.stream.write(title + "\n")
    for row in (headers, *cells):
        line = "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True))
        target.stream.write(line.rstrip() + "\n")


def _jsonc(doc: Any, stream: IO[str]) -> None:
    from rich.console import Console

    text = json.dumps(doc, default=str, ensure_ascii=False)
    console = Console(file=stream, force_terminal=True, color_system="standard", soft_wrap=True)
    console.print_json(text, indent=2)


def _plain(doc: Any) -> Any:
    """What yaml.safe_dump takes: the document as JSON would carry it."""
    return json.loads(json.dumps(doc, default=str))
