"""Shared fixtures: a session-wide Azurite, and a fresh container pair per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.harness import Azurite, start_azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """The real Azure Storage emulator, started once per test session on a free port."""
    emulator = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield emulator
    emulator.stop()


@pytest.fixture
def unique_name() -> str:
    """A container-safe unique name, so tests sharing one Azurite never collide."""
    return "t" + uuid.uuid4().hex[:20]
