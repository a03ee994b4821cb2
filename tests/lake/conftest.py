"""Fixtures of the lake tests: Azurite (session), a real genoflow server app over real HTTP whose
executor "runs" a sample by recording the VCF a test published for it (the whole service path:
API, store, scheduler, wire; no pipeline), generated VCFs, and per-test containers."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from genoflow.config.schema import Protocol, ServiceConfig, StorageConfig
from genoflow.model.outputs import RunOutput
from genoflow.model.runs import Run, RunState
from genoflow.protocols import ServiceClient, open_client
from genoflow.server.scheduler import Outcome, RunFailure
from genoflow.server.store import StoredRun
from genoflow.storage import BlobStore, open_store
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, free_port
from tests.lake.vcfgen import Site, site_pool, write_vcf
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


@pytest.fixture(scope="session")
def lake_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeService]:
    import uvicorn

    from genoflow.server.runtime import build_server
    from tests.server.inproc import inproc_config

    executor = PlannedExecutor()
    config = inproc_config(tmp_path_factory.mktemp("lake-server"))
    server = build_server(config, executor=executor)
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
    service = LakeService(f"http://127.0.0.1:{port}", executor)
    yield service
    web.should_exit = True
    thread.join(timeout=10)
    server.scheduler.stop(timeout=5)
    server.store.close()


@pytest.fixture(scope="session")
def pool() -> list[Site]:
    return site_pool(12_000, seed=5)


@pytest.fixture(scope="session")
def vcf_dir(tmp_path_factory: pytest.TempPathFactory, pool: list[Site]) -> Path:
    """Three samples' VCFs (4,000 calls each, overlapping) and a bigger one for kill tests."""
    folder = tmp_path_factory.mktemp("vcfs")
    for index, sample in enumerate(("NA12878", "NA12891", "NA12892")):
        write_vcf(folder / f"{sample}.vcf.gz", sample, pool, 4_000, seed=index)
    write_vcf(folder / "BIG1.vcf.gz", "BIG1", site_pool(400_000, seed=9), 400_000, seed=3)
    return folder


@dataclass
class LakeCase:
    """One test's containers (outputs, lake) in the session's Azurite, and how to reach them."""

    azurite: Azurite
    service: LakeService
    store: BlobStore
    outputs: str
    lake: str

    @property
    def storage(self) -> StorageConfig:
        return StorageConfig(
            account_name=AZURITE_ACCOUNT,
            account_url=self.azurite.account_url,
            account_key=AZURITE_KEY,
            output_container=self.outputs,
            input_container=self.outputs,
        )

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **self.azurite.env(),
            **self.service.env(),
            "GENOFLOW_STORAGE__OUTPUT_CONTAINER": self.outputs,
            "GENOFLOW_STORAGE__INPUT_CONTAINER": self.outputs,
            "GENOFLOW_LAKE__CONTAINER": self.lake,
            **extra,
        }

    def publish(self, vcf: Path, base: str) -> tuple[RunOutput, ...]:
        """Upload ``vcf`` and its index as a run's outputs ``<base>.vcf.gz[.tbi]``, recorded
        with their MD5 as the server records them."""
        recorded = []
        for path, suffix, kind in (
            (vcf, ".vcf.gz", "vcf"),
            (Path(f"{vcf}.tbi"), ".vcf.gz.tbi", "tbi"),
        ):
            data = path.read_bytes()
            name = base + suffix
            self.store.put_blob(self.outputs, name, data)
            md5 = hashlib.md5(data).hexdigest()
            recorded.append(RunOutput(name, kind, len(data), md5, self.outputs))
        return tuple(recorded)

    def sample_run(self, vcf: Path, sample: str | None = None) -> Run:
        sample = sample or vcf.name.split(".")[0]
        return self.service.run(sample, self.publish(vcf, f"{sample}/{sample}"))


@pytest.fixture
def case(azurite: Azurite, lake_service: LakeService, unique_name: str) -> Iterator[LakeCase]:
    store = open_store(
        StorageConfig(
            account_name=AZURITE_ACCOUNT, account_url=azurite.account_url, account_key=AZURITE_KEY
        )
    )
    outputs, lake = f"{unique_name}-out", f"{unique_name}-lake"
    store.ensure_container(outputs)
    yield LakeCase(azurite, lake_service, store, outputs, lake)
    store.close()
