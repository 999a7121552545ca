"""Two-party bargaining: the Pareto frontier and the classic solutions on it.

Two parties A and B bargain over ``K`` issues. With linear additive utilities each issue ``k``
has an interval between A's ideal and B's ideal; moving a fraction ``t_k`` of it toward B
costs A ``a_k t_k`` and gains B ``b_k t_k`` (moving beyond either ideal hurts both, so it is
never efficient). The Pareto frontier is then the polyline obtained by conceding whole issues
to B in order of increasing cost-to-gain ratio ``a_k / b_k`` (the "cheapest" first): its
vertices are :class:`Frontier`. Every solution is a point of it, measured in *gains* over the
no-deal (disagreement) point ``d``:

Nash (1950)
    maximises ``(u_A − d_A)(u_B − d_B)``.
asymmetric Nash (Kalai 1977; Roth 1979)
    maximises ``(u_A − d_A)^α (u_B − d_B)^(1−α)`` (here ``α`` is A's share of the two parties'
    capability).
Kalai–Smorodinsky (1975)
    the frontier point whose gains are in the ratio of the parties' best possible gains.
Rubinstein (1982)
    the subgame-perfect agreement of alternating offers with per-round discount factors
    ``δ_A, δ_B``: the first proposer offers the point ``x`` with ``φ(x) = δ_resp · φ(δ_prop x)``
    (``φ`` the responder's best gain given the proposer's), accepted at once. On a unit pie this
    is the proposer share ``(1 − δ_2) / (1 − δ_1 δ_2)`` (:func:`rubinstein_share`).

Every solution on the polyline is exact (per segment a closed form, or bisection to rounding
for Rubinstein on a kinked frontier). :func:`pareto_mask`, :func:`discrete_nash` and
:func:`discrete_kalai` do the same by enumeration for a finite set of outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.float64]


def rubinstein_share(d1: float, d2: float) -> float:
    """The first proposer's share of a unit pie in Rubinstein's game (discounts ``d1``, ``d2``).

    Examples
    --------
    >>> round(rubinstein_share(0.95, 0.9), 4)
    0.6897
    """
    for d in (d1, d2):
        if not 0.0 <= d < 1.0:
            raise ValueError(f"discount factors must lie in [0, 1), got {d}")
    return (1.0 - d2) / (1.0 - d1 * d2)


@dataclass(frozen=True, eq=False)
class Frontier:
    """The Pareto frontier of a linear bargaining problem as a polyline.

    ``utilities[v] = (u_A, u_B)`` at vertex ``v``, from A's best (``v = 0``) to B's best;
    ``outcomes[v]`` the issue values there. Between two vertices both change linearly.
    """

    utilities: F
    outcomes: F

    @property
    def vertices(self) -> int:
        return int(self.utilities.shape[0])

    def at(self, segment: int, s: float) -> tuple[F, F]:
        """Utilities and outcome a fraction ``s`` along segment ``segment`` (vertex to next)."""
        if self.vertices == 1:
            return self.utilities[0].copy(), self.outcomes[0].copy()
        v, w = segment, min(segment + 1, self.vertices - 1)
        u = (1.0 - s) * self.utilities[v] + s * self.utilities[w]
        z = (1.0 - s) * self.outcomes[v] + s * self.outcomes[w]
        return u, z

    def locate(self, gain_a: float, d: F) -> tuple[F, F]:
        """The frontier point where A's utility is ``d_A + gain_a``."""
        ua = self.utilities[:, 0]
        target = d[0] + gain_a
        for v in range(self.vertices - 1):
            hi, lo = ua[v], ua[v + 1]
            if lo <= target <= hi:
                s = 0.0 if hi == lo else (hi - target) / (hi - lo)
                return self.at(v, float(s))
        return self.at(self.vertices - 1, 0.0) if target < ua[-1] else self.at(0, 0.0)


