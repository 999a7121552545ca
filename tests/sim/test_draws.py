"""Drawing uncertain inputs: moments, truncation, reproducibility, constants."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from detente.io import load_default
from detente.scenario import Scenario
from detente.sim.draws import draw

R = 40_000
PINNED = [98.714297972, 5.007221376, 3.985016424]
"""Positions of russia on the first three issues in the first of 500 draws of ukraine-talks."""


def one(position: Any = 50, salience: Any = 0.5, capability: Any = 2.0) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "s",
            "issues": [{"id": "x"}, {"id": "y"}],
            "actors": [
                {
                    "id": "a",
                    "capability": capability,
                    "stances": {"x": {"position": position, "salience": salience}},
                },
                {"id": "b", "capability": 1, "stances": {"x": {"position": 10, "salience": 1}}},
            ],
        }
    )


def _phi(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _truncnorm_moments(mu: float, sd: float, lo: float, hi: float) -> tuple[float, float]:
    a, b = (lo - mu) / sd, (hi - mu) / sd
    z = _cdf(b) - _cdf(a)
    pa, pb = _phi(a), _phi(b)
    a_pa = a * pa if math.isfinite(a) else 0.0
    b_pb = b * pb if math.isfinite(b) else 0.0
    mean = mu + sd * (pa - pb) / z
    var = sd**2 * (1 + (a_pa - b_pb) / z - ((pa - pb) / z) ** 2)
    return mean, math.sqrt(var)


@pytest.mark.parametrize(
    ("position", "mean", "sd", "lo", "hi"),
    [
        ({"value": 50, "uncertainty": "±10"}, 50, 20 / math.sqrt(12), 40, 60),
        ({"value": 95, "uncertainty": "+-10"}, 92.5, 15 / math.sqrt(12), 85, 100),  # clipped
        (
            {"value": 30, "uncertainty": {"dist": "uniform", "low": 20, "high": 80}},
            50,
            60 / math.sqrt(12),
            20,
            80,
        ),
        (
            {"value": 30, "uncertainty": {"dist": "triangular", "low": 10, "high": 80}},
            40,
            math.sqrt((10**2 + 30**2 + 80**2 - 10 * 30 - 10 * 80 - 30 * 80) / 18),
            10,
            80,
        ),
        (
            {"value": 30, "uncertainty": {"dist": "beta", "a": 2, "b": 5}},
            100 * 2 / 7,
            100 * math.sqrt(10 / (49 * 8)),
            0,
            100,
        ),
        ({"value": 50, "uncertainty": {"dist": "normal", "sd": 5}}, 50, 5, 0, 100),
        (
            {"value": 97, "uncertainty": {"dist": "normal", "sd": 5}},
            *_truncnorm_moments(97, 5, 0, 100),
            0,
            100,
        ),
        (  # a very wide normal on a narrow range: the uniform-proposal branch
            {"value": 1, "uncertainty": {"dist": "normal", "sd": 1000}},
            *_truncnorm_moments(1, 1000, 0, 100),
            0,
            100,
        ),
    ],
)
def test_position_moments_and_truncation(
    position: Any, mean: float, sd: float, lo: float, hi: float
) -> None:
    x = draw(one(position=position), R, np.random.default_rng(3)).position[:, 0, 0]
    assert lo <= x.min()
    assert x.max() <= hi
    assert x.mean() == pytest.approx(mean, abs=4 * sd / math.sqrt(R))
    assert x.std() == pytest.approx(sd, rel=0.03)


def test_salience_and_capability() -> None:
    sc = one(
        salience={"value": 0.9, "uncertainty": {"dist": "normal", "sd": 0.2}},
        capability={"value": 0.5, "uncertainty": {"dist": "normal", "sd": 2.0}},
    )
    b = draw(sc, R, np.random.default_rng(4))
    s, c = b.salience[:, 0, 0], b.capability[:, 0]
    assert s.min() >= 0
    assert s.max() <= 1
    assert s.mean() == pytest.approx(_truncnorm_moments(0.9, 0.2, 0, 1)[0], abs=0.003)
    assert c.min() > 0
    assert c.mean() == pytest.approx(_truncnorm_moments(0.5, 2.0, 0, math.inf)[0], abs=0.03)
    tri = one(capability={"value": 1, "uncertainty": {"dist": "triangular", "low": 0.5, "high": 4}})
    c = draw(tri, R, np.random.default_rng(5)).capability[:, 0]
    assert c.min() >= 0.5
    assert c.max() <= 4
    assert c.mean() == pytest.approx(5.5 / 3, abs=0.02)
    pm = one(capability={"value": 1, "uncertainty": "±5"})  # clipped to (0, 6]
    c = draw(pm, R, np.random.default_rng(6)).capability[:, 0]
    assert c.min() > 0
    assert c.max() <= 6


def test_constants_stay_constant_and_missing_stances_stay_missing() -> None:
    sc = one(position={"value": 50, "uncertainty": "±10"})
    b = draw(sc, 100, np.random.default_rng(0))
    base = sc.arrays()
    assert np.all(b.capability == base.capability)
    assert np.all(b.salience == base.salience)
    assert np.all(b.position[:, 1, 0] == 10)
    assert np.isnan(b.position[:, :, 1]).all()
    assert (b.salience[:, :, 1] == 0).all()
    assert len(np.unique(b.position[:, 0, 0])) == 100  # every replicate is a draw


def test_same_seed_same_numbers() -> None:
    sc = load_default()
    a = draw(sc, 500, np.random.default_rng(11))
    b = draw(sc, 500, np.random.default_rng(11))
    c = draw(sc, 500, np.random.default_rng(12))
    for name in ("capability", "position", "salience"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))
    # Pinned numbers: a change of the draws (order, method, machine) must not go unnoticed.
    assert [round(float(v), 9) for v in a.position[0, 0, :3]] == PINNED
    assert a.replicate(3).position.tolist() == a.position[3].tolist()


def test_bad_draw_count() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        draw(one(), 0, np.random.default_rng(0))
