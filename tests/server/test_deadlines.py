"""Storage deadlines and cancellation on a live server: a storage host that accepts connections
and never answers fails its run within the deadline, a cancel ends such a run within seconds, and
a run on a working store (Azurite) finishes meanwhile in the second run slot."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from genoflow.demo import DemoData
from genoflow.transfer.upload import THROTTLE_ENV
from tests.harness import AZURITE_ACCOUNT, Azurite, start_azurite
from tests.server.conftest import API_KEY, REFERENCE, LiveServer, make_server
from tests.server.test_e2e import _store

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]

DEADLINE = 8.0
HUNG = "hungacct"


class HungListener:
    """Accepts TCP connections on loopback and never answers (holds them open)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def hung() -> Iterator[HungListener]:
    listener = HungListener()
    yield listener
    listener.close()


@pytest.fixture
def server(
    tmp_path: Path, azurite: Azurite, demo_data: DemoData, hung: HungListener
) -> Iterator[LiveServer]:
    live = make_server(
        tmp_path / "srv",
        azurite,
        demo_data,
        max_concurrent_runs=2,
        storage_endpoints={
            AZURITE_ACCOUNT: azurite.account_url,
            HUNG: f"http://127.0.0.1:{hung.port}/{HUNG}",
        },
        transfer_deadline_seconds=DEADLINE,
        storage_connect_timeout_seconds=2,
        storage_read_timeout_seconds=30,  # the run deadline, not a request timeout, ends it
    )
    live.start()
    yield live
    live.stop()


def _body(account: str, container: str, names: list[str], sas: dict[str, str], out: str,
          out_sas: str) -> bytes:  # fmt: skip
    return json.dumps(
        {
            "Process": "snapgatk",
            "ProcessArgs": f"R={REFERENCE}",
            "InputArgs": {
                "ACCOUNT": account,
                "CONTAINER": container,
                "BLOBNAMES": ",".join(names),
                "BLOBNAMES_WITH_SAS": ",".join(f"{n}?{sas[n]}" for n in names),
            },
            "OutputArgs": {
                "ACCOUNT": AZURITE_ACCOUNT,
                "CONTAINER": out,
                "CONTAINER_SAS": out_sas,
                "OVERWRITE": "true",
            },
        }
    ).encode()


