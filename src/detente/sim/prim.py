"""PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999), in NumPy.

Given inputs ``X[case, input]`` and a yes/no outcome ``y[case]``, PRIM looks for a *box* (a
range per input) inside which the outcome happens far more often than overall. Scenario
discovery (Bryant & Lempert 2010) reads the box as "the conditions under which the outcome
happens". The algorithm, as published (Friedman & Fisher 1999, §§ 2–4):

**Peeling.** Start from the box holding every case. At each step, for every input and each of
its two ends, consider removing the ``alpha`` share of the cases in the box with the lowest
(or highest) values of that input; take the one removal after which the share of cases with
the outcome (the box's *density*, the mean of ``y``) is highest, ties going to the removal that
keeps more cases. Stop when no removal raises the density, or every removal would leave less
than ``min_mass`` of all cases in the box. The boxes after each step form the *peeling
trajectory*: coverage (the share of all cases with the outcome that lie in the box) falls as
density rises.

**Selection.** The box kept from the trajectory is the densest one that still covers at least
``min_coverage`` of the cases with the outcome not yet covered by earlier boxes (the trade-off
Bryant & Lempert 2010 discuss; Friedman & Fisher leave the choice to the analyst).

**Pasting.** The selected box is then grown: at each step, for every input and end, consider
adding the ``alpha`` share (of the box's cases) of the nearest cases outside that end that lie
inside the box on every other input; take the addition that gives the highest density (then
the most cases), and stop when none raises the density or keeps it while adding cases (a box
of density 1 still grows to cover more).

**Covering.** The cases in the box are set aside and the search runs again on the rest, up to
``max_boxes`` boxes. A further box is kept only if it is denser than the cases left over and
its cases with the outcome would be unlikely at the overall rate (one-sided binomial
probability at most :data:`FURTHER_BOX_LEVEL`): a guard against boxes around a few stray
cases, which PRIM would otherwise keep finding. Each box's density
and mass are those of the cases it held when found; coverage counts against every case with
the outcome, so the boxes' coverages add up.

**Quasi-p-values** (as in Bryant & Lempert 2010 and the EMA Workbench): for each input a box
restricts, the one-sided binomial probability of seeing at least the box's cases with the
outcome among its cases if that input were left unrestricted (density then that of the box
without the restriction). A large value says the restriction may be noise.

**Pruning** (not in Friedman & Fisher; the box simplification Bryant & Lempert 2010 do by
hand for interpretability): after pasting, the restriction with the largest quasi-p-value
above ``max_qp`` is dropped and the box recomputed, one at a time, until every restriction
left has a quasi-p-value of at most ``max_qp``. Peeling over many inputs restricts many of
them a little by chance; pruning keeps the ones that matter.

Limits are values of the cases (a box is closed: ``lower ≤ x ≤ upper``). Every choice is
deterministic (ties resolved by the order of the inputs, lower end first), so the same data
give the same boxes bit for bit.

References
----------
Friedman, J. H., & Fisher, N. I. (1999). Bump hunting in high-dimensional data. *Statistics
and Computing*, 9(2), 123–143.
Bryant, B. P., & Lempert, R. J. (2010). Thinking inside the box: A participatory,
computer-assisted approach to scenario discovery. *Technological Forecasting and Social
Change*, 77(1), 34–49.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.float64]
B = NDArray[np.bool_]

FURTHER_BOX_LEVEL = 0.01
"""Covering keeps a further box only if so many cases with the outcome among its cases would
happen with at most this probability at the overall rate (one-sided binomial)."""


@dataclass(frozen=True, eq=False)
class Step:
    """One box of a trajectory: its limits (every input) and how it does."""

    lower: F
    upper: F
    coverage: float
    density: float
    mass: float
    cases: int
    hits: int


@dataclass(frozen=True, eq=False)
class Box:
    """A box found by :func:`prim`: its limits, how it does, and the trajectory it came from.

    ``lower``/``upper`` hold every input's limits (the data's range where unrestricted);
    ``restricted`` the indices of the inputs it restricts, ``qp`` their quasi-p-values.
    ``selected`` is the index of the peeled box in ``trajectory``; ``pasted`` the number of
    pasting steps that grew it after, ``pruned`` the number of restrictions then dropped.
    """

    lower: F
    upper: F
    coverage: float
    density: float
    mass: float
    cases: int
    hits: int
    restricted: tuple[int, ...]
    qp: tuple[float, ...]
    trajectory: tuple[Step, ...]
    selected: int
    pasted: int
    pruned: int = 0


@dataclass(frozen=True, eq=False)
class PrimResult:
    """The boxes, in the order found, and the data's own figures."""

    boxes: tuple[Box, ...]
    low: F
    """Each input's smallest value in the data."""
    high: F
    """Each input's largest value."""
    cases: int
    hits: int

    @property
    def base_rate(self) -> float:
        """The share of all cases with the outcome."""
        return self.hits / self.cases if self.cases else math.nan


