"""Recording runs from the command line, and `detente runs list|show|export|delete`."""

from __future__ import annotations

import csv
import io as _io
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from detente import io
from detente.cli import app
from detente.store import RunRecord, StoreError, open_store
from detente.store import db as store_db
from detente.store.lite import SQLiteStore
from tests.store.conftest import pg_schema_url

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "240"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "runs.sqlite")


def _records(db: str) -> list[RunRecord]:
    with open_store(db) as s:
        return [s.get(r.id) for r in s.list()]


@pytest.mark.parametrize(
    ("kind", "args"),
    [
        ("run", ["run", "--model", "mean", "--model", "median", "--seed", "3"]),
        ("mc", ["mc", "--model", "median", "--draws", "20"]),
        ("compare", ["compare", "--model", "median", "--shocks", "summit,sanctions-tighten"]),
        ("shock", ["shock", "--model", "median", "--apply", "summit"]),
        ("sensitivity", ["sensitivity", "--method", "morris", "--samples", "4"]),
    ],
)
def test_each_command_records_exactly_what_it_prints(db: str, kind: str, args: list[str]) -> None:
    code, out, err = invoke(*args, "--format", "json", "--db", db)
    assert code == 0, err
    [rec] = _records(db)
    assert rec.kind == kind
    assert rec.results == json.loads(out)
    assert rec.scenario_name == "ukraine-talks"
    assert "options" in rec.params
    # whatever the format, the same payload is recorded
    code, _, err = invoke(*args, "--format", "csv", "--db", db)
    assert code == 0, err
    newest = _records(db)[0]
    assert newest.results == rec.results
    assert newest.id > rec.id


def test_the_record_holds_models_parameters_and_seed(db: str) -> None:
    code, _, err = invoke(
        "run", "-m", "eu", "-p", "Q=0.5", "--rounds", "3", "--seed", "9", "--db", db
    )
    assert code == 0, err
    [rec] = _records(db)
    assert rec.models == ["eu"]
    assert rec.seed == 9
    assert rec.params == {"eu": {"Q": "0.5", "rounds": "3"}, "options": {}}
    code, _, _ = invoke("mc", "-m", "median", "-n", "10", "--seed", "4", "--db", db)
    assert code == 0
    newest = _records(db)[0]
    assert (newest.kind, newest.seed, newest.params["options"]) == ("mc", 4, {"draws": 10})


def test_no_record_records_nothing(db: str) -> None:
    code, _, _ = invoke("run", "--no-record", "--db", db)
    assert code == 0
    assert not Path(db).exists()


def test_the_default_store_is_detente_db_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DETENTE_DB_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert invoke("run", "-m", "mean")[0] == 0
    code, out, _ = invoke("runs", "list", "--format", "json")
    assert code == 0
    [record] = json.loads(out)
    assert record["models"] == ["mean"]
    assert set(record["results"]["forecast"]) == {i.id for i in io.load_default().issues}


def test_a_store_that_cannot_be_opened_fails_before_the_work(db: str) -> None:
    code, out, err = invoke("run", "--db", "postgresql+psycopg://u:pw@127.0.0.1:1/x")
    assert code == 2
    assert out == ""
    assert err.startswith("error: cannot open the run store postgresql+psycopg://u:***@")
    assert err.count("\n") == 1


