"""The server's run store: one SQLite database (WAL) under the data dir, shared by both APIs.

A run has one integer id (the Microsoft Genomics ``Id``; its decimal string is the WES
``run_id``). The stored request holds SAS tokens: the database file is created mode 0600 and the
request is only ever shown through :func:`genoflow.redact.redact`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from genoflow.model.runs import RunState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    protocol TEXT NOT NULL,
    state TEXT NOT NULL,
    message TEXT,
    failure_code INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    process TEXT NOT NULL DEFAULT '',
    request TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}',
    outputs TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    started TEXT,
    ended TEXT,
    bases_processed INTEGER NOT NULL DEFAULT 0,
    engine_pgid INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_state ON runs(state);
CREATE TABLE IF NOT EXISTS tasks (
    run_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    cmd TEXT NOT NULL DEFAULT '[]',
    start_time TEXT,
    end_time TEXT,
    exit_code INTEGER,
    PRIMARY KEY (run_id, name)
);
"""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class StoredRun:
    """A run as the server keeps it; protocols render it into their own wire shapes."""

    id: int
    protocol: str  # the API it was submitted through: "msgenomics" or "wes"
    state: RunState
    request: Mapping[str, Any]
    created: datetime
    message: str | None = None
    failure_code: int = 0
    description: str = ""
    process: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    started: datetime | None = None
    ended: datetime | None = None
    bases_processed: int = 0
    engine_pgid: int | None = None
    attempts: int = 0

    def __repr__(self) -> str:
        return f"StoredRun(id={self.id}, state={self.state.value})"


@dataclass(frozen=True)
class StoredTask:
    name: str
    cmd: Sequence[str]
    start_time: datetime | None
    end_time: datetime | None
    exit_code: int | None


class RunStore:
    """Thread-safe access to the runs table (one connection, serialised by a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.touch(mode=0o600)
        os.chmod(path, 0o600)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def create(
        self,
        protocol: str,
        request: Mapping[str, Any],
        *,
        description: str = "",
        process: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> StoredRun:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (protocol, state, request, description, process, tags, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    protocol,
                    RunState.QUEUED.value,
                    json.dumps(request),
                    description,
                    process,
                    json.dumps(dict(tags or {})),
                    _iso(utcnow()),
                ),
            )
            run_id = int(cursor.lastrowid or 0)
        return self.get(run_id)

    def get(self, run_id: int) -> StoredRun:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        return _from_row(row)

    def find(self, run_id: int) -> StoredRun | None:
        try:
            return self.get(run_id)
        except KeyError:
            return None

    def list_runs(
        self,
        *,
        newest_first: bool = False,
        states: Sequence[RunState] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> list[StoredRun]:
        query = "SELECT * FROM runs"
        args: list[Any] = []
        if states:
            query += f" WHERE state IN ({','.join('?' * len(states))})"
            args.extend(state.value for state in states)
        query += " ORDER BY id " + ("DESC" if newest_first else "ASC")
        query += " LIMIT ? OFFSET ?"
        args.extend([-1 if limit is None else limit, offset])
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [_from_row(row) for row in rows]

    def counts_by_state(self) -> dict[RunState, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM runs GROUP BY state").fetchall()
        return {RunState(state): count for state, count in rows}

    def update(self, run_id: int, **changes: Any) -> StoredRun:
        """Set columns of one run; datetimes, mappings and states are encoded here."""
        encoded = {key: _encode(value) for key, value in changes.items()}
        assignments = ", ".join(f"{key} = ?" for key in encoded)
        with self._transaction() as db:
            db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", [*encoded.values(), run_id])
        return self.get(run_id)

    def transition(
        self, run_id: int, expected: Sequence[RunState], **changes: Any
    ) -> StoredRun | None:
        """Update only if the run is still in one of ``expected`` (compare-and-set)."""
        encoded = {key: _encode(value) for key, value in changes.items()}
        assignments = ", ".join(f"{key} = ?" for key in encoded)
        marks = ",".join("?" * len(expected))
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE runs SET {assignments} WHERE id = ? AND state IN ({marks})",
                [*encoded.values(), run_id, *(state.value for state in expected)],
            )
            changed = cursor.rowcount == 1
        return self.get(run_id) if changed else None

    def next_queued(self) -> StoredRun | None:
        runs = self.list_runs(states=[RunState.QUEUED], limit=1)
        return runs[0] if runs else None

    def record_task(
        self,
        run_id: int,
        name: str,
        cmd: Sequence[str],
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        exit_code: int | None = None,
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO tasks (run_id, name, cmd, start_time, end_time, exit_code)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, name) DO UPDATE SET"
                " cmd=excluded.cmd, start_time=COALESCE(excluded.start_time, start_time),"
                " end_time=excluded.end_time, exit_code=excluded.exit_code",
                (run_id, name, json.dumps(list(cmd)), _iso(start), _iso(end), exit_code),
            )

    def tasks(self, run_id: int) -> list[StoredTask]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM tasks WHERE run_id = ? ORDER BY rowid", (run_id,)
            ).fetchall()
        return [
            StoredTask(
                row["name"],
                json.loads(row["cmd"]),
                _time(row["start_time"]),
                _time(row["end_time"]),
                row["exit_code"],
            )
            for row in rows
        ]


def _encode(value: Any) -> Any:
    if isinstance(value, RunState):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return json.dumps(dict(value))
    return value


def _from_row(row: sqlite3.Row) -> StoredRun:
    return StoredRun(
        id=row["id"],
        protocol=row["protocol"],
        state=RunState(row["state"]),
        request=json.loads(row["request"]),
        created=_time(row["created"]) or utcnow(),
        message=row["message"],
        failure_code=row["failure_code"],
        description=row["description"],
        process=row["process"],
        tags=json.loads(row["tags"]),
        outputs=json.loads(row["outputs"]),
        started=_time(row["started"]),
        ended=_time(row["ended"]),
        bases_processed=row["bases_processed"],
        engine_pgid=row["engine_pgid"],
        attempts=row["attempts"],
    )


__all__ = ["RunStore", "StoredRun", "StoredTask", "utcnow"]
