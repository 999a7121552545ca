"""Scenario discovery: PRIM finds planted boxes; thresholds are read safely; same seed, same
bytes on every executor."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detente import io
from detente.scenario import Scenario
from detente.serial import dumps
from detente.sim.discover import DiscoveryResult, discover, parse_threshold, uncertain_inputs
from detente.sim.executors import ProcessExecutor, make_executor
from detente.sim.prim import binomial_tail, prim


def planted(n: int = 2000, d: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, d))


def test_prim_recovers_a_planted_box() -> None:
    x = planted()
    y = (x[:, 3] > 0.6) & (x[:, 7] < 0.3)
    res = prim(x, y)
    box = res.boxes[0]
    assert box.restricted == (3, 7)
    assert box.lower[3] == pytest.approx(0.6, abs=0.03)
    assert box.upper[7] == pytest.approx(0.3, abs=0.03)
    assert box.density == 1.0
    assert box.coverage > 0.9
    assert all(q < 1e-6 for q in box.qp)
    assert len(res.boxes) == 1  # nothing left worth a box
    assert res.base_rate == pytest.approx(y.mean())


def test_prim_covering_finds_a_second_box() -> None:
    x = planted(d=10, seed=1)
    y = ((x[:, 0] > 0.7) & (x[:, 1] > 0.6)) | ((x[:, 5] < 0.25) & (x[:, 8] < 0.3))
    res = prim(x, y, max_boxes=3)
    assert [b.restricted for b in res.boxes] == [(0, 1), (5, 8)] or [
        b.restricted for b in res.boxes
    ] == [(5, 8), (0, 1)]
    assert sum(b.coverage for b in res.boxes) > 0.9
    assert all(b.density > 0.85 for b in res.boxes)


def test_prim_peeling_trajectory_trades_coverage_for_density() -> None:
    x = planted(seed=2)
    y = x[:, 0] + 0.3 * np.random.default_rng(3).random(x.shape[0]) > 0.9
    box = prim(x, y, alpha=0.1, min_mass=0.1, max_qp=None).boxes[0]
    cov = np.array([s.coverage for s in box.trajectory])
    den = np.array([s.density for s in box.trajectory])
    mass = np.array([s.mass for s in box.trajectory])
    assert cov[0] == 1.0
    assert mass[0] == 1.0
    assert np.all(np.diff(den) > 0)  # peeling stops once density no longer rises
    assert np.all(np.diff(cov) <= 0)
    assert np.all(mass >= 0.1)
    # each peel removes about alpha of the box
    assert np.all(mass[1:] / mass[:-1] >= 0.89)
    assert box.trajectory[box.selected].coverage >= 0.5


def test_prim_on_noise_keeps_no_restriction() -> None:
    x = planted(seed=4)
    y = np.random.default_rng(5).random(x.shape[0]) < 0.3
    res = prim(x, y)
    assert res.boxes[0].restricted == ()
    assert res.boxes[0].pruned > 0


def test_prim_is_deterministic_and_checks_its_arguments() -> None:
    x = planted(seed=6)
    y = x[:, 2] < 0.2
    a, b = prim(x, y), prim(x.copy(), y.copy())
    assert np.array_equal(a.boxes[0].lower, b.boxes[0].lower)
    assert np.array_equal(a.boxes[0].upper, b.boxes[0].upper)
    with pytest.raises(ValueError, match="alpha must lie in"):
        prim(x, y, alpha=0.7)
    with pytest.raises(ValueError, match="expected x"):
        prim(x, y[:5])
    with pytest.raises(ValueError, match="finite"):
        prim(np.full((3, 2), np.nan), np.ones(3, dtype=bool))


def test_pasting_grows_a_box_that_peeling_cut_short() -> None:
    # Coarse peels (alpha 0.2) overshoot the true edge at 0.5; pasting takes back cases that
    # keep the density.
    x = planted(n=3000, d=3, seed=7)
    y = x[:, 0] > 0.5
    peeled = prim(x, y, alpha=0.2, paste=False).boxes[0]
    pasted = prim(x, y, alpha=0.2, paste=True).boxes[0]
    assert pasted.density == 1.0
    assert pasted.coverage >= peeled.coverage
    assert pasted.lower[0] == pytest.approx(0.5, abs=0.01)


def test_binomial_tail() -> None:
    assert binomial_tail(10, 0, 0.3) == 1.0
    assert binomial_tail(10, 11, 0.3) == 0.0
    assert binomial_tail(4, 4, 0.5) == pytest.approx(1 / 16)
    assert binomial_tail(10, 8, 0.5) == pytest.approx(56 / 1024)
    assert binomial_tail(5000, 2600, 0.5) == pytest.approx(0.00233, rel=0.05)


def test_parse_threshold_reads_ids_labels_and_operators() -> None:
    sc = io.load_default()
    assert parse_threshold("territory >= 80", sc).model_dump(exclude_none=True) == {
        "issue": "territory",
        "op": ">=",
        "value": 80.0,
    }
    assert parse_threshold("  Security guarantees<12.5", sc).issue == "guarantees"
    assert parse_threshold("aid ≤ 30", sc).op == "<="
    assert parse_threshold("ceasefire>1e1", sc).value == 10.0
    for bad, message in [
        ("territory", "expected ISSUE OP NUMBER"),
        (">= 80", "expected ISSUE OP NUMBER"),
        ("territory == 80", "expected ISSUE OP NUMBER"),
        ("territory >= eighty", "expected ISSUE OP NUMBER"),
        ("territory >= nan", "expected ISSUE OP NUMBER"),
        ("land >= 80", "unknown issue 'land'"),
        ("territory >= 180", "outside the scale of territory"),
        ("__import__('os') >= 1", "unknown issue"),
        ("x" * 500 + " >= 1", "long text"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_threshold(bad, sc)


def cause_scenario() -> Scenario:
    """Two issues, mean model: land's forecast is (x_a + 50) / 2, so land >= 60 exactly when
    a's land position is >= 70. Every other uncertain input is noise for land."""
    return Scenario.model_validate(
        {
            "name": "planted",
            "issues": [{"id": "land"}, {"id": "aid"}],
            "actors": [
                {
                    "id": "a",
                    "capability": 1,
                    "stances": {
                        "land": {
                            "position": {
                                "value": 50,
                                "uncertainty": {"dist": "uniform", "low": 0, "high": 100},
                            },
                            "salience": 1,
                        },
                        "aid": {"position": {"value": 40, "uncertainty": "±20"}, "salience": 1},
                    },
                },
                {
                    "id": "b",
                    "capability": 1,
                    "stances": {
                        "land": {"position": 50, "salience": 1},
                        "aid": {
                            "position": {"value": 60, "uncertainty": "±20"},
                            "salience": {"value": 0.5, "uncertainty": "±0.3"},
                        },
                    },
                },
            ],
        }
    )


