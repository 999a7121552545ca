"""run_and_record: records a run and returns it with its id; refuses a record too large for
the store before writing anything; records nothing without a store."""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from detente import io
from detente.store import (
    RecordTooLargeError,
    RunJob,
    RunStore,
    StoreError,
    open_store,
    run_and_record,
)
from detente.store.lite import SQLiteStore
from tests.store.conftest import pg_schema_url, sqlite_url

LIMIT = 200_000
"""A SQLite length limit small enough to reach with a test's record."""


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    with open_store(store_url) as s:
        yield s


@pytest.fixture
def small_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    """A SQLite file whose every connection holds strings and rows of at most LIMIT bytes."""
    url = sqlite_url(tmp_path)
    open_store(url).close()  # created at the current schema: from now on the sqlite3 store
    connect = SQLiteStore._connect

    @contextmanager
    def limited(self: SQLiteStore) -> Iterator[sqlite3.Connection]:
        with connect(self) as conn:
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, LIMIT)
            yield conn

    monkeypatch.setattr(SQLiteStore, "_connect", limited)
    with open_store(url) as s:
        assert isinstance(s, SQLiteStore)
        yield s


def _record(store: RunStore | None, results: Any) -> Any:
    return run_and_record(store, "run", io.load_default(), ["median"], {"median": {}}, 7, results)


def test_records_the_run_and_returns_it_with_its_id(store: RunStore) -> None:
    sc = io.load_default()
    results = {"forecast": {"territory": 30.0}, "notes": ["é"]}
    done = run_and_record(store, "mc", sc, ["median"], {"median": {}, "options": {}}, 3, results)
    assert done.results == results
    assert done.url == store.url
    assert done.run_id is not None
    record = store.get(done.run_id)
    assert (record.kind, record.models, record.seed) == ("mc", ["median"], 3)
    assert record.results == results
    assert record.scenario_name == sc.name


def test_compute_is_called_once_and_its_results_recorded(store: RunStore) -> None:
    calls: list[int] = []

    def compute() -> dict[str, Any]:
        calls.append(1)
        return {"n": len(calls)}

    sc = io.load_default()
    done = run_and_record(store, "run", sc, ["mean"], {}, 0, compute=compute)
    assert calls == [1]
    assert done.results == {"n": 1}
    assert done.run_id is not None
    assert store.get(done.run_id).results == {"n": 1}


def test_without_a_store_nothing_is_recorded() -> None:
    with open_store() as default:  # the session's throwaway store ($DETENTE_DB_URL)
        before = len(default.list())
        done = run_and_record(None, "run", io.load_default(), ["mean"], {}, 0, compute=lambda: [1])
        assert (done.results, done.run_id, done.url) == ([1], None, None)
        assert len(default.list()) == before


def test_results_or_compute_not_both_nor_neither() -> None:
    sc = io.load_default()
    with pytest.raises(TypeError, match="either results or compute"):
        run_and_record(None, "run", sc, ["mean"], {}, 0)
    with pytest.raises(TypeError, match="either results or compute"):
        run_and_record(None, "run", sc, ["mean"], {}, 0, {}, compute=dict)


def test_a_job_records_like_run_and_record(store: RunStore) -> None:
    job = RunJob("run", io.load_default(), ["median"], {"median": {}}, 5, {"x": [1, 2]})
    again = pickle.loads(pickle.dumps(job))  # the web's workers send jobs to the server
    done = again.record_in(store)
    assert done.run_id is not None
    assert store.get(done.run_id).results == {"x": [1, 2]}
    assert again.record_in(None).run_id is None


def test_a_record_too_large_is_refused_before_anything_is_written(small_store: RunStore) -> None:
    assert small_store.max_record_bytes() == LIMIT
    with pytest.raises(RecordTooLargeError) as caught:
        _record(small_store, {"text": "x" * LIMIT})
    exc = caught.value
    assert exc.limit == LIMIT
    assert exc.size > LIMIT
    message = str(exc)
    assert message.startswith(f"cannot record the run in {small_store.url}: its record would")
    assert f"{exc.size:,} bytes" in message
    assert f"at most {LIMIT:,}" in message
    assert "\n" not in message
    assert isinstance(exc, StoreError)  # the CLI and the web report it like any store error
    assert small_store.list() == []
    copy = pickle.loads(pickle.dumps(exc))
    assert (str(copy), copy.size) == (message, exc.size)


def test_the_measured_size_holds_the_whole_row_as_sqlite_counts_it(
    small_store: RunStore,
) -> None:
    # A record's measured size grows byte for byte with an ASCII string in its results.
    n = LIMIT
    with pytest.raises(RecordTooLargeError) as caught:
        _record(small_store, {"text": "x" * n})
    fits = n - (caught.value.size - LIMIT)  # measured at exactly the limit
    done = _record(small_store, {"text": "x" * fits})  # SQLite takes it: the margin suffices
    assert done.run_id is not None
    assert small_store.get(done.run_id).results == {"text": "x" * fits}
    with pytest.raises(RecordTooLargeError) as over:
        _record(small_store, {"text": "x" * (fits + 1)})
    assert over.value.size == LIMIT + 1
    # Multi-byte characters count as the bytes SQLite stores (UTF-8), not as characters.
    with pytest.raises(RecordTooLargeError):
        _record(small_store, {"text": "é" * (fits // 2 + 1)})
    assert len(small_store.list()) == 1


def test_when_the_database_refuses_a_write_no_half_record_is_left(
    small_store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the measurement, SQLite itself refuses the row inside the transaction.
    monkeypatch.setattr(SQLiteStore, "max_record_bytes", lambda self: None)
    with pytest.raises(StoreError, match="too big") as caught:
        _record(small_store, {"text": "x" * LIMIT})
    assert not isinstance(caught.value, RecordTooLargeError)
    assert small_store.list() == []


def test_sqlalchemy_stores_know_their_limit(tmp_path: Path) -> None:
    expected = sqlite3.connect(":memory:").getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
    with open_store("sqlite://") as memory:  # in-memory SQLite: served by SQLAlchemy
        assert type(memory).__name__ == "AlchemyStore"
        assert memory.max_record_bytes() == expected
    with open_store(sqlite_url(tmp_path)) as light:
        assert light.max_record_bytes() == expected


def test_postgresql_holds_one_gigabyte() -> None:
    with pg_schema_url() as url, open_store(url) as store:
        assert store.max_record_bytes() == 2**30 - 1
