"""Baselines against the BDM reference data and their invariants."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente import io
from detente.models import run
from detente.models.baselines import condorcet, weighted_mean, weighted_median
from detente.scenario import Scenario
from tests.conftest import shared_path

DATASETS = ("emission_standards", "sultan", "china", "iran_2013_election")


def _baselines() -> dict[tuple[str, str], str]:
    with shared_path("reference", "bdm", "baselines.csv").open(newline="") as fh:
        return {(r["dataset"], r["quantity"]): r["value"] for r in csv.DictReader(fh)}


@pytest.mark.parametrize("dataset", DATASETS)
def test_baselines_match_reference(dataset: str) -> None:
    ref = _baselines()
    sc = io.read(shared_path("reference", "bdm", "inputs", f"{dataset}.csv"))
    mean = run(sc, "mean").forecast[0]
    median = run(sc, "median")
    cond = run(sc, "condorcet")
    assert mean == pytest.approx(float(ref[dataset, "weighted_mean"]), abs=1e-9)
    lower = median.details["median_lower"][sc.issues[0].id]
    upper = median.details["median_upper"][sc.issues[0].id]
    assert lower == pytest.approx(float(ref[dataset, "weighted_median_lower"]), abs=1e-9)
    assert upper == pytest.approx(float(ref[dataset, "weighted_median_upper"]), abs=1e-9)
    winners = [float(v) for v in ref[dataset, "condorcet_winners"].split(";")]
    ids = cond.details["winners"][sc.issues[0].id]
    won = sorted({sc.actor(a).stances[sc.issues[0].id].position.value for a in ids})
    assert won == pytest.approx(sorted(winners), abs=1e-9)
    assert cond.forecast[0] == pytest.approx(np.mean(winners), abs=1e-9)


def _scenario(cap: list[float], pos: list[list[float]], sal: list[list[float]]) -> Scenario:
    m = len(pos[0])
    return Scenario.model_validate(
        {
            "name": "t",
            "issues": [{"id": f"i{k}"} for k in range(m)],
            "actors": [
                {
                    "id": f"a{i}",
                    "capability": c,
                    "stances": {
                        f"i{k}": {"position": pos[i][k], "salience": sal[i][k]} for k in range(m)
                    },
                }
                for i, c in enumerate(cap)
            ],
        }
    )


def test_median_tie_reports_interval_and_midpoint() -> None:
    sc = _scenario([1, 1, 1, 1], [[10], [20], [60], [90]], [[1], [1], [1], [1]])
    trace = run(sc, "median")
    assert trace.details["median_lower"]["i0"] == 20
    assert trace.details["median_upper"]["i0"] == 60
    assert trace.forecast[0] == 40
    assert any("tie" in n for n in trace.notes)
    cond = run(sc, "condorcet")
    assert sorted(cond.details["winners"]["i0"]) == ["a1", "a2"]
    assert cond.forecast[0] == 40


def test_zero_weight_actor_is_ignored_by_median() -> None:
    sc = _scenario([5, 1, 1], [[10], [50], [99]], [[0], [1], [1]])
    lower, upper = weighted_median(
        sc.arrays().capability, sc.arrays().position, sc.arrays().salience
    )
    assert (lower[0], upper[0]) == (50, 99)


def test_missing_stance_has_no_weight() -> None:
    sc = Scenario.model_validate(
        {
            "name": "t",
            "issues": [{"id": "a"}, {"id": "b"}],
            "actors": [
                {"id": "x", "capability": 1, "stances": {"a": {"position": 0, "salience": 1}}},
                {
                    "id": "y",
                    "capability": 3,
                    "stances": {
                        "a": {"position": 100, "salience": 1},
                        "b": {"position": 40, "salience": 1},
                    },
                },
            ],
        }
    )
    assert run(sc, "mean").forecast.tolist() == [75.0, 40.0]
    assert run(sc, "median").forecast.tolist() == [100.0, 40.0]
    assert run(sc, "condorcet").forecast.tolist() == [100.0, 40.0]


def test_condorcet_cycle_falls_back_to_copeland() -> None:
    # Majority rule in the joint space with each voter's own salience-weighted distance.
    # Each contest between two of these three equal actors is settled by the third:
    # a2 prefers a0 to a1, a0 prefers a1 to a2, a1 prefers a2 to a0 (checked by hand from
    # the distances 41 < 1604, 580 < 1028, 4100 < 5188), so the majorities cycle.
    corners = [[40.0, 90.0], [60.0, 0.0], [80.0, 80.0]]
    sal = [[0.8, 0.2], [0.1, 0.8], [0.1, 0.5]]
    sc = _scenario([1, 1, 1], corners, sal)
    params = {"space": "joint", "voting": "majority"}
    trace = run(sc, "condorcet", params=params)
    assert trace.details["condorcet_exists"] == {"joint": False}
    assert sorted(trace.details["winners"]["joint"]) == ["a0", "a1", "a2"]
    assert trace.details["copeland_scores"]["joint"] == {"a0": 0.0, "a1": 0.0, "a2": 0.0}
    assert any("Copeland" in n for n in trace.notes)
    # A weak fourth actor at (50, 80) is preferred to each corner by the other two corners.
    with_centre = _scenario([1, 1, 1, 0.1], [*corners, [50.0, 80.0]], [*sal, [0.5, 0.5]])
    trace = run(with_centre, "condorcet", params=params)
    assert trace.details["condorcet_exists"] == {"joint": True}
    assert trace.details["winners"]["joint"] == ["a3"]
    assert trace.forecast.tolist() == [50.0, 80.0]
    # Proportional votes are transitive (margins are differences of one score), never cycle.
    proportional = run(sc, "condorcet", params={"space": "joint"})
    assert proportional.details["condorcet_exists"] == {"joint": True}


def test_kernels_accept_a_replicate_axis() -> None:
    rng = np.random.default_rng(1)
    cap = rng.uniform(1, 10, (5, 7))
    pos = rng.uniform(0, 100, (5, 7, 3))
    sal = rng.uniform(0, 1, (5, 7, 3))
    batch = weighted_mean(cap, pos, sal)
    lower, _ = weighted_median(cap, pos, sal)
    winners, exists, _ = condorcet(cap, pos, sal)
    for r in range(5):
        np.testing.assert_allclose(batch[r], weighted_mean(cap[r], pos[r], sal[r]), rtol=1e-15)
        np.testing.assert_array_equal(lower[r], weighted_median(cap[r], pos[r], sal[r])[0])
        np.testing.assert_array_equal(winners[r], condorcet(cap[r], pos[r], sal[r])[0])
    assert exists.all()


# -- properties -------------------------------------------------------------------------------

MODELS = ("mean", "median", "condorcet")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[float], list[list[float]], list[list[float]]]:
    n = draw(st.integers(1, 9))
    m = draw(st.integers(1, 3))
    cap = draw(st.lists(st.floats(0.01, 1000), min_size=n, max_size=n))
    # Positions on a grid make exact ties common, which is where tie rules break.
    pos = [draw(st.lists(st.integers(0, 20).map(lambda v: v * 5.0), min_size=m, max_size=m))]
    pos += [
        draw(st.lists(st.integers(0, 20).map(lambda v: v * 5.0), min_size=m, max_size=m))
        for _ in range(n - 1)
    ]
    sal = [draw(st.lists(st.floats(0.05, 1), min_size=m, max_size=m)) for _ in range(n)]
    return cap, pos, sal


@settings(max_examples=80, deadline=None)
@given(data=scenarios(), perm_seed=st.integers(0, 2**32 - 1))
def test_permuting_actors_changes_no_forecast(
    data: tuple[list[float], list[list[float]], list[list[float]]], perm_seed: int
) -> None:
    cap, pos, sal = data
    order = np.random.default_rng(perm_seed).permutation(len(cap))
    shuffled = _scenario([cap[i] for i in order], [pos[i] for i in order], [sal[i] for i in order])
    original = _scenario(cap, pos, sal)
    for model in MODELS:
        a, b = run(original, model).forecast, run(shuffled, model).forecast
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9, err_msg=model)


@settings(max_examples=80, deadline=None)
@given(data=scenarios(), factor=st.floats(1e-3, 1e3))
def test_scaling_capabilities_changes_no_forecast(
    data: tuple[list[float], list[list[float]], list[list[float]]], factor: float
) -> None:
    cap, pos, sal = data
    scaled = _scenario([c * factor for c in cap], pos, sal)
    original = _scenario(cap, pos, sal)
    for model in MODELS:
        a, b = run(original, model).forecast, run(scaled, model).forecast
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9, err_msg=model)


@settings(max_examples=60, deadline=None)
@given(
    data=scenarios(),
    shared=st.lists(st.floats(0, 100), min_size=3, max_size=3),
)
def test_unanimous_scenario_forecasts_the_shared_position(
    data: tuple[list[float], list[list[float]], list[list[float]]], shared: list[float]
) -> None:
    cap, pos, sal = data
    m = len(pos[0])
    sc = _scenario(cap, [shared[:m]] * len(cap), sal)
    for model in MODELS:
        np.testing.assert_allclose(run(sc, model).forecast, shared[:m], atol=1e-9, err_msg=model)
    joint = run(sc, "condorcet", params={"space": "joint", "voting": "majority"})
    np.testing.assert_allclose(joint.forecast, shared[:m], atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(data=scenarios())
def test_forecast_lies_within_the_positions(
    data: tuple[list[float], list[list[float]], list[list[float]]],
) -> None:
    cap, pos, sal = data
    x = np.array(pos)
    for model in MODELS:
        f = run(_scenario(cap, pos, sal), model).forecast
        assert np.all(f >= x.min(axis=0) - 1e-9)
        assert np.all(f <= x.max(axis=0) + 1e-9)


def test_trace_json_turns_arrays_and_nan_into_plain_values() -> None:
    import json

    from detente.trace import Trace

    trace = Trace(
        model="x",
        actors=("a",),
        issues=("i",),
        positions=np.array([[[np.nan]]]),
        forecast=np.array([np.nan]),
        details={"m": np.array([[1.0, np.nan]]), "k": np.int64(3), "t": (np.float64(0.5),)},
    )
    obj = trace.to_dict(scenario="s", seed=1)
    text = json.dumps(obj, allow_nan=False)
    assert json.loads(text)["details"] == {"m": [[1.0, None]], "k": 3, "t": [0.5]}
    assert obj["forecast"] == {"i": None}