def prim(
    x: F,
    y: B,
    *,
    alpha: float = 0.05,
    min_mass: float = 0.05,
    min_coverage: float = 0.5,
    paste: bool = True,
    max_boxes: int = 3,
    max_qp: float | None = 0.05,
) -> PrimResult:
    """Find boxes of the inputs ``x[case, input]`` where the outcome ``y[case]`` is frequent.

    Parameters
    ----------
    x
        Inputs, one row per case (finite numbers).
    y
        Whether the outcome happened in each case.
    alpha
        Share of the box's cases peeled (or pasted) per step, in (0, 0.5].
    min_mass
        Smallest share of all cases a peeled box may hold, in (0, 1).
    min_coverage
        The selected box is the densest on the trajectory that covers at least this share of
        the cases with the outcome still uncovered, in (0, 1].
    paste
        Whether to paste the selected box.
    max_boxes
        Most boxes found by covering (at least 1).
    max_qp
        Drop restrictions whose quasi-p-value exceeds this, the largest first, one at a time
        (``None``: keep every restriction).

    Returns
    -------
    PrimResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random((2000, 3))
    >>> y = (x[:, 0] > 0.7) & (x[:, 2] < 0.4)
    >>> box = prim(x, y).boxes[0]
    >>> box.restricted, round(float(box.lower[0]), 1), round(float(box.upper[2]), 1)
    ((0, 2), 0.7, 0.4)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=bool)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"expected x[case, input] and y[case], got {x.shape} and {y.shape}")
    if not np.isfinite(x).all():
        raise ValueError("the inputs must be finite numbers")
    if not 0.0 < alpha <= 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5], got {alpha:g}")
    if not 0.0 < min_mass < 1.0:
        raise ValueError(f"min_mass must lie in (0, 1), got {min_mass:g}")
    if not 0.0 < min_coverage <= 1.0:
        raise ValueError(f"min_coverage must lie in (0, 1], got {min_coverage:g}")
    if max_boxes < 1:
        raise ValueError(f"max_boxes must be at least 1, got {max_boxes}")
    n = x.shape[0]
    low = x.min(axis=0) if n else np.zeros(x.shape[1])
    high = x.max(axis=0) if n else np.zeros(x.shape[1])
    total_hits = int(y.sum())
    boxes: list[Box] = []
    left = np.ones(n, dtype=bool)
    while len(boxes) < max_boxes:
        hits_left = int(y[left].sum())
        cases_left = int(left.sum())
        if hits_left == 0 or cases_left == 0:
            break
        rest_rate = hits_left / cases_left
        trajectory = _peel(x, y, left, low, high, alpha, min_mass, total_hits, n)
        wanted = min_coverage * hits_left
        chosen = max(
            (t for t, s in enumerate(trajectory) if s.hits >= wanted),
            key=lambda t: (trajectory[t].density, -t),
            default=0,
        )
        step = trajectory[chosen]
        pasted = 0
        if paste:
            step, pasted = _paste(x, y, left, step, alpha, total_hits, n)
        pruned = 0
        if max_qp is not None:
            step, pruned = _prune(x, y, left, step, low, high, max_qp, total_hits, n)
        if boxes and (
            step.density <= rest_rate
            or binomial_tail(step.cases, step.hits, total_hits / n) > FURTHER_BOX_LEVEL
        ):
            break  # no denser than what is left, or than chance: nothing more to find
        restricted = tuple(int(j) for j in np.flatnonzero((step.lower > low) | (step.upper < high)))
        qp = tuple(_quasi_p(x, y, left, step, j) for j in restricted)
        boxes.append(
            Box(
                step.lower,
                step.upper,
                step.coverage,
                step.density,
                step.mass,
                step.cases,
                step.hits,
                restricted,
                qp,
                tuple(trajectory),
                chosen,
                pasted,
                pruned,
            )
        )
        left &= ~_inside(x, step.lower, step.upper)
        if len(restricted) == 0:
            break  # the whole space: covering cannot go on
    return PrimResult(tuple(boxes), low, high, n, total_hits)


def _inside(x: F, lower: F, upper: F) -> B:
    out: B = np.all((x >= lower) & (x <= upper), axis=1)
    return out


def _step(lower: F, upper: F, cases: int, hits: int, total_hits: int, n: int) -> Step:
    return Step(
        lower.copy(),
        upper.copy(),
        hits / total_hits if total_hits else math.nan,
        hits / cases if cases else math.nan,
        cases / n if n else math.nan,
        cases,
        hits,
    )


def _peel(
    x: F,
    y: B,
    left: B,
    low: F,
    high: F,
    alpha: float,
    min_mass: float,
    total_hits: int,
    n: int,
) -> list[Step]:
    """The peeling trajectory on the cases ``left`` (first step: every one of them)."""
    lower, upper = low.copy(), high.copy()
    idx = np.flatnonzero(left)
    d = x.shape[1]
    trajectory = [_step(lower, upper, idx.size, int(y[idx].sum()), total_hits, n)]
    smallest = min_mass * n
    while idx.size > 1:
        cur = trajectory[-1]
        xb = x[idx]
        order = np.argsort(xb, axis=0, kind="stable")
        xs = np.take_along_axis(xb, order, axis=0)  # [m, d], each column sorted
        ys = y[idx][order].astype(np.int64)
        csum = np.vstack([np.zeros((1, d), dtype=np.int64), np.cumsum(ys, axis=0)])
        m = idx.size
        k = max(1, int(alpha * m))
        cols = np.arange(d)
        # lower end: keep x >= the (k+1)-th smallest value; ties keep every equal value
        cut_lo = xs[k]
        drop_lo = (xs < cut_lo).sum(axis=0)
        keep_lo = m - drop_lo
        hits_lo = csum[m] - csum[drop_lo, cols]
        # upper end: keep x <= the (k+1)-th largest value
        cut_hi = xs[m - 1 - k]
        keep_hi = (xs <= cut_hi).sum(axis=0)
        hits_hi = csum[keep_hi, cols]
        keep = np.concatenate([keep_lo, keep_hi])
        hits = np.concatenate([hits_lo, hits_hi])
        ok = (keep < m) & (keep >= max(1.0, smallest))
        if not ok.any():
            break
        density = np.where(ok, hits / np.maximum(keep, 1), -1.0)
        # best density, then more cases kept, then input order with the lower end first
        best = int(np.lexsort((np.arange(2 * d), -keep, -density))[0])
        if not ok[best] or density[best] <= cur.density:
            break
        j = best % d
        if best < d:
            lower[j] = cut_lo[j]
        else:
            upper[j] = cut_hi[j]
        idx = idx[(x[idx, j] >= lower[j]) & (x[idx, j] <= upper[j])]
        trajectory.append(_step(lower, upper, idx.size, int(y[idx].sum()), total_hits, n))
    return trajectory


def _paste(
    x: F, y: B, left: B, step: Step, alpha: float, total_hits: int, n: int
) -> tuple[Step, int]:
    """Grow ``step``'s box while adding cases at one end raises its density."""
    lower, upper = step.lower.copy(), step.upper.copy()
    d = x.shape[1]
    pasted = 0
    cur = step
    while True:
        within = (x >= lower) & (x <= upper)  # [N, d]
        inside_all = within.all(axis=1) & left
        others = within.sum(axis=1)  # inputs on which the case is inside
        k = max(1, int(alpha * cur.cases))
        best: tuple[float, int, int, float] | None = None  # density, cases, hits, limit
        best_at = (-1, 0)
        for j in range(d):
            # cases inside on every other input and outside on j
            near = left & ~within[:, j] & (others == d - 1)
            for side in (0, 1):
                cand = near & (x[:, j] < lower[j] if side == 0 else x[:, j] > upper[j])
                if not cand.any():
                    continue
                vals = x[cand, j]
                ordered = np.sort(vals) if side == 1 else -np.sort(-vals)
                limit = float(ordered[min(k, ordered.size) - 1])
                take = cand & (x[:, j] >= limit if side == 0 else x[:, j] <= limit)
                cases = int(inside_all.sum() + take.sum())
                hits = int(y[inside_all].sum() + y[take].sum())
                density = hits / cases
                if best is None or (density, cases) > (best[0], best[1]):
                    best = (density, cases, hits, limit)
                    best_at = (j, side)
        if best is None or (best[0], best[1]) <= (cur.density, cur.cases):
            return cur, pasted
        j, side = best_at
        if side == 0:
            lower[j] = best[3]
        else:
            upper[j] = best[3]
        pasted += 1
        cur = _step(lower, upper, best[1], best[2], total_hits, n)


