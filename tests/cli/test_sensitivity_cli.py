"""`detente sensitivity`: table, JSON (byte-identical for a seed), CSV, tornado chart, errors."""

from __future__ import annotations

import csv
import io as _io
import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detente.cli import app

pytest.importorskip("SALib")

runner = CliRunner()

SCENARIO = """\
name: synthetic
issues: [{id: x, label: Issue X}, {id: y, label: Issue Y}]
actors:
- id: a
  capability: 2
  stances:
    x: {position: {value: 40, uncertainty: ±20}, salience: 0.9}
    y: {position: 50, salience: 0.5}
- id: b
  capability: 1
  stances:
    x: {position: {value: 60, uncertainty: ±20}, salience: 0.2}
    y: {position: {value: 30, uncertainty: ±10}, salience: 0.5}
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(SCENARIO, encoding="utf-8")
    return p


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_table_ranks_inputs_per_issue(path: Path) -> None:
    code, out, err = invoke("sensitivity", str(path), "-m", "mean", "-n", "64", "--seed", "1")
    assert code == 0, err
    assert "synthetic, mean, sobol" in out
    assert "Issue X" in out
    assert "Issue Y" in out
    x_table = out.split("Issue X")[1].split("Issue Y")[0]
    assert x_table.index("a.x.position") < x_table.index("b.x.position")
    assert "ST" in out
    assert "S1" in out
    assert re.fullmatch(r"(recorded run \d+ in \S+\n)?", err), err


def test_morris_top_and_issue(path: Path) -> None:
    code, out, err = invoke(
        "sensitivity", str(path), "-m", "mean", "--method", "morris", "-n", "8",
        "--top", "1", "--issue", "x",
    )  # fmt: skip
    assert code == 0, err
    assert "mu*" in out
    assert "sigma" in out
    assert "Issue Y" not in out
    assert "a.x.position" in out
    assert "b.x.position" not in out


def test_json_is_byte_identical_for_a_seed(path: Path) -> None:
    args = ("sensitivity", str(path), "-m", "mean", "-n", "32", "--seed", "5", "-f", "json")
    code, first, err = invoke(*args)
    assert code == 0, err
    _, second, _ = invoke(*args)
    assert first == second
    data = json.loads(first)
    assert (data["method"], data["seed"], data["samples"]) == ("sobol", 5, 32)
    assert data["evaluations"] == 32 * (3 + 2)
    assert [i["name"] for i in data["inputs"]] == ["a.x.position", "b.x.position", "b.y.position"]
    assert set(data["issues"]["x"][0]) == {"input", "S1", "S1_conf", "ST", "ST_conf"}
    assert data["issues"]["y"][0]["input"] == "b.y.position"
    assert "time" not in first.lower()
    _, other, _ = invoke(*args[:-4], "--seed", "6", "-f", "json")
    assert other != first


def test_csv_and_rounding_note(path: Path) -> None:
    code, out, err = invoke("sensitivity", str(path), "-m", "mean", "-n", "20", "-f", "csv")
    assert code == 0, err
    rows = list(csv.reader(_io.StringIO(out)))
    assert rows[0] == ["issue", "rank", "input", "S1", "S1_conf", "ST", "ST_conf"]
    assert len(rows) == 1 + 2 * 3
    assert rows[1][:3] == ["x", "1", "a.x.position"]


def test_spread_default_on_a_scenario_without_uncertainty(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(SCENARIO.replace(", uncertainty: ±20", "").replace(", uncertainty: ±10", ""))
    code, out, err = invoke(
        "sensitivity", str(p), "-m", "mean", "--method", "morris", "-n", "4",
        "--spread", "position=0.2",
    )  # fmt: skip
    assert code == 0, err
    assert "default spread" in out
    assert "positions ±20%" in out


def test_plot_writes_a_png(path: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "tornado.png"
    code, _out, err = invoke(
        "sensitivity", str(path), "-m", "mean", "-n", "16", "--plot", str(target)
    )
    assert code == 0, err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {target}" in err
    one = tmp_path / "one.png"
    code, _out, err = invoke(
        "sensitivity", str(path), "-m", "mean", "--method", "morris", "-n", "4",
        "--issue", "y", "--plot", str(one),
    )  # fmt: skip
    assert code == 0, err
    assert one.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_one_line(
    monkeypatch: pytest.MonkeyPatch, path: Path, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    code, _, err = invoke("sensitivity", str(path), "-n", "4", "--plot", str(tmp_path / "t.png"))
    assert code == 2
    assert "plots need the 'plot' extra: pip install 'detente[plot]'" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t.png").exists()


def test_without_salib_is_one_line(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    for name in list(sys.modules):
        if name == "SALib" or name.startswith("SALib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "SALib", None)
    code, _, err = invoke("sensitivity", str(path), "-n", "4")
    assert code == 2
    assert "pip install 'detente[sensitivity]'" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--method", "fast"), "--method: expected sobol or morris"),
        (("--samples", "0"), "--samples"),
        (("--method", "morris", "--samples", "1"), "--samples"),
        (("--top", "0"), "--top"),
        (("--seed", "-1"), "--seed"),
        (("--issue", "nope"), "unknown issue 'nope'"),
        (("--model", "nope"), "unknown model"),
        (("--spread", "width=2"), "--spread"),
        (("--param", "bogus=1"), "no selected model has a parameter"),
    ],
)
def test_bad_options_exit_2_with_one_line(path: Path, args: tuple[str, ...], fragment: str) -> None:
    code, out, err = invoke("sensitivity", str(path), *args)
    assert code == 2, (out, err)
    assert fragment in err
    assert len(err.strip().splitlines()) == 1


def test_json_is_identical_inline_and_in_processes(path: Path) -> None:
    # Sobol N = 128 with 3 inputs: 640 evaluations, two chunks, so both workers get one.
    args = ["sensitivity", str(path), "-m", "mean", "-n", "128", "--seed", "3", "-f", "json"]
    code, inline, err = invoke(*args)
    assert code == 0, err
    code, pooled, err = invoke(*args, "--executor", "process", "--workers", "2")
    assert code == 0, err
    assert pooled == inline
    assert json.loads(inline)["evaluations"] == 640
    assert re.fullmatch(r"(recorded run \d+ in \S+\n)?", err), err
