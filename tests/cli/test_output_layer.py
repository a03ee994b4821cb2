"""The output layer on its own (every format, --query, the -o rule) and the help every command
shows: examples, readable metavars, no Python type names."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

from genoflow.cli.main import hoist_global_options
from genoflow.cli.output import FORMATS, Column, Target, View, render
from genoflow.errors import UsageError
from genoflow.units import format_bases, format_duration, format_size, iso_z, parse_moment
from tests.harness import CliResult, run_cli

RUNS = [
    {"id": "7", "state": "succeeded", "message": None, "tags": {"a": "b"}, "inputs": ["x", "y"]},
    {"id": "8", "state": "failed", "message": "bwa:\tout of memory\nkilled", "tags": {},
     "inputs": []},
]  # fmt: skip


def rendered(doc: Any, fmt: str, query: str | None = None, view: View | None = None) -> str:
    stream = io.StringIO()
    render(doc, Target(stream, False, fmt, query), view)
    return stream.getvalue()


def test_json_is_one_document_and_yaml_the_same_data() -> None:
    text = rendered(RUNS, "json")
    assert json.loads(text) == RUNS and text.count("\n") == 1
    assert yaml.safe_load(rendered(RUNS, "yaml")) == RUNS
    assert rendered(RUNS, "none") == ""
    colored = rendered(RUNS, "jsonc")
    assert "\x1b[" in colored and json.loads(re.sub(r"\x1b\[[0-9;]*m", "", colored)) == RUNS


def test_tsv_has_a_header_one_line_per_record_and_no_padding() -> None:
    lines = rendered(RUNS, "tsv").splitlines()
    assert lines[0] == "id\tstate\tmessage\ttags.a\tinputs"
    assert lines[1] == "7\tsucceeded\t\tb\tx,y"
    # a tab or line break inside a value cannot split the record
    assert lines[2] == "8\tfailed\tbwa:\\tout of memory\\nkilled\t\t"
    assert len(lines) == 3 and all(line.count("\t") == 4 for line in lines)


def test_an_empty_list_in_tsv_or_csv_is_still_a_header_row() -> None:
    """`genoflow list -o tsv` with no runs: a header a parser can read, not empty output."""
    view = View(columns=(Column("id"), Column("state", "STATE")))
    assert rendered([], "tsv", view=view) == "id\tstate\n"  # the keys, as in the rows
    assert rendered({"files": []}, "csv", view=View(columns=view.columns, rows="files")) == (
        "id,state\n"
    )
    assert rendered([], "tsv") == ""  # no columns known: nothing to name


def test_csv_quotes_what_needs_quoting() -> None:
    rows = list(csv.reader(io.StringIO(rendered(RUNS, "csv"))))
    assert rows[0] == ["id", "state", "message", "tags.a", "inputs"]
    assert rows[2][2] == "bwa:\tout of memory\nkilled"


def test_query_result_that_is_a_scalar_prints_bare() -> None:
    document = {"id": "12", "run": {"state": "queued"}}
    for fmt in ("tsv", "table", "csv"):
        assert rendered(document, fmt, query="id") == "12\n"
    assert rendered(document, "json", query="id") == '"12"\n'
    assert rendered(RUNS, "tsv", query="[?state=='succeeded'].id") == "7\n"
    assert json.loads(rendered(RUNS, "json", query="[?state=='failed'].id")) == ["8"]
    with pytest.raises(UsageError, match="--query"):
        rendered(RUNS, "json", query="[?state==")


def test_table_off_a_terminal_is_aligned_text_without_rules_or_padding() -> None:
    view = View(columns=(Column("id"), Column("state", "STATE", str.upper)))
    text = rendered(RUNS, "table", view=view)
    assert text.splitlines() == ["id  STATE", "7   SUCCEEDED", "8   FAILED"]
    assert rendered({"id": "12", "x": 1}, "table", view=View(bare="id")) == "12\n"
    vertical = rendered({"id": "12", "ok": True}, "table").splitlines()
    assert vertical == ["field  value", "id     12", "ok     true"]


def test_table_cells_on_a_terminal_are_text_never_rich_markup() -> None:
    stream = io.StringIO()
    runs = [{"id": "7", "description": "a [/x] b [bold]c", "path": "/d/[red]x"}]
    render(runs, Target(stream, True, "table"), View(title="[/y] runs"))
    text = stream.getvalue()
    assert "a [/x] b [bold]c" in text and "/d/[red]x" in text and "[/y] runs" in text
    assert "\x1b[" not in text.replace("\x1b[1m", "").replace("\x1b[0m", "")  # only the bold header
    stream = io.StringIO()
    render(runs[0], Target(stream, True, "table"))  # one record: field / value
    assert "a [/x] b [bold]c" in stream.getvalue()


def test_units() -> None:
    assert format_size(2_900_000) == "2.8 MiB" and format_size(512) == "512 B"
    assert format_size(3 * 2**40) == "3.0 TiB"
    assert format_duration(timedelta(minutes=26, seconds=21)) == "26m 21s"
    assert format_duration(7509) == "2h 05m 09s"
    assert format_bases(9_000_000) == "9.00 Mbase" and format_bases(1_348_613_600) == "1.35 Gbase"
    moment = datetime(2026, 5, 1, 12, 0, 3, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert iso_z(moment) == "2026-05-01T10:00:03Z"
    now = datetime(2026, 5, 10, tzinfo=timezone.utc)
    assert parse_moment("7d", now) == datetime(2026, 5, 3, tzinfo=timezone.utc)
    assert parse_moment("90d", now, future=True) == now + timedelta(days=90)
    assert parse_moment("2026-05-01", now) == datetime(2026, 5, 1, tzinfo=timezone.utc)
    assert iso_z(parse_moment("2026-05-01T12:00+02:00", now)) == "2026-05-01T10:00:00Z"
    with pytest.raises(ValueError, match="age"):
        parse_moment("last tuesday", now)


# --- the -o rule and the global options -----------------------------------------------------


def test_the_one_size_and_time_format_is_used_by_disk_wes_and_tiering() -> None:
    from pathlib import Path

    from genoflow.protocols.wes.wire import format_time as wes_time
    from genoflow.tiering.facts import format_time as tag_time
    from genoflow.transfer.disk import DiskFullError

    full = DiskFullError(Path("/d/x.part"), 3 * 1024**3 + 1, 512)
    assert full.one_line().endswith("needs 3.0 GiB more, 512 B free")
    naive = datetime(2026, 5, 1, 14, 3, 9, 999_999)
    paris = datetime(2026, 5, 1, 16, 3, 9, tzinfo=timezone(timedelta(hours=2)))
    assert wes_time(naive) == tag_time(naive) == iso_z(paris) == "2026-05-01T14:03:09Z"
    assert wes_time(None) is None


def test_dash_o_is_the_format_only_when_its_value_is_one() -> None:
    assert hoist_global_options(["list", "-o", "json"]) == ["-o", "json", "list"]
    assert hoist_global_options(["list", "-o", "fail"]) == ["list", "-o", "fail"]
    assert hoist_global_options(["fetch", "12", "-o", "out/12", "--output=tsv"]) == [
        "--output=tsv",
        "fetch",
        "12",
        "-o",
        "out/12",
    ]
    assert hoist_global_options(["status", "3", "--query", "[0].id", "-q"]) == [
        "--query",
        "[0].id",
        "-q",
        "status",
        "3",
    ]
    assert set(FORMATS) & {"pass", "fail"} == set()


def test_bad_format_and_env_default() -> None:
    bad = run_cli(["-o", "xml", "config", "show"])
    assert bad.exit_code == 2 and "not one of json, jsonc" in bad.stderr
    bad_env = run_cli(["config", "show"], env={"GENOFLOW_OUTPUT": "xml"})
    assert bad_env.exit_code == 2 and "GENOFLOW_OUTPUT" in bad_env.stderr
    env = run_cli(["config", "show"], env={"GENOFLOW_OUTPUT": "json"})
    assert env.exit_code == 0 and isinstance(json.loads(env.stdout)["settings"], list)
    tsv = run_cli(["config", "show", "-o", "tsv", "--query", "settings[?key=='service.url']"])
    assert tsv.stdout.splitlines()[0] == "key\tvalue\tsource"


def one_error_line(result: CliResult) -> str:
    """The single ``genoflow: error:`` line of a usage error (exit 2, nothing on stdout)."""
    assert result.exit_code == 2 and result.stdout == "", result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("genoflow: error: ") and "Traceback" not in line
    return line


# A closed port: a command that got as far as calling the service would exit 6, not 2.
CLOSED = {"GENOFLOW_SERVICE__URL": "http://127.0.0.1:1"}


@pytest.mark.parametrize(
    ("query", "where"), [("[?", "at column 2"), ("a..b", "column 2"), ('[?s=="x]', "column 5")]
)
def test_bad_query_is_refused_before_the_command_does_anything(query: str, where: str) -> None:
    line = one_error_line(run_cli(["list", "--query", query], env=CLOSED))
    assert "not valid JMESPath" in line and where in line and '--query "[?state==' in line
    assert "\n" not in line and "^" not in line  # jmespath's caret drawing is dropped


def test_dash_o_with_a_value_that_is_no_format_says_so() -> None:
    # cost has no -o of its own: -o xml stays with it (not a format), and is explained as one
    for args in (["cost", "-o", "xml"], ["cost", "--output=xml"], ["cost", "-o"]):
        line = one_error_line(run_cli(args, env=CLOSED))
        assert "output format (one of json, jsonc, table" in line, args
        assert "No such option" not in line
    # fetch has its own -o (a folder): a missing value is still about that -o
    missing = one_error_line(run_cli(["fetch", "12", "-o"]))
    assert "requires an argument" in missing and "(see 'genoflow fetch --help')" in missing
    nested = one_error_line(run_cli(["tier", "apply", "--lock-wait"]))
    assert "(see 'genoflow tier apply --help')" in nested


@pytest.mark.parametrize("flag", ["--since", "--until"])
def test_an_impossible_date_names_the_value(flag: str) -> None:
    line = one_error_line(run_cli(["list", flag, "2026-13-45"], env=CLOSED))
    assert f"{flag}: '2026-13-45' is not a date: month must be in 1..12" in line


def test_since_after_until_is_refused_before_asking_the_service() -> None:
    line = one_error_line(run_cli(["list", "--since", "7d", "--until", "30d"], env=CLOSED))
    assert "--since 7d" in line and "is after --until 30d" in line and "no run can match" in line


@pytest.mark.parametrize(
    ("args", "to_file"),
    [
        (["pipeline", "show"], False),
        (["tier", "lifecycle-policy"], True),
        (["pipeline", "job", "--fasta", "ref.fa", "-b1", "s_1.fq.gz"], True),
    ],
)
def test_files_in_other_tools_formats_refuse_a_format_rather_than_ignore_it(
    args: list[str], to_file: bool
) -> None:
    for extra in (["-o", "json"], ["--json"], ["--query", "a"]):
        line = one_error_line(run_cli([*args, *extra]))
        assert "does not apply: this command prints" in line, extra
        assert ("-o FILE writes it to FILE" in line) is to_file
    # the variable is a default for every command, not a request to this one
    shown = run_cli(["pipeline", "show"], env={"GENOFLOW_OUTPUT": "json"})
    assert shown.exit_code == 0 and shown.stdout.startswith("#!/usr/bin/env cwl-runner")


def test_quiet_silences_notices_not_errors(tmp_path: Any) -> None:
    loud = run_cli(["config", "init", str(tmp_path / "a.yaml")])
    assert "wrote" in loud.stderr
    quiet = run_cli(["config", "init", str(tmp_path / "b.yaml"), "-q"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    again = run_cli(["config", "init", str(tmp_path / "b.yaml"), "--quiet"])
    assert again.exit_code == 2 and "already exists" in again.stderr


# --- help that teaches ----------------------------------------------------------------------

PYTHON_TYPES = re.compile(
    r"<(?:list|str|int|float|bool|path|Path|Optional|dict)\b|\b(?:INTEGER|FLOAT|TEXT|BOOLEAN)\b"
    r"|\brange>|<[a-z]+\[",
)


def _commands() -> list[list[str]]:
    from genoflow.cli.app import build_app

    paths: list[list[str]] = []

    def walk(command: Any, prefix: list[str]) -> None:
        subs = getattr(command, "commands", {})
        if prefix and (not subs or getattr(command, "invoke_without_command", False)):
            paths.append(prefix)
        for name, sub in subs.items():
            walk(sub, [*prefix, name])

    walk(build_app(), [])
    return paths


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_every_command_help_has_an_example_and_no_python_types(path: list[str]) -> None:
    result = run_cli([*path, "--help"])
    assert result.exit_code == 0, result.stderr
    assert "Example" in result.stdout, f"'genoflow {' '.join(path)} --help' shows no example"
    found = PYTHON_TYPES.findall(result.stdout)
    assert not found, f"Python type names in 'genoflow {' '.join(path)} --help': {found}"


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_every_option_is_documented(path: list[str]) -> None:
    from genoflow.cli.app import build_app

    command: Any = build_app()
    for name in path:
        command = command.commands[name]
    undocumented = [
        "/".join(param.opts)
        for param in command.params
        if getattr(param, "param_type_name", "") == "option" and not param.help
    ]
    assert undocumented == [], f"genoflow {' '.join(path)}: no help for {undocumented}"


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_usage_lines_name_arguments_plainly_and_every_argument_is_explained(
    path: list[str],
) -> None:
    """``fetch [OPTIONS] ID``, ``status [ID...]``: not typer's ``{ID}`` or ``{RUN...}...``."""
    usage = run_cli([*path, "--help"]).stdout.splitlines()[0]
    assert "{" not in usage and "......" not in usage and "...]..." not in usage, usage
    from genoflow.cli.app import build_app

    command: Any = build_app()
    for name in path:
        command = command.commands[name]
    for param in command.params:
        if getattr(param, "param_type_name", "") == "argument":
            assert param.help, f"genoflow {' '.join(path)}: no help for {param.metavar}"
            assert param.metavar == param.metavar.upper(), param.metavar


def test_bare_genoflow_prints_help_on_stdout_and_exits_0() -> None:
    result = run_cli([])
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.startswith("Usage: genoflow") and "Commands:" in result.stdout
    group = run_cli(["tier"])
    assert group.exit_code == 0 and "Usage: genoflow tier" in group.stdout


def test_shell_completion_is_offered() -> None:
    result = run_cli(["--help"])
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout
