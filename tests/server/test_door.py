"""The server's door, tested over real HTTP against a live `genoflow server`: requests naming
storage it is not configured for are refused before any connection (SSRF), bad input is a 400
in the API's own error shape, and slow or stalled connections are closed.

No storage is needed: nothing here may reach storage at all.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.harness import AZURITE_ACCOUNT, free_port
from tests.server.conftest import API_KEY, LiveServer

pytestmark = [pytest.mark.slow]

REQUEST_TIMEOUT = 1.0


class CountingListener:
    """A loopback TCP listener that counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def storage_free_server(data_dir: Path, **extra: object) -> Iterator[LiveServer]:
    """A live server whose only storage is a closed loopback port: nothing it does may reach
    storage (runs fail at their first read). Its log must hold no traceback."""
    config = {
        "data_dir": str(data_dir),
        "api_keys": [API_KEY],
        "storage_endpoints": {AZURITE_ACCOUNT: f"http://127.0.0.1:{free_port()}/{AZURITE_ACCOUNT}"},
        **extra,
    }
    (data_dir / "server.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENOFLOW_", "AZURE_"))}
    server = LiveServer(data_dir=data_dir, port=free_port(), log_path=data_dir / "server", env=env)
    server.start()
    yield server
    server.stop()
    assert "Traceback" not in server.log_text()


@pytest.fixture(scope="module")
def door_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("door")
    yield from storage_free_server(data_dir, request_timeout_seconds=REQUEST_TIMEOUT)


@pytest.fixture()
def listener() -> Iterator[CountingListener]:
    opened = CountingListener()
    yield opened
    opened.close()


def _headers() -> dict[str, str]:
    return {"Ocp-Apim-Subscription-Key": API_KEY}


def _msgen_body(**overrides: Any) -> dict[str, Any]:
    inputs = {"ACCOUNT": AZURITE_ACCOUNT, "CONTAINER": "inputs"}
    inputs["BLOBNAMES"] = "s_1.fq.gz,s_2.fq.gz,"
    inputs["BLOBNAMES_WITH_SAS"] = "s_1.fq.gz?sv=1&sig=a,s_2.fq.gz?sv=1&sig=b,"
    body: dict[str, Any] = {
        "Process": "snapgatk",
        "ProcessArgs": "R=b37m1",
        "InputArgs": inputs,
        "OutputArgs": {
            "ACCOUNT": AZURITE_ACCOUNT,
            "CONTAINER": "outputs",
            "CONTAINER_SAS": "sig=c",
        },
        "OptionalArgs": {},
    }
    for section, values in overrides.items():
        if isinstance(values, dict):
            body[section] = {**body.get(section, {}), **values}
        else:
            body[section] = values
    return body


def _post_msgen(server: LiveServer, body: Any) -> requests.Response:
    return requests.post(
        f"{server.url}/api/workflows/",
        data=body if isinstance(body, (str, bytes)) else json.dumps(body),
        headers={**_headers(), "Content-Type": "application/json"},
        timeout=10,
    )


def _wes_params(account_url: str, account: str = AZURITE_ACCOUNT) -> dict[str, Any]:
    def file(name: str) -> dict[str, str]:
        return {"class": "File", "location": f"{account_url}/inputs/{name}?sv=1&sig=a"}

    return {
        "sample": "s",
        "reads_1": [file("s_1.fq.gz")],
        "reads_2": [file("s_2.fq.gz")],
        "input_account": account,
        "input_account_url": account_url,
        "input_container": "inputs",
        "output_account": account,
        "output_account_url": account_url,
        "output_container": "outputs",
        "output_url": f"{account_url}/outputs?sv=1&sig=c",
    }


def _post_wes(server: LiveServer, params: dict[str, Any], **fields: str) -> requests.Response:
    form = {
        "workflow_url": "snapgatk",
        "workflow_type": "CWL",
        "workflow_type_version": "v1.2",
        "workflow_params": json.dumps(params),
        **fields,
    }
    return requests.post(
        f"{server.url}/ga4gh/wes/v1/runs",
        files={key: (None, value) for key, value in form.items()},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )


def _runs(server: LiveServer) -> list[Any]:
    answer = requests.get(f"{server.url}/api/workflows/", headers=_headers(), timeout=10)
    assert answer.status_code == 200
    runs: list[Any] = answer.json()
    return runs


# --- SSRF --------------------------------------------------------------------------------------


def test_storage_urls_in_requests_are_refused_before_any_connection(
    door_server: LiveServer, listener: CountingListener
) -> None:
    before = len(_runs(door_server))
    host = listener.url.removeprefix("http://")
    answers = {
        "msgen input account": _post_msgen(door_server, _msgen_body(InputArgs={"ACCOUNT": host})),
        "msgen output account": _post_msgen(
            door_server, _msgen_body(OutputArgs={"ACCOUNT": f"{host}/x#"})
        ),
        "wes configured account, other url": _post_wes(
            door_server, _wes_params(f"{listener.url}/{AZURITE_ACCOUNT}")
        ),
        "wes unknown account, its url": _post_wes(
            door_server, _wes_params(listener.url, account="evilacct")
        ),
    }
    time.sleep(1.0)  # anything the server might do in the background would have started
    assert listener.accepted == 0
    for what, answer in answers.items():
        assert answer.status_code == 400, (what, answer.text)
    assert "storage account" in answers["msgen input account"].json()["Message"]
    assert "not the endpoint this server uses" in answers["wes configured account, other url"].text
    assert len(_runs(door_server)) == before  # nothing was queued


# --- validation at the door ----------------------------------------------------------------------

