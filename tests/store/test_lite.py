"""The SQLite store without SQLAlchemy (store/lite.py): the same rows as the SQLAlchemy store,
read back equal either way, and no SQLAlchemy import for a store at the current schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from detente import io
from detente.store import RunNotFoundError, lite, open_store
from detente.store import db as store_db

SCENARIO = io.load_default()


def _fill(store: store_db.RunStore, tag: str) -> list[int]:
    ids = []
    for i, kind in enumerate(("run", "mc", "advise")):
        rec = store.record(
            kind,  # type: ignore[arg-type]
            SCENARIO,
            ["median", "eu"],
            {"eu": {"Q": "1.0"}, "options": {"i": i, "é": "ü"}},
            2**63 - 1 - i,
            {"tag": tag, "values": [0.1 * i, None, 1e300], "text": "naïve\n✓"},
        )
        ids.append(rec.id)
    return ids


def test_both_stores_read_what_the_other_wrote(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    light = open_store(url)
    assert isinstance(light, lite.SQLiteStore)
    heavy = store_db.open_alchemy(url)
    assert isinstance(heavy, store_db.AlchemyStore)
    try:
        written = [light.get(i) for i in _fill(light, "lite")]
        written += [heavy.get(i) for i in _fill(heavy, "alchemy")]
        for store in (light, heavy):
            assert [store.get(r.id) for r in written] == written
            assert store.list() == heavy.list()
            assert store.list(limit=2) == light.list(limit=2)
        assert light.url == heavy.url
        light.delete(written[0].id)
        with pytest.raises(RunNotFoundError):
            heavy.get(written[0].id)
        heavy.delete(written[-1].id)
        with pytest.raises(RunNotFoundError):
            light.delete(written[-1].id)
    finally:
        heavy.close()


def test_a_record_returned_equals_the_record_read_back(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "r.sqlite")) as store:
        assert isinstance(store, lite.SQLiteStore)
        rec = store.record("run", SCENARIO, ["median"], {}, 0, {"forecast": {"x": 1.5}})
        assert store.get(rec.id) == rec
        assert rec.created_at.tzinfo is not None


@pytest.mark.parametrize(
    "name", ["runs.sqlite", "my runs.sqlite", "a+b/c-d_e.sqlite", "odd#name.sqlite", "ü.sqlite"]
)
def test_urls_are_shown_as_sqlalchemy_shows_them(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    for target in (str(path), f"sqlite:///{path}"):
        with open_store(target) as store:
            store.record("run", SCENARIO, ["median"], {}, 0, {})
            shown = make_url(f"sqlite:///{path}").render_as_string(hide_password=True)
            assert store.url == shown
            served_light = lite.sqlite_file(target) is not None
            assert isinstance(store, lite.SQLiteStore) == served_light
            assert len(store.list()) >= 1
    assert lite.sqlite_file(str(tmp_path / "runs.sqlite")) is not None
    assert lite.sqlite_file("sqlite://") is None
    assert lite.sqlite_file("sqlite:///x.sqlite?mode=ro") is None
    assert lite.sqlite_file("postgresql+psycopg://u@h/db") is None


def test_an_old_or_foreign_file_goes_through_sqlalchemy(tmp_path: Path) -> None:
    path = tmp_path / "not-a-db.sqlite"
    path.write_text("hello\n" * 100)
    assert lite.open_current(str(path)) is None  # SQLAlchemy explains (tested in test_store)
    fresh = tmp_path / "fresh.sqlite"
    assert lite.open_current(str(fresh)) is None
    assert not fresh.exists()  # looking did not create it


_NO_SQLALCHEMY = """
import json, sys
from detente import io
from detente.store import open_store
store = open_store(sys.argv[1])
rec = store.record("run", io.load_default(), ["mean"], {}, 0, {"x": 1})
store.get(rec.id); store.list(); store.delete(rec.id)
print(json.dumps([type(store).__name__, sorted(m for m in sys.modules if m.startswith(
    ("sqlalchemy", "alembic")))]))
"""


def test_a_current_sqlite_store_does_not_load_sqlalchemy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    open_store(url).close()  # created and migrated (SQLAlchemy, once)
    out = subprocess.run(
        [sys.executable, "-c", _NO_SQLALCHEMY, url], capture_output=True, text=True, check=True
    )
    kind, loaded = json.loads(out.stdout)
    assert kind == "SQLiteStore"
    assert loaded == []
