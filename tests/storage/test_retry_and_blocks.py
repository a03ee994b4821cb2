"""Retries against a real local HTTP server that answers scripted statuses; block layout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from genoflow.config.schema import StorageConfig
from genoflow.errors import AuthError, InputError, ServiceError, UnavailableError
from genoflow.storage import open_store, split_blob_url
from genoflow.storage.azure_blob import AzureBlobStore
from genoflow.transfer.blocks import (
    MAX_BLOCKS,
    MIB,
    block_id,
    choose_block_size,
    in_flight_limit,
    parse_block_id,
)
from tests.harness import AZURITE_KEY


class ScriptedServer(ThreadingHTTPServer):
    """Answers each request with the next (status, headers) of its script, then 200."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.seen: list[float] = []

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/devstoreaccount1"


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_GET(self) -> None:
        self.server.seen.append(time.monotonic())
        status, headers = self.server.script.pop(0) if self.server.script else (200, {})
        self.send_response(status)
        for key, value in {
            "x-ms-sku-name": "Standard_LRS",
            "x-ms-account-kind": "StorageV2",
            **headers,
        }.items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        """check()'s container probes: 'no such blob' (the container exists); not counted."""
        self.send_response(404)
        self.send_header("x-ms-error-code", "BlobNotFound")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[type[ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: list[tuple[int, dict[str, str]]]) -> ScriptedServer:
        server = ScriptedServer(script)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        server.shutdown()
        server.server_close()


def _store(
    server: ScriptedServer, attempts: int = 4, initial_delay: float = 0.01
) -> AzureBlobStore:
    config = StorageConfig.model_validate(
        {
            "account_url": server.account_url,
            "account_name": "devstoreaccount1",
            "account_key": AZURITE_KEY,
            "retry": {"attempts": attempts, "initial_delay": initial_delay, "max_delay": 0.05},
        }
    )
    return open_store(config)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(serve: type[ScriptedServer], status: int) -> None:
    server = serve([(status, {}), (status, {})])
    store = _store(server)
    assert "devstoreaccount1" in store.check()
    assert len(server.seen) == 3


@pytest.mark.parametrize(
    ("status", "error"), [(400, ServiceError), (403, AuthError), (409, ServiceError)]
)
def test_permanent_statuses_are_not_retried(
    serve: type[ScriptedServer], status: int, error: type[Exception]
) -> None:
    server = serve([(status, {"x-ms-error-code": "Whatever"})])
    with pytest.raises(error):
        _store(server).check()
    assert len(server.seen) == 1


def test_retries_give_up_after_the_configured_attempts(serve: type[ScriptedServer]) -> None:
    server = serve([(503, {})] * 10)
    with pytest.raises(UnavailableError, match="after retries"):
        _store(server, attempts=3).check()
    assert len(server.seen) == 3


def test_retry_after_is_honoured(serve: type[ScriptedServer]) -> None:
    server = serve([(503, {"Retry-After": "1"})])
    _store(server, initial_delay=0.01).check()
    assert server.seen[1] - server.seen[0] >= 0.9


def test_block_size_grows_to_stay_within_50000_blocks() -> None:
    assert choose_block_size(0) == 8 * MIB
    assert choose_block_size(100 * 1024**3) == 8 * MIB
    big = 1024**4  # 1 TiB
    size = choose_block_size(big)
    assert (
        size % MIB == 0 and -(-big // size) <= MAX_BLOCKS and -(-big // (size - MIB)) > MAX_BLOCKS
    )
    assert choose_block_size(10 * MIB, requested=MIB) == MIB
    with pytest.raises(InputError):
        choose_block_size(MAX_BLOCKS * MIB + 1, requested=MIB)
    assert in_flight_limit(8 * MIB, 8) == 8 and in_flight_limit(100 * MIB, 8) == 1


def test_block_ids_are_fixed_length_and_parse_back() -> None:
    ids = [block_id(i, 8 * MIB, "0123456789abcdef" * 2) for i in (0, 49_999)]
    assert len({len(i) for i in ids}) == 1 and len(ids[0]) <= 64
    parsed = parse_block_id(ids[1])
    assert parsed is not None and (parsed.index, parsed.block_size) == (49_999, 8 * MIB)
    assert parse_block_id("someone-elses-id") is None


def test_split_blob_url_handles_azure_and_emulator_urls() -> None:
    assert split_blob_url("https://acct.blob.core.windows.net/c/dir/a%20b.fq?sv=1&sig=x") == (
        "https://acct.blob.core.windows.net",
        "c",
        "dir/a b.fq",
        "sv=1&sig=x",
    )
    assert split_blob_url("http://127.0.0.1:10000/devstoreaccount1/c/x.bam") == (
        "http://127.0.0.1:10000/devstoreaccount1",
        "c",
        "x.bam",
        "",
    )
