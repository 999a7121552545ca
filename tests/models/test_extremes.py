"""Extreme but valid inputs: bounded magnitudes, finite outputs, degenerate draws."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente import io
from detente.errors import InputError
from detente.models import models, run
from detente.models.registry import NonFiniteResult, check_finite
from detente.scenario import Scenario
from detente.scenario.model import CAPABILITY_MAX, CAPABILITY_MIN, SCALE_LIMIT
from detente.sim.montecarlo import monte_carlo
from detente.sim.shocks import apply_shocks
from detente.trace import Trace


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


THREE = """name: t
issues:
  - id: a
    scale: {{min: {lo}, max: {hi}}}
actors:
  - {{id: p, capability: {c0}, stances: {{a: {{position: {x0}, salience: 0.5}}}}}}
  - {{id: q, capability: {c1}, stances: {{a: {{position: {x1}, salience: 0.5}}}}}}
  - {{id: r, capability: 1, stances: {{a: {{position: {x1}, salience: 0.5}}}}}}
"""


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (dict(c0="1e308", c1="1e308"), "capability must lie in"),
        (dict(c0="1e300", c1="1e-300"), "capability must lie in"),
        (dict(lo="-1e308", hi="1e308", x0="-1e307", x1="1e307"), "scale ends must lie within"),
    ],
)
def test_magnitudes_beyond_the_bounds_are_one_line_errors(
    tmp_path: Path, values: dict[str, str], message: str
) -> None:
    fields = dict(lo="0", hi="100", c0="1", c1="2", x0="10", x1="90") | values
    with pytest.raises(InputError, match=message) as info:
        io.read(_yaml(tmp_path, THREE.format(**fields)))
    assert "\n" not in str(info.value)
    assert "line" in str(info.value)


def _scenario(
    caps: list[float], lo: float, hi: float, xs: list[float], sal: list[float]
) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "x",
            "issues": [{"id": "a", "scale": {"min": lo, "max": hi}}],
            "actors": [
                {"id": f"a{i}", "capability": c, "stances": {"a": {"position": x, "salience": s}}}
                for i, (c, x, s) in enumerate(zip(caps, xs, sal, strict=True))
            ],
        }
    )


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    data=st.data(),
    n=st.integers(3, 7),
    signed=st.booleans(),
)
def test_every_model_stays_finite_at_the_bounds(data: st.DataObject, n: int, signed: bool) -> None:
    """Capabilities at both bounds at once, scales at ±SCALE_LIMIT: finite, in-scale forecasts."""
    caps = [CAPABILITY_MAX, CAPABILITY_MIN] + [
        data.draw(st.floats(CAPABILITY_MIN, CAPABILITY_MAX)) for _ in range(n - 2)
    ]
    lo, hi = (-SCALE_LIMIT if signed else 0.0), SCALE_LIMIT
    xs = [data.draw(st.floats(lo, hi)) for _ in range(n)]
    sal = [data.draw(st.floats(0.01, 1.0)) for _ in range(n)]
    sc = _scenario(caps, lo, hi, xs, sal)
    for spec in models():
        trace = run(sc, spec.name)
        assert np.isfinite(trace.forecast).all(), spec.name
        assert (trace.forecast >= lo - 1e-9 * hi).all(), spec.name
        assert (trace.forecast <= hi * (1 + 1e-9)).all(), spec.name


@pytest.mark.parametrize("victory", ["Octic", "Binary", "Square"])
@pytest.mark.parametrize("voting", ["Cubic", "Binary", "PropCbc"])
def test_smp_powers_of_extreme_capabilities_stay_finite(victory: str, voting: str) -> None:
    caps = [CAPABILITY_MAX, CAPABILITY_MAX, CAPABILITY_MIN, 1.0]
    sc = _scenario(caps, 0.0, 100.0, [5.0, 95.0, 50.0, 30.0], [1.0, 1.0, 0.2, 0.6])
    trace = run(sc, "smp", params={"VictoryProbModel": victory, "VotingRule": voting})
    assert np.isfinite(trace.positions).all()


def test_non_finite_results_are_named() -> None:
    trace = Trace(
        model="m",
        actors=("p", "q"),
        issues=("a", "b"),
        positions=np.array([[[1.0, np.nan], [2.0, 3.0]]]),
        forecast=np.array([1.5, np.inf]),
    )
    with pytest.raises(NonFiniteResult, match=r"model 'm' gave a forecast of inf on issue 'b'"):
        check_finite(trace)
    ok = Trace(
        model="m",
        actors=("p",),
        issues=("a",),
        positions=np.array([[[np.nan]]]),
        forecast=np.array([np.nan]),
    )
    check_finite(ok)  # NaN where there is no stance and no forecast is meaningful
    moved = Trace(
        model="m",
        actors=("p",),
        issues=("a",),
        positions=np.array([[[1.0]], [[np.nan]]]),
        forecast=np.array([1.0]),
    )
    with pytest.raises(NonFiniteResult, match="for 'p' on issue 'a' in round 1"):
        check_finite(moved)


BETA = """name: betatest
issues:
  - id: a
actors:
  - id: p
    capability: 3
    stances:
      a: {position: 10, salience: {value: 0.5, uncertainty: {dist: beta, a: 0.01, b: 0.01}}}
  - {id: q, capability: 2, stances: {a: {position: 80, salience: 0.6}}}
  - {id: z, capability: 5, stances: {a: {position: 50, salience: 0.3}}}
"""


def test_a_draw_with_salience_zero_is_run_and_reported(tmp_path: Path) -> None:
    """beta(0.01, 0.01) draws exactly 0 now and then (seed 3: once in 400 draws)."""
    sc = io.read(_yaml(tmp_path, BETA))
    for model in ("smp", "eu", "mean"):
        result = monte_carlo(sc, model, 400, 3)
        assert np.isfinite(result.forecasts).all(), model
        assert any("1 of 400 draws left an actor with salience 0" in n for n in result.notes)


def test_smp_actor_without_salience_yields() -> None:
    sc = _scenario([3.0, 2.0, 5.0], 0.0, 100.0, [10.0, 80.0, 50.0], [0.5, 0.6, 0.0])
    trace = run(sc, "smp")
    assert any("a2 has salience 0 on every issue" in n for n in trace.notes)
    assert np.isfinite(trace.positions).all()
    # nobody resists less than an actor who cares about nothing: it is challenged and moves;
    # being indifferent, it challenges nobody
    challenges = [c for e in trace.details["per_turn"] for c in e["challenges"]]
    assert any(c["target"] == "a2" for c in challenges)
    assert not any(c["initiator"] == "a2" for c in challenges)
    assert trace.final[2, 0] != 50.0


def test_a_shock_cannot_push_a_capability_past_the_bound() -> None:
    sc = _scenario([3.0, 2.0, 5.0], 0.0, 100.0, [10.0, 80.0, 50.0], [0.5, 0.6, 0.4])
    change = {"actor": "a0", "field": "capability", "op": "scale", "value": 1e300}
    sc = Scenario.model_validate(sc.model_dump() | {"shocks": {"huge": {"changes": [change]}}})
    shocked, notes = apply_shocks(sc, ["huge"])
    assert shocked.actors[0].capability.value == CAPABILITY_MAX
    assert any("clipped" in n for n in notes)
