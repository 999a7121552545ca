"""`detente causal` and `detente summit`: tables, JSON, plots, shock files, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from detente.cli import app
from detente.io import load_default
from detente.sim.levers import set_levers
from detente.summit import summit

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_causal_without_levers_prints_the_settled_map() -> None:
    code, out, err = invoke("causal")
    assert code == 0, err
    assert "Russia's bargaining leverage" in out
    assert "settled after" in out
    assert "--lever NAME=VALUE" in out


def test_causal_with_levers_prints_indicators_and_scenario_changes() -> None:
    code, out, err = invoke("causal", "--lever", "sanctions=1", "-l", "summit=1")
    assert code == 0, err
    assert "levers set: sanctions 0.5 → 1, summit 0 → 1" in out
    assert "What the move changes in the scenario" in out
    assert "russia.capability" in out
    assert "--shocks sanctions=1,summit=1" in out
    code, text, err = invoke("causal", "-l", "sanctions=1,summit=1", "-f", "json")
    assert code == 0, err
    data = json.loads(text)
    expected = set_levers(load_default(), {"sanctions": 1.0, "summit": 1.0})
    assert [c["target"] for c in data["changes"]] == [c.target for c in expected.changes]
    assert data["changes"][0]["after"] == pytest.approx(expected.changes[0].after, abs=1e-12)
    assert data["settled"]["after"]["settled"] is True
    _, again, _ = invoke("causal", "-l", "sanctions=1,summit=1", "-f", "json")
    assert again == text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("-l", "oil=1"), "unknown lever 'oil'"),
        (("-l", "sanctions=2"), "setting 2 lies outside [0, 1]"),
        (("-l", "sanctions"), "expected LEVER=VALUE"),
    ],
)
def test_causal_errors_are_one_line(args: tuple[str, ...], words: str) -> None:
    code, _, err = invoke("causal", *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert words in err


def test_causal_on_a_scenario_without_a_map(tmp_path: Path) -> None:
    f = tmp_path / "plain.yaml"
    f.write_text(
        "name: plain\nissues: [{id: x}]\nactors:\n"
        "- {id: a, capability: 1, stances: {x: {position: 10, salience: 1}}}\n",
        encoding="utf-8",
    )
    code, _, err = invoke("causal", str(f))
    assert code == 2
    assert "has no causal map" in err


def test_summit_table_and_json() -> None:
    code, out, err = invoke("summit")
    assert code == 0, err
    assert "summit of United States and Russia on 6 issues" in out
    assert "nash (chosen)" in out
    assert "--shocks summit-agreement" in out
    code, text, err = invoke(
        "summit", "--between", "usa", "russia", "--discount", "usa=0.9,russia=0.95", "-f", "json"
    )
    assert code == 0, err
    data = json.loads(text)
    expected = summit(load_default(), discount={"usa": 0.9, "russia": 0.95})
    assert data["discount"] == {"usa": 0.9, "russia": 0.95}
    rubinstein = expected.solutions["rubinstein"]
    assert rubinstein is not None
    assert data["solutions"]["rubinstein"]["utilities"] == list(rubinstein.utilities)


def test_summit_shock_file_feeds_compare(tmp_path: Path) -> None:
    shock_file = tmp_path / "agreement.yaml"
    code, _, err = invoke(
        "summit",
        "--between",
        "usa",
        "ukraine",
        "--issues",
        "aid,ceasefire",
        "--no-deal",
        "usa=0.5,ukraine=0.4",
        "--solution",
        "kalai-smorodinsky",
        "--write-shock",
        str(shock_file),
    )
    assert code == 0, err
    written = yaml.safe_load(shock_file.read_text(encoding="utf-8"))
    changes = written["shocks"]["summit-agreement"]["changes"]
    assert {(c["actor"], c["issue"]) for c in changes} == {
        (a, k) for a in ("usa", "ukraine") for k in ("aid", "ceasefire")
    }
    code, out, err = invoke(
        "compare",
        "--shocks-file",
        str(shock_file),
        "--shocks",
        "summit-agreement",
        "-m",
        "mean",
        "-f",
        "json",
        "--no-record",
    )
    assert code == 0, err
    run = json.loads(out)["results"][0]
    movers = {c["actor"] for i in run["issues"] for c in i["contributions"]}
    assert movers <= {"usa", "ukraine"}
    assert movers


def test_plots(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "map.png"
    code, _, err = invoke("causal", "-l", "us_commitment=0", "--plot", str(png))
    assert code == 0, err
    assert png.read_bytes().startswith(b"\x89PNG")
    frontier = tmp_path / "frontier.png"
    code, _, err = invoke("summit", "--plot", str(frontier))
    assert code == 0, err
    assert frontier.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--between", "usa", "china"), "unknown actor 'china'"),
        (("--between", "usa", "usa"), "two different actors"),
        (("--issues", "oil"), "unknown issue 'oil'"),
        (("--discount", "usa=fast"), "expected ACTOR=NUMBER"),
        (("--discount", "usa=1.5"), "discount of 'usa' must lie in (0, 1)"),
        (("--solution", "coin"), "unknown solution 'coin'"),
        (("--no-deal", "usa=0.99,russia=0.99", "--write-shock", "x.yaml"), "reaches no nash"),
    ],
)
def test_summit_errors_are_one_line(args: tuple[str, ...], words: str) -> None:
    code, _, err = invoke("summit", *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert words in err


def test_compare_accepts_lever_settings_and_the_derived_agreement() -> None:
    code, out, err = invoke(
        "compare", "--shocks", "sanctions=1,summit-agreement", "-m", "mean", "-f", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["shocks"] == ["sanctions=1", "summit-agreement"]


def test_recorded_comparison_keeps_the_derived_shocks(tmp_path: Path) -> None:
    from detente.io.yaml_io import read_yaml
    from detente.store import open_store

    db = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    code, _, err = invoke(
        "compare", "--shocks", "summit=1,summit-agreement", "-m", "mean", "--db", db
    )
    assert code == 0, err
    store = open_store(db)
    try:
        (summary,) = store.list()
        record = store.get(summary.id)
    finally:
        store.close()
    recorded = read_yaml("record.yaml", record.scenario_yaml.encode("utf-8"))
    assert recorded.shocks["summit=1"].changes[0].describe == "lever summit set 1"
    assert recorded.shocks["summit-agreement"].changes  # the agreement, as it was computed
