"""Fixtures of the lake tests: Azurite (session), a real genoflow server app over real HTTP whose
executor "runs" a sample by recording the VCF a test published for it (the whole service path:
API, store, scheduler, wire; no pipeline), generated VCFs, and per-test containers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from genoflow.config.schema import StorageConfig
from genoflow.model.outputs import RunOutput
from genoflow.model.runs import Run
from genoflow.storage import BlobStore, open_store
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite
from tests.lake.service import LakeService, publish, serving
from tests.lake.vcfgen import Site, site_pool, write_vcf


@pytest.fixture(scope="session")
def lake_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeService]:
    with serving(tmp_path_factory.mktemp("lake-server")) as service:
        yield service


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
        return publish(self.store, self.outputs, vcf, base)

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
