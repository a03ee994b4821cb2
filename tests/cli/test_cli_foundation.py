"""The CLI shell: help, version, global options anywhere, exit codes, secrets, start-up cost."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from genoflow import __version__
from genoflow.cli.main import hoist_global_options
from tests.harness import ROOT, run_cli

SECRET_KEY = "c2VjcmV0LWFjY291bnQta2V5LXRoYXQtbXVzdC1uZXZlci1sZWFr"
SECRET_SIG = "sig=Zm9vYmFyYmF6cXV4c2VjcmV0c2lnbmF0dXJlMTIz"
SECRET_API = "apikey-7f3a9c1e5b2d4f6a8c0e"


def _all_command_paths() -> list[list[str]]:
    from genoflow.cli.app import build_app

    root = build_app()
    paths: list[list[str]] = [[]]

    def walk(command: object, prefix: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", _all_command_paths(), ids=lambda p: " ".join(p) or "genoflow")
def test_every_command_has_help(path: list[str]) -> None:
    result = run_cli([*path, "--help"])
    assert result.exit_code == 0, result.stderr
    assert "Usage:" in result.stdout
    assert result.stderr == ""


def test_version() -> None:
    result = run_cli(["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"genoflow {__version__}"


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "genoflow", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"genoflow {__version__}"


def test_global_options_are_hoisted_from_anywhere() -> None:
    argv = ["submit", "-f", "config.txt", "-b1", "a.fq", "--json", "-d", "x", "--", "--json"]
    assert hoist_global_options(argv) == [
        "-f",
        "config.txt",
        "--json",
        "submit",
        "-b1",
        "a.fq",
        "-d",
        "x",
        "--",
        "--json",
    ]


def test_config_flag_after_subcommand(tmp_path: Path) -> None:
    config = tmp_path / "config.txt"
    config.write_text("input_storage_account_container: fromtxt\n")
    result = run_cli(["config", "show", "-f", str(config), "--json"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    settings = {item["key"]: item for item in shown["settings"]}
    assert settings["storage.input_container"]["value"] == "fromtxt"
    assert shown["file"] == str(config)


def test_unknown_command_and_option_are_usage_errors() -> None:
    result = run_cli(["frobnicate"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "genoflow: error:" in result.stderr
    result = run_cli(["config", "show", "--no-such-flag"])
    assert result.exit_code == 2
    assert "--no-such-flag" in result.stderr


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("storage:\n  input_container: [1\n", "malformed YAML"),
        ("storage:\n  input_contaner: x\n", "storage.input_contaner"),
        ("service:\n  timeout: soon\n", "service.timeout: must be a number"),
    ],
)
def test_bad_config_is_one_line_exit_2_and_debug_shows_traceback(
    tmp_path: Path, text: str, needle: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    result = run_cli(["-f", str(config), "config", "show"])
    assert result.exit_code == 2
    assert needle in result.stderr and str(config) in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    debug = run_cli(["--debug", "-f", str(config), "config", "show"])
    assert debug.exit_code == 2
    assert "Traceback" in debug.stderr


def test_missing_required_value_is_one_line_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "genoflow.yaml"
    config.write_text("service:\n  protocol: wes\n")
    result = run_cli(["config", "check"], cwd=tmp_path)
    assert result.exit_code == 2
    assert "service.url is required" in result.stdout
    assert "no storage account configured" in result.stdout


def test_config_init_is_private_and_refuses_to_overwrite(tmp_path: Path) -> None:
    result = run_cli(["config", "init"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    written = tmp_path / "genoflow.yaml"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    written.write_text("# mine\n")
    again = run_cli(["config", "init"], cwd=tmp_path)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert written.read_text() == "# mine\n"
    forced = run_cli(["config", "init", "--force"], cwd=tmp_path)
    assert forced.exit_code == 0
    assert "service:" in written.read_text()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_no_command_prints_a_secret(tmp_path: Path) -> None:
    config = tmp_path / "genoflow.yaml"
    config.write_text(
        "service:\n  url: http://127.0.0.1:9\n  retry: {attempts: 1}\n"
        "storage:\n  account_name: leaktest\n  account_url: http://127.0.0.1:9/leaktest\n"
        "  retry: {attempts: 1}\n"
    )
    env = {
        "GENOFLOW_STORAGE__SAS_TOKEN": f"?sv=2024-08-04&ss=b&sp=r&{SECRET_SIG}",
        "GENOFLOW_SERVICE__API_KEY": SECRET_API,
    }
    runs = [
        run_cli(["config", "show"], env=env, cwd=tmp_path),
        run_cli(["--json", "config", "show"], env=env, cwd=tmp_path),
        run_cli(["-v", "--debug", "config", "check"], env=env, cwd=tmp_path),
    ]
    key_env = {"GENOFLOW_STORAGE__ACCOUNT_KEY": SECRET_KEY, "GENOFLOW_SERVICE__API_KEY": SECRET_API}
    runs += [
        run_cli(["config", "show"], env=key_env, cwd=tmp_path),
        run_cli(["--debug", "config", "check"], env=key_env, cwd=tmp_path),
        # a secret in a bad value must not be echoed back either
        run_cli(
            ["config", "show"],
            env={**key_env, "GENOFLOW_STORAGE__SAS_TOKEN": SECRET_SIG},
            cwd=tmp_path,
        ),
    ]
    assert runs[0].exit_code == 0 and "service.api_key" in runs[0].stdout
    assert runs[-1].exit_code == 2
    sig_value = SECRET_SIG.split("=", 1)[1]
    for result in runs:
        for secret in (SECRET_KEY, sig_value, SECRET_API):
            assert secret not in result.stdout
            assert secret not in result.stderr


def test_cli_start_up_imports_no_heavy_modules() -> None:
    code = (
        "import sys, genoflow.cli, genoflow.cli.main\n"
        "from genoflow.cli.app import build_app\n"
        "build_app()\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('azure', 'requests', 'fastapi', 'cwltool', 'uvicorn', 'pysam')]\n"
        "print(','.join(sorted(heavy)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENOFLOW_")}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout.strip() == ""
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "genoflow.cli" in imported  # importtime really ran
    assert not any(
        name.startswith(("azure", "requests", "fastapi", "cwltool")) for name in imported
    )
