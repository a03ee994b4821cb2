"""Errors about the local machine (paths, ports, flag values): one line, exit 2, no traceback."""
# The server test runs the real CLI in a child process: it must fail before serving anything.

from __future__ import annotations

import socket
from pathlib import Path

from tests.harness import run_cli, run_cli_subprocess


def test_an_unwritable_output_path_is_a_one_line_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "policy.json"
    result = run_cli(["tier", "lifecycle-policy", "-o", str(target)], cwd=tmp_path)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and str(target.parent) in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_a_path_through_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "reads.fq").write_text("@r\n")
    result = run_cli(["config", "init", str(tmp_path / "reads.fq" / "genoflow.yaml")], cwd=tmp_path)
    assert result.exit_code == 2, result.stderr
    assert "reads.fq" in result.stderr and "internal error" not in result.stderr


def test_negative_wait_timeout_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    result = run_cli(["wait", "1", "--timeout", "-1", "-u", "http://127.0.0.1:9"], cwd=tmp_path)
    assert result.exit_code == 2 and "--timeout" in result.stderr


def test_server_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli_subprocess(
            ["server", "--port", str(port), "--data-dir", str(tmp_path / "data")], timeout=60
        )
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"genoflow: error: port {port} on 127.0.0.1 is in use (choose another with --port "
        "(or 'port:' in server.yaml), or stop what holds it)\n"
    )


def test_an_http_account_url_without_a_key_says_which_settings_lead_there(tmp_path: Path) -> None:
    """Not just the SDK's "Token credential is only supported with HTTPS"."""
    (tmp_path / "reads_1.fq").write_text("@r\nACGT\n+\nIIII\n")
    env = {
        "GENOFLOW_STORAGE__ACCOUNT_URL": "http://127.0.0.1:9/devstoreaccount1",
        "GENOFLOW_STORAGE__ACCOUNT_NAME": "devstoreaccount1",
    }
    result = run_cli(["upload", str(tmp_path / "reads_1.fq")], env=env, cwd=tmp_path)
    assert result.exit_code == 2 and result.stdout == "", result.stderr
    [line] = result.stderr.splitlines()
    assert "no storage.account_key, sas_token or connection_string is set" in line
    assert "https://" in line and "Traceback" not in line