def _prune(
    x: F,
    y: B,
    left: B,
    step: Step,
    low: F,
    high: F,
    max_qp: float,
    total_hits: int,
    n: int,
) -> tuple[Step, int]:
    """Drop the restriction with the largest quasi-p-value above ``max_qp`` (first input on
    ties), recompute the box, and repeat while one is above."""
    pruned = 0
    while True:
        restricted = np.flatnonzero((step.lower > low) | (step.upper < high))
        if restricted.size == 0:
            return step, pruned
        qp = np.array([_quasi_p(x, y, left, step, int(j)) for j in restricted])
        worst = int(np.argmax(qp))
        if not qp[worst] > max_qp:
            return step, pruned
        j = int(restricted[worst])
        lower, upper = step.lower.copy(), step.upper.copy()
        lower[j], upper[j] = low[j], high[j]
        inside = _inside(x, lower, upper) & left
        step = _step(lower, upper, int(inside.sum()), int(y[inside].sum()), total_hits, n)
        pruned += 1


def _quasi_p(x: F, y: B, left: B, step: Step, j: int) -> float:
    """One-sided binomial probability of at least the box's hits among its cases, at the
    density of the box with input ``j`` unrestricted."""
    lower, upper = step.lower.copy(), step.upper.copy()
    lower[j], upper[j] = -np.inf, np.inf
    wider = _inside(x, lower, upper) & left
    cases = int(wider.sum())
    p = int(y[wider].sum()) / cases if cases else 0.0
    return binomial_tail(step.cases, step.hits, p)


def binomial_tail(n: int, k: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``, summed in log space (no SciPy).

    Examples
    --------
    >>> round(binomial_tail(10, 8, 0.5), 4)
    0.0547
    """
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    i = np.arange(k, n + 1, dtype=np.float64)
    # log C(n, i) + i log p + (n − i) log(1 − p), with log C from lgamma
    lgam = np.vectorize(math.lgamma, otypes=[np.float64])
    logs = lgam(n + 1.0) - lgam(i + 1.0) - lgam(n - i + 1.0)
    logs += i * math.log(p) + (n - i) * math.log1p(-p)
    top = float(logs.max())
    return float(min(1.0, math.exp(top) * np.exp(logs - top).sum()))
