"""`detente mc`: table, JSON (byte-identical for a seed), CSV draws, fan chart, errors."""

from __future__ import annotations

import csv
import io as _io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detente.cli import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "240"})
    return result.exit_code, result.stdout, result.stderr


def test_table_has_bands_and_threshold_probabilities() -> None:
    code, out, err = invoke("mc", "--model", "median", "--draws", "300", "--seed", "4")
    assert code == 0, err
    assert "median, 300 draws, seed 4" in out
    for title in ("Territory", "Ceasefire terms", "US military aid", "5–95 %"):
        assert title in out
    assert "territory ≥ 60" in out
    assert "aid ≤ 30" in out
    assert "%" in out
    # no progress bar off a terminal: only the id of the recorded run
    assert re.fullmatch(r"recorded run \d+ in \S+\n", err), err


def test_json_is_byte_identical_for_a_seed_and_has_the_draws() -> None:
    args = ("mc", "-m", "eu", "-n", "40", "--seed", "3", "-p", "rounds=3", "-f", "json")
    code, first, err = invoke(*args)
    assert code == 0, err
    _, second, _ = invoke(*args)
    assert first == second
    data = json.loads(first)
    assert (data["model"], data["seed"], data["draws"]) == ("eu", 3, 40)
    assert data["params"]["rounds"] == 3
    assert set(data["issues"]["territory"]) == {"median", "q05", "q95"}
    assert [t["issue"] for t in data["thresholds"]] == ["territory", "ceasefire", "aid"]
    assert 0 <= data["thresholds"][0]["probability"] <= 1
    assert len(data["forecasts"]) == 40
    assert set(data["forecasts"][0]) >= {"territory", "aid"}
    assert len(data["rounds"]["by_issue"]["nato"]) == 4  # round 0 and three rounds
    assert "time" not in first.lower()
    _, other, _ = invoke(
        "mc", "-m", "eu", "-n", "40", "--seed", "4", "-p", "rounds=3", "-f", "json"
    )
    assert other != first


def test_csv_is_tidy() -> None:
    code, out, err = invoke("mc", "-m", "mean", "-n", "5", "-f", "csv")
    assert code == 0, err
    rows = list(csv.reader(_io.StringIO(out)))
    assert rows[0] == ["replicate", "issue", "forecast"]
    assert len(rows) == 1 + 5 * 6
    assert rows[1][:2] == ["0", "territory"]
    assert float(rows[1][2]) > 0


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "fan.png"
    code, _out, err = invoke("mc", "-m", "eu", "-n", "20", "-p", "rounds=2", "--plot", str(target))
    assert code == 0, err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {target}" in err


def test_plot_without_matplotlib_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    code, _, err = invoke("mc", "-n", "3", "--plot", str(tmp_path / "f.png"))
    assert code == 2
    assert "plots need the 'plot' extra: pip install 'detente[plot]'" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "f.png").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--draws", "0"), "--draws"),
        (("--draws", "-5"), "--draws"),
        (("--model", "nope"), "unknown model"),
        (("--param", "bogus=1"), "no selected model has a parameter"),
        (("-m", "eu", "--param", "rounds=-1"), "rounds must be >= 0"),
        (("--seed", "-1"), "--seed"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: tuple[str, ...], fragment: str) -> None:
    code, out, err = invoke("mc", *args)
    assert code == 2, (out, err)
    assert fragment in err
    assert len(err.strip().splitlines()) == 1


def test_malformed_distribution_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nissues: [{id: x}]\nactors:\n- id: a\n  capability: 1\n"
        "  stances: {x: {position: {value: 5, uncertainty: {dist: normal}}, salience: 1}}\n",
        encoding="utf-8",
    )
    code, _, err = invoke("mc", str(path))
    assert code == 2
    assert "line 6" in err
    assert "uncertainty.sd" in err
