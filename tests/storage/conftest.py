"""Fixtures for the storage and transfer tests: a store on the session's Azurite, test files."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from genoflow.config.schema import StorageConfig
from genoflow.storage import BlobStore, open_store
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite

MIB = 1024 * 1024


def azurite_config(azurite: Azurite, **extra: object) -> StorageConfig:
    return StorageConfig.model_validate(
        {
            "account_url": azurite.account_url,
            "account_name": AZURITE_ACCOUNT,
            "account_key": AZURITE_KEY,
            **extra,
        }
    )


@pytest.fixture
def store(azurite: Azurite, unique_name: str) -> Iterator[BlobStore]:
    """A store on Azurite with the container ``unique_name`` created."""
    opened = open_store(azurite_config(azurite))
    opened.ensure_container(unique_name)
    yield opened
    opened.close()


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def fastq_gz(path: Path, records: int = 200) -> Path:
    lines = []
    for number in range(records):
        sequence = "ACGT" * 25
        lines.append(f"@read{number}/1\n{sequence}\n+\n{'I' * len(sequence)}\n")
    path.write_bytes(gzip.compress("".join(lines).encode()))
    return path
