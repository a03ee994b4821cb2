"""The run path in-process: both APIs over create_app, real store and scheduler, stub executor."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from genoflow.errors import ConfigError
from genoflow.model.outputs import RunOutput
from genoflow.model.runs import RunState
from genoflow.model.submission import key_mark
from genoflow.orchestration.submit import forced_key
from genoflow.protocols.wes import wire as wes_wire
from genoflow.server.config import ServerConfig
from genoflow.server.store import RunStore
from tests.server.inproc import MSGEN, WES, InProc, sample_request, start_inproc, wait_for


def test_msgen_submit_runs_to_success(inproc: InProc) -> None:
    inproc.stub.succeed([RunOutput("S1.bam", "bam", 3, "ab" * 16, "outputs")])
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


# --- idempotency -------------------------------------------------------------------------

KEY = "5f1e0c9a7b3d2e4f6a8b0c1d2e3f4a5b"


def _parallel(count: int, call: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(count)

    def one() -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: one(), range(count)))


def test_parallel_identical_submits_make_one_run_both_apis(inproc: InProc) -> None:
    inproc.stub.block()
    msgen = _parallel(25, lambda: inproc.submit_msgen(sample_request(KEY)))
    wes = _parallel(25, lambda: inproc.submit_wes(sample_request(KEY)))
    assert {a.status_code for a in msgen + wes} == {200}
    ids = {a.json()["Id"] for a in msgen} | {int(a.json()["run_id"]) for a in wes}
    assert len(ids) == 1 and len(inproc.store.list_runs()) == 1
    # an old client's submit (no key) is never deduplicated
    first, second = (inproc.submit_msgen(sample_request()).json()["Id"] for _ in range(2))
    assert first != second


def test_failed_run_does_not_block_a_resubmission(inproc: InProc) -> None:
    inproc.stub.fail("Error Code [308]: Encountered an unmatched read", 308)
    first = inproc.submit_wes(sample_request(KEY)).json()["run_id"]
    inproc.wait_state(first, "failed")
    inproc.stub.succeed()
    second = inproc.submit_wes(sample_request(KEY)).json()["run_id"]
    assert second != first
    inproc.wait_state(second, "succeeded")
    assert inproc.submit_msgen(sample_request(KEY)).json()["Id"] == int(second)


def test_key_lookups_are_answered_from_the_index(inproc: InProc) -> None:
    inproc.stub.block()
    other = "a" * 32
    wanted = inproc.submit_msgen(sample_request(KEY)).json()["Id"]
    inproc.submit_msgen(sample_request(other, sample="S2"))
    wes_run = inproc.submit_wes(sample_request("b" * 32, sample="S3")).json()["run_id"]
    found = inproc.client.get(
        MSGEN, params={"$filter": f"substringof('{key_mark(KEY)}', Description)"}
    )
    assert [w["Id"] for w in found.json()] == [wanted]
    listed = inproc.client.get(WES, params={"submission_key": "b" * 32}).json()
    assert [r["run_id"] for r in listed["runs"]] == [wes_run] and listed["next_page_token"] == ""


def test_forced_key_is_new_per_submit_and_keeps_its_shape() -> None:
    first, second = forced_key(KEY), forced_key(KEY)
    assert first != second and KEY not in (first, second)
    assert len(first) == len(KEY) and int(first, 16) >= 0


# --- lists in SQL ------------------------------------------------------------------------


def test_msgen_list_filters_order_and_paging(inproc: InProc) -> None:
    inproc.stub.fail("Error Code [308]: Encountered an unmatched read", 308)
    ids = [
        inproc.submit_msgen(sample_request(sample=f"S{i}"), description=f"batch {i % 2}").json()[
            "Id"
        ]
        for i in range(6)
    ]
    for run_id in ids:
        inproc.wait_state(run_id, "failed")

    def listed(**params: str) -> list[int]:
        return [w["Id"] for w in inproc.client.get(MSGEN, params=params).json()]

    assert listed() == ids
    assert listed(**{"$orderby": "CreatedDate desc", "$skip": "1", "$top": "2"}) == ids[::-1][1:3]
    assert listed(**{"$filter": "substringof('batch 1', Description)"}) == ids[1::2]
    assert listed(**{"$filter": "Status eq '50000' and substringof('snapgatk', Process)"}) == ids
    assert listed(**{"$filter": "Status eq '20000'"}) == []
    assert inproc.client.get(MSGEN, params={"$filter": "Id gt 5"}).status_code == 400


def test_wes_pages(inproc: InProc) -> None:
    inproc.stub.block()
    ids = [inproc.submit_wes(sample_request(sample=f"P{i}")).json()["run_id"] for i in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = inproc.client.get(WES, params={"page_size": 2, "page_token": token}).json()
        seen += [r["run_id"] for r in page["runs"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == ids[::-1]


# --- secrets at rest ---------------------------------------------------------------------


def test_no_signature_in_store_files_after_runs_end(inproc: InProc) -> None:
    inproc.stub.succeed()
    runs = [inproc.submit_msgen(sample_request(sample=f"M{i}")).json()["Id"] for i in range(3)]
    runs += [inproc.submit_wes(sample_request(sample=f"W{i}")).json()["run_id"] for i in range(3)]
    for run_id in runs:
        inproc.wait_state(run_id, "succeeded")
    files = list(inproc.data_dir.glob("runs.sqlite*"))
    assert len(files) == 3
    assert all(b"sig=" not in file.read_bytes() for file in files)


# --- damaged store, graceful stop, final writes -------------------------------------------


def test_truncated_store_is_refused_at_start(tmp_path: Path) -> None:
    first = start_inproc(tmp_path / "srv")
    for i in range(3):
        first.submit_msgen(sample_request(sample=f"T{i}"))
    first.server.scheduler.stop()
    first.server.store.close()
    (tmp_path / "srv" / "runs.sqlite").write_bytes(b"")
    for leftover in (tmp_path / "srv").glob("runs.sqlite-*"):
        leftover.unlink()
    with pytest.raises(ConfigError, match="issued run ids up to 3"):
        start_inproc(tmp_path / "srv")


def test_graceful_restarts_do_not_count_as_crashes(inproc: InProc) -> None:
    inproc.stub.block()
    run_id = inproc.submit_msgen(sample_request(KEY)).json()["Id"]
    for restart in range(2):
        assert inproc.stub.wait_started(restart + 1)
        inproc.restart()
    assert inproc.stub.wait_started(3)
    assert inproc.store.get(run_id).attempts == 1
    inproc.stub.release()
    inproc.wait_state(run_id, "succeeded")
    assert inproc.stub.seen_ids() == [run_id] * 3


class FullDiskStore(RunStore):
    """A real store; its writes fail as on a full disk while ``full`` is set."""

    full = False

    def _attempt(self, operation: Any, write: bool) -> Any:
        if write and self.full:
            raise sqlite3.OperationalError("database or disk is full")
        return super()._attempt(operation, write)


def test_final_write_is_retried_until_it_lands(tmp_path: Path) -> None:
    made: list[FullDiskStore] = []

    def full_disk_store(config: ServerConfig) -> RunStore:
        made.append(FullDiskStore(config.database, retry_delays=(0.0,)))
        return made[0]

    running = start_inproc(tmp_path / "srv", store=full_disk_store)
    running.server.scheduler._repair_interval = 0.05  # test speed
    running.stub.block()
    run_id = running.submit_wes(sample_request(KEY)).json()["run_id"]
    assert running.stub.wait_started(1)
    made[0].full = True
    lenient = TestClient(
        running.server.app(), raise_server_exceptions=False, headers=running.client.headers
    )
    form = wes_wire.run_request_from_submit(sample_request(), "snapgatk").to_form()
    assert lenient.post(WES, data=form).status_code >= 500  # StoreUnavailable: 503 in app.py
    running.stub.release()
    wait_for(lambda: running.server.scheduler.pending_writes() == 1)
    health = running.client.get("/health").json()
    assert health["pending_writes"] == 1 and health["status"] == "degraded"
    assert running.store.get(int(run_id)).state is RunState.RUNNING
    made[0].full = False
    running.wait_state(run_id, "succeeded")
    assert running.client.get("/health").json()["pending_writes"] == 0
    running.server.scheduler.stop()
