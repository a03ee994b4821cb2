"""`genoflow local up|status|down` with real processes: Azurite, the server and a running engine."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from genoflow.local import LocalStack
from genoflow.local.demo import demo_data, ensure_reference
from tests.cli.schemas import schema_errors
from tests.harness import run_cli_subprocess

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A fresh project directory; whatever the test leaves running is stopped afterwards."""
    yield tmp_path
    LocalStack(tmp_path / ".genoflow", tmp_path / "genoflow.yaml").down()


def cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"GENOFLOW_STATE_DIR": str(project / "state")}
    return run_cli_subprocess(list(args), env=env, cwd=project, timeout=120)


def service_tree(pid: int) -> list[psutil.Process]:
    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def command_line(process: psutil.Process) -> str:
    """The process's command line; "" once it has exited (a zombie has none to read)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def wait_for_engine(server_pid: int, timeout: float = 60.0) -> list[psutil.Process]:
    """The server's descendants once the pipeline (cwltool and its tools) is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tree = service_tree(server_pid)
        names = {command_line(p) for p in tree[1:]}
        if any("cwltool" in name for name in names) and any("bwa" in n for n in names):
            return tree
        time.sleep(0.2)
    raise AssertionError("the server never started the pipeline")


def processes_mentioning(directory: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        command = " ".join(process.info["cmdline"] or [])
        if str(directory) in command and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(command)
    return found


def test_up_status_up_again_down_leaves_no_process(project: Path) -> None:
    first = cli(project, "local", "up")
    assert first.returncode == 0, first.stderr
    assert "local stack started" in first.stderr
    config = project / "genoflow.yaml"
    assert config.stat().st_mode & 0o777 == 0o600
    assert (project / ".genoflow" / "api-key").stat().st_mode & 0o777 == 0o600

    status = cli(project, "--json", "local", "status")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert not schema_errors("local status", report)
    services = {s["name"]: s for s in report["services"]}
    assert report["state"] == "up" and set(services) == {"azurite", "server"}
    assert services["azurite"]["url"].startswith("http://127.0.0.1:")
    assert services["azurite"]["url"].endswith("/devstoreaccount1")
    assert all(s["healthy"] and psutil.pid_exists(s["pid"]) for s in services.values())
    assert services["server"]["url"] in config.read_text()

    again = cli(project, "local", "up")
    assert again.returncode == 0 and "already up" in again.stderr
    assert json.loads(cli(project, "--json", "local", "status").stdout) == report  # same pids

    # A run in progress, so that the server has an engine process group to leave behind.
    stack = LocalStack(project / ".genoflow", config)
    # Enough reads that the pipeline is still aligning for many seconds when 'down' comes.
    data, _ = demo_data(project / "data", read_pairs=150_000, info=lambda _: None)
    ensure_reference(stack, data.reference)
    submitted = cli(project, "submit", "-b1", str(data.fastq_r1), "-b2", str(data.fastq_r2))
    assert submitted.returncode == 0, submitted.stderr
    processes = wait_for_engine(services["server"]["pid"])
    processes += service_tree(services["azurite"]["pid"])

    down = cli(project, "local", "down")
    assert down.returncode == 0, down.stderr
    assert "stopped: server, azurite" in down.stderr
    gone, alive = psutil.wait_procs(processes, timeout=5)
    alive = [p for p in alive if command_line(p)]  # exited but not yet reaped: gone too
    assert not alive, [command_line(p) for p in alive]
    assert len(gone) >= 4  # azurite, server, cwltool, bwa at least
    assert not processes_mentioning(project)  # nothing of the stack's, under any parent
    logs = "".join(p.read_text() for p in (project / ".genoflow").glob("*.log"))
    assert "sig=" not in logs  # the run's SAS URLs went through Azurite and the server

    after = cli(project, "--json", "local", "status")
    assert after.returncode == 6 and json.loads(after.stdout)["state"] == "down"
    assert "not running" in cli(project, "local", "down").stderr

    # Up again: the same URLs (the config and the submit journal name them).
    assert cli(project, "local", "up").returncode == 0
    try:
        restarted = json.loads(cli(project, "--json", "local", "status").stdout)
        urls = {s["name"]: s["url"] for s in restarted["services"]}
        assert urls == {name: s["url"] for name, s in services.items()}
    finally:
        assert cli(project, "local", "down").returncode == 0


def test_up_refuses_to_overwrite_a_config_it_did_not_write(project: Path) -> None:
    config = project / "genoflow.yaml"
    config.write_text("service:\n  url: https://genomics.example.org\n")
    result = cli(project, "local", "up")
    assert result.returncode == 2
    assert "was not written by 'genoflow local up'" in result.stderr
    assert config.read_text() == "service:\n  url: https://genomics.example.org\n"


def test_a_reused_pid_is_not_taken_for_the_service(project: Path) -> None:
    """A pid file naming a live process with another start time (pid reuse) means 'down'."""
    root = project / ".genoflow"
    root.mkdir()
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = {"pid": stranger.pid, "started": 1.0, "command": ["azurite-blob"]}
        (root / "azurite.pid").write_text(json.dumps(record))
        (root / "stack.json").write_text(json.dumps({"azurite": 1, "server": 2}))
        stack = LocalStack(root, project / "genoflow.yaml")
        assert not stack.status().service("azurite").running
        assert stack.down().stopped == []
        assert stranger.poll() is None  # never signalled
    finally:
        stranger.kill()
        stranger.wait()
