"""The model contract, checked for every registered model (a new model gets these for free)."""

from __future__ import annotations

import numpy as np
import pytest

from detente.models import get_model, models, run
from detente.scenario import Scenario
from detente.scenario.batch import ScenarioBatch
from detente.sim.montecarlo import monte_carlo

NAMES = [spec.name for spec in models()]

ACTORS = [
    # id, capability, {issue: (position, salience)}
    ("ru", 90.0, {"land": (92.0, 0.9), "nato": (97.0, 0.8)}),
    ("us", 100.0, {"land": (61.0, 0.5), "nato": (71.0, 0.4)}),
    ("ua", 40.0, {"land": (7.0, 1.0), "nato": (12.0, 0.9)}),
    ("eu", 55.0, {"land": (23.0, 0.6), "nato": (34.0, 0.5)}),
    ("de", 30.0, {"land": (38.0, 0.45), "nato": (55.0, 0.35)}),
]


def _scenario(actors: list[tuple[str, float, dict[str, tuple[float, float]]]]) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "contract",
            "issues": [{"id": "land"}, {"id": "nato"}],
            "actors": [
                {
                    "id": a,
                    "capability": {"value": c, "uncertainty": "±10"},
                    "stances": {
                        k: {"position": {"value": x, "uncertainty": "±5"}, "salience": s}
                        for k, (x, s) in st.items()
                    },
                }
                for a, c, st in actors
            ],
        }
    )


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return _scenario(ACTORS)


@pytest.mark.parametrize("name", NAMES)
def test_labels_and_shapes(name: str, scenario: Scenario) -> None:
    trace = run(scenario, name)
    assert trace.model == name
    assert trace.actors == tuple(a.id for a in scenario.actors)
    assert trace.issues == tuple(i.id for i in scenario.issues)
    assert trace.positions.shape[1:] == (len(trace.actors), len(trace.issues))
    assert trace.forecast.shape == (len(trace.issues),)
    # round 0 is the input (smp maps it to 0–1 and back: round-off only)
    np.testing.assert_allclose(trace.positions[0], scenario.arrays().position, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_of_one_equals_a_single_run(name: str, scenario: Scenario) -> None:
    spec = get_model(name)
    assert spec.batch is not None, f"{name} registers no batch run"
    assert spec.chunk >= 1
    base = scenario.arrays()
    batch = ScenarioBatch(base, base.capability[None], base.position[None], base.salience[None])
    params = spec.resolve_params(base.parameters.get(name, {}))
    seq = np.random.SeedSequence(5)
    forecast, centre = spec.batch(batch, params, [seq] if spec.streams else [])
    single = run(scenario, name, seed=5)
    np.testing.assert_allclose(forecast[0], single.forecast, rtol=0, atol=1e-9)
    assert centre.shape[0] == 1
    assert centre.shape[2] == len(base.issues)


@pytest.mark.parametrize("name", NAMES)
def test_permuting_the_actors_permutes_the_results(name: str, scenario: Scenario) -> None:
    order = [3, 0, 4, 2, 1]
    permuted = _scenario([ACTORS[i] for i in order])
    a, b = run(scenario, name), run(permuted, name)
    np.testing.assert_allclose(b.forecast, a.forecast, rtol=0, atol=1e-9)
    assert b.positions.shape == a.positions.shape
    np.testing.assert_allclose(b.positions[-1], a.positions[-1][order], rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_a_unanimous_scenario_does_not_move(name: str) -> None:
    same = _scenario([(a, c, {k: (40.0, s) for k, (_x, s) in st.items()}) for a, c, st in ACTORS])
    trace = run(same, name)
    np.testing.assert_array_equal(trace.forecast, [40.0, 40.0])
    assert (trace.positions == 40.0).all()


@pytest.mark.parametrize("name", NAMES)
def test_monte_carlo_runs_and_repeats(name: str, scenario: Scenario) -> None:
    first = monte_carlo(scenario, name, 40, seed=3)
    again = monte_carlo(scenario, name, 40, seed=3, chunk=7)
    assert first.forecasts.shape == (40, 2)
    assert np.isfinite(first.forecasts).all()
    np.testing.assert_array_equal(first.forecasts, again.forecasts)
    assert first.centre.shape[0] == 40
    # the draws differ, so the forecasts do (every model reacts to its inputs)
    assert np.ptp(first.forecasts, axis=0).max() > 0
