"""Test harness: a real Azurite emulator, and the CLI run in-process with captured output.

Azurite is the npm package pinned in package.json, installed project-locally by `make test`
(node_modules/.bin/azurite-blob). Each session gets its own free loopback port and data dir.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
AZURITE_ACCOUNT = "devstoreaccount1"
# The emulator's published, well-known development key (not a secret).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def azurite_executable() -> str:
    local = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    found = shutil.which("azurite-blob")
    if found:
        return found
    raise RuntimeError("azurite-blob not found: run 'make test' (it runs 'npm ci') first")


@dataclass
class Azurite:
    """A running Azurite blob service."""

    port: int
    process: subprocess.Popen[bytes]
    data_dir: Path

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={self.account_url};"
        )

    def env(self) -> dict[str, str]:
        """Environment variables that point genoflow at this emulator."""
        return {
            "GENOFLOW_STORAGE__ACCOUNT_URL": self.account_url,
            "GENOFLOW_STORAGE__ACCOUNT_NAME": AZURITE_ACCOUNT,
            "GENOFLOW_STORAGE__ACCOUNT_KEY": AZURITE_KEY,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_azurite(data_dir: Path, port: int | None = None, timeout: float = 30.0) -> Azurite:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "azurite.log").open("wb")
    process = subprocess.Popen(
        [
            azurite_executable(),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(data_dir),
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--loose",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    azurite = Azurite(port=port, process=process, data_dir=data_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"azurite exited with {process.returncode}; see {data_dir}/azurite.log"
            )
        if _answers(azurite.account_url):
            return azurite
        time.sleep(0.2)
    azurite.stop()
    raise RuntimeError(f"azurite did not answer on port {port} within {timeout}s")


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "?comp=list", timeout=1)
    except urllib.error.HTTPError:
        return True  # any HTTP answer (403 without auth) means it is up
    except OSError:
        return False
    return True


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted on ``path`` (created) for the block, then unmounted;
    the test is skipped where mounting is not allowed (it needs root)."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    answer = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if answer.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {answer.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def run_cli(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    clear_env: bool = True,
) -> CliResult:
    """Run the genoflow CLI in-process, capturing stdout, stderr and the exit code.

    By default the GENOFLOW_* / AZURE_STORAGE_* variables of the outer environment are dropped,
    so that a developer's own settings cannot leak into a test.
    """
    from genoflow.cli.main import run

    base = {
        k: v
        for k, v in os.environ.items()
        if not (clear_env and k.startswith(("GENOFLOW_", "AZURE_STORAGE_")))
    }
    base.update(env or {})
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ, base, clear=True))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        if cwd is not None:
            stack.enter_context(
                contextlib.chdir(cwd) if hasattr(contextlib, "chdir") else _chdir(cwd)
            )
        code = run(list(args))
    return CliResult(exit_code=code, stdout=out.getvalue(), stderr=err.getvalue())


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def run_cli_subprocess(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m genoflow`` in a child process (for kill tests and real CLI start-up)."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("GENOFLOW_", "AZURE_STORAGE_"))
    }
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "genoflow", *args],
        env=base,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
