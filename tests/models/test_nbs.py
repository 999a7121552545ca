"""The Nash bargaining solution: closed forms, the reference point, and the solver's optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.models import run
from detente.models.nbs import solve
from detente.scenario import Scenario


def _scenario(
    rows: list[tuple[str, float, dict[str, tuple[float, float]]]],
    issues: list[dict[str, object]] | None = None,
) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "nbs",
            "issues": issues or [{"id": "x"}],
            "actors": [
                {
                    "id": a,
                    "capability": c,
                    "stances": {k: {"position": x, "salience": s} for k, (x, s) in st_.items()},
                }
                for a, c, st_ in rows
            ],
        }
    )


def _pair(c_a: float, c_b: float, s_a: float = 1.0, s_b: float = 1.0) -> Scenario:
    return _scenario([("a", c_a, {"x": (0.0, s_a)}), ("b", c_b, {"x": (100.0, s_b)})])


@pytest.mark.parametrize(("c_a", "c_b"), [(1.0, 1.0), (1.0, 3.0), (5.0, 2.0)])
def test_two_actors_linear_split_by_capability(c_a: float, c_b: float) -> None:
    """Positions 0 and 1, breaking off at the far end: gains 1 − z and z, so the solution
    maximises c_a log(1 − z) + c_b log z: z = c_b / (c_a + c_b), whatever the saliences."""
    for s_a, s_b in ((1.0, 1.0), (0.3, 0.9)):
        trace = run(_pair(c_a, c_b, s_a, s_b), "nbs", params={"utility": "linear"})
        assert trace.forecast[0] == pytest.approx(100.0 * c_b / (c_a + c_b), abs=1e-6)
        assert trace.details["agreed"]


def test_two_actors_quadratic_symmetric_and_asymmetric() -> None:
    """Quadratic losses: gains 1 − z² and 2z − z². Symmetric: z = 1/2. With exponents w_a, w_b
    the first-order condition is w_a z²(2 − z) = w_b (1 − z)²(1 + z), a cubic."""
    assert run(_pair(2.0, 2.0), "nbs").forecast[0] == pytest.approx(50.0, abs=1e-9)
    w_a, w_b = 0.25, 0.75
    cubic = np.polysub(np.polymul([w_a], [-1.0, 2.0, 0.0, 0.0]), np.polymul([w_b], [1, -1, -1, 1]))
    roots = np.roots(cubic)
    z = next(r.real for r in roots if abs(r.imag) < 1e-12 and 0 < r.real < 1)
    assert run(_pair(1.0, 3.0), "nbs").forecast[0] == pytest.approx(100.0 * z, abs=1e-7)
    # the symmetric solution ignores capabilities
    equal = run(_pair(1.0, 3.0), "nbs", params={"weights": "equal"})
    assert equal.forecast[0] == pytest.approx(50.0, abs=1e-9)


def test_the_status_quo_as_disagreement_point() -> None:
    # both actors to the right of the status quo 30: gains z − 30 − … on the segment
    sc = _scenario(
        [("a", 1.0, {"x": (50.0, 1.0)}), ("b", 3.0, {"x": (100.0, 1.0)})],
        [{"id": "x", "reference": 30.0}],
    )
    # linear: gains 0.7 − z and z − 0.3 (a is passed for z > 0.5): z = 0.3 + 0.4·3/4 = 0.6
    trace = run(sc, "nbs", params={"utility": "linear"})
    assert trace.forecast[0] == pytest.approx(60.0, abs=1e-6)
    assert trace.details["disagreement"] == {"x": "reference"}
    # actors on both sides of it: any move hurts someone, the status quo stays (exactly)
    both = _scenario(
        [("a", 1.0, {"x": (0.0, 1.0)}), ("b", 3.0, {"x": (100.0, 1.0)})],
        [{"id": "x", "reference": 30.0}],
    )
    for utility in ("quadratic", "linear"):
        trace = run(both, "nbs", params={"utility": utility})
        assert trace.forecast[0] == 30.0
        assert not trace.details["agreed"]
        assert trace.notes
    # ignoring the reference point gives the bargain between the far ends again
    worst = run(both, "nbs", params={"utility": "linear", "disagreement": "worst"})
    assert worst.forecast[0] == pytest.approx(75.0, abs=1e-6)


def test_several_issues_trade_off_through_the_product() -> None:
    """Two issues, a cares about p, b about q: each gets its way where it cares most (the
    solution is not the issue-by-issue one), and the actor who cannot gain on a referenced
    issue holds it at its reference point while the rest is bargained."""
    sc = _scenario(
        [
            ("a", 1.0, {"p": (0.0, 0.9), "q": (0.0, 0.1)}),
            ("b", 1.0, {"p": (100.0, 0.1), "q": (100.0, 0.9)}),
        ],
        [{"id": "p"}, {"id": "q"}],
    )
    f = run(sc, "nbs").forecast
    assert f[0] < 50.0 < f[1]
    assert f[0] == pytest.approx(100.0 - f[1], abs=1e-7)  # the mirror image
    held = _scenario(
        [
            ("a", 1.0, {"p": (20.0, 1.0)}),
            ("b", 1.0, {"p": (80.0, 0.5), "q": (100.0, 0.5)}),
            ("c", 1.0, {"p": (60.0, 0.5), "q": (0.0, 0.5)}),
        ],
        [{"id": "p", "reference": 20.0}, {"id": "q"}],
    )
    trace = run(held, "nbs")
    assert trace.forecast[0] == 20.0
    assert trace.forecast[1] == pytest.approx(50.0, abs=1e-6)
    assert trace.details["cannot_gain"] == ["a"]


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    n=st.integers(2, 6),
    m=st.integers(1, 3),
    linear=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_no_point_has_a_larger_nash_product(n: int, m: int, linear: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cap = rng.uniform(0.1, 5.0, (1, n))
    pos = rng.uniform(0.0, 1.0, (1, n, m))
    sal = rng.uniform(0.05, 1.0, (1, n, m))
    res = solve(cap, pos, sal, np.full(m, np.nan), linear=linear)
    assert res.converged.all()
    assert res.agreed.all()
    w = cap[0] / cap[0].sum()

    def value(z: np.ndarray) -> np.ndarray:
        d = np.abs(z[:, None, :] - pos[0]) if linear else (z[:, None, :] - pos[0]) ** 2
        worst = (
            np.maximum(np.abs(pos[0]), np.abs(1 - pos[0]))
            if linear
            else np.maximum(pos[0] ** 2, (1 - pos[0]) ** 2)
        )
        g = (sal[0] * (worst - d)).sum(axis=-1)
        out: np.ndarray = (w * np.log(np.maximum(g, 1e-300))).sum(axis=-1)
        return out

    best = value(res.z[0][None])[0]
    trials = np.clip(res.z[0] + rng.normal(0, 0.05, (400, m)), 0, 1)
    trials = np.vstack([trials, rng.uniform(0, 1, (400, m)), pos[0]])
    assert (value(trials) <= best + 1e-7).all()


def test_a_batch_equals_single_runs_of_its_replicates() -> None:
    from detente.models import get_model
    from detente.scenario.batch import ScenarioBatch

    sc = _scenario(
        [
            ("a", 1.0, {"p": (0.0, 0.9), "q": (10.0, 0.1)}),
            ("b", 2.0, {"p": (100.0, 0.2), "q": (90.0, 0.9)}),
            ("c", 1.5, {"p": (40.0, 0.5)}),
        ],
        [{"id": "p", "reference": 50.0}, {"id": "q"}],
    )
    base = sc.arrays()
    rng = np.random.default_rng(0)
    reps = 6
    cap = base.capability * rng.uniform(0.5, 1.5, (reps, 3))
    pos = np.clip(base.position + rng.normal(0, 10, (reps, 3, 2)), 0, 100)
    batch = ScenarioBatch(base, cap, pos, np.broadcast_to(base.salience, pos.shape).copy())
    spec = get_model("nbs")
    forecast, _ = spec.batch(batch, spec.resolve_params({}), [])  # type: ignore[misc]
    for r in range(reps):
        single = run(batch.replicate(r), "nbs")
        np.testing.assert_allclose(forecast[r], single.forecast, atol=1e-9)
