"""Draw a scenario's uncertain inputs for many replicates at once.

Every replicate is a draw: there is no "point estimate" replicate (replicate 0 is as random as
any other), so quantiles and probabilities count all ``R`` replicates alike. A value without
uncertainty is the same in every replicate. The estimates are grouped by distribution kind,
and each kind is drawn for all replicates and all its estimates in one call, in a fixed order
(uniform and ``±x``, normal, triangular, beta; within a kind in scenario order: capabilities,
then positions and saliences actor by actor, issue by issue). The numbers therefore depend on
the seed and the scenario only (and NumPy's generator algorithms, stable within a NumPy
version), never on the machine.

A scenario whose causal map records lever moves (a lever shock was applied, see
:mod:`detente.scenario.causal`) also has the weights of its map drawn, after every other input
and in edge order, from the same stream (so the other inputs' draws are those of the scenario
without the map); each draw's values linked to the map are then corrected from the move's
effect under the point weights to its effect under the drawn ones
(:func:`detente.causal.drawn_adjustments`) and clipped to their valid range.

Truncated normal (NumPy only, no SciPy): vectorised rejection. On the standardised interval
``[za, zb]``, which always contains 0 because the mean (the estimate's value) lies in the
valid range, a wide interval (``zb − za ≥ 1``) is sampled by drawing standard normals and
keeping those inside; a narrow one by drawing uniforms on the interval and keeping each with
probability ``exp(−z²/2)``. Either way at least 34 % of proposals are kept, so the loop over
the still-rejected entries ends in a few passes; :data:`MAX_PASSES` bounds it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from detente.scenario import CausalMap, Estimate, Scenario
from detente.scenario.batch import ScenarioBatch as Batch
from detente.scenario.model import CAPABILITY_MAX, CAPABILITY_MIN
from detente.scenario.uncertainty import Beta, Normal, PlusMinus, Triangular, Uniform

F = NDArray[np.float64]
I = NDArray[np.intp]  # noqa: E741 (array of indices)

MAX_PASSES = 200
"""Rejection passes of the truncated normal; each keeps ≥ 34 % of what is left, so the chance
that an entry is still rejected after all passes is below 0.66²⁰⁰ ≈ 1e-36."""

_NARROW = 1.0
"""Standardised widths below this are sampled by uniform proposals (see the module docstring)."""


@dataclass
class _Group:
    """The estimates of one distribution kind: flat column indices and their parameters."""

    cols: list[int] = dataclasses.field(default_factory=list)
    value: list[float] = dataclasses.field(default_factory=list)
    low: list[float] = dataclasses.field(default_factory=list)  # valid range
    high: list[float] = dataclasses.field(default_factory=list)
    p: list[tuple[float, float]] = dataclasses.field(default_factory=list)  # distribution's own

    def add(self, col: int, e: Estimate, low: float, high: float, p: tuple[float, float]) -> None:
        self.cols.append(col)
        self.value.append(e.value)
        self.low.append(low)
        self.high.append(high)
        self.p.append(p)

    def arrays(self) -> tuple[I, F, F, F, F, F]:
        p = np.array(self.p, dtype=np.float64).reshape(-1, 2)
        return (
            np.array(self.cols, dtype=np.intp),
            np.array(self.value, dtype=np.float64),
            np.array(self.low, dtype=np.float64),
            np.array(self.high, dtype=np.float64),
            p[:, 0],
            p[:, 1],
        )


def _entries(scenario: Scenario) -> list[tuple[int, Estimate, float, float]]:
    """Every uncertain estimate: its column in the flat layout ``[c (n), x (n·m), s (n·m)]``,
    the estimate and its valid range."""
    n, m = len(scenario.actors), len(scenario.issues)
    out: list[tuple[int, Estimate, float, float]] = []
    for i, actor in enumerate(scenario.actors):
        if actor.capability.uncertainty is not None:
            out.append((i, actor.capability, 0.0, math.inf))
    for i, actor in enumerate(scenario.actors):
        for k, issue in enumerate(scenario.issues):
            stance = actor.stances.get(issue.id)
            if stance is None:
                continue
            if stance.position.uncertainty is not None:
                out.append((n + i * m + k, stance.position, issue.scale.min, issue.scale.max))
            if stance.salience.uncertainty is not None:
                out.append((n + n * m + i * m + k, stance.salience, 0.0, 1.0))
    return out


def draw(scenario: Scenario, draws: int, rng: np.random.Generator) -> Batch:
    """Draw every uncertain capability, position and salience for ``draws`` replicates.

    Parameters
    ----------
    scenario
        The scenario; estimates without ``uncertainty`` stay at their value.
    draws
        Number of replicates ``R`` (at least 1).
    rng
        The only source of randomness.

    Returns
    -------
    Batch
        ``capability[R, n]``, ``position[R, n, m]``, ``salience[R, n, m]``.

    Examples
    --------
    >>> from detente.io import load_default
    >>> batch = draw(load_default(), 4, np.random.default_rng(0))
    >>> batch.position.shape
    (4, 8, 6)
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    base = scenario.arrays()
    n, m = base.position.shape
    flat = np.concatenate([base.capability, base.position.ravel(), base.salience.ravel()])
    out = np.broadcast_to(flat, (draws, flat.size)).copy()
    groups: dict[type, _Group] = {k: _Group() for k in (Uniform, Normal, Triangular, Beta)}
    for col, e, low, high in _entries(scenario):
        _add(groups, col, e, low, high)
    _sample(groups, rng, draws, out)
    capability = out[:, :n]
    position = out[:, n : n + n * m].reshape(draws, n, m)
    salience = out[:, n + n * m :].reshape(draws, n, m)
    notes: tuple[str, ...] = ()
    if scenario.causal is not None and moved_levers(scenario.causal):
        notes = _map_draws(scenario, rng, capability, position, salience)
    # capabilities drawn from wide distributions stay within the scenario's bounds
    capability = np.clip(capability, CAPABILITY_MIN, CAPABILITY_MAX)
    return Batch(base, capability, position, salience, notes)


