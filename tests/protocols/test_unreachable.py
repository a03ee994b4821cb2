"""A service that cannot be reached: one quick retry on a refused connection, then one line
naming the URL (the real CLI in a child process against a closed port); retries only where they
can help (resets, 5xx, 429 keep backing off on genoflow.backoff's budget)."""

from __future__ import annotations

import socket
import time

import pytest
import requests
import responses

from genoflow.config.schema import RetryConfig
from genoflow.errors import ExitCode, UnavailableError
from genoflow.protocols.http import QUICK_RETRY_SECONDS, HttpClient
from tests.harness import run_cli_subprocess
from tests.protocols.helpers import FakeClock

RETRY = RetryConfig(attempts=6, initial_delay=1, max_delay=8, total_seconds=600)


def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "args"),
    [
        ("http://127.0.0.1:1", ["status", "1"]),
        ("http://127.0.0.1:1", ["list"]),
        (None, ["wait", "1"]),
        (None, ["logs", "1", "--follow"]),
        (None, ["--json", "status", "1"]),
    ],
)
def test_cli_against_a_closed_port_ends_fast_with_one_line(url, args):
    url = url or f"http://127.0.0.1:{closed_port()}"
    elapsed = 60.0
    for _ in range(2):  # the best of two: the machine may be shared (start-up alone ~0.7 s)
        started = time.monotonic()
        done = run_cli_subprocess(args, env={"GENOFLOW_SERVICE__URL": url}, timeout=60)
        elapsed = min(elapsed, time.monotonic() - started)
    assert done.returncode == ExitCode.UNAVAILABLE, done.stderr
    assert elapsed < 3.0, f"took {elapsed:.1f} s"
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("genoflow: error: cannot reach the service at " + url + ":")
    assert "connection refused" in lines[0] and "service.url" in lines[0]
    assert "Traceback" not in done.stderr and "HTTPConnectionPool" not in done.stderr
    assert done.stdout == ""


def test_refused_connection_is_tried_twice_then_reported():
    clock = FakeClock()
    url = f"http://127.0.0.1:{closed_port()}/api/workflows/"
    client = HttpClient(url, {}, 5, RETRY, sleep=clock.sleep, clock=clock.time)
    with pytest.raises(UnavailableError) as caught:
        client.request("GET", "5")
    assert clock.sleeps == [QUICK_RETRY_SECONDS]
    assert caught.value.refused and not caught.value.maybe_processed
    assert "connection refused" in caught.value.one_line()


def test_unknown_host_is_not_retried_for_long():
    clock = FakeClock()
    client = HttpClient("http://genoflow.invalid/x", {}, 5, RETRY, sleep=clock.sleep)
    with pytest.raises(UnavailableError, match="host name not resolved"):
        client.request("GET", "")
    assert clock.sleeps == [QUICK_RETRY_SECONDS]


def test_reset_connections_keep_backing_off_with_equal_jitter():
    clock = FakeClock()
    client = HttpClient(
        "http://svc.test", {}, 5, RETRY, sleep=clock.sleep, clock=clock.time, jitter=max
    )
    with responses.RequestsMock() as mock:
        mock.add("GET", "http://svc.test/r", body=requests.ConnectionError("Connection reset"))
        with pytest.raises(UnavailableError, match="connection reset") as caught:
            client.request("GET", "r")
        assert len(mock.calls) == 6
    # jitter=max: the upper end of each equal-jitter wait, capped at max_delay
    assert clock.sleeps == [1, 2, 4, 8, 8]
    assert caught.value.maybe_processed and not caught.value.refused


def test_500_is_retried_and_headers_survive_the_retry():
    clock = FakeClock()
    client = HttpClient("http://svc.test", {"A": "1"}, 5, RETRY, sleep=clock.sleep)
    with responses.RequestsMock() as mock:
        mock.add("GET", "http://svc.test/r", status=500)
        mock.add("GET", "http://svc.test/r", status=408)
        mock.add("GET", "http://svc.test/r", json={"ok": True})
        assert client.get_json("r", headers={"B": "2"}) == {"ok": True}
        assert [c.request.headers.get("B") for c in mock.calls] == ["2", "2", "2"]
        assert all(c.request.headers.get("A") == "1" for c in mock.calls)
    assert len(clock.sleeps) == 2


def test_retry_after_as_an_http_date_is_honoured():
    clock = FakeClock()
    client = HttpClient("http://svc.test", {}, 5, RETRY, sleep=clock.sleep, clock=clock.time)
    with responses.RequestsMock() as mock:
        mock.add(
            "GET",
            "http://svc.test/r",
            status=503,
            headers={"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"},
        )
        mock.add("GET", "http://svc.test/r", json={})
        client.get_json("r")
    assert clock.sleeps == [0.0]


def test_long_error_text_is_cut_at_a_word():
    clock = FakeClock()
    client = HttpClient("http://svc.test", {}, 5, RETRY, sleep=clock.sleep)
    with responses.RequestsMock() as mock:
        mock.add("GET", "http://svc.test/r", status=409, body="word " * 200)
        with pytest.raises(Exception) as caught:
            client.request("GET", "r")
    assert str(caught.value.args[0]).endswith("word...")


