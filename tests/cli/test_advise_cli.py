"""`detente advise` and `detente discover`: tables, JSON equal to the library's (and the same
bytes on every executor), CSV, charts, levers files, recording, one-line errors."""

from __future__ import annotations

import csv
import io as _io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detente import io
from detente.cli import app
from detente.scenario.levers import LeverPlan
from detente.serial import dumps
from detente.sim.advise import advise
from detente.sim.discover import discover
from detente.store import open_store

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_advise_json_is_the_library_result_and_the_same_on_every_executor() -> None:
    args = ["advise", "--actor", "usa", "--draws", "60", "--seed", "4", "--kind", "shock"]
    code, out, err = invoke(*args, "--format", "json", "--no-record")
    assert code == 0, err
    want = advise(io.load_default(), "usa", "median", 60, 4, plan=LeverPlan(kinds=("shock",)))
    assert json.loads(out) == json.loads(dumps(want.to_dict()))
    for ex in ("process", "dask"):
        code, other, err = invoke(
            *args, "--format", "json", "--no-record", "--executor", ex, "--workers", "2"
        )
        assert code == 0, err
        assert other == out


def test_advise_table_csv_and_plot(tmp_path: Path) -> None:
    png = tmp_path / "levers.png"
    code, out, err = invoke(
        "advise", "-a", "russia", "-n", "40", "--top", "4", "--plot", str(png), "--no-record"
    )
    assert code == 0, err
    assert "Levers for Russia" in out
    assert "caveat: the other actors are held to the median model's behaviour" in out
    assert out.count("\n│ ") >= 4
    assert png.read_bytes().startswith(b"\x89PNG")
    code, out, err = invoke("advise", "-a", "russia", "-n", "40", "--format", "csv", "--no-record")
    assert code == 0, err
    rows = list(csv.DictReader(_io.StringIO(out)))
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    gains = [float(r["gain_median"]) for r in rows]
    assert gains == sorted(gains, reverse=True)
    assert "shift_territory" in rows[0]


def test_advise_is_recorded_and_reported(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    pytest.importorskip("jinja2")
    db = str(tmp_path / "runs.sqlite")
    code, _, err = invoke("advise", "-a", "ukraine", "-n", "30", "--kind", "shock", "--db", db)
    assert code == 0, err
    with open_store(db) as store:
        (summary,) = store.list()
        record = store.get(summary.id)
    assert record.kind == "advise"
    assert record.params["options"]["actor"] == "ukraine"
    assert record.result().to_dict() == record.results
    page = tmp_path / "r.html"
    code, _, err = invoke("report", str(summary.id), "--db", db, "--out", str(page))
    assert code == 0, err
    assert "Levers for Ukraine" in page.read_text(encoding="utf-8")


LEVERS = """\
kinds: [custom, persuade-position]
targets: [eu, germany]
persuade_position: 0.2
levers:
  push:
    label: EU pushes sanctions
    changes:
    - {actor: eu, issue: sanctions, field: position, op: add, value: 10}
"""


def test_a_levers_file_sets_kinds_targets_and_levers(tmp_path: Path) -> None:
    path = tmp_path / "levers.yaml"
    path.write_text(LEVERS, encoding="utf-8")
    code, out, err = invoke(
        "advise", "-a", "ukraine", "-n", "30", "--levers", str(path), "-f", "json", "--no-record"
    )
    assert code == 0, err
    levers = json.loads(out)["levers"]
    assert {lv["kind"] for lv in levers} == {"custom", "persuade-position"}
    assert {lv["target"] for lv in levers if lv["kind"] == "persuade-position"} == {"eu", "germany"}
    assert any(lv["name"] == "custom:push" for lv in levers)
    assert any("move 20 toward ukraine" in lv["label"] for lv in levers)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("targets: [eu, chna]\n", "line 1, field 'targets[1]': expected an actor of scenario"),
        ("position_steps: [0, 0.1]\n", "field 'position_steps'"),
        ("kinds: [bribe]\n", "kinds: unknown lever kind 'bribe'"),
        ("colour: red\n", "field 'colour'"),
        (
            "levers:\n  x:\n    changes:\n"
            "    - {actor: usb, field: capability, op: scale, value: 2}\n",
            "line 4",
        ),
        ("- just a list\n", "expected a mapping of lever settings"),
    ],
)
def test_a_bad_levers_file_is_one_line_naming_where(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = invoke("advise", "-a", "usa", "-n", "5", "--levers", str(path), "--no-record")
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert message in err
    assert "bad.yaml" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["advise"], "--actor: expected the id of the actor"),
        (["advise", "-a", "usb"], "unknown actor 'usb'"),
        (["advise", "-a", "usa", "--kind", "bribe"], "unknown lever kind 'bribe'"),
        (["advise", "-a", "usa", "-n", "0"], "--draws: expected a whole number of at least 1"),
        (["discover"], "--threshold: expected ISSUE OP NUMBER"),
        (["discover", "-t", "territory = 80"], "expected ISSUE OP NUMBER"),
        (["discover", "-t", "land >= 80"], "unknown issue 'land'"),
        (["discover", "-t", "aid <= 30", "--alpha", "0.9"], "--alpha: expected a number"),
        (["discover", "-t", "aid <= 30", "--boxes", "0"], "--boxes: expected a whole number"),
    ],
)
def test_bad_options_are_one_line(args: list[str], message: str) -> None:
    code, out, err = invoke(*args, "--no-record")
    assert code == 2
    assert out == ""
    assert message in err
    assert err.count("\n") == 1


def test_discover_json_table_csv_and_plot(tmp_path: Path) -> None:
    args = ["discover", "-t", "Territory >= 60", "-n", "400", "--seed", "1"]
    code, out, err = invoke(*args, "--format", "json", "--no-record")
    assert code == 0, err
    want = discover(io.load_default(), "territory >= 60", "median", 400, 1)
    assert json.loads(out) == json.loads(dumps(want.to_dict()))
    code, other, err = invoke(*args, "--format", "json", "--no-record", "--executor", "process")
    assert code == 0, err
    assert other == out
    png = tmp_path / "t.png"
    code, table, err = invoke(*args, "--plot", str(png), "--no-record")
    assert code == 0, err
    assert "territory ≥ 60 holds in" in table
    assert "Box 1: coverage" in table
    assert png.read_bytes().startswith(b"\x89PNG")
    code, text, err = invoke(*args, "--format", "csv", "--no-record")
    assert code == 0, err
    rows = list(csv.DictReader(_io.StringIO(text)))
    assert {r["input"] for r in rows} == {
        r["input"] for b in json.loads(out)["boxes"] for r in b["restrictions"]
    }


def test_discover_is_recorded(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.sqlite")
    code, _, err = invoke("discover", "-t", "aid <= 30", "-n", "200", "--db", db)
    assert code == 0, err
    with open_store(db) as store:
        (summary,) = store.list()
        record = store.get(summary.id)
    assert record.kind == "discover"
    assert record.params["options"]["threshold"] == "aid <= 30"
    assert record.result().to_dict() == record.results
