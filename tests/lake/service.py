"""A real genoflow server (API, run store, scheduler, wire) served over real HTTP in a thread,
whose executor "runs" a sample by recording the outputs a test or bench published for it: runs
with recorded outputs in seconds, for the lake's tests and bench (no pipeline)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from genoflow.config.schema import Protocol, ServiceConfig
from genoflow.model.outputs import RunOutput
from genoflow.model.runs import Run, RunState
from genoflow.protocols import ServiceClient, open_client
from genoflow.server.scheduler import Outcome, RunFailure
from genoflow.server.store import StoredRun
from genoflow.storage import BlobStore
from tests.harness import free_port
from tests.server.inproc import API_KEY


@dataclass
class PlannedExecutor:
    """The server's executor: a run of sample S succeeds with the outputs planned for S (or
    fails, for a sample planned to fail)."""

    outputs: dict[str, tuple[RunOutput, ...]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)

    def __call__(self, run: StoredRun, cancel: threading.Event) -> Outcome:
        sample = run.description.split()[-1]
        if sample in self.failing:
            raise RunFailure("Error Code [308]: Encountered an unmatched read", 308)
        return Outcome(outputs=self.outputs[sample], bases_processed=1000)


@dataclass
class LakeService:
    url: str
    executor: PlannedExecutor
    service_id: str = ""

    def client(self) -> ServiceClient:
        return open_client(
            ServiceConfig(protocol=Protocol.msgenomics, url=self.url, api_key=API_KEY)
        )

    def env(self) -> dict[str, str]:
        return {
            "GENOFLOW_SERVICE__URL": self.url,
            "GENOFLOW_SERVICE__PROTOCOL": "msgenomics",
            "GENOFLOW_SERVICE__API_KEY": API_KEY,
        }

    def run(self, sample: str, outputs: tuple[RunOutput, ...] = (), fail: bool = False) -> Run:
        """Submit a run of ``sample`` and wait until it has finished."""
        from tests.server.inproc import sample_request

        if fail:
            self.executor.failing.add(sample)
        self.executor.outputs[sample] = outputs
        client = self.client()
        try:
            run = client.submit(sample_request(sample=sample))
            deadline = time.monotonic() + 30
            while not run.state.terminal and time.monotonic() < deadline:
                time.sleep(0.05)
                run = client.get(run.id)
        finally:
            client.close()
        assert run.state is (RunState.FAILED if fail else RunState.SUCCEEDED), run
        return run


@contextmanager
def serving(data_dir: Path) -> Iterator[LakeService]:
    """The service, until the block ends."""
    import uvicorn

    from genoflow.server.runtime import build_server
    from tests.server.inproc import inproc_config

    executor = PlannedExecutor()
    server = build_server(inproc_config(data_dir), executor=executor)
    server.scheduler.start()
    port = free_port()
    web = uvicorn.Server(
        uvicorn.Config(server.app(), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not web.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield LakeService(f"http://127.0.0.1:{port}", executor)
    finally:
        web.should_exit = True
        thread.join(timeout=10)
        server.scheduler.stop(timeout=5)
        server.store.close()


def publish(store: BlobStore, container: str, vcf: Path, base: str) -> tuple[RunOutput, ...]:
    """Upload ``vcf`` and its index as a run's outputs ``<base>.vcf.gz[.tbi]``, recorded with
    their MD5 as the server records them."""
    recorded = []
    for path, suffix, kind in ((vcf, ".vcf.gz", "vcf"), (Path(f"{vcf}.tbi"), ".vcf.gz.tbi", "tbi")):
        data = path.read_bytes()
        store.put_blob(container, base + suffix, data)
        md5 = hashlib.md5(data).hexdigest()
        recorded.append(RunOutput(base + suffix, kind, len(data), md5, container))
    return tuple(recorded)
