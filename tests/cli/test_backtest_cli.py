"""``detente backtest`` on the command line, and what ``detente run`` says of the record."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from detente.cli import app
from tests.conftest import shared_path

runner = CliRunner()

SMALL = (
    "prnr\tisnr\tprname\tproc\tcounvte\tintro\tpcom\tpep\tpde\tpfr\tscom\tsep\tsde\tsfr\trp\tout\n"
    "\t\t\t\t\t\t4\t4\t4\t3\t\t\t\t\t\t\n"
    "d1\td1i1\tx\tCOD\tQMV\t26-01-00\t100\t40\t0\t60\t80\t50\t90\t40\t\t60\n"
    "d1\td1i2\tx\tCOD\tQMV\t26-01-00\t0\t100\t50\t20\t30\t60\t50\t50\t\t30\n"
    "d2\td2i1\ty\tCNS\tUnan\t2016-02-05\t50\t\t80\t0\t60\t\t70\t30\t\t\n"
)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_table_json_csv_and_plot(tmp_path: Path) -> None:
    f = tmp_path / "small.tsv"
    f.write_text(SMALL)
    code, out, _ = invoke("backtest", str(f), "-m", "median", "--plot", str(tmp_path / "e.png"))
    assert code == 0, out
    assert "2 issues" in out  # the third has no outcome
    assert "best:" in out
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"
    code, out, _ = invoke("backtest", str(f), "-m", "median", "--format", "json")
    data = json.loads(out)
    assert data["models"] == ["median", "mean"]
    assert {s["model"] for s in data["scores"]} == {"median", "mean"}
    code, out, _ = invoke("backtest", str(f), "-m", "median", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4
    assert rows[0]["issue"] == "d1i1"


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.tsv"
    f.write_text(SMALL.replace("\t60\n", "\tsixty\n"))
    code, _, err = invoke("backtest", str(f))
    assert code == 2
    assert err.count("\n") == 1
    assert "row 3, column 'out'" in err
    code, _, err = invoke("backtest", str(tmp_path / "missing.tsv"))
    assert code == 2
    code, _, err = invoke("backtest", str(tmp_path / "bad.tsv"), "--capability", "votes")
    assert code == 2


def test_the_shared_file_with_council_votes() -> None:
    path = shared_path("reference", "deu", "deu3-shared.tsv")
    code, out, _ = invoke(
        "backtest", str(path), "-m", "median", "--capability", "council-votes", "--format", "json"
    )
    assert code == 0
    scores = {s["model"]: s for s in json.loads(out)["scores"]}
    assert scores["mean"]["issues"] == 250
    assert 20 < scores["mean"]["mae"] < 30


def test_run_shows_consensus_and_the_best_backtest_record() -> None:
    code, out, _ = invoke("run")
    assert code == 0
    assert "consensus" in out
    assert "models' range" in out
    assert "best backtest record: mean" in out


def test_draws_give_interval_coverage(tmp_path: Path) -> None:
    f = tmp_path / "small.tsv"
    f.write_text(SMALL)
    code, out, _ = invoke("backtest", str(f), "-m", "median", "--draws", "30", "--format", "json")
    assert code == 0
    data = json.loads(out)
    for s in data["scores"]:
        assert s["coverage_50"] is not None
        assert 0.0 <= s["coverage_50"] <= s["coverage_90"] <= 1.0
    issue = data["issues"][0]
    assert issue["q05"]["median"] <= issue["q25"]["median"] <= issue["q75"]["median"]
    _, again, _ = invoke("backtest", str(f), "-m", "median", "--draws", "30", "--format", "json")
    assert again == out  # the same seed gives the same bytes


def test_fit_ensemble_writes_the_weights_file(tmp_path: Path) -> None:
    deu = str(shared_path("reference", "deu", "deu3-shared.tsv"))
    out = tmp_path / "w.json"
    args = ("backtest", deu, "-m", "mean", "-m", "median", "-m", "nbs", "--fit-ensemble")
    code, table, err = invoke(*args, str(out))
    assert code == 0, err
    assert "cross-validated MAE" in err
    assert "nbs" in table  # the backtest itself is printed as usual
    fit = json.loads(out.read_text())
    assert fit["models"] == ["mean", "median", "nbs"]
    assert abs(sum(fit["weights"].values()) - 1) < 1e-5
    assert fit["source"] == "deu3-shared.tsv"
    from detente.sim.stacking import weights_json

    assert out.read_text() == weights_json(fit)  # the file the shipped one is made by
    code, _, err = invoke("backtest", deu, "-m", "ensemble", "--fit-ensemble", str(out))
    assert code != 0
    assert "fits the ensemble's models" in err
