"""The server's run store: one SQLite database (WAL) under the data dir, shared by both APIs.

A run has one integer id (the Microsoft Genomics ``Id``; its decimal string is the WES
``run_id``). The stored request holds SAS tokens while the run may still need them: the database
file is created mode 0600, the request is only ever shown through :func:`genoflow.redact.redact`,
and the tokens are scrubbed (``secure_delete``, WAL truncated) in the transaction that ends the
run. At most one queued, running or succeeded run holds a submission key (a unique index), so a
duplicate submit returns the existing run. Writes are retried on transient SQLite errors; a
store that stays unavailable raises :class:`StoreUnavailable`. The last issued run id is also
kept in a file beside the database, so that an emptied or replaced database is refused instead
of reusing ids.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from genoflow.errors import ConfigError
from genoflow.model.outputs import RunOutput
from genoflow.model.runs import TERMINAL_STATES, RunState
from genoflow.model.submission import key_from_description
from genoflow.model.tags import SUBMISSION_KEY

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# States in which a run holds its submission key: a duplicate submit returns that run.
KEY_HOLDING_STATES = (RunState.QUEUED, RunState.RUNNING, RunState.SUCCEEDED)
_HOLDING_SQL = ", ".join(f"'{state.value}'" for state in KEY_HOLDING_STATES)
HIGH_WATER_NAME = "runs.last-id"
# Backoff between attempts of one store operation on a transient error (~1.5 s in all).
RETRY_DELAYS = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8)

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
    attempts INTEGER NOT NULL DEFAULT 0,
    submission_key TEXT
);
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

# After the migration: every key look-up is one index probe.
_INDEXES = f"""
CREATE INDEX IF NOT EXISTS runs_state ON runs(state);
CREATE INDEX IF NOT EXISTS runs_key ON runs(submission_key);
CREATE UNIQUE INDEX IF NOT EXISTS runs_key_live ON runs(submission_key)
    WHERE submission_key IS NOT NULL AND state IN ({_HOLDING_SQL});