def _call(server: LiveServer, method: str, path: str, body: bytes | None = None) -> object:
    request = urllib.request.Request(
        server.url + path,
        data=body,
        method=method,
        headers={"Ocp-Apim-Subscription-Key": API_KEY, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path}: {error.code} {error.read()[:500]!r}") from None


def _workflow(server: LiveServer, run_id: int) -> dict[str, object]:
    answer = _call(server, "GET", f"/api/workflows/{run_id}")
    assert isinstance(answer, dict)
    return answer


def _wait_ended(server: LiveServer, run_id: int, timeout: float) -> tuple[dict[str, object], float]:
    """The run once it ended, and how long that took from now."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        workflow = _workflow(server, run_id)
        if workflow["Status"] in (20000, 50000, 60000):  # succeeded, failed, cancelled
            return workflow, time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"run {run_id} still {_workflow(server, run_id)} after {timeout}s")


def _submit_hung(server: LiveServer, out: str, out_sas: str, tag: str) -> int:
    names = [f"{tag}_1.fq.gz", f"{tag}_2.fq.gz"]
    # No real credential: the hung host never checks it.
    fake = {name: "sv=2021-08-06&sr=b&sp=r&sig=FAKE-TEST-SIGNATURE" for name in names}
    answer = _call(
        server, "POST", "/api/workflows/", _body(HUNG, "inputs", names, fake, out, out_sas)
    )
    assert isinstance(answer, dict)
    return int(answer["Id"])


def _submit_azurite(server: LiveServer, azurite: Azurite, demo: DemoData, name: str) -> int:
    store = _store(azurite)
    store.ensure_container(f"{name}-in")
    store.ensure_container(f"{name}-out")
    names = []
    for path in (demo.fastq_r1, demo.fastq_r2):
        store.put_blob(f"{name}-in", path.name, path.read_bytes())
        names.append(path.name)
    sas = {n: store.blob_read_sas(f"{name}-in", n, 1) for n in names}
    body = _body(
        AZURITE_ACCOUNT, f"{name}-in", names, sas, f"{name}-out",
        store.container_sas(f"{name}-out", 1, "rwd"),
    )  # fmt: skip
    answer = _call(server, "POST", "/api/workflows/", body)
    assert isinstance(answer, dict)
    return int(answer["Id"])


def test_hung_storage_fails_within_deadline_cancel_is_prompt_and_queue_moves(
    server: LiveServer, azurite: Azurite, demo_data: DemoData, hung: HungListener, unique_name: str
) -> None:
    store = _store(azurite)
    out = f"{unique_name}-hout"
    store.ensure_container(out)
    out_sas = store.container_sas(out, 1, "rwd")
    stuck = _submit_hung(server, out, out_sas, "stuck")
    cancelled = _submit_hung(server, out, out_sas, "cancelled")
    time.sleep(3)  # both slots now hold a run blocked on the hung host
    assert hung.accepted >= 2
    _call(server, "DELETE", f"/api/workflows/{cancelled}")
    ended, to_cancel = _wait_ended(server, cancelled, timeout=30)
    assert ended["Status"] == 60000, ended
    assert to_cancel <= 10, f"cancel took {to_cancel:.1f}s"
    good = _submit_azurite(server, azurite, demo_data, unique_name)  # takes the freed slot
    failed, waited = _wait_ended(server, stuck, timeout=60)
    assert failed["Status"] == 50000, failed
    message = str(failed["Message"])
    assert "[105]" in message and f"127.0.0.1:{hung.port}" in message, message
    assert "stuck_1.fq.gz" in message and HUNG in message, message
    assert "sig=" not in message
    print(f"hung run failed {3 + waited:.1f}s after submit (deadline {DEADLINE}s); "
          f"cancel took {to_cancel:.1f}s")  # fmt: skip
    assert 3 + waited <= DEADLINE + 8
    done, _ = _wait_ended(server, good, timeout=300)
    assert done["Status"] == 20000, done
    work = server.data_dir / "work"
    assert not (work / str(good)).exists()  # outputs committed: nothing kept locally
    assert (work / str(stuck) / "genoflow.log").is_file()  # failed: logs kept, inputs not
    assert not list((work / str(stuck)).glob("inputs/*"))
    # no data output from the stuck runs: the cancelled one's logs.zip only (none after [105])
    (diagnostics,) = store.list_blobs(out)
    assert diagnostics.name == "cancelled.logs.zip"
    assert diagnostics.metadata.get("genoflow_diagnostics") == "cancelled"
    assert "sig=" not in server.log_text().replace("sig=***", "")


@pytest.fixture
def own_azurite(tmp_path: Path) -> Iterator[Azurite]:
    """An Azurite of this test's own: it gets SIGSTOPped."""
    emulator = start_azurite(tmp_path / "azurite")
    yield emulator
    os.kill(emulator.process.pid, signal.SIGCONT)
    emulator.stop()


def test_storage_frozen_mid_upload_fails_within_deadline_and_commits_nothing(
    tmp_path: Path, own_azurite: Azurite, demo_data: DemoData, unique_name: str
) -> None:
    deadline = 15.0
    server = make_server(
        tmp_path / "srv",
        own_azurite,
        demo_data,
        transfer_deadline_seconds=deadline,
        storage_read_timeout_seconds=60,
    )
    server.env[THROTTLE_ENV] = "2"  # each output block waits 2 s: time to freeze the store
    server.start()
    try:
        run_id = _submit_azurite(server, own_azurite, demo_data, unique_name)
        _wait_for(server.data_dir / "work" / str(run_id) / "logs.zip")  # zipped: uploads next
        os.kill(own_azurite.process.pid, signal.SIGSTOP)
        failed, waited = _wait_ended(server, run_id, timeout=deadline + 30)
    finally:
        os.kill(own_azurite.process.pid, signal.SIGCONT)
        server.stop()
    message = str(failed["Message"])
    print(f"frozen store: the run failed {waited:.1f}s after SIGSTOP (deadline {deadline}s)")
    assert failed["Status"] == 50000, failed
    assert message.startswith("Error Code [105]: storage did not answer in time while writing "
                              f"output {demo_data.sample}.bam"), message  # fmt: skip
    assert f"127.0.0.1:{own_azurite.port}" in message
    assert waited <= deadline + 3
    time.sleep(3)  # a block in flight when frozen lands now: it must stay uncommitted
    assert list(_store(own_azurite).list_blobs(f"{unique_name}-out")) == []


def _wait_for(path: Path, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_request_timeouts_fail_a_hung_read_before_a_long_deadline(
    tmp_path: Path, azurite: Azurite, demo_data: DemoData, hung: HungListener, unique_name: str
) -> None:
    """storage_read_timeout_seconds reaches the server's storage client: each request gives up
    after it, and once the retries are spent the step fails naming the blob and the timeout."""
    server = make_server(
        tmp_path / "srv",
        azurite,
        demo_data,
        storage_endpoints={
            AZURITE_ACCOUNT: azurite.account_url,
            HUNG: f"http://127.0.0.1:{hung.port}/{HUNG}",
        },
        transfer_deadline_seconds=600,
        storage_read_timeout_seconds=1,
    )
    server.start()
    try:
        store = _store(azurite)
        store.ensure_container(f"{unique_name}-out")
        out_sas = store.container_sas(f"{unique_name}-out", 1, "rwd")
        run_id = _submit_hung(server, f"{unique_name}-out", out_sas, "slow")
        failed, waited = _wait_ended(server, run_id, timeout=120)
    finally:
        server.stop()
    message = str(failed["Message"])
    print(f"request timeouts: the run failed after {waited:.1f}s")
    assert failed["Status"] == 50000, failed
    assert message.startswith("Error Code [100]: Error locating input files: slow_1.fq.gz: "), (
        message
    )
    assert "read timeout=1" in message and f"127.0.0.1:{hung.port}" in message, message
    assert hung.accepted == 6  # one connection per try: 6 tries, each cut after 1 s
