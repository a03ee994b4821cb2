"""Fixtures shared by the protocol client suites: a `responses` mock and a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from tests.protocols.helpers import FakeClock


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