def moved_levers(cmap: CausalMap) -> list[str]:
    """The levers a lever shock has moved away from their first setting."""
    return [
        c.id
        for c in cmap.concepts
        if c.kind == "lever" and c.moved_from is not None and c.moved_from != c.value
    ]


def _map_draws(scenario: Scenario, rng: np.random.Generator, c: F, x: F, s: F) -> tuple[str, ...]:
    """Draw the map's uncertain weights and correct the linked values in place (see the module
    docstring); the notes to report."""
    from detente.causal import drawn_adjustments, weight_matrix

    cmap = scenario.causal
    assert cmap is not None
    uncertain = [e for e in cmap.edges if e.weight.uncertainty is not None]
    if not uncertain:
        return ()
    r = c.shape[0]
    flat = np.array([[e.weight.value for e in cmap.edges]] * r)
    groups: dict[type, _Group] = {k: _Group() for k in (Uniform, Normal, Triangular, Beta)}
    for col, edge in enumerate(cmap.edges):
        _add(groups, col, edge.weight, -1.0, 1.0)
    _sample(groups, rng, r, flat)
    index = {k: i for i, k in enumerate(cmap.ids)}
    rows = np.array([index[e.cause] for e in cmap.edges], dtype=np.intp)
    cols = np.array([index[e.effect] for e in cmap.edges], dtype=np.intp)
    weights = np.broadcast_to(weight_matrix(cmap), (r, len(index), len(index))).copy()
    weights[:, rows, cols] = flat
    adjustments, unsettled = drawn_adjustments(cmap, weights)
    actors = [a.id for a in scenario.actors]
    issues = [i.id for i in scenario.issues]
    for link, adjust in adjustments:
        i = actors.index(link.actor)
        if link.field == "capability":
            c[:, i] = c[:, i] + adjust if link.op == "add" else c[:, i] * adjust
            continue
        assert link.issue is not None
        k = issues.index(link.issue)
        target = x if link.field == "position" else s
        column = target[:, i, k] + adjust if link.op == "add" else target[:, i, k] * adjust
        if link.field == "position":
            scale = scenario.issues[k].scale
            target[:, i, k] = np.clip(column, scale.min, scale.max)
        else:
            target[:, i, k] = np.clip(column, 0.0, 1.0)
    if not unsettled.any():
        return ()
    return (
        f"the causal map did not settle within {cmap.max_steps} steps in"
        f" {int(unsettled.sum())} of {r} draws of its weights; their linked values use the"
        " last step",
    )


