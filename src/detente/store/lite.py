"""A SQLite run store at the current schema, through Python's :mod:`sqlite3` alone.

The rows are those SQLAlchemy writes (:mod:`detente.store.db`): times as SQLite text in UTC
(``2026-12-03 09:32:47.524736``), JSON columns as ``json.dumps`` text. Each operation opens its
own connection (a few tenths of a millisecond), so one store may be shared by threads, and
the same transactions as the SQLAlchemy store: WAL mode, a busy timeout, and writes that start
with ``BEGIN IMMEDIATE`` so that concurrent writers queue for the lock.

Only plain SQLite files qualify (a path, or ``sqlite:///path`` without query options and with
no characters that SQLAlchemy's URLs escape); anything else is left to SQLAlchemy.
"""

from __future__ import annotations

import builtins
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from detente.store import base
from detente.store.errors import RunNotFoundError, StoreError
from detente.store.record import RunRecord, RunSummary

_PLAIN_PATH = re.compile(r"^[A-Za-z0-9 _./~+-]+$")
_INSERT = (
    f"INSERT INTO runs ({', '.join(base.COLUMNS[1:])})"
    f" VALUES ({', '.join('?' for _ in base.COLUMNS[1:])})"
)
_JSON_COLUMNS = ("models", "params", "results")


def sqlite_file(target: str) -> str | None:
    """The SQLite file a store URL or path names, where this module can serve it, else None."""
    if "://" not in target:
        if not target.strip():
            return None
        database = str(Path(target).expanduser().resolve())
    elif target.startswith("sqlite:///"):
        database = target[len("sqlite:///") :]
    else:
        return None
    if database in ("", ":memory:") or not _PLAIN_PATH.match(database):
        return None
    return database


def open_current(target: str) -> SQLiteStore | None:
    """The store at ``target`` if it is an existing SQLite file at
    :data:`~detente.store.base.SCHEMA_REVISION`; else None (a new file, another schema, not a
    database, another kind of URL: SQLAlchemy opens, creates or upgrades it, and explains)."""
    path = sqlite_file(target)
    if path is None or not Path(path).is_file():
        return None
    store = SQLiteStore(path)
    try:
        with store._connect() as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    if row is None or row[0] != base.SCHEMA_REVISION:
        return None
    return store


def set_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode = WAL``, retried: when several connections switch a new file at
    once, SQLite answers "database is locked" at once (to avoid a deadlock) instead of waiting
    through the busy timeout."""
    deadline = time.monotonic() + base.BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _reason(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _time_text(value: datetime) -> str:
    """SQLAlchemy's SQLite text for a time, in UTC without the zone (as it stores them)."""
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


def _row_values(names: tuple[str, ...], row: tuple[Any, ...]) -> dict[str, Any]:
    values = dict(zip(names, row, strict=True))
    values["created_at"] = datetime.fromisoformat(values["created_at"]).replace(tzinfo=UTC)
    for column in _JSON_COLUMNS:
        if column in values:
            values[column] = json.loads(values[column])
    return values


class SQLiteStore(base.RunStore):
    """A run store in one SQLite file, without SQLAlchemy (see the module's description)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._max_length: int | None = None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=base.BUSY_TIMEOUT_MS / 1000)
        try:
            conn.isolation_level = None  # transactions begin where this module says
            cursor = conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {base.BUSY_TIMEOUT_MS}")
            set_wal(cursor)
            cursor.close()
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction: committed if the block ends normally, else rolled back."""
        try:
            with self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"run store {self.url}: {_reason(exc)}") from exc

    def _insert(self, row: dict[str, Any]) -> RunRecord:
        stored = dict(row)
        stored["created_at"] = _time_text(row["created_at"])
        for column in _JSON_COLUMNS:
            stored[column] = base.dump_json(row[column])
        with self._transaction(write=True) as conn:
            cursor = conn.execute(_INSERT, [stored[c] for c in base.COLUMNS[1:]])
            return base.to_record({**row, "id": cursor.lastrowid})

    def max_record_bytes(self) -> int | None:
        if self._max_length is None:  # the library's limit: the same for every connection
            try:
                with self._connect() as conn:
                    self._max_length = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
            except sqlite3.Error as exc:
                raise StoreError(f"run store {self.url}: {_reason(exc)}") from exc
        return self._max_length

    def _list(self, limit: int | None) -> builtins.list[RunSummary]:
        query = f"SELECT {', '.join(base.SUMMARY)} FROM runs ORDER BY created_at DESC, id DESC"
        args: tuple[int, ...] = ()
        if limit is not None:
            query += " LIMIT ?"
            args = (limit,)
        with self._transaction(write=False) as conn:
            rows = conn.execute(query, args).fetchall()
        return [RunSummary.model_validate(_row_values(base.SUMMARY, r)) for r in rows]

    def get(self, run_id: int) -> RunRecord:
        if not -(2**63) <= run_id < 2**63:  # beyond SQLite's integers: no such run
            raise RunNotFoundError(run_id, self.url)
        with self._transaction(write=False) as conn:
            row = conn.execute(
                f"SELECT {', '.join(base.COLUMNS)} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise RunNotFoundError(run_id, self.url)
        return RunRecord.model_validate(_row_values(base.COLUMNS, row))

    def delete(self, run_id: int) -> None:
        if not -(2**63) <= run_id < 2**63:
            raise RunNotFoundError(run_id, self.url)
        with self._transaction(write=True) as conn:
            if conn.execute("SELECT id FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise RunNotFoundError(run_id, self.url)
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
