"""``genoflow reference upload NAME FASTA`` against Azurite: the FASTA and its seven index files
beside each other under NAME/ in the references container, each with the MD5 of the file built
locally; a rerun builds nothing and uploads nothing; a bad name is refused (exit 2)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from genoflow.config.schema import StorageConfig
from genoflow.demo import DemoData
from genoflow.storage import open_store
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, run_cli

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline]
SUFFIXES = (".fa", ".fa.amb", ".fa.ann", ".fa.bwt", ".fa.pac", ".fa.sa", ".fa.fai", ".dict")


def test_reference_upload_once_and_again(
    azurite: Azurite, interop_sample: DemoData, tmp_path: Path, unique_name: str
) -> None:
    env = {
        **azurite.env(),
        "GENOFLOW_STORAGE__REFERENCE_CONTAINER": unique_name,
        "GENOFLOW_CACHE_DIR": str(tmp_path / "cache"),
    }
    args = ["reference", "upload", "ref1", str(interop_sample.reference), "--json"]
    first = run_cli(args, env=env)
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["blobs"] == [f"ref1/ref1{s}" for s in SUFFIXES]
    built = tmp_path / "cache" / "references" / "ref1"
    config = StorageConfig(
        account_name=AZURITE_ACCOUNT, account_url=azurite.account_url, account_key=AZURITE_KEY
    )
    store = open_store(config)
    local = {".fa": "reference.fa", ".dict": "reference.dict"}
    for suffix in SUFFIXES:
        path = built / local.get(suffix, "reference" + suffix)
        blob = store.get_blob(unique_name, f"ref1/ref1{suffix}")
        assert blob.md5 == hashlib.md5(path.read_bytes()).hexdigest(), suffix
    stamps = {p.name: p.stat().st_mtime_ns for p in built.iterdir()}

    again = run_cli(args, env=env)
    assert again.exit_code == 0
    assert again.stderr.count("already in") == len(SUFFIXES) and "uploaded to" not in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in built.iterdir()} == stamps

    bad = run_cli(["reference", "upload", "../x", str(interop_sample.reference)], env=env)
    assert bad.exit_code == 2 and "reference name '../x' is not valid" in bad.stderr