BAD_MSGEN_BODIES = {
    "read group with a newline": {"OptionalArgs": {"ReadGroupLine": "@RG\\tID:x\nSM:y"}},
    "read group without ID": {"OptionalArgs": {"ReadGroupLine": "@RG\\tSM:y"}},
    "read group not @RG": {"OptionalArgs": {"ReadGroupLine": "ID:x"}},
    "read group of 5000 characters": {"OptionalArgs": {"ReadGroupLine": "@RG\\tID:" + "x" * 5000}},
    "bogus ref confidence": {"OptionalArgs": {"GatkEmitRefConfidence": "bogus"}},
    "junk after the reference": {"ProcessArgs": "R=b37m1;junk"},
    "unknown process arg": {"ProcessArgs": "R=b37m1;X=1"},
    "base with trailing slash": {"OutputArgs": {"OUTPUT_FILENAME_BASE": "a/"}},
    "base with empty segment": {"OutputArgs": {"OUTPUT_FILENAME_BASE": "a//b"}},
    "container ../outputs": {"OutputArgs": {"CONTAINER": "../outputs"}},
    "container with a space": {"InputArgs": {"CONTAINER": "in puts"}},
    "container $(id)": {"InputArgs": {"CONTAINER": "$(id)"}},
    "input blob with ..": {
        "InputArgs": {
            "BLOBNAMES": "../s_1.fq.gz,s_2.fq.gz,",
            "BLOBNAMES_WITH_SAS": "../s_1.fq.gz?sig=a,s_2.fq.gz?sig=b,",
        }
    },
}


@pytest.mark.parametrize("case", sorted(BAD_MSGEN_BODIES))
def test_bad_msgen_options_are_a_400_in_the_old_error_shape(
    door_server: LiveServer, case: str
) -> None:
    answer = _post_msgen(door_server, _msgen_body(**BAD_MSGEN_BODIES[case]))
    assert answer.status_code == 400, answer.text
    message = answer.json()["Message"]
    assert message and "\n" not in message and "sig=" not in message


def test_deep_json_is_a_400_not_a_500(door_server: LiveServer) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    answer = _post_msgen(door_server, deep)
    assert answer.status_code == 400
    assert "nested deeper" in answer.json()["Message"]
    params = json.loads("{}")
    answer = _post_wes(door_server, params, tags="[" * 50_000 + "]" * 50_000)
    assert answer.status_code == 400
    assert answer.json()["status_code"] == 400


def test_wes_fields_that_cannot_be_honoured_are_refused(door_server: LiveServer) -> None:
    url = f"http://127.0.0.1:1/{AZURITE_ACCOUNT}"
    cases = {
        "engine parameters": _post_wes(
            door_server, _wes_params(url), workflow_engine_parameters='{"--debug": ""}'
        ),
        "workflow type": _post_wes(door_server, _wes_params(url), workflow_type="WDL"),
        "type version": _post_wes(door_server, _wes_params(url), workflow_type_version="v9"),
        "unknown param": _post_wes(door_server, {**_wes_params(url), "threads": 64}),
    }
    for what, answer in cases.items():
        assert answer.status_code == 400, (what, answer.text)
        assert set(answer.json()) == {"msg", "status_code"}, what


def test_wes_bad_page_size_is_a_400_error_response(door_server: LiveServer) -> None:
    answer = requests.get(
        f"{door_server.url}/ga4gh/wes/v1/runs?page_size=0",
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["status_code"] == 400 and answer.json()["msg"]


def test_head_health(door_server: LiveServer) -> None:
    answer = requests.head(f"{door_server.url}/health", timeout=10)
    assert answer.status_code == 200


# --- connections -------------------------------------------------------------------------------


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def test_half_sent_requests_are_closed_after_the_request_timeout(door_server: LiveServer) -> None:
    stalled = []
    for index in range(20):
        sock = socket.create_connection(("127.0.0.1", door_server.port))
        if index % 2:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        else:
            sock.sendall(
                b"POST /api/workflows/ HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n"
                + f"Ocp-Apim-Subscription-Key: {API_KEY}\r\n\r\n".encode()
                + b'{"Process": '
            )  # body stalled
        stalled.append(sock)
    idle = socket.create_connection(("127.0.0.1", door_server.port))  # sends nothing at all
    started = time.monotonic()
    for sock in [*stalled, idle]:
        assert _closed_by_server(sock, within=REQUEST_TIMEOUT + 5)
        sock.close()
    assert time.monotonic() - started < REQUEST_TIMEOUT + 5
    # The server still answers, and a kept-alive connection survives between requests.
    with requests.Session() as session:
        for _ in range(3):
            assert session.get(f"{door_server.url}/health", timeout=10).status_code == 200


def test_listening_socket_gives_accepted_connections_tcp_nodelay() -> None:
    import asyncio

    from genoflow.server.runtime import bind_socket

    async def accepted_nodelay() -> int:
        listening = bind_socket("127.0.0.1", 0)
        seen: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=listening)
        port = listening.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        return seen[0]

    assert asyncio.run(accepted_nodelay()) != 0


def test_blank_api_keys_variable_is_refused(tmp_path: Path) -> None:
    from genoflow.errors import ConfigError
    from genoflow.server.config import API_KEYS_ENV, load_server_config

    config = tmp_path / "server.yaml"
    config.write_text(yaml.safe_dump({"api_keys": ["configured-key"]}))
    with pytest.raises(ConfigError, match="holds no key"):
        load_server_config(config, {}, environ={API_KEYS_ENV: " , "})
    assert load_server_config(config, {}, environ={API_KEYS_ENV: "k1, k2"}).api_keys == [
        "k1",
        "k2",
    ]
