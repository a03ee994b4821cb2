"""The run path in-process: both APIs over create_app, real store and scheduler, stub executor."""

from __future__ import annotations

from tests.server.inproc import MSGEN, WES, InProc, sample_request


def test_msgen_submit_runs_to_success(inproc: InProc) -> None:
    inproc.stub.succeed({"bam": {"name": "S1.bam"}})
    answer = inproc.submit_msgen(sample_request())
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["Id"]
    inproc.wait_state(run_id, "succeeded")
    shown = inproc.client.get(f"{MSGEN}{run_id}").json()
    assert shown["Status"] == 20000 and inproc.stub.seen_ids() == [run_id]


def test_wes_failure_code_and_cancel_of_blocked_run(inproc: InProc) -> None:
    inproc.stub.fail("Error Code [308]: Encountered an unmatched read", 308)
    failed = inproc.submit_wes(sample_request(sample="F1")).json()["run_id"]
    inproc.wait_state(failed, "failed")
    assert inproc.store.get(int(failed)).failure_code == 308
    inproc.stub.block()
    blocked = inproc.submit_wes(sample_request(sample="B1")).json()["run_id"]
    assert inproc.stub.wait_started(2)
    assert inproc.client.post(f"{WES}/{blocked}/cancel").status_code == 200
    inproc.wait_state(blocked, "cancelled")


def test_api_key_is_required(inproc: InProc) -> None:
    assert inproc.anonymous().get(MSGEN).status_code == 401
    assert inproc.anonymous().get(WES).status_code == 401
    assert inproc.client.get(WES).status_code == 200