def linear_frontier(low: F, high: F, cost: F, gain: F, start: tuple[float, float]) -> Frontier:
    """The frontier of A conceding issues toward B.

    Parameters
    ----------
    low, high
        Per issue, A's ideal value and B's ideal value (either order on the axis).
    cost, gain
        Per issue, A's utility lost and B's gained when the issue moves all the way from A's
        ideal to B's (both ``>= 0``).
    start
        ``(u_A, u_B)`` with every issue at A's ideal.

    Returns
    -------
    Frontier
        Issues B does not care about stay at A's ideal; issues A does not care about go to B
        at once; the rest are conceded in order of ``cost / gain``.

    Examples
    --------
    >>> f = linear_frontier(np.array([0.0]), np.array([1.0]), np.array([1.0]),
    ...                     np.array([1.0]), (1.0, 0.0))
    >>> f.utilities.tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    cost, gain = np.asarray(cost, float), np.asarray(gain, float)
    t = np.zeros(len(cost))
    u = np.array(start, dtype=float)
    free = (cost <= 0.0) & (gain > 0.0)
    t[free] = 1.0
    u[1] += gain[free].sum()
    order = [int(k) for k in np.argsort(cost / np.where(gain > 0, gain, 1.0), kind="stable")]
    order = [k for k in order if cost[k] > 0.0 and gain[k] > 0.0]
    utilities = [u.copy()]
    ts = [t.copy()]
    for k in order:
        t[k] = 1.0
        u = u + np.array([-cost[k], gain[k]])
        utilities.append(u.copy())
        ts.append(t.copy())
    tt = np.array(ts)
    outcomes = np.asarray(low) + tt * (np.asarray(high) - np.asarray(low))
    return Frontier(np.array(utilities), outcomes)


@dataclass(frozen=True)
class Solution:
    """A bargaining solution: its name, the utilities, the agreed issue values, the gains."""

    name: str
    utilities: tuple[float, float]
    outcome: tuple[float, ...]
    gains: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "utilities": list(self.utilities),
            "outcome": list(self.outcome),
            "gains": list(self.gains),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Solution:
        return cls(
            str(d["name"]),
            (float(d["utilities"][0]), float(d["utilities"][1])),
            tuple(float(x) for x in d["outcome"]),
            (float(d["gains"][0]), float(d["gains"][1])),
        )


def _solution(name: str, u: F, z: F, d: F) -> Solution:
    return Solution(
        name,
        (float(u[0]), float(u[1])),
        tuple(float(x) for x in z),
        (float(u[0] - d[0]), float(u[1] - d[1])),
    )


def _feasible(g0: F, g1: F) -> tuple[float, float] | None:
    """The part ``[lo, hi]`` of a segment ``g(s) = g0 + s (g1 − g0)``, ``s`` in [0, 1], on which
    both gains are ``>= 0``; None if there is none."""
    lo, hi = 0.0, 1.0
    for a, b in zip(g0, g1, strict=True):
        slope = b - a
        if slope == 0.0:
            if a < 0.0:
                return None
        elif slope > 0.0:
            lo = max(lo, -a / slope)
        else:
            hi = min(hi, -a / slope)
    return (lo, hi) if lo <= hi else None


def individually_rational(frontier: Frontier, d: F) -> bool:
    """Whether some frontier point gives both parties at least their no-deal utility."""
    return _ideal_gains(frontier, d) is not None


def nash(frontier: Frontier, d: F, alpha: float = 0.5, name: str | None = None) -> Solution | None:
    """The (asymmetric, A's weight ``alpha``) Nash bargaining solution; None when no frontier
    point gives both at least ``d``.

    Examples
    --------
    >>> f = linear_frontier(np.array([0.0]), np.array([1.0]), np.array([1.0]),
    ...                     np.array([1.0]), (1.0, 0.0))
    >>> nash(f, np.zeros(2)).utilities
    (0.5, 0.5)
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    best: tuple[float, F, F] | None = None
    for v in range(max(frontier.vertices - 1, 1)):
        u0, _z0 = frontier.at(v, 0.0)
        u1, _ = frontier.at(v, 1.0)
        g0, g1 = u0 - d, u1 - d
        span = _feasible(g0, g1)
        if span is None:
            continue
        lo, hi = span
        candidates = [lo, hi]
        a0, a1 = g0[0], g1[0] - g0[0]
        b0, b1 = g0[1], g1[1] - g0[1]
        if a1 * b1 != 0.0:
            candidates.append(-(alpha * a1 * b0 + (1.0 - alpha) * b1 * a0) / (a1 * b1))
        for s in candidates:
            s = min(max(s, lo), hi)
            ga, gb = max(a0 + a1 * s, 0.0), max(b0 + b1 * s, 0.0)
            value = ga**alpha * gb ** (1.0 - alpha)
            if best is None or value > best[0]:
                u, z = frontier.at(v, s)
                best = (value, u, z)
    if best is None:
        return None
    label = name or ("nash" if alpha == 0.5 else "asymmetric-nash")
    return _solution(label, best[1], best[2], d)


def _ideal_gains(frontier: Frontier, d: F) -> tuple[float, float] | None:
    """Each party's largest gain over ``d`` among frontier points acceptable to both."""
    best_a = best_b = -np.inf
    found = False
    for v in range(max(frontier.vertices - 1, 1)):
        u0, _ = frontier.at(v, 0.0)
        u1, _ = frontier.at(v, 1.0)
        g0, g1 = u0 - d, u1 - d
        span = _feasible(g0, g1)
        if span is None:
            continue
        found = True
        for s in span:
            g = g0 + s * (g1 - g0)
            best_a, best_b = max(best_a, g[0]), max(best_b, g[1])
    return (float(best_a), float(best_b)) if found else None


def kalai_smorodinsky(frontier: Frontier, d: F) -> Solution | None:
    """The Kalai–Smorodinsky solution: gains in the ratio of the best possible gains."""
    ideal = _ideal_gains(frontier, d)
    if ideal is None:
        return None
    ia, ib = ideal
    if ia <= 0.0 or ib <= 0.0:
        u, z = frontier.locate(max(ia, 0.0), d)
        return _solution("kalai-smorodinsky", u, z, d)
    # h = gA/IA − gB/IB falls along the frontier (A gives, B takes): find where it is 0.
    for v in range(max(frontier.vertices - 1, 1)):
        u0, _ = frontier.at(v, 0.0)
        u1, _ = frontier.at(v, 1.0)
        h0 = (u0[0] - d[0]) / ia - (u0[1] - d[1]) / ib
        h1 = (u1[0] - d[0]) / ia - (u1[1] - d[1]) / ib
        if h0 >= 0.0 >= h1:
            s = 0.0 if h0 == h1 else h0 / (h0 - h1)
            u, z = frontier.at(v, float(s))
            return _solution("kalai-smorodinsky", u, z, d)
    return None  # pragma: no cover - an acceptable frontier always crosses the ray


def rubinstein(
    frontier: Frontier, d: F, discount: tuple[float, float], first: int = 0
) -> Solution | None:
    """Rubinstein's alternating-offers agreement, party ``first`` (0 = A, 1 = B) proposing first
    with per-round discount factors ``discount = (δ_A, δ_B)``."""
    for delta in discount:
        if not 0.0 <= delta < 1.0:
            raise ValueError(f"discount factors must lie in [0, 1), got {delta}")
    ideal = _ideal_gains(frontier, d)
    if ideal is None:
        return None
    g = frontier.utilities - d  # vertices in gains, A's gain falling
    ga, gb = g[:, 0][::-1], g[:, 1][::-1]  # A's gain rising, for interpolation
    if first == 0:
        proposer, responder, top = ga, gb, ideal[0]
        dp, dr = discount
    else:
        proposer, responder, top = gb[::-1], ga[::-1], ideal[1]
        dr, dp = discount

    def phi(x: float) -> float:
        return float(np.interp(x, proposer, responder))

    lo, hi = 0.0, max(top, 0.0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if phi(mid) - dr * phi(dp * mid) > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * max(1.0, top):
            break
    x = 0.5 * (lo + hi)
    gain_a = x if first == 0 else phi(x)
    u, z = frontier.locate(gain_a, d)
    return _solution("rubinstein", u, z, d)


# -- finite outcome sets --------------------------------------------------------------


def pareto_mask(utilities: F, decimals: int | None = 12) -> NDArray[np.bool_]:
    """``mask[n]``: outcome ``n`` (a row ``(u_A, u_B)``) is not dominated by any other.

    Utilities are compared rounded to ``decimals`` places (None: as they are), so that sums
    equal in exact arithmetic (0.32 and 0.31999999999999995) count as equal.

    Examples
    --------
    >>> pareto_mask(np.array([[1.0, 0.0], [0.5, 0.5], [0.4, 0.4], [0.0, 1.0]])).tolist()
    [True, True, False, True]
    """
    u = np.asarray(utilities, dtype=float).reshape(-1, 2)
    if decimals is not None:
        u = np.round(u, decimals)
    if len(u) == 0:
        return np.zeros(0, dtype=bool)
    # on distinct pairs sorted by A's utility (falling), then B's (falling), a pair is
    # dominated exactly when an earlier one gives B at least as much
    pairs, inverse = np.unique(u, axis=0, return_inverse=True)
    order = np.lexsort((-pairs[:, 1], -pairs[:, 0]))
    ub = pairs[order, 1]
    best_before = np.maximum.accumulate(np.concatenate([[-np.inf], ub[:-1]]))
    keep = np.empty(len(pairs), dtype=bool)
    keep[order] = ub > best_before
    out: NDArray[np.bool_] = keep[inverse.reshape(-1)]
    return out


def discrete_nash(utilities: F, d: Sequence[float], alpha: float = 0.5) -> int | None:
    """The outcome maximising ``(u_A − d_A)^α (u_B − d_B)^(1−α)`` among those giving both
    more than ``d`` (first of equals); None if there is none."""
    g = np.asarray(utilities, float) - np.asarray(d, float)
    ok = (g[:, 0] > 0.0) & (g[:, 1] > 0.0)
    if not ok.any():
        return None
    value = np.where(ok, np.abs(g[:, 0]) ** alpha * np.abs(g[:, 1]) ** (1.0 - alpha), -np.inf)
    return int(np.argmax(value))


def discrete_kalai(utilities: F, d: Sequence[float]) -> int | None:
    """Among Pareto outcomes giving both more than ``d``, the one maximising the smaller of the
    two gains relative to each party's best gain (ties: closer ratios, then the first)."""
    u = np.asarray(utilities, float)
    g = u - np.asarray(d, float)
    ok = (g[:, 0] > 0.0) & (g[:, 1] > 0.0) & pareto_mask(u)
    if not ok.any():
        return None
    ia, ib = g[ok, 0].max(), g[ok, 1].max()
    ra, rb = g[:, 0] / ia, g[:, 1] / ib
    key = np.where(ok, np.minimum(ra, rb), -np.inf)
    top = key == key.max()
    spread = np.where(top, np.abs(ra - rb), np.inf)
    return int(np.argmin(spread))