def test_a_failed_recording_prints_no_result(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("run store x: disk I/O error")

    monkeypatch.setattr(store_db.RunStore, "record", fail)
    for args in (["run", "-f", "json"], ["mc", "-n", "10", "-f", "json"]):
        code, out, err = invoke(*args, "--db", db)
        assert code == 2
        assert out == ""
        assert err == "error: run store x: disk I/O error\n"


def test_a_record_too_large_for_the_store_is_one_line_and_no_result(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(db).close()  # at the current schema: served through sqlite3 from now on
    connect = SQLiteStore._connect

    @contextmanager
    def limited(self: SQLiteStore) -> Iterator[sqlite3.Connection]:
        with connect(self) as conn:
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 10_000)  # smaller than any run's record
            yield conn

    monkeypatch.setattr(SQLiteStore, "_connect", limited)
    for args in (["run", "-f", "json"], ["mc", "-n", "10"], ["compare", "-m", "median"]):
        code, out, err = invoke(*args, "--db", db)
        assert code == 2
        assert out == ""
        assert err.startswith(f"error: cannot record the run in sqlite:///{Path(db).resolve()}:")
        assert "at most 10,000 (fewer draws" in err
        assert err.endswith("; --no-record runs the command without recording it\n")
        assert err.count("\n") == 1
    assert _records(db) == []
    code, out, _ = invoke("run", "-f", "json", "--no-record", "--db", db)
    assert code == 0
    assert json.loads(out)


def _three_runs(db: str) -> list[int]:
    for args in (["run", "-m", "median"], ["mc", "-n", "10"], ["compare", "-m", "median"]):
        assert invoke(*args, "--db", db)[0] == 0
    with open_store(db) as s:
        return [r.id for r in s.list()]


def test_list_shows_the_runs_newest_first(db: str) -> None:
    ids = _three_runs(db)
    code, out, _ = invoke("runs", "list", "--db", db)
    assert code == 0
    assert out.index(" compare ") < out.index(" mc ") < out.index(" run ")
    code, out, _ = invoke("runs", "list", "--format", "json", "--db", db)
    rows = json.loads(out)
    assert [r["id"] for r in rows] == ids
    assert [r["kind"] for r in rows] == ["compare", "mc", "run"]
    with open_store(db) as s:
        assert rows == [s.get(i).model_dump(mode="json") for i in ids]
    code, out, _ = invoke("runs", "list", "--format", "json", "--brief", "--db", db)
    rows = json.loads(out)
    assert set(rows[0]) == {
        "id",
        "kind",
        "created_at",
        "scenario_name",
        "scenario_hash",
        "models",
        "seed",
        "version",
    }
    code, out, _ = invoke("runs", "list", "--format", "json", "--limit", "1", "--db", db)
    assert [r["id"] for r in json.loads(out)] == ids[:1]


def test_list_of_an_empty_store(db: str) -> None:
    code, out, _ = invoke("runs", "list", "--format", "json", "--db", db)
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = invoke("runs", "list", "--db", db)
    assert code == 0
    assert "no runs recorded yet" in out


def test_show_prints_what_ran_and_the_results(db: str) -> None:
    ids = _three_runs(db)
    code, out, _ = invoke("runs", "show", str(ids[1]), "--db", db)
    assert code == 0
    for text in ("mc", "ukraine-talks", "median", "q05", "q95", "territory", '"draws": 10'):
        assert text in out
    code, out, _ = invoke("runs", "show", str(ids[1]), "--format", "json", "--db", db)
    assert RunRecord.model_validate_json(out) == _records(db)[1]


def test_export_writes_json_csv_and_xlsx(db: str, tmp_path: Path) -> None:
    run_id = _three_runs(db)[-1]
    code, out, _ = invoke("runs", "export", str(run_id), "--format", "json", "--db", db)
    assert code == 0
    assert json.loads(out)["id"] == run_id
    code, out, _ = invoke("runs", "export", str(run_id), "--format", "csv", "--db", db)
    assert code == 0
    rows = list(csv.reader(_io.StringIO(out)))
    assert rows[0] == ["model", "issue", "forecast"]
    assert rows[1][:2] == ["median", "territory"]
    target = tmp_path / "run.xlsx"
    code, _, err = invoke(
        "runs", "export", str(run_id), "-f", "xlsx", "-o", str(target), "--db", db
    )
    assert code == 0
    assert err == f"wrote {target}\n"
    assert load_workbook(target).sheetnames == ["run", "results", "scenario", "yaml"]
    csv_file = tmp_path / "run.csv"
    assert (
        invoke("runs", "export", str(run_id), "-f", "csv", "-o", str(csv_file), "--db", db)[0] == 0
    )
    assert csv_file.read_text(encoding="utf-8") == out


def test_xlsx_needs_a_file(db: str) -> None:
    run_id = _three_runs(db)[0]
    code, out, err = invoke("runs", "export", str(run_id), "--format", "xlsx", "--db", db)
    assert code == 2
    assert out == ""
    assert err == "error: --format xlsx: name the workbook to write with --out FILE\n"


def test_delete_then_the_run_is_gone(db: str) -> None:
    ids = _three_runs(db)
    code, _, err = invoke("runs", "delete", str(ids[0]), "--db", db)
    assert code == 0
    assert err.startswith(f"deleted run {ids[0]} from sqlite:///")
    assert [r.id for r in _records(db)] == ids[1:]


@pytest.mark.parametrize("command", ["show", "export", "delete"])
def test_an_unknown_run_is_one_line_and_exit_2(db: str, command: str) -> None:
    code, out, err = invoke("runs", command, "42", "--db", db)
    assert code == 2
    assert out == ""
    assert err == f"error: no run 42 in sqlite:///{db}\n"


def test_runs_against_postgresql() -> None:
    with pg_schema_url() as url:
        code, out, err = invoke("run", "-m", "median", "-f", "json", "--db", url)
        assert code == 0, err
        code, listed, _ = invoke("runs", "list", "-f", "json", "--db", url)
        [summary] = json.loads(listed)
        code, shown, _ = invoke("runs", "show", str(summary["id"]), "-f", "json", "--db", url)
        assert json.loads(shown)["results"] == json.loads(out)
        assert "detente:detente@" not in invoke("runs", "list", "--db", url)[1]
