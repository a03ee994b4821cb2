"""The #qc step's script lives once, in the packed pipeline: genoflow loads that text; it is
clean Python (ruff, as the project's own code), uses the standard library only, and holds
nothing a CWL engine would read as an expression."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from genoflow.qc import script_text, tool

ROOT = Path(__file__).resolve().parents[2]


def test_the_module_is_the_pipelines_script() -> None:
    assert tool().__file__.endswith("genoflow-pipeline.cwl#qc/qc.py")
    assert callable(tool().main) and tool().SCHEMA_VERSION == 1


def test_the_script_has_no_cwl_expression() -> None:
    text = script_text()
    assert "$(" not in text and "${" not in text


def test_the_script_imports_the_standard_library_only() -> None:
    imported = set()
    for node in ast.walk(ast.parse(script_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_the_script_passes_ruff(tmp_path: Path) -> None:
    script = tmp_path / "qc.py"
    script.write_text(script_text())
    ruff = [sys.executable, "-m", "ruff"]
    config = ["--config", str(ROOT / "pyproject.toml")]
    for check in (["check", *config, str(script)], ["format", "--check", *config, str(script)]):
        done = subprocess.run([*ruff, *check], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_script_passes_mypy_strict(tmp_path: Path) -> None:
    script = tmp_path / "qc.py"
    script.write_text(script_text())
    mypy = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run([*mypy, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path) -> None:
    """Missing --bam/--vcf, or an unknown option: one line on stderr, exit 2, no traceback;
    as the step's file and as ``python -m genoflow.qc``."""
    script = tmp_path / "qc.py"
    script.write_text(script_text())
    for command in ([sys.executable, str(script)], [sys.executable, "-m", "genoflow.qc"]):
        for args, said in (
            (["--base", "B"], "--bam and --vcf are required"),
            (["--vcf", "B.vcf.gz"], "--bam and --vcf are required"),
            (["--parse", "--bogus", "1"], "unrecognized arguments: --bogus"),
            (["--threads", "many", "--parse"], "--threads"),
        ):
            done = subprocess.run([*command, *args], capture_output=True, text=True, cwd=tmp_path)
            assert done.returncode == 2, (args, done.stderr)
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
            assert said in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.glob("*.qc.json"))
