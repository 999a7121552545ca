"""The ensemble: combining forecasts, the shipped weights, and the stacking fit."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from detente.io import load_default
from detente.models import get_model, models, run
from detente.models.ensemble import combine, shipped, weights
from detente.sim.backtest import IssueResult
from detente.sim.stacking import SHRINKAGE, fit_ensemble, project_simplex, stack


def test_combine_renormalises_over_the_models_with_a_forecast() -> None:
    out = combine(
        {"a": 0.5, "b": 0.25, "c": 0.25},
        {"a": np.array([10.0, np.nan, np.nan]), "b": np.array([20.0, 40.0, np.nan]),
         "c": np.array([30.0, 80.0, np.nan])},
    )  # fmt: skip
    np.testing.assert_allclose(out[:2], [17.5, 60.0])
    assert np.isnan(out[2])
    same = combine({"a": 0.3, "b": 0.7}, {"a": np.array([40.1]), "b": np.array([40.1])})
    assert same[0] == 40.1  # agreeing models give exactly their number


def test_the_shipped_weights_are_a_fit_of_the_registered_models() -> None:
    fit = shipped()
    names = [s.name for s in models() if s.name != "ensemble"]
    assert fit["models"] == names
    ws = weights()
    assert set(ws) == set(names)
    assert sum(ws.values()) == pytest.approx(1.0, abs=1e-5)
    assert min(ws.values()) >= 0
    assert fit["shrinkage"] in SHRINKAGE
    assert fit["cv_mae"] == min(fit["cv_mae_by_shrinkage"].values())
    equal = weights("equal")
    assert set(equal.values()) == {1 / len(names)}


def test_a_run_is_the_weighted_average_of_its_models_runs() -> None:
    sc = load_default()
    trace = run(sc, "ensemble", seed=7)
    ws = trace.details["weights"]
    parts = {m: run(sc, m, seed=7).forecast for m in ws}
    np.testing.assert_allclose(trace.forecast, combine(ws, parts), rtol=0, atol=1e-12)
    for k, issue in enumerate(trace.issues):
        lo, hi = trace.details["interval"][issue]
        assert lo <= trace.forecast[k] <= hi
        assert lo == pytest.approx(min(p[k] for p in parts.values()))


def test_simplex_projection_and_stacking() -> None:
    v = project_simplex(np.array([0.2, 0.9, -0.4]))
    assert v.sum() == pytest.approx(1.0)
    assert (v >= 0).all()
    # a model that is exactly right gets all the weight
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 100, 40)
    f = np.column_stack([truth + rng.normal(0, 20, 40), truth, rng.uniform(0, 100, 40)])
    np.testing.assert_allclose(stack(f, truth), [0.0, 1.0, 0.0], atol=1e-3)


def test_fit_cross_validates_over_proposals() -> None:
    """Model b is right on every issue, a is off by ±30: b gets the weight, and the
    cross-validated error (weights fitted without each proposal's issues) is near zero."""
    from detente.sim.backtest import BacktestResult

    rng = np.random.default_rng(1)
    rows = []
    for p in range(20):
        for k in range(3):
            y = float(rng.uniform(0, 100))
            rows.append(
                IssueResult(
                    f"p{p}", f"p{p}i{k}", "COD", "QMV", y,
                    {"mean": y + 30.0 * (-1) ** k, "a": y + 30.0 * (-1) ** (k + p), "b": y},
                )
            )  # fmt: skip
    result = BacktestResult("x.tsv", ("mean", "a", "b"), {}, "gdp", "average", 0, 0,
                            tuple(rows), ())  # fmt: skip
    fit = fit_ensemble(result, ["mean", "a", "b"], folds=5)
    assert fit["weights"]["b"] > 0.9
    assert fit["shrinkage"] == 0.0
    assert fit["cv_mae"] < 0.5
    _lo, hi = fit["cv_diff_to_compromise"][1:]
    assert hi < 0  # much better than the (deliberately poor) compromise column
    again = fit_ensemble(result, ["mean", "a", "b"], folds=5)
    assert again == fit


def test_the_weights_file_is_the_json_the_fit_writes() -> None:
    from detente.sim.stacking import weights_json

    text = resources.files("detente").joinpath("data/ensemble-weights.json").read_text()
    assert weights_json(json.loads(text)) == text


def test_equal_weights_parameter() -> None:
    sc = load_default()
    trace = run(sc, "ensemble", params={"weights": "equal"})
    assert list(trace.details["weights"]) == shipped()["models"]
    assert len(set(trace.details["weights"].values())) == 1
    with pytest.raises(ValueError, match="expected one of fitted, equal"):
        get_model("ensemble").resolve_params({"weights": "best"})
