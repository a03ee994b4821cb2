"""The run store on a real SQLite file: idempotency, migration, SAS scrubbing, damaged stores,
retried writes."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from genoflow.errors import ConfigError
from genoflow.model.runs import RunState
from genoflow.server.store import ListQuery, RunStore, StoreUnavailable, scrub_secrets

KEY = "0123456789abcdef0123456789abcdef"
SAS_REQUEST = {
    "submit": {
        "input_sas": {"a.fq.gz": "sv=1&sr=b&sig=INSIG"},
        "output_sas": "sv=1&sr=c&sp=rwd&sig=OUTSIG",
    },
    "wes_request": {
        "workflow_params": {
            "output_url": "https://acct.blob.core.windows.net/out?sv=1&sig=OUTSIG",
            "reads_1": [{"class": "File", "location": "https://h/in/a.fq.gz?sv=1&sig=INSIG"}],
        }
    },
}


def test_one_live_run_per_key_under_parallel_creates(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    results: list[tuple[int, bool]] = []
    barrier = threading.Barrier(20)

    def create() -> None:
        barrier.wait()
        run, created = store.create_or_get("wes", {"submit": {}}, submission_key=KEY)
        results.append((run.id, created))

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({run_id for run_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    # runs without a key are never deduplicated
    assert store.create("msgenomics", {}).id != store.create("msgenomics", {}).id


def test_failed_or_cancelled_run_frees_its_key(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    first = store.create("wes", {}, submission_key=KEY)
    store.update(first.id, state=RunState.FAILED)
    second, created = store.create_or_get("wes", {}, submission_key=KEY)
    assert created and second.id != first.id
    store.update(second.id, state=RunState.RUNNING)
    store.update(second.id, state=RunState.CANCELLING)  # cancelling: on its way out
    third, created = store.create_or_get("wes", {}, submission_key=KEY)
    assert created and third.id not in (first.id, second.id)
    store.update(second.id, state=RunState.CANCELLED)
    store.update(third.id, state=RunState.SUCCEEDED)
    assert store.create_or_get("wes", {}, submission_key=KEY) == (store.get(third.id), False)
    assert [r.id for r in store.query(ListQuery(submission_key=KEY))] == [
        first.id,
        second.id,
        third.id,
    ]


def test_old_database_is_migrated_and_backfilled(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, protocol TEXT NOT NULL,"
        " state TEXT NOT NULL, message TEXT, failure_code INTEGER NOT NULL DEFAULT 0,"
        " description TEXT NOT NULL DEFAULT '', process TEXT NOT NULL DEFAULT '',"
        " request TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '{}',"
        " outputs TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL, started TEXT, ended TEXT,"
        " bases_processed INTEGER NOT NULL DEFAULT 0, engine_pgid INTEGER,"
        " attempts INTEGER NOT NULL DEFAULT 0)"
    )
    rows = [
        ("msgenomics", "succeeded", f"sample x [gf:{KEY}]", "{}"),
        ("msgenomics", "queued", f"again [gf:{KEY}]", "{}"),  # a duplicate from before
        ("wes", "failed", "", json.dumps({"genoflow-key": "f" * 32})),
        ("msgenomics", "queued", "old client, no key", "{}"),
    ]
    for protocol, state, description, tags in rows:
        db.execute(
            "INSERT INTO runs (protocol, state, description, tags, request, created)"
            " VALUES (?, ?, ?, ?, '{}', '2024-01-01T00:00:00+00:00')",
            (protocol, state, description, tags),
        )
    db.commit()
    db.close()
    store = RunStore(path)
    assert [store.get(i).submission_key for i in (1, 2, 3, 4)] == [KEY, None, "f" * 32, None]
    assert store.create_or_get("msgenomics", {}, submission_key=KEY)[0].id == 1
    assert (tmp_path / "runs.last-id").read_text().strip() == "4"


def test_sas_tokens_scrubbed_when_a_run_ends(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    run = store.create("wes", SAS_REQUEST)
    assert "sig=" in json.dumps(store.get(run.id).request)  # still needed while queued
    store.transition(run.id, [RunState.QUEUED], state=RunState.RUNNING)
    store.transition(run.id, [RunState.RUNNING], state=RunState.FAILED)
    ended = store.get(run.id).request
    assert "sig=" not in json.dumps(ended)
    assert ended["wes_request"]["workflow_params"]["output_url"] == (
        "https://acct.blob.core.windows.net/out"
    )
    assert ended["submit"]["input_sas"] == {"a.fq.gz": ""}


def test_no_signature_left_in_database_files_after_runs_end(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    big = {**SAS_REQUEST, "padding": ["x" * 3000] * 3}  # overflow pages, freed when rewritten
    runs = [store.create("wes", big) for _ in range(5)]
    for run in runs:
        store.transition(run.id, [RunState.QUEUED], state=RunState.RUNNING)
        store.transition(run.id, [RunState.RUNNING], state=RunState.SUCCEEDED)
    files = sorted(tmp_path.glob("runs.sqlite*"))  # checked while open: WAL and -shm too
    assert [f.name for f in files] == ["runs.sqlite", "runs.sqlite-shm", "runs.sqlite-wal"]
    for file in files:
        assert b"sig=" not in file.read_bytes(), file.name


def test_scrub_keeps_what_is_not_a_secret() -> None:
    data = {"a": ["x", {"b": "https://h/c?sv=1&sig=S"}], "n": 3, "output_sas": "sig=S"}
    assert scrub_secrets(data) == {"a": ["x", {"b": "https://h/c"}], "n": 3, "output_sas": ""}


@pytest.mark.parametrize("damage", ["empty", "corrupt"])
def test_damaged_store_is_refused(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    for _ in range(3):
        store.create("msgenomics", {})
    store.close()
    for leftover in tmp_path.glob("runs.sqlite-*"):
        leftover.unlink()
    path.write_bytes(b"" if damage == "empty" else b"not a database at all" * 100)
    with pytest.raises(ConfigError) as refused:
        RunStore(path)
    assert "\n" not in refused.value.one_line() and refused.value.hint


def test_empty_store_beside_old_work_dirs_is_refused(tmp_path: Path) -> None:
    (tmp_path / "work" / "7").mkdir(parents=True)
    with pytest.raises(ConfigError, match="issued run ids up to 7"):
        RunStore(tmp_path / "runs.sqlite", work_root=tmp_path / "work")


class FlakyStore(RunStore):
    """A real store whose write attempts fail as on a full disk, ``failures`` times."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        self.failures = 0
        super().__init__(path, **kwargs)

    def _attempt(self, operation: Any, write: bool) -> Any:
        if write and self.failures > 0:
            self.failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return super()._attempt(operation, write)


def test_writes_are_retried_then_reported_unavailable(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "runs.sqlite", retry_delays=(0.0, 0.0, 0.0))
    store.failures = 3
    run = store.create("wes", {})  # three failures, fourth attempt lands
    assert store.get(run.id).state is RunState.QUEUED
    store.failures = 4
    with pytest.raises(StoreUnavailable, match="disk is full"):
        store.update(run.id, state=RunState.RUNNING)
    assert store.get(run.id).state is RunState.QUEUED
