"""The run store, on SQLite and PostgreSQL: records, transactions, concurrency, migrations."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

import detente
from detente import io
from detente.io.yaml_io import write_yaml
from detente.store import (
    RunNotFoundError,
    RunRecord,
    RunStore,
    RunSummary,
    StoreError,
    default_url,
    open_store,
)
from detente.store import base as store_base
from detente.store import db as store_db
from tests.store.conftest import pg_schema_url
from tests.store.writer import EACH, SMALL, results, write_runs

SCENARIO = io.load_default()
PAYLOAD = {"scenario": "ukraine-talks", "model": "median", "forecast": {"territory": 30.0}}


def _record(store: RunStore, **changes: Any) -> RunRecord:
    args: dict[str, Any] = {
        "kind": "run",
        "scenario": SCENARIO,
        "models": ["median"],
        "params": {"median": {}, "options": {}},
        "seed": 0,
        "results": PAYLOAD,
    }
    args.update(changes)
    return store.record(**args)


@pytest.fixture
def store(store_url: str) -> Any:
    with open_store(store_url) as s:
        yield s


def _rows(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM runs")).scalar_one())
    finally:
        engine.dispose()


# -- migrations ---------------------------------------------------------------------------


def test_a_fresh_store_is_migrated_to_the_newest_revision(store_url: str) -> None:
    open_store(store_url).close()
    open_store(store_url).close()  # opening again changes nothing
    script = ScriptDirectory.from_config(_alembic_config())
    assert script.get_current_head() == store_db.SCHEMA_REVISION
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            assert (
                MigrationContext.configure(conn).get_current_revision() == store_db.SCHEMA_REVISION
            )
            assert {"runs", "alembic_version"} <= set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_the_migrations_build_exactly_the_orm_tables(store_url: str) -> None:
    open_store(store_url).close()
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), store_db.Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_a_store_from_a_newer_detente_is_refused_in_one_line(store_url: str) -> None:
    open_store(store_url).close()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer detente") as err:
        open_store(store_url)
    assert "\n" not in str(err.value)


def test_an_older_store_upgrades_keeping_its_runs_and_ids(store_url: str) -> None:
    with open_store(store_url) as s:
        ids = [_record(s).id for _ in range(3)]
        s.delete(ids[-1])
    engine = create_engine(store_url)
    try:
        with engine.begin() as conn:  # back to the first schema, as an older detente left it
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == "0001"
    finally:
        engine.dispose()
    with open_store(store_url) as s:  # upgraded on opening
        assert [r.id for r in s.list()] == ids[1::-1]
        advice = _record(s, kind="advise")
        assert advice.id == ids[-1] + 1  # the deleted run's id is not given again
        assert s.get(advice.id).kind == "advise"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(store_db.MIGRATIONS))
    return config


# -- records ------------------------------------------------------------------------------


def test_a_record_holds_what_ran_and_reads_back_equal(store: RunStore) -> None:
    before = datetime.now(UTC)
    rec = _record(store, kind="mc", models=["eu"], seed=7, params={"eu": {"Q": "1.0"}})
    yaml = write_yaml(SCENARIO, "x.yaml")
    assert rec.kind == "mc"
    assert rec.scenario_name == "ukraine-talks"
    assert rec.scenario_yaml == yaml.decode("utf-8")
    assert rec.scenario_hash == hashlib.sha256(yaml).hexdigest()
    assert rec.version == detente.__version__
    assert rec.created_at.tzinfo is not None
    assert rec.created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= rec.created_at <= datetime.now(UTC)
    again = store.get(rec.id)
    assert again == rec
    assert again.results == PAYLOAD
    assert again.params == {"eu": {"Q": "1.0"}}
    # the stored scenario reads back as the same scenario
    assert io.yaml_io.read_yaml("x.yaml", again.scenario_yaml.encode()) == SCENARIO


def test_results_keep_their_key_order(store: RunStore) -> None:
    issues = {k: float(i) for i, k in enumerate(["territory", "nato", "aid", "b", "a"])}
    rec = _record(store, results={"z": 1, "forecast": issues, "a": [None, True, "x"]})
    got = store.get(rec.id).results
    assert list(got) == ["z", "forecast", "a"]
    assert list(got["forecast"]) == list(issues)
    assert got["a"] == [None, True, "x"]


def test_list_is_newest_first_without_the_heavy_fields(store: RunStore) -> None:
    ids = [_record(store, seed=i).id for i in range(5)]
    runs = store.list()
    assert [r.id for r in runs] == ids[::-1]
    assert all(type(r) is RunSummary for r in runs)
    assert [r.seed for r in runs] == [4, 3, 2, 1, 0]
    assert [r.id for r in store.list(limit=2)] == ids[:-3:-1]
    assert store.list(limit=0) == []
    first = store.get(ids[0])
    assert runs[-1] == RunSummary(**first.model_dump(include=set(RunSummary.model_fields)))


def test_an_unknown_run_is_a_one_line_lookup_error(store: RunStore) -> None:
    with pytest.raises(RunNotFoundError) as err:
        store.get(42)
    assert isinstance(err.value, LookupError)
    assert isinstance(err.value, StoreError)
    assert str(err.value) == f"no run 42 in {store.url}"
    with pytest.raises(RunNotFoundError):
        store.delete(42)
    with pytest.raises(RunNotFoundError):
        store.export(42, "json")


def test_delete_removes_one_run_and_its_id_is_never_reused(store: RunStore) -> None:
    a, b = _record(store).id, _record(store).id
    store.delete(b)
    assert [r.id for r in store.list()] == [a]
    with pytest.raises(RunNotFoundError):
        store.get(b)
    assert _record(store).id > b


def test_bad_input_is_refused_before_anything_is_written(store: RunStore) -> None:
    with pytest.raises(StoreError, match="not plain JSON"):
        _record(store, results={"forecast": {"a": float("nan")}})
    with pytest.raises(StoreError, match="not plain JSON"):
        _record(store, results={"x": object()})
    with pytest.raises(StoreError, match="seed"):
        _record(store, seed=2**64)
    with pytest.raises(ValueError, match="unknown run kind"):
        _record(store, kind="sweep")
    assert store.list() == []


def test_the_password_never_shows(store_url: str) -> None:
    with open_store(store_url) as s:
        url = s.url
    assert "detente:detente@" not in url
    with pytest.raises(StoreError) as err:
        open_store("postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere")
    assert "s3cret" not in str(err.value)
    assert "someone:***@" in str(err.value)
    assert "\n" not in str(err.value)


# -- transactions -------------------------------------------------------------------------


def test_a_failure_inside_the_transaction_leaves_no_row(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[int] = []

    def fail(values: dict[str, Any]) -> RunRecord:
        flushed.append(values["id"])  # the insert reached the database ...
        raise RuntimeError("crash before commit")  # ... but was never committed

    monkeypatch.setattr(store_base, "to_record", fail)
    with pytest.raises(RuntimeError, match="crash before commit"):
        _record(store)
    monkeypatch.undo()
    assert flushed
    assert flushed[0] is not None
    assert store.list() == []
    assert _record(store).id is not None  # the store still works


_CRASH = """
import os, sys
from detente import io
from detente.store import base

