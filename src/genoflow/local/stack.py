"""The local stack: Azurite standing in for Azure Blob, ``genoflow server`` for the service.

Everything lives under one directory (``./.genoflow`` by default)::

    stack.json            the ports in use (reused by the next ``up`` when still free)
    api-key               the server's generated API key (0600)
    azurite/              Azurite's blob data;  azurite.pid, azurite.log
    server/               the server's data dir and server.yaml (0600);  server.pid, server.log

and ``up`` writes ``./genoflow.yaml`` (0600) so that every other command talks to the stack.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from genoflow.errors import ConfigError, UnavailableError
from genoflow.local import processes
from genoflow.local.processes import PidRecord

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's published, well-known development key: not a secret, the same on every machine.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
CONFIG_MARKER = "# Written by 'genoflow local up'"
DEMO_REFERENCE = "demo"
SERVICES = ("azurite", "server")
START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    url: str | None
    pid: int | None
    running: bool
    healthy: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "pid": self.pid,
            "running": self.running,
            "healthy": self.healthy,
        }


@dataclass(frozen=True)
class StackStatus:
    root: Path
    config_file: Path
    services: tuple[ServiceStatus, ...]

    @property
    def up(self) -> bool:
        return all(service.healthy for service in self.services)

    @property
    def down(self) -> bool:
        return not any(service.running for service in self.services)

    def service(self, name: str) -> ServiceStatus:
        return next(service for service in self.services if service.name == name)

    def to_dict(self) -> dict[str, Any]:
        state = "up" if self.up else "down" if self.down else "partial"
        return {
            "state": state,
            "directory": str(self.root),
            "config": str(self.config_file),
            "services": [service.to_dict() for service in self.services],
        }


@dataclass(frozen=True)
class UpResult:
    already_up: bool
    status: StackStatus


@dataclass(frozen=True)
class DownResult:
    stopped: list[str]
    leftovers: list[int] = field(default_factory=list)  # pids that survived SIGKILL


class LocalStack:
    """Start, inspect and stop the local stack rooted at ``root``."""

    def __init__(
        self,
        root: Path = Path(".genoflow"),
        config_file: Path = Path("genoflow.yaml"),
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root.absolute()
        self.config_file = config_file.absolute()
        self._environ = dict(os.environ if environ is None else environ)

    # --- paths -----------------------------------------------------------------------------
    def pid_file(self, name: str) -> Path:
        return self.root / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.root / f"{name}.log"

    @property
    def server_dir(self) -> Path:
        return self.root / "server"

    @property
    def server_config(self) -> Path:
        return self.server_dir / "server.yaml"

    @property
    def demo_dir(self) -> Path:
        return self.root / "demo"

    # --- status ----------------------------------------------------------------------------
    def ports(self) -> dict[str, int]:
        try:
            data = json.loads((self.root / "stack.json").read_text(encoding="utf-8"))
            return {name: int(data[name]) for name in SERVICES if name in data}
        except (OSError, ValueError, TypeError):
            return {}

    def url(self, name: str, port: int | None = None) -> str | None:
        port = port or self.ports().get(name)
        if port is None:
            return None
        if name == "azurite":
            return f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        return f"http://127.0.0.1:{port}"

    def status(self) -> StackStatus:
        return StackStatus(
            self.root, self.config_file, tuple(self._service_status(name) for name in SERVICES)
        )

    def _service_status(self, name: str) -> ServiceStatus:
        record = processes.read_pid_file(self.pid_file(name))
        running = processes.live_process(record) is not None
        url = self.url(name)
        healthy = running and url is not None and _healthy(name, url)
        return ServiceStatus(
            name, url, record.pid if record and running else None, running, healthy
        )

    # --- up --------------------------------------------------------------------------------
    def up(
        self,
        *,
        azurite_port: int | None = None,
        server_port: int | None = None,
        threads: int | None = None,
        timeout: float = START_TIMEOUT_SECONDS,
    ) -> UpResult:
        """Start both services (idempotent: a healthy stack is left as it is)."""
        self._check_config_is_ours()  # before starting anything: nothing half-done
        current = self.status()
        if current.up:
            self._write_client_config()
            return UpResult(True, current)
        if not current.down:
            self.down()  # half up: restart both so that ports and configs agree
        azurite = _azurite_executable(self._environ)
        self.root.mkdir(parents=True, exist_ok=True)
        ports = self._choose_ports(azurite_port, server_port)
        (self.root / "stack.json").write_text(json.dumps(ports), encoding="utf-8")
        self._start_azurite(azurite, ports["azurite"], timeout)
        try:
            self._write_server_config(ports["server"], threads)
            self._start_server(timeout)
        except BaseException:
            self.down()
            raise
        self._write_client_config()
        return UpResult(False, self.status())

    def _choose_ports(self, azurite_port: int | None, server_port: int | None) -> dict[str, int]:
        previous = self.ports()
        chosen: dict[str, int] = {}
        for name, asked in (("azurite", azurite_port), ("server", server_port)):
            if asked is not None:
                if not _port_free(asked):
                    raise ConfigError(
                        f"port {asked} for {name} is in use",
                        hint="pick another with --azurite-port/--server-port",
                    )
                chosen[name] = asked
            elif name in previous and _port_free(previous[name]):
                chosen[name] = previous[name]  # stable URLs keep journals and configs valid
            else:
                chosen[name] = _free_port()
        return chosen

    def _start_azurite(self, executable: str, port: int, timeout: float) -> None:
        command = [
            executable,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(self.root / "azurite"),
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--loose",
            # No access log: it would hold every request URL, SAS signatures included.
            "--silent",
        ]
        (self.root / "azurite").mkdir(parents=True, exist_ok=True)
        record = processes.start_detached(
            command,
            pid_file=self.pid_file("azurite"),
            log_file=self.log_file("azurite"),
            env=self._environ,
        )
        self._await("azurite", record, str(self.url("azurite", port)), timeout)

    def _start_server(self, timeout: float) -> None:
        command = [sys.executable, "-m", "genoflow", "-v", "-f", str(self.server_config), "server"]
        env = {
            k: v
            for k, v in self._environ.items()
            if not k.startswith(("GENOFLOW_", "AZURE_STORAGE_"))
        }
        record = processes.start_detached(
            command,
            pid_file=self.pid_file("server"),
            log_file=self.log_file("server"),
            cwd=self.server_dir,
            env=env,
        )
        self._await("server", record, str(self.url("server")), timeout)

    def _await(self, name: str, record: PidRecord, url: str, timeout: float) -> None:
        if processes.wait_until(
            lambda: _healthy(name, url),
            timeout=timeout,
            alive=lambda: processes.live_process(record) is not None,
        ):
            return
        tail = _tail(self.log_file(name))
        raise UnavailableError(
            f"{name} did not start on {url}: {tail}", hint=f"see {self.log_file(name)}"
        )

    # --- configs ---------------------------------------------------------------------------
    def api_key(self) -> str:
        path = self.root / "api-key"
        if not path.is_file():
            _write_private(path, secrets.token_urlsafe(32) + "\n")
        return path.read_text(encoding="utf-8").strip()

    def _write_server_config(self, port: int, threads: int | None) -> None:
        self.server_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "host": "127.0.0.1",
            "port": port,
            "data_dir": str(self.server_dir),
            "api_keys": [self.api_key()],
            "threads": threads or os.cpu_count() or 1,
            "storage_endpoints": {AZURITE_ACCOUNT: self.url("azurite")},
        }
        _write_private(self.server_config, yaml.safe_dump(config, sort_keys=False))

    def client_config(self) -> dict[str, Any]:
        """The client settings that point at this stack (what ``genoflow.yaml`` holds)."""
        return {
            "service": {
                "protocol": "msgenomics",
                "url": self.url("server"),
                "api_key": self.api_key(),
                "poll_interval": 1.0,
                "poll_max_interval": 5.0,
            },
            "storage": {
                "account_url": self.url("azurite"),
                "account_name": AZURITE_ACCOUNT,
                "account_key": AZURITE_KEY,
            },
            "workflow": {"reference": DEMO_REFERENCE, "process_args": f"R={DEMO_REFERENCE}"},
        }

    def _check_config_is_ours(self) -> None:
        if self.config_file.exists():
            first = self.config_file.read_text(encoding="utf-8").split("\n", 1)[0]
            if not first.startswith(CONFIG_MARKER):
                raise ConfigError(
                    f"{self.config_file} exists and was not written by 'genoflow local up'",
                    hint="move it away, or pass --config-out PATH to write the stack's "
                    "client config elsewhere",
                )

    def _write_client_config(self) -> None:
        self._check_config_is_ours()
        header = (
            f"{CONFIG_MARKER} (stack in {self.root}); 'genoflow local down' stops it.\n"
            "# Rewritten by every 'local up': put your own settings in another file.\n"
        )
        body = yaml.safe_dump(self.client_config(), sort_keys=False)
        _write_private(self.config_file, header + body)

    # --- down ------------------------------------------------------------------------------
    def down(self) -> DownResult:
        """Stop the server first (it stops its engines), then Azurite; verify nothing is left."""
        stopped: list[str] = []
        leftovers: list[int] = []
        for name in reversed(SERVICES):
            record = processes.read_pid_file(self.pid_file(name))
            if processes.live_process(record) is not None:
                assert record is not None
                leftovers += processes.stop(record)
                stopped.append(name)
            self.pid_file(name).unlink(missing_ok=True)
        if leftovers:
            raise UnavailableError(
                f"processes {', '.join(map(str, leftovers))} survived SIGKILL",
                hint="they may belong to another user; check them with ps",
            )
        return DownResult(stopped)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the first byte (secrets inside)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _healthy(name: str, url: str) -> bool:
    probe = f"{url}?comp=list" if name == "azurite" else f"{url}/health"
    try:
        with urllib.request.urlopen(probe, timeout=2) as answer:
            return name == "azurite" or int(answer.status) == 200
    except urllib.error.HTTPError:
        return name == "azurite"  # Azurite answers 403 without credentials: it is up
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers bind: connections of our own health checks left in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _azurite_executable(environ: Mapping[str, str]) -> str:
    """Azurite from $GENOFLOW_AZURITE, ./node_modules, genoflow's checkout, or PATH."""
    checkout = Path(__file__).resolve().parents[3]
    candidates = [
        environ.get("GENOFLOW_AZURITE") or "",
        str(Path.cwd() / "node_modules" / ".bin" / "azurite-blob"),
        str(checkout / "node_modules" / ".bin" / "azurite-blob"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("azurite-blob", path=environ.get("PATH"))
    if found:
        return found
    raise ConfigError(
        "Azurite (azurite-blob) is not installed",
        hint="in the genoflow checkout run 'make node-tools' (npm ci), or 'npm install azurite' "
        "here, or set GENOFLOW_AZURITE to the azurite-blob executable",
    )


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    from genoflow.redact import redact

    return redact(" | ".join(text[-lines:])) or "no output"
