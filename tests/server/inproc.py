"""The server in-process: ``create_app`` under a FastAPI ``TestClient``, a real RunStore in
tmp_path, the real Scheduler and a :class:`StubExecutor` (no subprocess, no engine, no storage).

Use the ``inproc`` fixture (registered in tests/server/conftest.py) or :func:`start_inproc`.
Requests carry the API key (auth stays on); :meth:`InProc.anonymous` gives a client without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from genoflow.model.submission import InputKind, PipelineOptions, SubmitRequest, key_mark
from genoflow.protocols.msgenomics import wire as msgen_wire
from genoflow.protocols.wes import wire as wes_wire
from genoflow.server.config import ServerConfig
from genoflow.server.runtime import Server, build_server
from genoflow.server.store import RunStore
from genoflow.server.stub import StubExecutor

API_KEY = "inproc-api-key-7c2e91d4"
REFERENCE = "demo"
MSGEN = "/api/workflows/"
WES = "/ga4gh/wes/v1/runs"


@dataclass
class InProc:
    server: Server
    stub: StubExecutor
    client: TestClient
    data_dir: Path

    @property
    def store(self) -> RunStore:
        return self.server.store

    def anonymous(self) -> TestClient:
        return TestClient(self.server.app())

    def restart(self) -> None:
        """Stop the scheduler and store, then build and start them again on the same data dir."""
        self.server.scheduler.stop()
        self.server.store.close()
        self.server = build_server(self.server.config, executor=self.stub)
        self.server.scheduler.start()
        self.client = _client(self.server)

    def submit_msgen(self, request: SubmitRequest, description: str = "sample S") -> Any:
        text = (
            f"{description} {key_mark(request.submission_key)}"
            if request.submission_key
            else description
        )
        body = msgen_wire.submit_body_from_request(request, text)
        return self.client.post(
            MSGEN, content=body.to_json(), headers={"Content-Type": "application/json"}
        )

    def submit_wes(self, request: SubmitRequest) -> Any:
        form = wes_wire.run_request_from_submit(request, "snapgatk").to_form()
        return self.client.post(WES, data=form)

    def wait_state(self, run_id: int | str, *states: str, timeout: float = 10.0) -> bool:
        return wait_for(lambda: self.store.get(int(run_id)).state.value in states, timeout)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


def sample_request(
    key: str | None = None, sample: str = "S1", sig: str = "SECRETSIG"
) -> SubmitRequest:
    """A valid paired-FASTQ request for the ``demo`` reference, SAS tokens holding ``sig``."""
    names = (f"{sample}_1.fq.gz", f"{sample}_2.fq.gz")
    return SubmitRequest(
        sample=sample,
        kind=InputKind.FASTQ,
        reads_1=(names[0],),
        reads_2=(names[1],),
        options=PipelineOptions(
            process="snapgatk", process_args=f"R={REFERENCE}", description=f"sample {sample}"
        ),
        input_account="myaccount",
        input_container="inputs",
        output_account="myaccount",
        output_container="outputs",
        input_sas={n: f"sv=2023-11-03&sr=b&sp=r&sig={sig}" for n in names},
        output_sas=f"sv=2023-11-03&sr=c&sp=rwd&sig={sig}",
        submission_key=key,
    )


def inproc_config(data_dir: Path, **extra: Any) -> ServerConfig:
    fasta = data_dir / "demo.fa"
    data_dir.mkdir(parents=True, exist_ok=True)
    fasta.write_text(">chr1\nACGT\n")
    return ServerConfig(
        data_dir=data_dir, api_keys=[API_KEY], references={REFERENCE: fasta}, **extra
    )


def _client(server: Server) -> TestClient:
    return TestClient(server.app(), headers={"Ocp-Apim-Subscription-Key": API_KEY})


def start_inproc(
    data_dir: Path,
    stub: StubExecutor | None = None,
    store: Callable[[ServerConfig], RunStore] | None = None,
    **extra: Any,
) -> InProc:
    """``store``: makes the run store from the config (e.g. a store whose disk fills up)."""
    stub = stub or StubExecutor()
    config = inproc_config(data_dir, **extra)
    server = build_server(config, executor=stub, store=store(config) if store else None)
    server.scheduler.start()
    return InProc(server=server, stub=stub, client=_client(server), data_dir=data_dir)


@pytest.fixture
def inproc(tmp_path: Path) -> Iterator[InProc]:
    running = start_inproc(tmp_path / "server")
    yield running
    running.stub.release()
    running.server.scheduler.stop(timeout=5)
    running.server.store.close()
