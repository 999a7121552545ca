"""`detente sweep` and `detente mc --executor`: tables, byte-identical JSON, errors."""

from __future__ import annotations

import csv
import io as _io
import json
import sys

import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.io import load_default
from detente.models import run
from detente.sim.shocks import apply_shocks, derive, run_shocked

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "240"})
    return result.exit_code, result.stdout, result.stderr


def test_mc_json_is_byte_identical_inline_process_and_dask() -> None:
    args = ("mc", "-m", "eu", "-n", "1200", "--seed", "3", "-p", "rounds=3", "-f", "json")
    outs = []
    for executor in ("inline", "process", "dask"):
        code, out, err = invoke(*args, "--executor", executor, "--workers", "2")
        assert code == 0, err
        outs.append(out)
    assert outs[0] == outs[1] == outs[2]
    assert json.loads(outs[0])["draws"] == 1200


def test_mc_on_a_running_dask_scheduler_matches_inline() -> None:
    distributed = pytest.importorskip("distributed")
    args = ("mc", "-m", "median", "-n", "1200", "--seed", "2", "-f", "json")
    _, inline, _ = invoke(*args)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=50
    ) as cluster:
        code, out, err = invoke(
            *args, "--executor", "dask", "--scheduler", cluster.scheduler_address
        )
    assert code == 0, err
    assert out == inline


def test_sweep_csv_matches_single_runs() -> None:
    code, out, err = invoke(
        "sweep", "-m", "eu", "--grid", "Q=0.5,1.0", "--grid", "shock=none,summit", "-f", "csv"
    )
    assert code == 0, err
    rows = list(csv.DictReader(_io.StringIO(out)))
    sc = load_default()
    issues = [i.id for i in sc.issues]
    assert len(rows) == 4 * len(issues)
    assert [(r["Q"], r["shock"]) for r in rows[:: len(issues)]] == [
        ("0.5", "none"),
        ("0.5", "summit"),
        ("1.0", "none"),
        ("1.0", "summit"),
    ]
    summit, _ = apply_shocks(sc, ["summit"])
    for r in rows:
        scenario = summit if r["shock"] == "summit" else sc
        trace = run(scenario, "eu", seed=0, params={"Q": r["Q"]})
        assert float(r["forecast"]) == trace.forecast_by_issue()[r["issue"]]


def test_sweep_over_lever_settings_matches_compare() -> None:
    # LEVER=VALUE shocks, alone and joined with a named one, as `compare` takes them
    values = "none,sanctions=0,sanctions=1,sanctions=1+summit"
    code, out, err = invoke("sweep", "-m", "mean", "--grid", f"shock={values}", "-f", "json")
    assert code == 0, err
    points = json.loads(out)["points"]
    assert [p["values"]["shock"] for p in points] == values.split(",")
    forecasts = [p["forecast"] for p in points]
    assert forecasts[1] != forecasts[2]  # the lever moves the forecast
    sc = derive(load_default(), ["sanctions=0", "sanctions=1", "summit"])
    for p in points[1:]:
        names = p["values"]["shock"].split("+")
        trace, _ = run_shocked(sc, "mean", names, seed=0)
        assert p["forecast"] == pytest.approx(trace.forecast_by_issue(), abs=0, rel=0)


def test_sweep_of_an_unknown_lever_names_the_levers() -> None:
    code, _, err = invoke("sweep", "-m", "mean", "--grid", "shock=no_such_lever=1")
    assert code != 0
    assert "unknown lever 'no_such_lever'" in err
    assert "Traceback" not in err


def test_sweep_table_and_json_with_draws() -> None:
    code, out, err = invoke("sweep", "-m", "median", "--grid", "shock=none,summit")
    assert code == 0, err
    assert "median sweep (one run per point, seed 0)" in out
    assert "summit" in out
    code, out, err = invoke(
        "sweep", "-m", "median", "-g", "shock=none,summit", "-n", "50", "-f", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["draws"] == 50
    assert data["grid"] == {"shock": ["none", "summit"]}
    point = data["points"][0]
    for k, v in point["forecast"].items():
        assert point["q05"][k] <= v <= point["q95"][k]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--grid", "shock=nope"), "unknown shock 'nope'"),
        (("--grid", "Z=1,2"), "no parameter 'Z'"),
        (("--grid", "Q"), "expected KEY=V1,V2"),
        ((), "--grid: give at least one"),
        (("--grid", "Q=1", "--executor", "threads"), "unknown executor 'threads'"),
        (("--grid", "Q=1", "--workers", "0"), "--workers: expected a whole number"),
        (("--grid", "Q=1", "--scheduler", "tcp://x:1"), "--scheduler: needs --executor dask"),
    ],
)
def test_sweep_errors_are_one_line(args: tuple[str, ...], message: str) -> None:
    code, _out, err = invoke("sweep", "-m", "eu", *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_mc_without_dask_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)
    code, _out, err = invoke("mc", "-n", "10", "--executor", "dask")
    assert code == 2
    assert "the dask executor needs the 'dask' extra: pip install 'detente[dask]'" in err
