"""fetch says "fetching" only for files it downloads: a rerun into the same directory skips
files already there (same MD5) without announcing them (Azurite, a seeded service)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from genoflow.model import tags as t
from genoflow.orchestration.fetch import fetch_outputs
from tests.harness import Azurite
from tests.tiering.stub_service import SeededService, run
from tests.tiering.test_fetch_and_cli import NOW, _containers

pytestmark = pytest.mark.azurite


def test_fetch_announces_only_the_files_it_downloads(
    azurite: Azurite, unique_name: str, tmp_path: Path
) -> None:
    from azure.storage.blob import ContentSettings

    _, stores, inp, out = _containers(azurite, unique_name)
    service = stores[out]._service  # type: ignore[attr-defined]
    contents = {"s1.bam": b"BAM" * 1000, "s1.vcf": b"##fileformat=VCF\n"}
    for name, data in contents.items():
        service.get_blob_client(out, name).upload_blob(
            data, content_settings=ContentSettings(content_md5=hashlib.md5(data).digest())
        )
    service.get_blob_client(inp, "s1_1.fq.gz").upload_blob(
        b"@r", tags={t.RUN_ID: "1", t.ROLE: "input", t.OUTPUT_BASE: f"{out}/s1"}
    )
    client = SeededService([run("1", "succeeded", 1)])

    def fetch(said: list[str]) -> list[bool]:
        result = fetch_outputs(
            client, stores[out], out, "1", tmp_path, kinds=None, now=NOW,
            inputs=(stores[inp], inp), progress=said.append,
        )  # fmt: skip
        return [f.skipped for f in result.files]

    first: list[str] = []
    assert fetch(first) == [False, False]
    assert sorted(first) == [f"fetching {out}/s1.bam (2.9 KiB)", f"fetching {out}/s1.vcf (17 B)"]
    (tmp_path / "s1.vcf").unlink()
    again: list[str] = []
    assert sorted(fetch(again)) == [False, True]
    assert again == [f"fetching {out}/s1.vcf (17 B)"]  # not the BAM, which was already there
