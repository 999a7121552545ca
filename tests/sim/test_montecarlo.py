"""Monte Carlo: batch runs equal single runs, thresholds, chunking, reproducibility."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from detente.io import load_default
from detente.models import run, smp
from detente.scenario import Scenario
from detente.sim.draws import draw
from detente.sim.montecarlo import monte_carlo


def certain(sc: Scenario) -> Scenario:
    """The scenario without any uncertainty."""
    data = sc.model_dump(mode="python")
    for actor in data["actors"]:
        for est in [
            actor["capability"],
            *(v for st in actor["stances"].values() for v in st.values()),
        ]:
            if isinstance(est, dict):
                est.pop("uncertainty", None)
    return Scenario.model_validate(data)


@pytest.mark.parametrize("model", ["mean", "median", "condorcet", "eu", "smp"])
def test_no_uncertainty_gives_the_single_run_in_every_draw(model: str) -> None:
    sc = certain(load_default())
    params: dict[str, Any] = {"rounds": 3} if model == "eu" else {}
    if model == "smp":
        params = {"max_turns": 4}
    result = monte_carlo(sc, model, 7, seed=5, params=params)
    single = run(sc, model, seed=5, params=params).forecast
    assert np.array_equal(result.forecasts, np.broadcast_to(result.forecasts[0], (7, single.size)))
    # eu's batch may run a fused kernel (same numbers up to rounding) where the single run
    # records every pair with the NumPy kernel.
    np.testing.assert_allclose(result.forecasts[0], single, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.band()[0], single, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("mean", {}),
        ("median", {}),
        ("condorcet", {}),
        ("condorcet", {"voting": "majority", "space": "joint"}),
        ("eu", {"rounds": 4}),
        ("eu", {"variant": "paper", "rounds": 2}),
        ("smp", {"max_turns": 3}),
    ],
)
def test_batch_equals_single_runs_on_the_same_draws(model: str, params: dict[str, Any]) -> None:
    sc = load_default()
    draws, seed = 5, 9
    result = monte_carlo(sc, model, draws, seed=seed, params=params, chunk=2)
    inputs, _ = np.random.SeedSequence(seed).spawn(2)
    batch = draw(sc, draws, np.random.default_rng(inputs))
    for r in range(draws):
        single = run(batch.replicate(r), model, params=params)
        np.testing.assert_allclose(result.forecasts[r], single.forecast, rtol=0, atol=1e-9)


def test_eu_rounds_summary_is_the_weighted_median_by_round() -> None:
    sc = certain(load_default())
    result = monte_carlo(sc, "eu", 2, seed=0, params={"rounds": 3})
    trace = run(sc, "eu", params={"rounds": 3})
    for j, issue in enumerate(trace.issues):
        by_round = trace.details["issues"][issue]["median_by_round"]
        np.testing.assert_allclose(result.centre[0, :, j], by_round, rtol=0, atol=1e-9)
    assert result.fan().shape == (5, 4, 6)


def test_results_do_not_depend_on_the_chunk_size() -> None:
    sc = load_default()
    calls: list[tuple[int, int]] = []
    a = monte_carlo(
        sc,
        "eu",
        30,
        seed=2,
        params={"rounds": 2},
        chunk=7,
        progress=lambda d, t: calls.append((d, t)),
    )
    b = monte_carlo(sc, "eu", 30, seed=2, params={"rounds": 2})
    assert np.array_equal(a.forecasts, b.forecasts)
    assert np.array_equal(a.centre, b.centre)
    assert calls == [(7, 30), (14, 30), (21, 30), (28, 30), (30, 30)]
    c = monte_carlo(sc, "eu", 30, seed=3, params={"rounds": 2})
    assert not np.array_equal(a.forecasts, c.forecasts)


def test_smp_pads_replicates_with_their_final_state() -> None:
    sc = load_default()
    result = monte_carlo(sc, "smp", 6, seed=1, params={"max_turns": 6}, chunk=4)
    assert result.centre.shape[0] == 6
    assert result.centre.shape[2] == 6
    assert not any("kernel call" in n for n in result.notes)
    assert np.isfinite(result.centre).all()


def test_threshold_probabilities_on_a_constructed_case() -> None:
    # One actor per replicate decides: its position is uniform on [0, 100], so the forecast
    # is that position and each threshold's probability is known.
    sc = Scenario.model_validate(
        {
            "name": "t",
            "issues": [{"id": "x"}, {"id": "z"}],
            "actors": [
                {
                    "id": "a",
                    "capability": 1,
                    "stances": {
                        "x": {"position": {"value": 50, "uncertainty": "±50"}, "salience": 1},
                        "z": {"position": 20, "salience": 1},
                    },
                }
            ],
            "thresholds": [
                {"issue": "x", "op": ">=", "value": 75},
                {"issue": "x", "op": "<", "value": 10},
                {"issue": "z", "op": "<=", "value": 20},
                {"issue": "z", "op": ">", "value": 20},
            ],
        }
    )
    result = monte_carlo(sc, "mean", 4000, seed=0)
    x = result.forecasts[:, 0]
    probs = result.threshold_probabilities()
    assert probs[0] == np.mean(x >= 75)
    assert probs[1] == np.mean(x < 10)
    assert probs[0] == pytest.approx(0.25, abs=0.03)
    assert probs[1] == pytest.approx(0.1, abs=0.02)
    assert probs[2:].tolist() == [1.0, 0.0]
    summary = result.summary()
    assert summary["thresholds"][0] == {
        "issue": "x",
        "op": ">=",
        "value": 75.0,
        "probability": probs[0],
    }
    assert summary["issues"]["z"] == {"median": 20.0, "q05": 20.0, "q95": 20.0}


def test_bad_arguments() -> None:
    sc = load_default()
    with pytest.raises(ValueError, match="at least 1"):
        monte_carlo(sc, "mean", 0, seed=0)
    with pytest.raises(ValueError, match="no parameter"):
        monte_carlo(sc, "mean", 3, seed=0, params={"rounds": 2})


@pytest.mark.parametrize(
    "params", [{"max_turns": 4}, {"max_turns": 4, "StateTransitions": "Stochastic"}]
)
def test_smp_chunk_is_one_batch_equal_to_single_runs(params: dict[str, Any]) -> None:
    # one kernel call per chunk of different drawn inputs; replicate r runs with its own
    # model stream, exactly as a single run of its draw with that generator
    sc = load_default()
    draws, seed = 6, 4
    result = monte_carlo(sc, "smp", draws, seed=seed, params=params, chunk=4)
    other = monte_carlo(sc, "smp", draws, seed=seed, params=params, chunk=5)
    np.testing.assert_array_equal(result.forecasts, other.forecasts)
    np.testing.assert_array_equal(result.centre, other.centre)
    inputs, model = np.random.SeedSequence(seed).spawn(2)
    batch = draw(sc, draws, np.random.default_rng(inputs))
    resolved = smp.SPEC.resolve_params(batch.base.parameters.get("smp", {}), params)
    for r, seq in enumerate(model.spawn(draws)):
        single = smp.simulate(batch.replicate(r), np.random.default_rng(seq), resolved)
        np.testing.assert_array_equal(result.forecasts[r], single.forecast)


def test_a_scenario_without_uncertainty_is_said_so() -> None:
    from detente import io as dio
    from tests.conftest import shared_path

    sc = dio.read(shared_path("reference", "ktab", "inputs", "dummyData_3Dim.csv"))
    result = monte_carlo(sc, "mean", 20, seed=0)
    assert any("no input an uncertainty" in n and "same forecast" in n for n in result.notes)
    assert not any(
        "no input an uncertainty" in n for n in monte_carlo(load_default(), "mean", 20, 0).notes
    )
