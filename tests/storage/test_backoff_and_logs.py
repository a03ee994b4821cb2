"""The one retry module on a fake clock, and the SDK's log lines routed through genoflow's."""

from __future__ import annotations

import contextlib
import http.client
import io
import logging
from dataclasses import dataclass, field

from genoflow.backoff import QUICK_RETRY_SECONDS, Clock, Retrier, transient_exception, unreachable
from genoflow.config.schema import RetryConfig


@dataclass
class FakeTime:
    now: float = 100.0
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> Clock:
        return Clock(monotonic=lambda: self.now, sleep=self.sleep)


def test_retrier_spends_the_attempts_with_capped_equal_jitter() -> None:
    time = FakeTime()
    retrier = Retrier(RetryConfig(attempts=5, initial_delay=1, max_delay=3), time.clock())
    waits = []
    while True:
        before = time.now
        if not retrier.wait():
            break
        waits.append(time.now - before)
    assert len(waits) == 4 and retrier.tries == 5
    for ceiling, wait in zip((1, 2, 3, 3), waits, strict=True):
        assert ceiling / 2 <= wait <= ceiling  # half fixed, half random, capped at max_delay


def test_retrier_honours_retry_after_and_the_time_budget() -> None:
    time = FakeTime()
    settings = RetryConfig(attempts=10, initial_delay=0.01, total_seconds=30)
    retrier = Retrier(settings, time.clock())
    assert retrier.wait(retry_after=20) and time.now == 120.0
    assert not retrier.wait(retry_after=20)  # 40 s would pass the 30 s budget
    assert time.now == 120.0  # and it did not sleep


def test_transient_faults_are_network_faults_only() -> None:
    assert transient_exception(ConnectionResetError())
    assert transient_exception(http.client.IncompleteRead(b""))
    assert transient_exception(TimeoutError())
    assert not transient_exception(ValueError("bad input"))
    assert not transient_exception(PermissionError())


def test_sdk_log_lines_go_through_genoflows_formatter_and_redactor() -> None:
    from genoflow.cli.main import configure_logging
    from genoflow.storage import azure_blob

    azure_blob.route_sdk_logs()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        configure_logging(0, False)
        logging.getLogger("azure.storage.blob._download").warning(
            "Unable to stream download: http://h/c/b?sv=2024&sig=SECRETSIG"
        )
    text = err.getvalue()
    assert text.startswith("WARNING azure.storage.blob._download: Unable to stream download")
    assert "SECRETSIG" not in text and "sig=***" in text


def test_sas_scope_is_read_from_the_token_without_its_signature() -> None:
    from genoflow.storage.sas import parse_sas

    delegated = parse_sas(
        "?sv=2024-08-04&st=2026-11-26T00:00:00Z&se=2026-11-27T00:00:00Z&skoid=oid&sktid=tid"
        "&skt=2026-11-26T00:00:00Z&ske=2026-11-27T00:00:00Z&sks=b&skv=2024-08-04&sr=c"
        "&sp=rcw&sig=SECRET"
    )
    assert delegated.delegated and delegated.resource == "container"
    assert delegated.operations() == ["upload", "download", "set tier"]
    assert not delegated.may_create_containers and not delegated.may_read_account
    text = delegated.describe()
    assert text.startswith("user-delegation container SAS granting read, create, write")
    assert "expires 2026-11-27T00:00:00Z" in text and "SECRET" not in text
    account = parse_sas("sv=2024-08-04&ss=b&srt=sco&sp=rwdlac&se=2026-12-01&sig=x")
    assert account.may_create_containers and account.may_read_account
    assert "create containers" in account.operations()


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_is_a_connection_never_made() -> None:
    import socket

    import requests

    try:
        requests.get(f"http://127.0.0.1:{_closed_port()}/", timeout=5)
    except requests.ConnectionError as exc:
        assert unreachable(exc)
    assert unreachable(socket.gaierror(-2, "Name or service not known"))
    assert not unreachable(ConnectionResetError(104, "reset"))
    assert not unreachable(TimeoutError())


def test_storage_policy_gives_a_closed_port_one_quick_retry_until_it_has_answered() -> None:
    """The storage pipeline's retry policy on a real closed port, its waits on a fake clock."""
    from azure.core.exceptions import ServiceRequestError
    from azure.storage.blob import BlobServiceClient

    from genoflow.storage.azure_blob import GenoflowRetry, make_transport

    url = f"http://127.0.0.1:{_closed_port()}/devstoreaccount1"
    for reached, waits in ((False, 1), (True, 5)):
        time = FakeTime()
        policy = GenoflowRetry(RetryConfig(attempts=6, initial_delay=1, max_delay=8), time.clock())
        policy.reached = reached
        client = BlobServiceClient(url, retry_policy=policy, transport=make_transport(4, 5, 5))
        with contextlib.suppress(ServiceRequestError):
            client.get_container_client("c").get_container_properties()
        assert len(time.slept) == waits
        assert (time.slept == [QUICK_RETRY_SECONDS]) is not reached