"""


class StoreUnavailable(RuntimeError):
    """The run store could not be read or written, even after retries (HTTP 503)."""


@dataclass(frozen=True)
class ListQuery:
    """What a list request asks for, answered in SQL (filters, order, paging)."""

    newest_first: bool = False
    states: Sequence[RunState] = ()
    description_contains: Sequence[str] = ()
    process_contains: Sequence[str] = ()
    submission_key: str | None = None
    offset: int = 0
    limit: int | None = None


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
    outputs: tuple[RunOutput, ...] = ()  # what the executor committed, as it recorded them
    started: datetime | None = None
    ended: datetime | None = None
    bases_processed: int = 0
    engine_pgid: int | None = None
    attempts: int = 0
    submission_key: str | None = None

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

    def __init__(
        self,
        path: Path,
        *,
        work_root: Path | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        """``work_root``: the runs' work dirs (named by run id), more evidence of issued ids."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._work_root = work_root
        self.high_water_file = path.parent / HIGH_WATER_NAME
        self._retry_delays = tuple(retry_delays)
        if not path.exists():
            path.touch(mode=0o600)
        os.chmod(path, 0o600)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ConfigError(
                f"run store {path} is damaged: {exc}",
                hint=f"restore it from a backup; {self.high_water_file.name} keeps the last run id",
            ) from None
        self._check_high_water()

    def _open(self) -> None:
        # secure_delete: freed pages (old SAS tokens) are zeroed, not left in the file.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._db.executescript(_INDEXES)

    def _migrate(self) -> None:
        """Stores from before submission keys: add the column, backfill it from the run's
        Description marker or ``genoflow-key`` tag (one live run per key keeps it)."""
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(runs)")}
        if "submission_key" in columns:
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("ALTER TABLE runs ADD COLUMN submission_key TEXT")
        holders: set[str] = set()
        rows = self._db.execute("SELECT id, state, description, tags FROM runs ORDER BY id")
        for row in rows.fetchall():
            key = key_from_description(row["description"]) or _tag_key(row["tags"])
            if key is None or (row["state"] in _HOLDING_VALUES and key in holders):
                continue  # a duplicate made before the index existed keeps no key
            if row["state"] in _HOLDING_VALUES:
                holders.add(key)
            self._db.execute("UPDATE runs SET submission_key = ? WHERE id = ?", (key, row["id"]))
        self._db.execute("COMMIT")

    def _check_high_water(self) -> None:
        """Refuse a store whose runs end below the last id this data dir issued."""
        issued = max(_read_high_water(self.high_water_file), _highest_workdir(self._work_root))
        highest = self._read(lambda db: db.execute("SELECT MAX(id) FROM runs").fetchone()[0])
        if (highest or 0) < issued:
            self._db.close()
            raise ConfigError(
                f"run store {self.path} holds runs up to id {highest or 0}, but this data dir "
                f"issued run ids up to {issued}: the database was emptied or replaced",
                hint="restore runs.sqlite from a backup (run ids would be reused otherwise); "
                f"to start an empty store on purpose, move {self.high_water_file.name} and "
                "work/ aside",
            )
        if highest:  # a store from before the mark existed gets one now
            _write_high_water(self.high_water_file, int(highest))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- retried access ----------------------------------------------------------------
    def _attempt(self, operation: Callable[[sqlite3.Connection], _T], write: bool) -> _T:
        """One attempt of ``operation`` (in a BEGIN IMMEDIATE transaction when writing)."""
        with self._lock:
            if not write:
                return operation(self._db)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = operation(self._db)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # a failed COMMIT (disk full) may leave it open
                    self._db.execute("ROLLBACK")
                raise
            return result

    def _retried(self, operation: Callable[[sqlite3.Connection], _T], write: bool) -> _T:
        for delay in (*self._retry_delays, None):
            try:
                return self._attempt(operation, write)
            except sqlite3.OperationalError as exc:  # locked, busy, disk full, I/O error
                if delay is None:
                    raise StoreUnavailable(f"the run store is unavailable: {exc}") from None
                log.warning("run store: %s; retrying in %.2f s", exc, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _write(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        return self._retried(operation, write=True)

    def _read(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        return self._retried(operation, write=False)

    # --- creating ----------------------------------------------------------------------
    def create(
        self,
        protocol: str,
        request: Mapping[str, Any],
        *,
        description: str = "",
        process: str = "",
        tags: Mapping[str, str] | None = None,
        submission_key: str | None = None,
    ) -> StoredRun:
        run, _ = self.create_or_get(
            protocol,
            request,
            description=description,
            process=process,
            tags=tags,
            submission_key=submission_key,
        )
        return run

    def create_or_get(
        self,
        protocol: str,
        request: Mapping[str, Any],
        *,
        description: str = "",
        process: str = "",
        tags: Mapping[str, str] | None = None,
        submission_key: str | None = None,
    ) -> tuple[StoredRun, bool]:
        """The new run and True, or the queued/running/succeeded run that already holds
        ``submission_key`` and False (a run without a key is never deduplicated)."""
        values = (
            protocol,
            RunState.QUEUED.value,
            json.dumps(request),
            description,
            process,
            json.dumps(dict(tags or {})),
            _iso(utcnow()),
            submission_key or None,
        )

        def insert(db: sqlite3.Connection) -> tuple[int, bool]:
            holder = _key_holder(db, submission_key)
            if holder is not None:
                return holder, False
            cursor = db.execute(
                "INSERT INTO runs (protocol, state, request, description, process, tags,"
                " created, submission_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            return int(cursor.lastrowid or 0), True

        try:
            run_id, created = self._write(insert)
        except sqlite3.IntegrityError:  # the unique index, should another writer have won
            holder = self._read(lambda db: _key_holder(db, submission_key))
            if holder is None:
                raise
            run_id, created = holder, False
        if created:
            _write_high_water(self.high_water_file, run_id)
        return self.get(run_id), created

    # --- reading -----------------------------------------------------------------------
    def get(self, run_id: int) -> StoredRun:
        row = self._read(
            lambda db: db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        )
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
        return self.query(
            ListQuery(newest_first=newest_first, states=states, offset=offset, limit=limit)
        )

    def query(self, query: ListQuery) -> list[StoredRun]:
        """One page of runs, filtered, ordered and paged by SQLite (indexes on state, key)."""
        where, args = _where(query)
        sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY id " + ("DESC" if query.newest_first else "ASC") + " LIMIT ? OFFSET ?"
        args.extend([-1 if query.limit is None else query.limit, query.offset])
        rows = self._read(lambda db: db.execute(sql, args).fetchall())
        return [_from_row(row) for row in rows]

    def counts_by_state(self) -> dict[RunState, int]:
        rows = self._read(
            lambda db: db.execute("SELECT state, COUNT(*) FROM runs GROUP BY state").fetchall()
        )
        return {RunState(state): count for state, count in rows}

    def next_queued(self) -> StoredRun | None:
        runs = self.list_runs(states=[RunState.QUEUED], limit=1)
        return runs[0] if runs else None

    # --- changing ----------------------------------------------------------------------
    def update(self, run_id: int, **changes: Any) -> StoredRun:
        """Set columns of one run; datetimes, mappings and states are encoded here."""
        return self._change(run_id, None, changes) or self.get(run_id)

    def transition(
        self, run_id: int, expected: Sequence[RunState], **changes: Any
    ) -> StoredRun | None:
        """Update only if the run is still in one of ``expected`` (compare-and-set)."""
        return self._change(run_id, expected, changes)

    def _change(
        self, run_id: int, expected: Sequence[RunState] | None, changes: Mapping[str, Any]
    ) -> StoredRun | None:
        encoded = {key: _encode(value) for key, value in changes.items()}
        ending = changes.get("state") in TERMINAL_STATES

        def change(db: sqlite3.Connection) -> bool:
            if ending:  # the same transaction drops the SAS tokens the run no longer needs
                encoded["request"] = _scrubbed_request(db, run_id)
            assignments = ", ".join(f"{key} = ?" for key in encoded)
            sql, args = f"UPDATE runs SET {assignments} WHERE id = ?", [*encoded.values(), run_id]
            if expected is not None:
                sql += f" AND state IN ({','.join('?' * len(expected))})"
                args.extend(state.value for state in expected)
            return db.execute(sql, args).rowcount == 1

        if not self._write(change):
            return None
        if ending:
            self._truncate_wal()
        return self.get(run_id)

    def _truncate_wal(self) -> None:
        """Old pages (with the tokens) leave the WAL too; best effort, retried next time."""
        try:
            self._read(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
        except StoreUnavailable as exc:
            log.warning("run store: WAL checkpoint failed: %s", exc)

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
        values = (run_id, name, json.dumps(list(cmd)), _iso(start), _iso(end), exit_code)
        self._write(
            lambda db: db.execute(
                "INSERT INTO tasks (run_id, name, cmd, start_time, end_time, exit_code)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, name) DO UPDATE SET"
                " cmd=excluded.cmd, start_time=COALESCE(excluded.start_time, start_time),"
                " end_time=excluded.end_time, exit_code=excluded.exit_code",
                values,
            )
        )

    def tasks(self, run_id: int) -> list[StoredTask]:
        rows = self._read(
            lambda db: db.execute(
                "SELECT * FROM tasks WHERE run_id = ? ORDER BY rowid", (run_id,)
            ).fetchall()
        )
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


_HOLDING_VALUES = frozenset(state.value for state in KEY_HOLDING_STATES)


def _key_holder(db: sqlite3.Connection, key: str | None) -> int | None:
    if not key:
        return None
    row = db.execute(
        f"SELECT id FROM runs WHERE submission_key = ? AND state IN ({_HOLDING_SQL})"
        " ORDER BY id LIMIT 1",
        (key,),
    ).fetchone()
    return int(row[0]) if row else None


def _where(query: ListQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if query.states:
        where.append(f"state IN ({','.join('?' * len(query.states))})")
        args.extend(state.value for state in query.states)
    if query.submission_key is not None:
        where.append("submission_key = ?")
        args.append(query.submission_key)
    for column, texts in (
        ("description", query.description_contains),
        ("process", query.process_contains),
    ):
        for text in texts:
            where.append(f"instr({column}, ?) > 0")
            args.append(text)
    return where, args


# --- secrets at rest ---------------------------------------------------------------------

_SAS_QUERY = re.compile(r"\?[^\s\"']*\bsig=[^\s\"']*")


def _scrubbed_request(db: sqlite3.Connection, run_id: int) -> str:
    row = db.execute("SELECT request FROM runs WHERE id = ?", (run_id,)).fetchone()
    return json.dumps(scrub_secrets(json.loads(row[0]) if row else {}))


def scrub_secrets(value: Any) -> Any:
    """The stored request without SAS tokens: ``input_sas``/``output_sas`` emptied, and the
    query string of any URL that carries a signature removed."""
    if isinstance(value, Mapping):
        return {key: _scrub_item(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_secrets(item) for item in value]
    if isinstance(value, str) and "sig=" in value:
        return _SAS_QUERY.sub("", value) if "?" in value else ""
    return value


def _scrub_item(key: str, item: Any) -> Any:
    if key == "input_sas" and isinstance(item, Mapping):
        return {name: "" for name in item}
    if key == "output_sas":
        return ""
    return scrub_secrets(item)


# --- the high-water mark of issued ids -----------------------------------------------------


def _read_high_water(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except FileNotFoundError:
        return 0
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read {path}: {exc}", hint="it holds the last run id issued; restore it"
        ) from None


def _write_high_water(path: Path, run_id: int) -> None:
    """Atomically (write, fsync, rename); never lowered."""
    if _read_high_water(path) >= run_id:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="ascii") as handle:
        handle.write(f"{run_id}\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _highest_workdir(work_root: Path | None) -> int:
    if work_root is None or not work_root.is_dir():
        return 0
    return max((int(p.name) for p in work_root.iterdir() if p.name.isdigit()), default=0)


def _tag_key(tags: str) -> str | None:
    try:
        value = json.loads(tags or "{}").get(SUBMISSION_KEY)
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None


def _encode(value: Any) -> Any:
    if isinstance(value, tuple) and all(isinstance(item, RunOutput) for item in value):
        return json.dumps([item.to_dict() for item in value])
    if isinstance(value, RunState):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return json.dumps(dict(value))
    return value


def _decode_outputs(text: str, request: Mapping[str, Any]) -> tuple[RunOutput, ...]:
    """The outputs column: a list of records; a store from before held {kind: {name, size,
    md5}} (its container is the request's output container)."""
    value = json.loads(text or "[]")
    if isinstance(value, dict):
        container = request.get("submit", {}).get("output_container")
        value = [{"kind": kind, "container": container, **item} for kind, item in value.items()]
    return tuple(RunOutput.from_dict(item) for item in value)


def _from_row(row: sqlite3.Row) -> StoredRun:
    request = json.loads(row["request"])
    return StoredRun(
        id=row["id"],
        protocol=row["protocol"],
        state=RunState(row["state"]),
        request=request,
        created=_time(row["created"]) or utcnow(),
        message=row["message"],
        failure_code=row["failure_code"],
        description=row["description"],
        process=row["process"],
        tags=json.loads(row["tags"]),
        outputs=_decode_outputs(row["outputs"], request),
        started=_time(row["started"]),
        ended=_time(row["ended"]),
        bases_processed=row["bases_processed"],
        engine_pgid=row["engine_pgid"],
        attempts=row["attempts"],
        submission_key=row["submission_key"],
    )


__all__ = [
    "ListQuery",
    "RunStore",
    "StoreUnavailable",
    "StoredRun",
    "StoredTask",
    "scrub_secrets",
    "utcnow",
]
