"""The command line, as a user drives it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detente import io
from detente.cli import app
from detente.models import models as registered
from tests.conftest import shared_path

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "240"})
    return result.exit_code, result.stdout, result.stderr


def test_run_default_prints_every_issue_and_model() -> None:
    code, out, _ = invoke("run")
    assert code == 0, out
    sc = io.load_default()
    for issue in sc.issues:
        assert issue.title in out
    for title in ("mean", "median", "condorcet", "spread"):
        assert title in out
    for actor in sc.actors:
        assert actor.title in out


def test_run_json_has_the_documented_schema() -> None:
    code, out, _ = invoke("run", "--model", "mean", "--format", "json", "--seed", "7")
    assert code == 0
    obj = json.loads(out)
    assert {"scenario", "model", "seed", "forecast", "rounds"} <= set(obj)
    assert obj["scenario"] == "ukraine-talks"
    assert obj["model"] == "mean"
    assert obj["seed"] == 7
    sc = io.load_default()
    assert set(obj["forecast"]) == {i.id for i in sc.issues}
    assert len(obj["rounds"]) == 1
    first = obj["rounds"][0]
    assert len(first) == len(sc.actors) * len(sc.issues)
    assert set(first[0]) == {"actor", "issue", "position"}


def test_run_json_for_several_models_is_a_list() -> None:
    code, out, _ = invoke("run", "-m", "mean", "-m", "median", "--format", "json")
    assert code == 0
    assert [o["model"] for o in json.loads(out)] == ["mean", "median"]


def test_run_is_reproducible_and_csv_agrees_with_json() -> None:
    _, a, _ = invoke("run", "--format", "json", "--seed", "3")
    _, b, _ = invoke("run", "--format", "json", "--seed", "3")
    assert a == b
    _, text, _ = invoke("run", "-m", "median", "--format", "csv")
    rows = [line.split(",") for line in text.strip().splitlines()]
    assert rows[0] == ["model", "kind", "round", "actor", "issue", "value"]
    forecast = {r[4]: float(r[5]) for r in rows[1:] if r[1] == "forecast"}
    _, js, _ = invoke("run", "-m", "median", "--format", "json")
    assert forecast == pytest.approx(json.loads(js)["forecast"])


def test_param_reaches_the_model() -> None:
    code, out, _ = invoke("run", "-m", "condorcet", "--param", "space=joint", "--format", "json")
    assert code == 0
    assert json.loads(out)["params"]["space"] == "joint"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("run", "--model", "nope"), "unknown model 'nope'"),
        (("run", "-m", "condorcet", "--param", "space=moon"), "space: expected one of"),
        (("run", "-m", "mean", "--param", "Q=1"), "no selected model has a parameter 'Q'"),
        (("run", "-m", "mean", "--param", "Q"), "expected KEY=VALUE"),
        (("run", "no-such-file.yaml"), "no-such-file.yaml"),
        (("validate", "no-such-scenario"), "no-such-scenario"),
    ],
)
def test_user_errors_are_one_line_with_exit_code_2(args: tuple[str, ...], fragment: str) -> None:
    code, out, err = invoke(*args)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_a_real_process_reports_bad_input_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Actor,Capability,Position,Salience\nRussia,strong,80,0.9\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "detente.cli", "run", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    for fragment in ("bad.csv", "row 2", "Capability"):
        assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate_show_and_models() -> None:
    code, out, _ = invoke("validate", "ukraine-talks")
    assert code == 0
    assert "ok" in out
    code, out, _ = invoke("show", "ukraine-talks")
    assert code == 0
    sc = io.load_default()
    assert all(i.scale.min_label and i.scale.min_label[:20] in out for i in sc.issues)
    code, out, _ = invoke("models")
    assert code == 0
    for name in ("mean", "median", "condorcet", "voting", "space"):
        assert name in out


@pytest.mark.parametrize("suffix", [".yaml", ".csv", ".xlsx", ".xml", ".ktab.csv"])
def test_convert_round_trips_the_numbers(tmp_path: Path, suffix: str) -> None:
    src = shared_path("reference", "ktab", "inputs", "dummyData_3Dim.csv")
    target = tmp_path / f"out{suffix}"
    args = ["convert", str(src), str(target)]
    if suffix == ".ktab.csv":
        args += ["--to", "ktab-csv"]
    code, _, err = invoke(*args)
    assert code == 0, err
    a, b = io.read(src).arrays(), io.read(target).arrays()
    assert a.actors == b.actors
    assert (a.capability == b.capability).all()
    assert (a.position == b.position).all()
    assert abs(a.salience - b.salience).max() < 1e-12


def test_evidence_quotes_spans_from_the_documents() -> None:
    seeds = shared_path("seeds")
    code, out, err = invoke("evidence", "--docs", str(seeds), "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    anchors = [r for r in rows if r["kind"] == "anchor"]
    assert anchors
    texts = {p.name: p.read_text(encoding="utf-8") for p in seeds.iterdir()}
    for r in anchors:
        assert texts[r["file"]][r["start"] : r["end"]] == r["text"]


def test_evidence_detects_a_changed_document(tmp_path: Path) -> None:
    seeds = shared_path("seeds")
    for p in seeds.iterdir():
        (tmp_path / p.name).write_text(p.read_text(encoding="utf-8") + " ", encoding="utf-8")
    code, _, err = invoke("evidence", "--docs", str(tmp_path))
    assert code == 2
    assert "changed" in err


def test_explain_tells_the_baselines_in_sentences() -> None:
    code, out, err = invoke("explain")
    assert code == 0, err
    assert "weighted median is" in out
    assert "compromise is" in out
    assert "Condorcet winner" in out
    sc = io.load_default()
    assert all(i.title in out for i in sc.issues)
    # The actor 'nato' and the issue 'nato' share an id; sentences must not confuse them.
    assert "position of NATO path" not in out


def test_rounds_option_needs_a_model_that_has_rounds() -> None:
    code, _, err = invoke("run", "-m", "mean", "--rounds", "3")
    assert code == 2
    assert "no selected model has a parameter 'rounds'" in err


def test_eu_from_the_command_line_with_variant_rounds_and_json_details() -> None:
    src = str(shared_path("reference", "bdm", "inputs", "emission_standards.csv"))
    code, out, err = invoke(
        "run", src, "-m", "eu", "--variant", "paper", "--rounds", "3", "-f", "json"
    )
    assert code == 0, err
    obj = json.loads(out)
    assert obj["params"]["variant"] == "paper"
    assert len(obj["rounds"]) == 4
    assert obj["details"]
    code, out, _ = invoke("run", src, "-m", "eu")
    assert code == 0
    assert "weighted median / mean by round" in out
    assert "final positions" in out


def test_smp_on_a_ktab_input_prints_win_probabilities_and_explains() -> None:
    src = str(shared_path("reference", "ktab", "inputs", "dummyData_3Dim.csv"))
    code, out, err = invoke("run", src, "-m", "smp")
    assert code == 0, err
    assert "win prob." in out
    code, out, err = invoke("explain", src, "-m", "smp")
    assert code == 0, err
    assert "turn 1:" in out
    assert "challenged" in out


def test_default_scenario_runs_every_model() -> None:
    code, out, err = invoke(
        "run",
        "-m",
        "mean",
        "-m",
        "median",
        "-m",
        "condorcet",
        "-m",
        "eu",
        "-m",
        "smp",
        "-f",
        "json",
    )
    assert code == 0, err
    objs = json.loads(out)
    assert [o["model"] for o in objs] == ["mean", "median", "condorcet", "eu", "smp"]
    for o in objs:
        assert all(v is not None for v in o["forecast"].values())


def test_run_what_can_run_and_say_what_could_not(tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text(
        "name: one\nissues: [{id: a}]\nactors:\n"
        "  - {id: p, capability: 3, stances: {a: {position: 10, salience: 0.5}}}\n"
    )
    code, out, err = invoke("run", str(one))
    assert code == 0
    assert "smp skipped: SMP needs at least two actors" in err
    assert "Forecast" in out
    code, _, err = invoke("run", str(one), "-m", "smp")
    assert code == 2
    assert "SMP needs at least two actors" in err


def test_a_missing_stance_no_longer_stops_smp(tmp_path: Path) -> None:
    f = tmp_path / "miss.yaml"
    f.write_text(
        "name: miss\nissues: [{id: a}, {id: b}]\nactors:\n"
        "  - {id: p, capability: 3, stances: {a: {position: 10, salience: 0.5},"
        " b: {position: 20, salience: 0.4}}}\n"
        "  - {id: q, capability: 2, stances: {a: {position: 80, salience: 0.6},"
        " b: {position: 60, salience: 0.3}}}\n"
        "  - {id: z, capability: 5, stances: {a: {position: 50, salience: 0.3}}}\n"
    )
    code, out, err = invoke("run", str(f), "--format", "json")
    assert code == 0, err
    models = {t["model"] for t in json.loads(out)}
    assert models == {spec.name for spec in registered()}  # every model, smp included


def test_forecast_tables_stay_readable_at_80_columns() -> None:
    """Long issue labels wrap; model columns keep their full headers and numbers."""
    soe = str(shared_path("reference", "ktab", "inputs", "SOE-data-from-paper.xlsx"))
    for args in (["run"], ["run", soe], ["run", "-m", "eu", "-m", "mean"]):
        result = runner.invoke(app, args, env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.stderr
        lines = result.stdout.splitlines()
        # tables fit (prose lines are left to the terminal to wrap)
        assert all(len(line) <= 80 for line in lines if line[:1] in "┏┃┡│└")
        assert "…" not in result.stdout
        header = next(line for line in lines if "┃ issue" in line)
        for name in ("mean", "eu"):
            assert f" {name} " in header
        assert "condorcet" in result.stdout or "-m" in args


def test_consistency_of_the_commands(tmp_path: Path) -> None:
    code, out, _ = invoke("--version")
    assert code == 0
    assert out.startswith("detente ")
    _, out, _ = invoke("models")
    assert "[[adjusting actor, reference actor, share], ...]" in out  # brackets kept
    assert "Min [0,1]" in out
    sheet = tmp_path / "one.csv"
    sheet.write_text("Actor,Capability,Position,Salience\na,1,10,0.5\nb,2,90,0.5\n")
    for flag in ("--sheet-issue", "--issue"):
        code, out, err = invoke("run", str(sheet), flag, "taxes", "-m", "mean", "-f", "json")
        assert code == 0, err
        assert list(json.loads(out)["forecast"]) == ["taxes"]
    typo = tmp_path / "typo.yaml"
    typo.write_text(
        "name: t\nissues: [{id: a}]\nactors:\n"
        "  - {id: p, capabilty: 3, stances: {a: {position: 10, salience: 0.5}}}\n"
    )
    code, _, err = invoke("validate", str(typo))
    assert code == 2
    assert "not 'capabilty' (did you mean 'capability'?)" in err
    # run prints the id of the run it recorded, terminal or not
    code, _, err = invoke("run", "-m", "mean")
    assert re.search(r"recorded run \d+ in ", err)


def test_convert_says_what_the_format_cannot_hold(tmp_path: Path) -> None:
    code, _, err = invoke("convert", "ukraine-talks", str(tmp_path / "x.csv"))
    assert code == 0
    assert "x.csv cannot hold 6 issue labels" in err
    for part in ("104 value sources", "72 uncertainties", "5 shocks", "3 thresholds"):
        assert part in err
    code, _, err = invoke("convert", "ukraine-talks", str(tmp_path / "x.yaml"))
    assert code == 0
    assert "cannot hold" not in err


def test_csv_scales_are_stated_and_can_be_given(tmp_path: Path) -> None:
    ten = tmp_path / "ten.csv"
    ten.write_text("Actor,Capability,Position,Salience\na,1,4,0.5\nb,2,10,0.5\nc,2,7,0.5\n")
    code, out, _ = invoke("validate", str(ten))
    assert "lie within 0–10 but are read on 0–100" in out
    code, out, _ = invoke("run", str(ten), "--scale", "0:10", "-m", "mean", "-f", "json")
    assert code == 0
    assert json.loads(out)["forecast"]["ten"] == pytest.approx(
        (4 * 0.5 + 20 * 0.5 + 14 * 0.5) / 2.5
    )
    typo = tmp_path / "typo.csv"
    typo.write_text("Actor,Capability,Position,Salience\na,1,4,0.5\nb,2,155,0.5\nc,2,7,0.5\n")
    code, out, _ = invoke("validate", str(typo))
    assert "scale is taken as [4, 155] from the data (--scale" in out
    code, _, err = invoke("validate", str(typo), "--scale", "0:10")
    assert code == 2
    assert "row 3, column 'Position': expected a position on the scale [0, 10]" in err
    code, _, err = invoke("validate", str(typo), "--scale", "ten")
    assert code == 2