def _add(groups: dict[type, _Group], col: int, e: Estimate, low: float, high: float) -> None:
    """File estimate ``e`` (column ``col``, valid range ``[low, high]``) under its kind."""
    u = e.uncertainty
    if isinstance(u, PlusMinus):
        lo, hi = max(e.value - u.width, low), min(e.value + u.width, high)
        groups[Uniform].add(col, e, low, high, (lo, hi))
    elif isinstance(u, Uniform | Triangular):
        groups[type(u)].add(col, e, low, high, (u.low, u.high))
    elif isinstance(u, Normal):
        groups[Normal].add(col, e, low, high, (u.sd, 0.0))
    elif isinstance(u, Beta):
        groups[Beta].add(col, e, low, high, (u.a, u.b))


def _sample(groups: dict[type, _Group], rng: np.random.Generator, draws: int, out: F) -> None:
    """Draw every group, kind by kind in a fixed order, into its columns of ``out``."""
    samplers: dict[type, Callable[..., F]] = {
        Uniform: _uniform,
        Normal: _normal,
        Triangular: _triangular,
        Beta: _beta,
    }
    for kind, group in groups.items():
        if group.cols:
            cols, value, valid_lo, valid_hi, p0, p1 = group.arrays()
            out[:, cols] = samplers[kind](rng, draws, value, valid_lo, valid_hi, p0, p1)


def _uniform(rng: np.random.Generator, r: int, value: F, low: F, high: F, lo: F, hi: F) -> F:
    # high − span·u with u in [0, 1) lies in (lo, hi]: never exactly lo, which for a
    # capability clipped at 0 would be invalid.
    u = rng.random((r, value.size))
    out: F = hi - (hi - lo) * u
    return out


def _triangular(rng: np.random.Generator, r: int, value: F, low: F, high: F, lo: F, hi: F) -> F:
    out: F = rng.triangular(lo, value, hi, size=(r, value.size))
    return out


def _beta(rng: np.random.Generator, r: int, value: F, low: F, high: F, a: F, b: F) -> F:
    y = rng.beta(a, b, size=(r, value.size))
    out: F = low + (high - low) * y
    return out


def _normal(rng: np.random.Generator, r: int, value: F, low: F, high: F, sd: F, _: F) -> F:
    """Normal(value, sd) truncated to ``[low, high]`` (``(0, inf)`` for capabilities)."""
    open_low = np.isinf(high)  # capability: the lower end 0 itself is not allowed
    za, zb = (low - value) / sd, (high - value) / sd
    narrow = (zb - za) < _NARROW
    out = np.empty((r, value.size))
    rows, cols = np.nonzero(np.ones((r, value.size), dtype=bool))
    for _pass in range(MAX_PASSES):
        if rows.size == 0:
            return out
        k = rows.size
        # Every entry consumes the same three numbers per pass, whichever proposal it uses,
        # so the stream (and the result) depends only on the seed and the scenario.
        g = rng.standard_normal(k)
        u = rng.random(k)
        v = rng.random(k)
        nar = narrow[cols]
        z = np.where(nar, za[cols] + (zb - za)[cols] * u, g)
        x = value[cols] + sd[cols] * z
        inside = np.where(open_low[cols], x > low[cols], x >= low[cols]) & (x <= high[cols])
        ok = inside & (~nar | (v < np.exp(-0.5 * z * z)))
        out[rows[ok], cols[ok]] = x[ok]
        rows, cols = rows[~ok], cols[~ok]
    raise RuntimeError("truncated normal: rejection sampling did not finish")  # pragma: no cover
