"""Bilateral bargaining: negmas's reference problem, closed forms, properties."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.summit import (
    discrete_kalai,
    discrete_nash,
    kalai_smorodinsky,
    linear_frontier,
    nash,
    pareto_mask,
    rubinstein,
    rubinstein_share,
)
from detente.summit.bargaining import Frontier
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def ref() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        shared_path("reference", "summit", "summit_reference.json").read_text(encoding="utf-8")
    )
    return data


def _problem(ref: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, Frontier]:
    """negmas's problem: three issues 0..10, linear additive utilities. A gains from less
    sanctions relief, more troop withdrawal and a smaller aid package; B the reverse (these
    directions reproduce every utility the reference reports)."""
    issues = list(ref["weights"]["A"])
    wa = np.array([ref["weights"]["A"][k] for k in issues])
    wb = np.array([ref["weights"]["B"][k] for k in issues])
    up_for_a = np.array([False, True, False])
    grid = np.array(list(itertools.product(range(11), repeat=3)), dtype=float)
    value_a = np.where(up_for_a, grid / 10, 1 - grid / 10)
    utilities = np.stack([value_a @ wa, (1 - value_a) @ wb], axis=1)
    best_a = np.where(up_for_a, 10.0, 0.0)
    frontier = linear_frontier(best_a, 10.0 - best_a, wa, wb, (1.0, 0.0))
    d = np.array([ref["reserved"]["A"], ref["reserved"]["B"]])
    return grid, utilities, d, frontier


def test_outcome_space_and_pareto_size(ref: dict[str, Any]) -> None:
    grid, u, d, _ = _problem(ref)
    assert len(grid) == ref["n_outcomes"]
    # negmas counts the Pareto outcomes both parties prefer to their reserved value. Utilities
    # are multiples of 0.01: in exact arithmetic (checked with fractions) 30 outcomes qualify;
    # negmas's 31 splits one exact tie by float rounding ((2, 10, 10) and (3, 10, 7) both
    # give B 0.32, as do (8, 10, 10) and (9, 10, 7) 0.68).
    rational = (u[:, 0] > d[0]) & (u[:, 1] > d[1])
    exact = pareto_mask(u) & rational
    noisy = pareto_mask(u, decimals=None) & rational
    assert int(exact.sum()) == 30
    assert int(exact.sum()) < ref["pareto_size"] <= int(noisy.sum())
    for i in np.nonzero(noisy & ~exact)[0]:
        tie = exact & np.isclose(u[:, 1], u[i, 1], rtol=0, atol=1e-12) & (u[:, 0] > u[i, 0])
        assert tie.any(), grid[i]


def test_nash_and_kalai_points(ref: dict[str, Any]) -> None:
    grid, u, d, _ = _problem(ref)
    i = discrete_nash(u, d)
    assert i is not None
    assert grid[i].tolist() == ref["nash"][0]["outcome"]
    np.testing.assert_allclose(u[i], ref["nash"][0]["utils"], atol=1e-12)
    k = discrete_kalai(u, d)
    assert k is not None
    assert grid[k].tolist() == ref["kalai"][0]["outcome"]
    np.testing.assert_allclose(u[k], ref["kalai"][0]["utils"], atol=1e-12)


def test_asymmetric_nash_points(ref: dict[str, Any]) -> None:
    grid, u, d, _ = _problem(ref)
    for row in ref["asymmetric_nash_bruteforce"]:
        i = discrete_nash(u, d, alpha=row["alpha_A"])
        assert i is not None
        assert grid[i].tolist() == row["outcome"]
        np.testing.assert_allclose(u[i], [row["u_A"], row["u_B"]], atol=1e-12)


def test_the_polyline_frontier_holds_the_discrete_one(ref: dict[str, Any]) -> None:
    grid, u, _d, frontier = _problem(ref)
    # every vertex is an outcome of the grid, and no outcome lies beyond the polyline
    assert frontier.vertices == 4
    for z, uv in zip(frontier.outcomes, frontier.utilities, strict=True):
        i = int(np.argmin(np.abs(grid - z).sum(axis=1)))
        np.testing.assert_allclose(u[i], uv, atol=1e-12)
    ua = frontier.utilities[::-1, 0]
    ub = frontier.utilities[::-1, 1]
    assert np.all(u[:, 1] <= np.interp(u[:, 0], ua, ub) + 1e-12)
    # negmas's negotiated agreements are never beyond it either
    for run in ref["runs"]:
        if run["agreement"] is not None:
            ax, bx = run["u_A_undiscounted"], run["u_B_undiscounted"]
            assert bx <= np.interp(ax, ua, ub) + 1e-12


def test_continuous_solutions_on_the_reference_problem(ref: dict[str, Any]) -> None:
    grid, u, d, frontier = _problem(ref)
    solution = nash(frontier, d)
    assert solution is not None
    # on the segment where sanctions relief is traded: u_A = 0.9 - 0.05 s, u_B = 0.2 + 0.06 s;
    # (0.6 - 0.05 s)(0.06 s - 0.05) is largest at s = 0.0385 / 0.006
    s = 0.0385 / 0.006
    np.testing.assert_allclose(solution.outcome, [s, 10, 10], atol=1e-12)
    i = discrete_nash(u, d)
    assert i is not None
    g = u[i] - d
    assert solution.gains[0] * solution.gains[1] >= g[0] * g[1]
    assert round(solution.outcome[0]) == grid[i][0]
    ks = kalai_smorodinsky(frontier, d)
    assert ks is not None
    # each side's best gain among deals the other accepts: A's where u_B = 0.2 + 0.06 s reaches
    # 0.25 (u_A = 0.9 - 0.05 s), B's where u_A = 0.04 w reaches 0.3 (u_B = 1 - 0.02 w)
    ideal = (0.9 - 0.05 * (0.05 / 0.06) - d[0], 1.0 - 0.02 * (0.3 / 0.04) - d[1])
    assert ks.gains[0] / ideal[0] == pytest.approx(ks.gains[1] / ideal[1], abs=1e-12)


def test_rubinstein_unit_pie(ref: dict[str, Any]) -> None:
    pie = linear_frontier(np.zeros(1), np.ones(1), np.ones(1), np.ones(1), (1.0, 0.0))
    for row in ref["rubinstein_unit_pie"]:
        d1, d2 = row["d1"], row["d2"]
        assert rubinstein_share(d1, d2) == pytest.approx(row["proposer_share"], abs=1e-12)
        first = rubinstein(pie, np.zeros(2), (d1, d2), first=0)
        assert first is not None
        assert first.utilities[0] == pytest.approx(row["proposer_share"], abs=1e-12)
        assert first.utilities[1] == pytest.approx(row["responder_share"], abs=1e-12)
        # B proposing first with the discounts swapped is the mirror image
        mirror = rubinstein(pie, np.zeros(2), (d2, d1), first=1)
        assert mirror is not None
        assert mirror.utilities[1] == pytest.approx(row["proposer_share"], abs=1e-12)


def test_symmetric_nash_splits_evenly_and_rubinstein_tends_to_it() -> None:
    pie = linear_frontier(np.zeros(1), np.ones(1), np.ones(1), np.ones(1), (1.0, 0.0))
    split = nash(pie, np.zeros(2))
    assert split is not None
    assert split.utilities == pytest.approx((0.5, 0.5), abs=1e-15)
    # on a kinked frontier, patient bargainers agree near Nash (Binmore, Rubinstein & Wolinsky)
    kinked = linear_frontier(
        np.zeros(3), np.ones(3), np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.3, 0.1]), (1.0, 0.0)
    )
    d = np.array([0.1, 0.05])
    target = nash(kinked, d)
    near = rubinstein(kinked, d, (0.9999, 0.9999))
    assert target is not None
    assert near is not None
    np.testing.assert_allclose(near.utilities, target.utilities, atol=2e-4)


def test_no_agreement_when_no_deal_beats_every_deal() -> None:
    pie = linear_frontier(np.zeros(1), np.ones(1), np.ones(1), np.ones(1), (1.0, 0.0))
    d = np.array([0.7, 0.6])
    assert nash(pie, d) is None
    assert kalai_smorodinsky(pie, d) is None
    assert rubinstein(pie, d, (0.9, 0.9)) is None
    assert discrete_nash(np.array([[1.0, 0.0], [0.0, 1.0]]), d) is None


@st.composite
def _problems(
    draw: Any,
) -> tuple[Frontier, np.ndarray, float, tuple[float, float], np.ndarray, np.ndarray]:
    k = draw(st.integers(1, 5))
    unit = st.floats(0.01, 1.0)
    cost = np.array(draw(st.lists(unit, min_size=k, max_size=k)))
    gain = np.array(draw(st.lists(unit, min_size=k, max_size=k)))
    cost, gain = cost / cost.sum(), gain / gain.sum()
    frontier = linear_frontier(np.zeros(k), np.ones(k), cost, gain, (1.0, 0.0))
    d = np.array([draw(st.floats(0.0, 0.45)), draw(st.floats(0.0, 0.45))])
    alpha = draw(st.floats(0.05, 0.95))
    deltas = (draw(st.floats(0.5, 0.99)), draw(st.floats(0.5, 0.99)))
    return frontier, d, alpha, deltas, cost, gain


@settings(max_examples=80, deadline=None)
@given(problem=_problems())
def test_solution_properties(
    problem: tuple[Frontier, np.ndarray, float, tuple[float, float], np.ndarray, np.ndarray],
) -> None:
    frontier, d, alpha, deltas, cost, gain = problem
    ua, ub = frontier.utilities[::-1, 0], frontier.utilities[::-1, 1]
    solutions = [
        nash(frontier, d),
        nash(frontier, d, alpha),
        kalai_smorodinsky(frontier, d),
        rubinstein(frontier, d, deltas, first=0),
        rubinstein(frontier, d, deltas, first=1),
    ]
    for solution in solutions:
        assert solution is not None  # d lies below the frontier's diagonal: a deal exists
        u = np.array(solution.utilities)
        # on the frontier, and individually rational
        assert u[1] == pytest.approx(np.interp(u[0], ua, ub), abs=1e-9)
        assert np.all(u >= d - 1e-12)
        # the outcome gives the utilities it claims (u_A = 1 - cost·t, u_B = gain·t)
        t = np.array(solution.outcome)
        assert np.all((t >= -1e-12) & (t <= 1 + 1e-12))
        np.testing.assert_allclose(u, [1.0 - cost @ t, gain @ t], atol=1e-9)
    # Nash's product is the largest over the vertices and the other solutions
    best = nash(frontier, d)
    assert best is not None
    product = best.gains[0] * best.gains[1]
    for uv in frontier.utilities:
        g = uv - d
        if np.all(g >= 0):
            assert product >= g[0] * g[1] - 1e-12
    for other in solutions[1:]:
        assert other is not None
        assert product >= other.gains[0] * other.gains[1] - 1e-12
    # a larger weight for A never gives A less
    more = nash(frontier, d, min(alpha + 0.04, 0.99))
    less = nash(frontier, d, max(alpha - 0.04, 0.01))
    assert more is not None
    assert less is not None
    assert more.utilities[0] >= less.utilities[0] - 1e-12
    # Rubinstein: moving first and more patience help
    r0, r1 = solutions[3], solutions[4]
    assert r0 is not None
    assert r1 is not None
    assert r0.gains[0] >= r1.gains[0] - 1e-9
    patient = rubinstein(frontier, d, (min(deltas[0] + 0.005, 0.999), deltas[1]), first=0)
    assert patient is not None
    assert patient.gains[0] >= r0.gains[0] - 1e-9


@settings(max_examples=60, deadline=None)
@given(
    u=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=60),
)
def test_pareto_mask_matches_pairwise_dominance(u: list[tuple[float, float]]) -> None:
    a = np.round(np.array(u), 12)
    mask = pareto_mask(a)
    for n in range(len(a)):
        dominated = np.any(np.all(a >= a[n], axis=1) & np.any(a > a[n], axis=1))
        assert mask[n] == (not dominated)