def test_discover_finds_the_input_that_causes_the_outcome() -> None:
    sc = cause_scenario()
    assert [name for name, _ in uncertain_inputs(sc)] == [
        "a.land.position",
        "a.aid.position",
        "b.aid.position",
        "b.aid.salience",
    ]
    res = discover(sc, "land >= 60", "mean", draws=1500, seed=2)
    assert res.base_rate == pytest.approx(0.3, abs=0.04)
    box = res.boxes[0]
    assert [r.input for r in box.restrictions] == ["a.land.position"]
    r = box.restrictions[0]
    assert r.lower == pytest.approx(70.0, abs=1.0)
    assert r.upper == r.high
    assert box.density == 1.0
    assert box.coverage > 0.95
    assert not r.noisy


def test_discover_same_bytes_on_every_executor_and_round_trip() -> None:
    sc = io.load_default()
    ref = discover(sc, "aid <= 30", "median", draws=300, seed=4)
    text = dumps(ref.to_dict())
    for ex in (ProcessExecutor(2), make_executor("dask", 2)):
        assert dumps(discover(sc, "aid <= 30", "median", 300, 4, executor=ex).to_dict()) == text
    data = json.loads(text)
    back = DiscoveryResult.from_dict(data)
    assert back.to_dict() == data
    assert ref.boxes
    frame = ref.to_frame()
    assert set(frame["input"]) == {r.input for b in ref.boxes for r in b.restrictions}
    steps = ref.trajectory_frame()
    assert int(steps["selected"].sum()) == len(ref.boxes)
    with pytest.raises(ValueError, match="not a discovery result"):
        DiscoveryResult.from_dict({})


def test_discover_says_when_there_is_nothing_to_find() -> None:
    sc = io.load_default()
    res = discover(sc, "ceasefire >= 99", "median", draws=100, seed=1)
    assert res.cases == 0
    assert res.boxes == ()
    assert any("holds in none" in n for n in res.notes)
    plain = Scenario.model_validate(
        {
            "name": "p",
            "issues": [{"id": "x"}],
            "actors": [
                {"id": "a", "capability": 1, "stances": {"x": {"position": 1, "salience": 1}}}
            ],
        }
    )
    with pytest.raises(ValueError, match="gives no input an uncertainty"):
        discover(plain, "x >= 1")


def test_charts_render_the_same_bytes() -> None:
    pytest.importorskip("matplotlib")
    from detente.report.advice_plots import advice_chart, trajectory_chart
    from detente.sim.advise import advise

    sc = io.load_default()
    res = discover(sc, "territory >= 60", "median", draws=200, seed=1)
    png = trajectory_chart(res)
    assert png.startswith(b"\x89PNG")
    assert trajectory_chart(res) == png
    adv = advise(sc, "usa", "median", draws=20, seed=1)
    assert advice_chart(adv, top=5).startswith(b"\x89PNG")
