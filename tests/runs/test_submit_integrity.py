"""submit checks a local .fq.gz end to end while uploading it: a truncated file is exit 8
before anything is committed or posted (the run would otherwise fail after the queue)."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from genoflow.config.schema import StorageConfig
from genoflow.storage import open_store
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, run_cli

pytestmark = pytest.mark.azurite


def _fastq_gz(path: Path, reads: int) -> Path:
    rng = random.Random(7)
    records = "".join(
        f"@r{i}/{path.name[-7]}\n{''.join(rng.choice('ACGT') for _ in range(100))}\n+\n"
        f"{'I' * 100}\n"
        for i in range(reads)
    )
    path.write_bytes(gzip.compress(records.encode(), compresslevel=1))
    return path


def test_a_truncated_fastq_gz_is_exit_8_with_nothing_committed(
    azurite: Azurite, unique_name: str, tmp_path: Path
) -> None:
    first = _fastq_gz(tmp_path / "S_1.fq.gz", 20_000)
    second = _fastq_gz(tmp_path / "S_2.fq.gz", 20_000)
    whole = second.read_bytes()
    second.write_bytes(whole[: len(whole) // 2])  # cut in half: the head still reads fine
    env = {
        **azurite.env(),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": unique_name + "-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": unique_name + "-out",
        # Nothing may be posted: a closed port would turn a post into exit 6, not 8.
        "GENOFLOW_SERVICE__URL": "http://127.0.0.1:1",
        "GENOFLOW_STATE_DIR": str(tmp_path / "state"),
    }
    result = run_cli(["submit", "-b1", str(first), "-b2", str(second)], env=env)
    assert result.exit_code == 8, result.output
    assert "S_2.fq.gz" in result.stderr
    store = open_store(
        StorageConfig(
            account_name=AZURITE_ACCOUNT, account_url=azurite.account_url, account_key=AZURITE_KEY
        )
    )
    names = {blob.name for blob in store.list_blobs(unique_name + "-in")}
    assert not any(name.endswith("S_2.fq.gz") for name in names), names
