"""`genoflow logs` honours --query and -o (and refuses them with --follow, where the log is a
stream); `genoflow wait` closes its service client. In-process against a `responses` fake."""

from __future__ import annotations

import json
import re

import pytest
import responses

from genoflow.protocols.msgenomics import wire as ms
from tests.harness import run_cli
from tests.protocols.fakes import FakeMsGenomics

ENV = {
    "GENOFLOW_SERVICE__URL": "http://ms.test",
    "GENOFLOW_SERVICE__API_KEY": "test-subscription-key-123",
    "GENOFLOW_SERVICE__PROTOCOL": "msgenomics",
}
LOG = "bwa: started\nbwa: done\n"


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        service = FakeMsGenomics(mock)
        logs = re.compile(re.escape(service.base + ms.API_PATH) + r"\d+/logs(\?.*)?$")
        mock.add("GET", logs, body=LOG.encode(), content_type="text/plain")
        yield service


def test_logs_with_a_query_prints_the_queried_field(fake):
    run = fake.add(ms.STATUS_SUCCEEDED)
    shown = run_cli(["logs", str(run.Id), "--query", "log"], env=ENV)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.rstrip("\n") == LOG.rstrip("\n")  # the string bare, as for any scalar
    shown = run_cli(["logs", str(run.Id), "-o", "json", "--query", "state"], env=ENV)
    assert json.loads(shown.stdout) == "succeeded"
    document = json.loads(run_cli(["logs", str(run.Id), "-o", "json"], env=ENV).stdout)
    assert document == {"id": str(run.Id), "state": "succeeded", "log": LOG}
    assert run_cli(["logs", str(run.Id)], env=ENV).stdout == LOG


@pytest.mark.parametrize("extra", [["-o", "json"], ["--query", "log"], ["--json"]])
def test_logs_follow_refuses_a_format_or_query_rather_than_ignoring_it(fake, extra):
    run = fake.add(ms.STATUS_SUCCEEDED)
    sent = len(fake.mock.calls)
    shown = run_cli(["logs", str(run.Id), "--follow", *extra], env=ENV)
    assert shown.exit_code == 2, shown.stderr
    assert "does not apply" in shown.stderr and shown.stdout == ""
    assert len(fake.mock.calls) == sent  # refused before asking the service
    followed = run_cli(["logs", str(run.Id), "--follow"], env=ENV)
    assert followed.exit_code == 0 and followed.stdout == LOG


def test_wait_closes_its_service_client(fake, monkeypatch):
    from genoflow.protocols.msgenomics.client import MsGenomicsClient

    closed: list[bool] = []
    real_close = MsGenomicsClient.close
    monkeypatch.setattr(
        MsGenomicsClient, "close", lambda self: (closed.append(True), real_close(self))[1]
    )
    run = fake.add(ms.STATUS_SUCCEEDED)
    assert run_cli(["wait", str(run.Id)], env=ENV).exit_code == 0
    assert closed == [True]
