"""A live `genoflow server` (a real subprocess, real HTTP) wired to the session's Azurite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from genoflow.demo import DemoData, simulate
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, free_port
from tests.server.inproc import inproc  # noqa: F401 - the in-process server fixture

API_KEY = "test-api-key-5d1f0c9e7a3b"
SECOND_KEY = "test-api-key-rotated-2b8e"
REFERENCE = "demo"


@dataclass
class LiveServer:
    data_dir: Path
    port: int
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    api_key: str = API_KEY
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        log = self.log_path.with_suffix(f".{len(self.logs)}.log")
        self.logs.append(log)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "genoflow",
                "-v",
                "-f",
                str(self.data_dir / "server.yaml"),
                "server",
                "--port",
                str(self.port),
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/health", timeout=1)
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError("server did not answer /health in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL the server alone (its engine process groups survive, as in a real crash)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.logs if path.exists())

    def client_env(self, azurite: Azurite, protocol: str = "msgenomics") -> dict[str, str]:
        return {
            **azurite.env(),
            "GENOFLOW_SERVICE__URL": self.url,
            "GENOFLOW_SERVICE__PROTOCOL": protocol,
            "GENOFLOW_SERVICE__API_KEY": self.api_key,
            "GENOFLOW_SERVICE__POLL_INTERVAL": "0.5",
            "GENOFLOW_SERVICE__POLL_MAX_INTERVAL": "2",
            "GENOFLOW_WORKFLOW__REFERENCE": REFERENCE,
            "GENOFLOW_WORKFLOW__PROCESS_ARGS": f"R={REFERENCE}",
        }


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    """A small simulated sample with known SNVs and indels (deterministic)."""
    return simulate(
        tmp_path_factory.mktemp("demo"),
        seed=11,
        reference_length=120_000,
        coverage=30,
        snvs=120,
        indels=30,
    )


def write_server_config(data_dir: Path, azurite: Azurite, demo: DemoData, **extra: object) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "data_dir": str(data_dir),
        "api_keys": [API_KEY, SECOND_KEY],
        "threads": 2,
        "references": {},
        "storage_endpoints": {AZURITE_ACCOUNT: azurite.account_url},
        **extra,
    }
    (data_dir / "server.yaml").write_text(yaml.safe_dump(config))
    from genoflow.server.references import ReferenceRegistry, add_reference

    root = data_dir / "references"
    add_reference(ReferenceRegistry(root, {}), root, REFERENCE, demo.reference)


def make_server(data_dir: Path, azurite: Azurite, demo: DemoData, **extra: object) -> LiveServer:
    write_server_config(data_dir, azurite, demo, **extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENOFLOW_", "AZURE_"))}
    return LiveServer(data_dir=data_dir, port=free_port(), log_path=data_dir / "server", env=env)


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, azurite: Azurite, demo_data: DemoData
) -> Iterator[LiveServer]:
    server = make_server(tmp_path_factory.mktemp("server"), azurite, demo_data)
    server.start()
    yield server
    server.stop()
    log = server.log_text()
    for secret in (API_KEY, SECOND_KEY, AZURITE_KEY):
        assert secret not in log
    assert "sig=" not in log.replace("sig=***", "")
