"""The live-server tests here share the server tests' small simulated sample."""

from tests.server.conftest import demo_data  # noqa: F401 - the session's demo sample fixture
