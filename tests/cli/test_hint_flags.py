"""Every flag a hint or error names exists on the command that prints it.

Three nets, each checked against the command's own options (read from the click tree):
* static, CLI layer: the hint/error/notice strings of every function a command's callback reaches
  in its own module (module constants included);
* static, everywhere: a quoted ``'genoflow CMD ... --flag'`` in any string of the package names
  an existing command and one of its options;
* dynamic: commands driven into their common failures (no service, no storage account, a
  clash with an existing blob or file, bad values) against Azurite, and the flags in the
  printed error line checked.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genoflow.cli.app import build_app
from tests.harness import Azurite, run_cli

SRC = Path(__file__).resolve().parents[2] / "src" / "genoflow"
GLOBAL = frozenset({"-f", "--config", "--json", "-v", "--verbose", "--debug", "-h", "--help"})
FLAG = re.compile(r"(?:^|(?<=[\s'\"(/,=]))(--?[A-Za-z][\w-]*)")
COMMAND_CALL = re.compile(r"\bgenoflow((?:\s+[a-z][a-z-]*)+)")
MESSAGE_CALLS = ("info", "_fail", "one_line")


def leaf_commands() -> dict[str, Any]:
    """'submit', 'tier plan', ... -> the click command (typer's own copy of click: duck-typed).
    Groups ('tier') are listed too: a hint may name one."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: str) -> None:
        if hasattr(command, "commands"):
            if path:
                found[path] = command
            for name, child in command.commands.items():
                walk(child, f"{path} {name}".strip())
        else:
            found[path] = command

    walk(build_app(), "")
    return found


COMMANDS = leaf_commands()


def options_of(command: Any) -> set[str]:
    names: set[str] = set(GLOBAL)
    for param in command.params:
        if param.param_type_name == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def resolve(words: str) -> str | None:
    """The longest command path at the start of ``words`` ('tier plan --as-of' -> 'tier plan')."""
    parts = words.split()
    for size in range(len(parts), 0, -1):
        path = " ".join(parts[:size])
        if path in COMMANDS:
            return path
    return None


def named_flags(text: str, command: str | None) -> Iterator[tuple[str, str | None]]:
    """(flag, the command it must belong to; None: another program's flag) for each flag named.

    A quoted stretch that starts with 'genoflow X' is X's; one that starts with 'az ' is Azure
    CLI's; everything else belongs to ``command``."""
    for index, segment in enumerate(re.split(r"'", text)):
        owner = command if index % 2 == 0 else _owner(segment, command)
        if index % 2 == 0 and "az storage" in segment:
            owner = None  # an unquoted az command line in a hint (the rehydration hint)
        for flag in FLAG.findall(segment):
            yield flag, owner


def _owner(quoted: str, command: str | None) -> str | None:
    text = quoted.strip()
    if text.startswith("az "):
        return None
    match = COMMAND_CALL.match(text)
    if match:
        return resolve(match.group(1)) or f"<unknown command: genoflow{match.group(1)}>"
    return command


def wrong_flags(text: str, command: str) -> list[str]:
    quoted = (COMMAND_CALL.match(q) for q in re.findall(r"'(genoflow [^']*)'", text))
    problems = [
        f"no command 'genoflow{m.group(1)}' (in {text!r})"
        for m in quoted
        if m is not None and resolve(m.group(1)) is None
    ]
    for flag, owner in named_flags(text, command):
        if owner is None:
            continue
        if owner in COMMANDS and flag not in options_of(COMMANDS[owner]):
            problems.append(f"'genoflow {owner}' has no {flag} (in {text!r})")
    return problems


# --- static: the CLI layer ----------------------------------------------------------------


class ModuleStrings:
    """Message strings per function of one module, and which functions each function calls."""

    def __init__(self, path: Path) -> None:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        self.constants = {
            target.id: node.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        self.functions = {
            node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)
        }

    def text(self, node: ast.AST | None) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(
                self.text(value) if isinstance(value, ast.Constant) else "{}"
                for value in node.values
            )
        if isinstance(node, ast.BinOp):
            return self.text(node.left) + self.text(node.right)
        if isinstance(node, ast.IfExp):
            return self.text(node.body) + " | " + self.text(node.orelse)
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.text(self.constants[node.id])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return self.text(node.func.value)  # "...".format(...)
        return ""

    def messages(self, name: str) -> list[str]:
        found = []
        for node in ast.walk(self.functions[name]):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "hint":
                    found.append(self.text(keyword.value))
            callee = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if node.args and (callee.endswith("Error") or callee in MESSAGE_CALLS):
                found.append(self.text(node.args[0]))
        return [text for text in found if text]

    def reachable(self, start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name in seen or name not in self.functions:
                continue
            seen.add(name)
            for node in ast.walk(self.functions[name]):
                if isinstance(node, ast.Name) and node.id in self.functions:
                    todo.append(node.id)
        return seen


def cli_messages() -> Iterator[tuple[str, str]]:
    modules: dict[str, ModuleStrings] = {}
    for path, command in COMMANDS.items():
        callback = getattr(command.callback, "__wrapped__", command.callback)
        if callback is None or not callback.__module__.startswith("genoflow.cli"):
            continue
        source = Path(inspect.getfile(importlib.import_module(callback.__module__)))
        strings = modules.setdefault(callback.__module__, ModuleStrings(source))
        for function in strings.reachable(callback.__name__):
            for text in strings.messages(function):
                yield path, text


def test_cli_hints_name_only_the_commands_own_flags() -> None:
    collected = list(cli_messages())
    commands = {command for command, _ in collected}
    assert {"submit", "upload", "download", "tier apply", "config init"} <= commands
    assert any("--force" in text for command, text in collected if command == "submit")
    problems = [p for command, text in collected for p in wrong_flags(text, command)]
    assert problems == [], "\n".join(problems)


def test_quoted_genoflow_commands_anywhere_name_existing_flags() -> None:
    quoted = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                quoted += re.findall(r"'(genoflow [^']*)'", node.value)
    assert len(quoted) >= 5  # the net catches something
    problems = [p for text in quoted for p in wrong_flags(f"'{text}'", "<none>")]
    assert problems == [], "\n".join(problems)


def test_the_checker_catches_a_wrong_flag() -> None:
    assert wrong_flags("pass --overwrite to replace it", "submit")
    assert wrong_flags("see 'genoflow tier plan --nope'", "submit")
    assert wrong_flags("see 'genoflow frobnicate'", "submit")
    assert not wrong_flags("choose another --prefix, or -of", "submit")
    assert not wrong_flags("run 'az storage blob set-tier --tier Hot' first", "fetch")


# --- dynamic: the errors commands print ------------------------------------------------------


def _env(azurite: Azurite, name: str, tmp: Path) -> dict[str, str]:
    return {
        **azurite.env(),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": name + "-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": name + "-out",
        "GENOFLOW_STATE_DIR": str(tmp / "state"),
    }


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("genoflow: error:")]
    assert lines, stderr
    return lines[-1]


@pytest.mark.azurite
def test_printed_errors_name_only_the_commands_own_flags(
    azurite: Azurite, unique_name: str, tmp_path: Path
) -> None:
    env = _env(azurite, unique_name, tmp_path)
    fastq = tmp_path / "S_1.fq.gz"
    other = tmp_path / "other" / "S_1.fq.gz"
    other.parent.mkdir()
    import gzip

    fastq.write_bytes(gzip.compress(b"@r1\nACGT\n+\nIIII\n"))
    other.write_bytes(gzip.compress(b"@r2\nTTTT\n+\nIIII\n"))
    assert run_cli(["upload", str(fastq)], env=env).exit_code == 0
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "S_1.fq.gz").write_bytes(b"something else")
    (tmp_path / "genoflow.yaml").write_text("storage: {}\n")
    no_service = {k: v for k, v in env.items()}
    scenarios: list[tuple[str, list[str], dict[str, str]]] = [
        ("submit", ["submit", "-b1", str(fastq), "-b2", str(fastq)], env),
        ("submit", ["submit", "-b1", str(fastq)], env),
        ("submit", ["submit", "-b1", str(other), "-b2", str(other), "--prefix", ""], env),
        ("submit", ["submit", "-b1", str(fastq), "-b2", str(other), "-rg", "RG"], env),
        ("submit", ["submit", "--samples", str(tmp_path / "genoflow.yaml")], env),
        ("upload", ["upload", str(other)], env),
        ("upload", ["upload", str(fastq), "--tier", "Archive"], env),
        (
            "download",
            ["download", "S_1.fq.gz", "-c", unique_name + "-in", "-o", str(tmp_path / "dl")],
            env,
        ),
        ("fetch", ["fetch", "1"], no_service),
        ("fetch", ["fetch", "1", "--only", "cram"], no_service),
        ("logs", ["logs", "1"], no_service),
        ("tier plan", ["tier", "plan", "--as-of", "someday"], no_service),
        ("tier apply", ["tier", "apply", "--as-of", "2999-01-01"], no_service),
        ("cost", ["cost"], no_service),
        ("config init", ["config", "init", str(tmp_path / "genoflow.yaml")], env),
        ("config check", ["config", "check"], no_service),
        ("status", ["status"], no_service),
        ("list", ["list"], no_service),
    ]
    problems: list[str] = []
    flagged = 0
    for command, args, scenario_env in scenarios:
        result = run_cli(args, env=scenario_env)
        if command == "config check":  # one line per check, not an error line
            text = result.stdout
        else:
            assert result.exit_code != 0, (args, result.output)
            text = _error_line(result.stderr)
        problems += wrong_flags(text, command)
        flagged += any(True for _ in named_flags(text, command))
    assert flagged >= 8, "the scenarios should reach hints that name flags"
    assert problems == [], "\n".join(problems)
