"""Comparison of baseline and shocks: deltas and which actors explain them."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest

from detente import io
from detente.scenario import Scenario
from detente.sim.compare import compare, mean_contributions
from detente.sim.shocks import UnknownShockError


def scenario(**shocks: list[dict[str, Any]]) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "t",
            "issues": [{"id": "land"}, {"id": "aid"}],
            "actors": [
                {
                    "id": i,
                    "capability": c,
                    "stances": {
                        "land": {"position": x, "salience": s},
                        "aid": {"position": 100 - x, "salience": 1 - s},
                    },
                }
                for i, c, x, s in (("a", 10, 0, 0.5), ("b", 20, 50, 0.6), ("c", 30, 100, 0.3))
            ],
            "shocks": {k: {"changes": v} for k, v in shocks.items()},
        }
    )


MODELS = ["mean", "median", "condorcet", "eu", "smp"]


def test_empty_shock_changes_nothing() -> None:
    sc = scenario(nothing=[])
    result = compare(sc, ["nothing"], MODELS, seed=3)
    assert len(result.runs) == len(MODELS)
    for run in result.runs:
        for change in run.issues:
            assert change.delta == 0.0
            assert change.contributions == ()


def test_one_actor_move_explains_a_mean_shift_exactly() -> None:
    move = {"actor": "b", "issue": "land", "field": "position", "op": "add", "value": 30}
    sc = scenario(move=[move])
    result = compare(sc, ["move"], ["mean"], seed=0)
    land = result.runs[0].issues[0]
    weights = {"a": 10 * 0.5, "b": 20 * 0.6, "c": 30 * 0.3}
    expected = weights["b"] * 30 / sum(weights.values())
    assert land.delta == pytest.approx(expected, rel=1e-12)
    assert land.method == "exact"
    assert [c.actor for c in land.contributions] == ["b"]
    assert land.contributions[0].value == pytest.approx(expected, rel=1e-12)
    assert (land.contributions[0].before, land.contributions[0].after) == (50, 80)
    aid = result.runs[0].issues[1]
    assert aid.delta == 0.0
    assert aid.contributions == ()


def test_mean_decomposition_sums_to_the_total_change() -> None:
    sc = scenario(
        mix=[
            {"actor": "a", "field": "capability", "op": "scale", "value": 3},
            {"actor": "b", "issue": "land", "field": "salience", "op": "set", "value": 0.1},
            {"actor": "c", "issue": "aid", "field": "position", "op": "toward", "value": 0.5,
             "toward": "a"},
        ]
    )  # fmt: skip
    run = compare(sc, ["mix"], ["mean"], seed=0).runs[0]
    for change in run.issues:
        assert change.delta != 0.0
        assert change.explained == pytest.approx(change.delta, rel=1e-12, abs=1e-12)
    rng = np.random.default_rng(5)
    for _ in range(50):
        w0, w1 = rng.uniform(0, 2, 6), rng.uniform(0, 2, 6)
        x0, x1 = rng.uniform(0, 100, 6), rng.uniform(0, 100, 6)
        f0, f1, terms = mean_contributions(w0, x0, w1, x1)
        assert terms.sum() == pytest.approx(f1 - f0, abs=1e-9)


def test_median_names_the_pivotal_actor() -> None:
    # land: a 0 (w 5), b 50 (w 12), c 100 (w 9): b is the median; tripling c makes c pivotal
    sc = scenario(grow=[{"actor": "c", "field": "capability", "op": "scale", "value": 3}])
    land = compare(sc, ["grow"], ["median"], seed=0).runs[0].issues[0]
    assert (land.baseline, land.shocked) == (50, 100)
    assert land.method == "counterfactual"
    assert (land.pivot_before, land.pivot_after) == ("b", "c")
    assert [c.actor for c in land.contributions] == ["c"]
    assert land.contributions[0].value == 50


def test_multi_round_models_rank_final_position_changes() -> None:
    sc = io.load_default()
    result = compare(sc, ["us-commitment-erodes"], ["eu", "smp"], seed=0)
    for run in result.runs:
        aid = next(c for c in run.issues if c.issue == "aid")
        assert aid.method == "final positions"
        assert aid.delta < 0
        assert 1 <= len(aid.top) <= 3
        assert all(abs(a.value) >= abs(b.value) for a, b in itertools.pairwise(aid.top))
        assert "usa" in {c.actor for c in aid.top}


def test_same_seed_same_result_and_unknown_shock() -> None:
    sc = io.load_default()
    one = compare(sc, ["summit"], ["mean", "smp"], seed=2).to_dict()
    two = compare(sc, ["summit"], ["mean", "smp"], seed=2).to_dict()
    assert one == two
    with pytest.raises(UnknownShockError, match="shocks: summit, us-commitment-erodes"):
        compare(sc, ["summit", "nope"], ["mean"], seed=0)


def test_combined_applies_all_shocks_together() -> None:
    sc = io.load_default()
    result = compare(sc, ["summit", "sanctions-tighten"], ["mean"], seed=0, combined=True)
    assert result.shocks == ("summit+sanctions-tighten",)
    ceasefire = next(c for c in result.runs[0].issues if c.issue == "ceasefire")
    assert ceasefire.explained == pytest.approx(ceasefire.delta, abs=1e-12)


def test_compare_reports_progress_once_per_shock_and_model() -> None:
    from detente.io import load_default
    from detente.sim.compare import compare

    sc = load_default()
    shocks = list(sc.shocks)[:2]
    calls: list[tuple[int, int]] = []
    compare(sc, shocks, ["mean", "median"], 0, progress=lambda d, t: calls.append((d, t)))
    total = len(shocks) * 2
    assert calls == [(d, total) for d in range(1, total + 1)]


def test_changes_over_draws_mark_what_is_within_noise() -> None:
    from detente.io import load_default
    from detente.sim.compare import Comparison, compare

    sc = load_default()
    result = compare(sc, ["summit"], ["mean", "median"], seed=0, draws=60)
    assert result.draws == 60
    med, lo, hi = result.intervals["summit"]["mean"]["ceasefire"]
    assert lo <= med <= hi
    assert result.within_noise("summit", "mean", "ceasefire") is (lo <= 0.0 <= hi)
    # territory does not move under the mean: the interval is exactly 0
    assert result.intervals["summit"]["mean"]["territory"] == (0.0, 0.0, 0.0)
    back = Comparison.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back.to_dict() == json.loads(json.dumps(result.to_dict()))
    # the same seed gives the same intervals
    again = compare(sc, ["summit"], ["mean", "median"], seed=0, draws=60)
    assert again.intervals == result.intervals
    with pytest.raises(ValueError, match="strikes after a round"):
        compare(sc, ["summit@2"], ["eu"], seed=0, draws=10)