store = base.open_store(sys.argv[1])
base.to_record = lambda values: os._exit(7)  # die with the insert flushed, before the commit
store.record("run", io.load_default(), ["median"], {}, 0, {"x": 1})
"""


def test_a_process_killed_mid_write_leaves_no_row(store_url: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH, store_url], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 7, proc.stderr
    with open_store(store_url) as s:
        assert s.list() == []
        assert _record(s).id is not None
    assert _rows(store_url) == 1


# -- concurrency --------------------------------------------------------------------------

WORKERS = 8


def _check_all_written(url: str) -> None:
    with open_store(url) as s:
        runs = s.list()
        assert len(runs) == WORKERS * EACH
        assert len({r.id for r in runs}) == WORKERS * EACH
        seen = set()
        yaml_hash = hashlib.sha256(write_yaml(SMALL, "x.yaml")).hexdigest()
        for summary in runs:
            rec = s.get(summary.id)
            w, i = rec.results["worker"], rec.results["i"]
            assert rec.results == results(w, i)
            assert rec.models == [f"w{w}"]
            assert rec.params == {"options": {"i": i}}
            assert rec.scenario_hash == yaml_hash
            seen.add((w, i))
    assert seen == {(w, i) for w in range(WORKERS) for i in range(EACH)}


def test_concurrent_processes_all_write_intact_records(store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    procs = [ctx.Process(target=write_runs, args=(store_url, w, barrier)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    _check_all_written(store_url)


def test_threads_can_share_one_store(store_url: str) -> None:
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []
    with open_store(store_url) as shared:

        def work(worker: int) -> None:
            try:
                barrier.wait(timeout=60)
                for i in range(EACH):
                    shared.record(
                        "run", SMALL, [f"w{worker}"], {"options": {"i": i}}, i, results(worker, i)
                    )
                    shared.list(limit=3)  # readers alongside the writers
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert errors == []
    _check_all_written(store_url)


# -- opening ------------------------------------------------------------------------------


def test_default_url_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DETENTE_DB_URL", "postgresql+psycopg://u@h/db")
    assert default_url() == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("DETENTE_DB_URL")
    url = default_url()
    assert url.startswith("sqlite:///")
    assert url.endswith(str(Path("detente") / "runs.sqlite"))


def test_a_plain_path_is_a_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "my runs.sqlite"
    with open_store(str(path)) as s:
        _record(s)
        assert s.url == f"sqlite:///{path}"
    assert path.is_file()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_none_opens_the_default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DETENTE_DB_URL", str(tmp_path / "env.sqlite"))
    with open_store() as s:
        _record(s)
    assert (tmp_path / "env.sqlite").is_file()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("", "expected a database URL or a file path"),
        ("nosuch://x", "unknown kind of database 'nosuch'"),
        ("sqlite:///{tmp}", "cannot open the run store"),  # a folder, not a file
        ("{tmp}/not-a-db.sqlite", "file is not a database"),
        ("postgresql+psycopg://u:p@127.0.0.1:1/db", "cannot open the run store"),
    ],
)
def test_a_store_that_cannot_be_opened_is_one_line(
    tmp_path: Path, target: str, expected: str
) -> None:
    (tmp_path / "not-a-db.sqlite").write_text("hello, I am text\n" * 200)
    with pytest.raises(StoreError, match=expected) as err:
        open_store(target.format(tmp=tmp_path))
    assert "\n" not in str(err.value)


def test_a_bare_postgresql_url_means_psycopg() -> None:
    with pg_schema_url() as url, open_store(url.replace("+psycopg", "", 1)) as s:
        assert url.startswith("postgresql+psycopg://")
        assert s.url.startswith("postgresql+psycopg://")
        _record(s)
        assert len(s.list()) == 1


# -- export -------------------------------------------------------------------------------


def test_export_json_is_the_whole_record(store: RunStore) -> None:
    rec = _record(store)
    data = json.loads(store.export(rec.id, "json"))
    assert RunRecord.model_validate(data) == rec
    assert data["results"] == PAYLOAD
