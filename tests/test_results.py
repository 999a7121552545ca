"""Every result type: a lossless to_dict/from_dict through JSON, and a tidy to_frame."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from detente.io import load_default
from detente.models import models, run
from detente.serial import dumps, floats, plain
from detente.sim.compare import Comparison, compare
from detente.sim.montecarlo import MCResult, monte_carlo
from detente.sim.sweep import SweepResult, sweep
from detente.trace import Trace


def _through_json(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(dumps(d))
    return out


@pytest.mark.parametrize("name", [spec.name for spec in models()])
def test_trace_round_trip(name: str) -> None:
    trace = run(load_default(), name, params={"pairs": True} if name == "eu" else None)
    d = trace.to_dict(scenario="ukraine-talks", seed=0)
    back = Trace.from_dict(_through_json(d))
    assert back.to_dict(scenario="ukraine-talks", seed=0) == _through_json(d)
    np.testing.assert_array_equal(back.positions, trace.positions)
    np.testing.assert_array_equal(back.forecast, trace.forecast)
    frame = trace.to_frame()
    assert list(frame.columns) == ["model", "round", "actor", "issue", "position"]
    assert len(frame) == trace.positions.size
    assert set(frame["model"]) == {name}


def test_monte_carlo_round_trip() -> None:
    result = monte_carlo(load_default(), "eu", 60, seed=2)
    d = result.to_dict()
    back = MCResult.from_dict(_through_json(d))
    assert back.to_dict() == _through_json(d)
    np.testing.assert_array_equal(back.forecasts, result.forecasts)
    np.testing.assert_array_equal(back.fan(), result.fan())
    assert back.centre is None
    with pytest.raises(ValueError, match="only the quantiles"):
        back.fan((0.1, 0.9))
    frame = result.to_frame()
    assert list(frame.columns) == ["model", "replicate", "issue", "forecast"]
    assert len(frame) == 60 * len(result.issues)
    assert frame.groupby("issue")["forecast"].median()["nato"] == pytest.approx(
        result.median()[result.issues.index("nato")]
    )
    assert list(result.fan_frame().columns) == ["model", "round", "issue", "quantile", "value"]


def test_comparison_round_trip() -> None:
    cmp = compare(load_default(), ["summit", "sanctions-tighten"], ["median", "smp"], seed=0)
    d = cmp.to_dict()
    back = Comparison.from_dict(_through_json(d))
    assert back.to_dict() == _through_json(d)
    frame = cmp.to_frame()
    assert len(frame) == 2 * 2 * len(cmp.issues)
    np.testing.assert_allclose(frame["delta"], frame["shocked"] - frame["baseline"])
    contrib = cmp.contributions_frame()
    assert set(contrib.columns) >= {"shock", "model", "issue", "actor", "contribution"}


def test_sensitivity_round_trip() -> None:
    pytest.importorskip("SALib")
    from detente.sim.sensitivity import SensitivityResult, analyse

    result = analyse(load_default(), "median", method="morris", samples=4, seed=1)
    d = result.to_dict()
    back = SensitivityResult.from_dict(_through_json(d))
    assert back.to_dict() == _through_json(d)
    assert back.evaluations == result.evaluations
    frame = result.to_frame()
    assert list(frame.columns) == ["model", "issue", "input", "metric", "value"]


def test_sweep_round_trip() -> None:
    result = sweep(load_default(), "eu", {"Q": ["0.5", "1.0"], "shock": ["none", "summit"]}, 0)
    d = result.to_dict()
    back = SweepResult.from_dict(_through_json(d))
    assert back.to_dict() == _through_json(d)
    assert len(result.to_frame()) == 4 * len(result.issues)


def test_the_json_helper() -> None:
    assert plain({"a": np.float64("nan"), "b": (1, np.int32(2))}) == {"a": None, "b": [1, 2]}
    np.testing.assert_array_equal(floats([None, 1]), [np.nan, 1.0])
    with pytest.raises(ValueError, match="not a trace"):
        Trace.from_dict({"model": "x"})


def test_a_stored_record_gives_back_its_result_objects() -> None:
    from tests.report.conftest import make_record

    sc = load_default()
    trace = run(sc, "median")
    record = make_record(sc, "run", ["median"], [trace.to_dict(scenario=sc.name, seed=0)])
    got = record.result()
    assert isinstance(got, list)
    assert isinstance(got[0], Trace)
    np.testing.assert_array_equal(got[0].forecast, trace.forecast)
    mc = monte_carlo(sc, "median", 30, seed=1)
    assert isinstance(make_record(sc, "mc", ["median"], mc.to_dict()).result(), MCResult)
    cmp = compare(sc, ["summit"], ["mean"], seed=0)
    back = make_record(sc, "compare", ["mean"], cmp.to_dict()).result()
    assert isinstance(back, Comparison)
    assert back.to_dict() == _through_json(cmp.to_dict())


def test_records_written_before_wave_2_still_load() -> None:
    """Monte Carlo records had no "actors", comparisons no "issues" nor run notes."""
    sc = load_default()
    old_mc = monte_carlo(sc, "median", 20, seed=1).to_dict()
    del old_mc["actors"]
    assert MCResult.from_dict(old_mc).actors == ()
    old_cmp = compare(sc, ["summit"], ["mean"], seed=0).to_dict()
    del old_cmp["issues"]
    for r in old_cmp["results"]:
        del r["notes"], r["timing"]
    assert Comparison.from_dict(old_cmp).issues == tuple(i.id for i in sc.issues)
