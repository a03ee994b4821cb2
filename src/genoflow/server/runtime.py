"""Wiring the server together and serving it with uvicorn."""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genoflow.errors import UsageError
from genoflow.server.config import ServerConfig
from genoflow.server.connections import protocol_with_deadline
from genoflow.server.identity import service_id
from genoflow.server.references import ReferenceRegistry
from genoflow.server.scheduler import Execute, Scheduler
from genoflow.server.service import RunService
from genoflow.server.store import RunStore

log = logging.getLogger(__name__)


@dataclass
class Server:
    config: ServerConfig
    store: RunStore
    scheduler: Scheduler
    service: RunService

    def app(self) -> Any:
        from genoflow.server.app import create_app

        return create_app(
            self.service,
            api_keys=self.config.api_keys,
            max_request_bytes=self.config.max_request_bytes,
            allow_custom_workflows=self.config.allow_custom_workflows,
            engine=self.config.engine,
        )


def build_server(
    config: ServerConfig, executor: Execute | None = None, store: RunStore | None = None
) -> Server:
    """The server's parts; ``executor`` and ``store`` replace the real ones in tests (e.g. a
    ``StubExecutor``, a store whose disk fills up)."""
    from genoflow.server.executor import RunExecutor

    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = store or RunStore(config.database, work_root=config.work_root)
    references = ReferenceRegistry(config.reference_root, config.references)
    if executor is None:
        executor = RunExecutor(config, store, references)
    scheduler = Scheduler(
        store,
        executor,
        max_concurrent=config.max_concurrent_runs,
        workdir_of=lambda run_id: (config.work_root / str(run_id)).resolve(),
        release_leftovers=_batch_job_release(config),
    )
    service = RunService(
        store,
        scheduler,
        references,
        tenant_id=config.tenant_id,
        endpoint_for=config.endpoint_for,
        service_id=service_id(config.data_dir),
        log_root=config.log_root,
    )
    return Server(config=config, store=store, scheduler=scheduler, service=service)


def _batch_job_release(config: ServerConfig) -> Callable[[Sequence[Path]], object] | None:
    """On Slurm: cancel the jobs of the runs a dead server left behind (found by work dir),
    all at once, in the environment the executor gives the engine."""
    from genoflow.server import batch

    if config.engine != "toil" or not batch.is_slurm(config.toil):
        return None
    return lambda workdirs: batch.cancel_slurm_jobs_of(
        workdirs, batch.slurm_environment(config.toil, os.environ)
    )


def route_server_logs() -> None:
    """uvicorn's and the server's logs go through genoflow's redacting handler, at INFO."""
    handlers = logging.getLogger("genoflow").handlers
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(logging.INFO)
        logger.propagate = False
    server_logger = logging.getLogger("genoflow.server")
    if server_logger.getEffectiveLevel() > logging.INFO:
        server_logger.setLevel(logging.INFO)


def serve(config: ServerConfig) -> None:
    """Run until SIGINT/SIGTERM; in-flight runs are stopped and re-queued on the next start."""
    import uvicorn

    route_server_logs()
    listening = bind_socket(config.host, config.port)  # fails before anything starts
    server = build_server(config)
    server.scheduler.start()
    uv_config = uvicorn.Config(
        server.app(),
        host=config.host,
        port=config.port,
        log_config=None,
        access_log=True,
        lifespan="on",
        http=protocol_with_deadline(config.request_timeout_seconds),
        timeout_keep_alive=config.keep_alive_seconds,
        limit_concurrency=config.max_connections,
    )
    uv_server = uvicorn.Server(uv_config)
    log.warning(
        "genoflow server listening on http://%s:%s (data dir %s, engine %s)",
        config.host,
        config.port,
        config.data_dir,
        config.engine,
    )
    try:
        uv_server.run(sockets=[listening])
    finally:
        server.scheduler.stop()
        server.store.close()
        listening.close()


def bind_socket(host: str, port: int) -> socket.socket:
    """The server's listening socket, or a one-line UsageError saying why it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the listening
    # socket says it is TCP; without it every keep-alive answer waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = (
            "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
        )
        raise UsageError(
            f"port {port} on {host} {reason}",
            hint="choose another with --port (or 'port:' in server.yaml), or stop what holds it",
        ) from None
    sock.set_inheritable(False)
    return sock


def install_signal_exit() -> None:
    """SIGTERM behaves like Ctrl-C so that uvicorn shuts down cleanly."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