def test_a_long_retry_wait_is_announced_as_a_warning(caplog):
    clock = FakeClock()
    client = HttpClient("http://svc.test", {}, 5, RETRY, sleep=clock.sleep, clock=clock.time)
    with responses.RequestsMock() as mock, caplog.at_level("INFO", "genoflow.protocols.http"):
        mock.add("GET", "http://svc.test/r?sig=SECRET", status=503, headers={"Retry-After": "1"})
        mock.add("GET", "http://svc.test/r", status=503, headers={"Retry-After": "8"})
        mock.add("GET", "http://svc.test/r", json={})
        client.get_json("r?sig=SECRET")
    notes = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert notes == [
        ("INFO", "GET http://svc.test/r: HTTP 503; try 2 of 6 in 1.0 s"),
        ("WARNING", "GET http://svc.test/r: HTTP 503; try 3 of 6 in 8.0 s"),
    ]


def test_a_refused_connection_after_an_answer_is_a_restart_and_backs_off():
    """Once the service answered, a refused connection is a restart: the usual retries."""
    clock = FakeClock()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
    client = HttpClient(
        f"http://127.0.0.1:{port}", {}, 5, RETRY, sleep=clock.sleep, clock=clock.time
    )
    client.reached = True
    with pytest.raises(UnavailableError, match="connection refused"):
        client.request("GET", "x")
    assert len(clock.sleeps) == 5 and QUICK_RETRY_SECONDS not in clock.sleeps


class RefusingThenAnswering:
    """A service whose connection is refused for the calls listed in ``refused``."""

    def __init__(self, refused: set[int]) -> None:
        self.refused = refused
        self.calls = 0

    def get(self, run_id: str):
        from genoflow.model.runs import Run, RunState
        from genoflow.protocols.http import UnavailableError as HttpUnavailable

        self.calls += 1
        if self.calls in self.refused:
            raise HttpUnavailable("cannot reach the service: connection refused", refused=True)
        return Run(id=run_id, state=RunState.SUCCEEDED if self.calls > 3 else RunState.RUNNING)


def test_wait_stops_when_never_reached_and_rides_out_a_restart_once_reached():
    from genoflow.orchestration.runs import Waiter

    clock = FakeClock()
    never = RefusingThenAnswering(refused={1, 2, 3, 4})
    with pytest.raises(UnavailableError, match="connection refused"):
        Waiter(never, 1, 2, clock=clock.time, sleep=clock.sleep).wait(["7"])  # type: ignore[arg-type]
    assert never.calls == 1 and clock.sleeps == []
    restart = RefusingThenAnswering(refused={2, 3})
    runs = Waiter(restart, 1, 2, clock=clock.time, sleep=clock.sleep).wait(["7"])  # type: ignore[arg-type]
    assert runs[0].state.value == "succeeded" and restart.calls == 4


class LoggingRun(RefusingThenAnswering):
    def logs(self, run_id: str, offset: int) -> tuple[str, int]:
        return ("", offset) if offset else ("log line\n", 9)


def test_logs_follow_stops_when_never_reached_and_rides_out_a_restart_once_reached():
    from genoflow.orchestration.runs import show_log

    clock = FakeClock()
    written: list[str] = []
    with pytest.raises(UnavailableError, match="connection refused"):
        show_log(LoggingRun(refused={1, 2}), "7", written.append, follow=True, sleep=clock.sleep)  # type: ignore[arg-type]
    assert written == [] and clock.sleeps == []
    restart = LoggingRun(refused={2, 3})
    run = show_log(restart, "7", written.append, follow=True, sleep=clock.sleep)  # type: ignore[arg-type]
    assert run.state.value == "succeeded" and written == ["log line\n"] and restart.calls == 4


def test_credentials_in_service_url_never_reach_the_error_line():
    done = run_cli_subprocess(
        ["status", "1"],
        env={"GENOFLOW_SERVICE__URL": f"http://user:s3cret@127.0.0.1:{closed_port()}/api"},
        timeout=60,
    )
    assert done.returncode == ExitCode.UNAVAILABLE, done.stderr
    assert "s3cret" not in done.stderr + done.stdout
    assert "user" not in done.stderr
    assert "cannot reach the service at http://127.0.0.1:" in done.stderr


def test_messages_name_a_url_without_its_userinfo_or_query():
    from genoflow.errors import NotFoundError
    from genoflow.protocols.base import missing_run_named
    from genoflow.protocols.http import origin, public_url

    assert origin("https://u:s3cret@host.example:8443/api?sig=x") == "https://host.example:8443"
    assert origin("http://u:s3cret@[::1]/x") == "http://[::1]"
    assert public_url("http://u:s3cret@h/api/runs/1?x=1") == "http://h/api/runs/1"
    with pytest.raises(NotFoundError) as caught, missing_run_named("7", "http://u:s3cret@h:9/a"):
        raise NotFoundError("404", status=404)
    assert "s3cret" not in caught.value.message and "http://h:9" in caught.value.message


@responses.activate
def test_an_http_error_line_drops_the_urls_userinfo():
    responses.add(responses.GET, "http://user:s3cret@h.example/api/x", status=400, body="bad")
    client = HttpClient("http://user:s3cret@h.example/api/", {}, 5, RETRY)
    with pytest.raises(Exception) as caught:
        client.get_json("x")
    assert "s3cret" not in str(caught.value) and "http://h.example/api/x" in str(caught.value)
