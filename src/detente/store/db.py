"""The run store through SQLAlchemy: the ``runs`` table (SQLAlchemy 2 ORM), the migrations,
and :class:`AlchemyStore`, which serves every store but a plain SQLite file at the current
schema (that one :mod:`detente.store.lite` serves without SQLAlchemy; see
:mod:`detente.store.base`).

Any SQLAlchemy URL works in principle; SQLite (the default, one file) and PostgreSQL (via
psycopg 3) are tested. The schema is created and upgraded by the Alembic migrations in
``migrations/`` whenever a store is opened.

Concurrency: every write is one transaction. On SQLite the connection runs in WAL mode with a
busy timeout, and write transactions start with ``BEGIN IMMEDIATE``, so concurrent writers
(threads or processes) queue for the lock instead of failing. A store may be shared by
threads; a process should open its own (do not carry one across ``fork``).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    create_engine,
    delete,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from detente.store import base
from detente.store.base import SCHEMA_REVISION, RunStore, default_url, open_store
from detente.store.errors import RunNotFoundError, StoreError
from detente.store.lite import set_wal as _set_wal
from detente.store.record import RunKind, RunRecord, RunSummary

__all__ = ["SCHEMA_REVISION", "AlchemyStore", "RunStore", "default_url", "open_store"]

MIGRATIONS = Path(__file__).with_name("migrations")

_BUSY_TIMEOUT_MS = base.BUSY_TIMEOUT_MS
_PG_MIGRATION_LOCK = 0x64E7E47E  # any constant: serialises concurrent first openings


# -- the table ------------------------------------------------------------------------------


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite stores naive text: read back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("run store times must be timezone-aware")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Plain JSON, not JSONB, on PostgreSQL too: JSONB reorders object keys, and the order of a
# payload's keys (issues in scenario order) is part of what the command printed.
_JSON = JSON(none_as_null=False)

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class Run(Base):
    """One recorded run (see :class:`~detente.store.record.RunRecord` for the fields)."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in get_args(RunKind)) + ")", name="kind"
        ),
        Index("ix_runs_created_at", "created_at"),
        Index("ix_runs_scenario_hash", "scenario_hash"),
        # SQLite: never reuse the id of a deleted run (reports and links cite ids).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    scenario_name: Mapped[str] = mapped_column(Text)
    scenario_hash: Mapped[str] = mapped_column(String(64))
    scenario_yaml: Mapped[str] = mapped_column(Text)
    models: Mapped[list[str]] = mapped_column(_JSON)
    params: Mapped[dict[str, Any]] = mapped_column(_JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[str] = mapped_column(String(64))
    results: Mapped[Any] = mapped_column(_JSON)


_SUMMARY = (
    Run.id,
    Run.kind,
    Run.created_at,
    Run.scenario_name,
    Run.scenario_hash,
    Run.models,
    Run.seed,
    Run.version,
)


def _to_record(row: Run) -> RunRecord:
    return base.to_record({c.key: getattr(row, c.key) for c in Run.__table__.columns})


# -- opening --------------------------------------------------------------------------------


def open_alchemy(target: str) -> AlchemyStore:
    """The store at ``target`` through SQLAlchemy, created or upgraded to the newest schema
    (see :func:`detente.store.base.open_store`, which calls this)."""
    parsed = _parse(target)
    shown = parsed.render_as_string(hide_password=True)
    _make_folder(parsed, shown)
    try:
        engine = create_engine(
            parsed,
            json_serializer=partial(json.dumps, allow_nan=False, ensure_ascii=False),
            pool_pre_ping=parsed.get_backend_name() != "sqlite",
            **_in_memory_pool(parsed),
        )
    except ImportError as exc:
        hint = " (pip install 'detente[postgres]')" if "psycopg" in str(exc) else ""
        raise StoreError(f"cannot open the run store {shown}: {exc}{hint}") from None
    except NoSuchModuleError:
        raise StoreError(
            f"cannot open the run store {shown}: unknown kind of database"
            f" {parsed.drivername!r} (expected sqlite:///FILE or postgresql+psycopg://...)"
        ) from None
    except ArgumentError as exc:
        raise StoreError(f"cannot open the run store {shown}: {_reason(exc)}") from None
    if engine.dialect.name == "sqlite":
        _sqlite_events(engine)
    try:
        _migrate(engine, shown)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the run store {shown}: {_reason(exc)}") from None
    except BaseException:
        engine.dispose()
        raise
    return AlchemyStore(engine, shown)


def _in_memory_pool(url: URL) -> dict[str, Any]:
    """One shared connection for an in-memory SQLite store: each connection to ``sqlite://`` is
    a database of its own, so a run recorded from another thread (a web job) would otherwise
    land in a database the request threads never see."""
    if url.get_backend_name() != "sqlite" or (url.database or "") not in ("", ":memory:"):
        return {}
    return {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}


def _parse(target: str) -> URL:
    if not target.strip():
        raise StoreError("run store: expected a database URL or a file path, got ''")
    if "://" not in target:
        return URL.create("sqlite", database=str(Path(target).expanduser().resolve()))
    try:
        url = make_url(target)
    except ArgumentError:
        raise StoreError(f"run store: not a database URL: {target!r}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _make_folder(url: URL, shown: str) -> None:
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return
    if database.startswith("file:"):  # a SQLite URI (uri=true): left to SQLite
        return
    try:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot open the run store {shown}: {exc.strerror or exc}") from None


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # SQLAlchemy, not the sqlite3 module, emits BEGIN (see _begin): real transactions.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")  # first: WAL may wait
        _set_wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at once: a writer waits for the lock up front rather
        # than failing when it upgrades a read lock that another writer made stale.
        mode = conn.get_execution_options().get("detente_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def _migrate(engine: Engine, shown: str) -> None:
    """Upgrade the schema to the newest revision, once even when many processes open at once."""
    with engine.connect() as conn:
        if _revision(conn) == SCHEMA_REVISION:
            return
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.execution_options(detente_begin="IMMEDIATE").begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            raise StoreError(
                f"cannot upgrade the run store {shown}: {exc} (written by a newer detente?)"
            ) from None


def _reason(exc: BaseException) -> str:
    """The first line of what the driver said, without SQLAlchemy's boilerplate."""
    cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


# -- the store ------------------------------------------------------------------------------


class AlchemyStore(RunStore):
    """A run store through SQLAlchemy (any backend). Open with
    :func:`~detente.store.base.open_store`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.url = url
        self._engine = engine
        self._writer = engine.execution_options(detente_begin="IMMEDIATE")

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Session]:
        """One session in one transaction: committed if the block ends normally, else rolled
        back, so a failure part-way leaves nothing behind."""
        try:
            with Session(self._writer if write else self._engine) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"run store {self.url}: {_reason(exc)}") from exc

    def _insert(self, row: dict[str, Any]) -> RunRecord:
        orm_row = Run(**row)
        with self._transaction(write=True) as session:
            session.add(orm_row)
            session.flush()  # assigns the id; the commit comes when the block ends
            return _to_record(orm_row)

    def _list(self, limit: int | None) -> builtins.list[RunSummary]:
        query = select(*_SUMMARY).order_by(Run.created_at.desc(), Run.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._transaction(write=False) as session:
            rows = session.execute(query).all()
        return [RunSummary.model_validate(row._asdict()) for row in rows]

    def get(self, run_id: int) -> RunRecord:
        with self._transaction(write=False) as session:
            row = session.get(Run, run_id)
            if row is None:
                raise RunNotFoundError(run_id, self.url)
            return _to_record(row)

    def delete(self, run_id: int) -> None:
        with self._transaction(write=True) as session:
            if session.scalar(select(Run.id).where(Run.id == run_id)) is None:
                raise RunNotFoundError(run_id, self.url)
            session.execute(delete(Run).where(Run.id == run_id))

    def max_record_bytes(self) -> int | None:
        name = self._engine.dialect.name
        if name == "postgresql":
            return base.POSTGRES_MAX_FIELD
        if name != "sqlite":
            return None
        try:
            with self._engine.connect() as conn:
                driver = conn.connection.driver_connection
                limit = getattr(driver, "getlimit", None)
                if limit is None:  # another SQLite driver than the sqlite3 module
                    return base.SQLITE_DEFAULT_MAX_LENGTH
                return int(limit(sqlite3.SQLITE_LIMIT_LENGTH))
        except SQLAlchemyError as exc:
            raise StoreError(f"run store {self.url}: {_reason(exc)}") from exc

    def close(self) -> None:
        self._engine.dispose()
