"""Fitting the ensemble's weights on a backtest: stacking with cross-validation over proposals.

:func:`fit_ensemble` takes the per-issue forecasts of a :class:`~detente.sim.backtest.
BacktestResult` and returns the content of ``detente/data/ensemble-weights.json``:

1. Stacking (Breiman 1996, "Stacked regressions", Machine Learning 24): the weights ``β ≥ 0``,
   ``Σ β = 1``, minimising the error of ``Σ β_j f_j`` over the issues every model forecast;
   the error is the mean absolute error, the backtest's headline score (iteratively reweighted
   least squares, projected gradient on the simplex, fixed numbers of steps: deterministic).
2. Shrinkage towards equal weights, which often forecast better than estimated weights
   (Clemen 1989, "Combining forecasts", International Journal of Forecasting 5):
   ``β_τ = (1 − τ) β + τ / J`` for ``τ`` in :data:`SHRINKAGE`. Proposals are split
   into ``folds`` groups by a permutation drawn from ``seed``; each ``τ`` is scored by the mean
   absolute error of forecasts for the issues of each group made with weights fitted on the
   other groups (cross-validation over proposals, as issues of one proposal are not
   independent). The ``τ`` with the lowest cross-validated error wins (the larger on a tie).
3. The shipped weights are ``β_τ`` fitted on every issue; the file also records the
   cross-validated error and its paired difference to the compromise model with a bootstrap
   interval over proposals.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.sim.backtest import REFERENCE_MODEL, BacktestResult, cluster_bootstrap

F = NDArray[np.float64]

SHRINKAGE = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Candidate shares of equal weights mixed into the stacked weights."""
STEPS = 1_000
"""Projected-gradient steps of one least-squares fit."""
IRLS_ROUNDS = 30
"""Reweighting rounds of the least-absolute-error fit."""


def project_simplex(v: F) -> F:
    """The point of ``{β ≥ 0, Σ β = 1}`` nearest to ``v`` (sort-based Euclidean projection).

    Examples
    --------
    >>> project_simplex(np.array([0.5, 2.0, -1.0]))
    array([0., 1., 0.])
    """
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    k = np.arange(1, len(v) + 1)
    rho = int(np.flatnonzero(u - css / k > 0)[-1])
    theta = css[rho] / (rho + 1)
    out: F = np.maximum(v - theta, 0.0)
    return out


def _simplex_least_squares(forecasts: F, outcome: F, weight: F, start: F) -> F:
    """``argmin Σ weight·(outcome − forecasts·β)²`` over the simplex (projected gradient)."""
    fw = forecasts * weight[:, None]
    gram = forecasts.T @ fw
    rhs = fw.T @ outcome
    step = 1.0 / max(float(np.linalg.eigvalsh(gram).max()), 1e-12)
    # Accelerated projected gradient (FISTA): the extrapolated point moves by momentum.
    beta, point, t = start, start, 1.0
    for _ in range(STEPS):
        new = project_simplex(point - step * (gram @ point - rhs))
        t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        point = new + ((t - 1.0) / t_next) * (new - beta)
        beta, t = new, t_next
    return beta


def stack(forecasts: F, outcome: F) -> F:
    """Stacking weights for ``forecasts[issue, model]`` against ``outcome[issue]``: the simplex
    point with the least mean absolute error, by iteratively reweighted least squares (each
    issue weighted by one over its absolute error, floored at 0.01 points).

    Examples
    --------
    >>> f = np.array([[0.0, 10.0], [10.0, 30.0], [20.0, 20.0]])
    >>> np.round(stack(f, np.array([2.5, 15.0, 20.0])), 3)
    array([0.75, 0.25])
    """
    j = forecasts.shape[1]
    beta = np.full(j, 1.0 / j)
    weight = np.ones(len(outcome))
    for _ in range(IRLS_ROUNDS):
        beta = _simplex_least_squares(forecasts, outcome, weight, beta)
        weight = 1.0 / np.maximum(np.abs(outcome - forecasts @ beta), 0.01)
    return beta


def _shrink(beta: F, tau: float) -> F:
    out: F = (1.0 - tau) * beta + tau / len(beta)
    return out


def fit_ensemble(
    result: BacktestResult,
    models: Sequence[str],
    *,
    folds: int = 10,
    seed: int = 0,
    source: str | Path | None = None,
) -> dict[str, Any]:
    """The ensemble's weights fitted on ``result`` (see the module docstring), as JSON data.

    ``models`` are the component models (each must have forecasts in ``result``). ``source``,
    if given, is the backtested file, whose name and SHA-256 are recorded.
    """
    names = list(models)
    rows = [
        r
        for r in result.issues
        if all(math.isfinite(r.forecasts.get(m, math.nan)) for m in (*names, REFERENCE_MODEL))
    ]
    if len({r.proposal for r in rows}) < folds:
        raise ValueError(f"fewer proposals with every model's forecast than {folds} folds")
    f = np.array([[r.forecasts[m] for m in names] for r in rows])
    y = np.array([r.outcome for r in rows])
    ref = np.array([r.forecasts[REFERENCE_MODEL] for r in rows])
    proposals = [r.proposal for r in rows]
    keys = list(dict.fromkeys(proposals))
    order = np.random.default_rng(seed).permutation(len(keys))
    fold_of = {keys[int(p)]: i % folds for i, p in enumerate(order)}
    group = np.array([fold_of[p] for p in proposals])
    fitted = [stack(f[group != g], y[group != g]) for g in range(folds)]
    cv: dict[float, F] = {}
    for tau in SHRINKAGE:
        pred = np.empty(len(y))
        for g in range(folds):
            pred[group == g] = f[group == g] @ _shrink(fitted[g], tau)
        cv[tau] = pred
    mae = {tau: float(np.abs(p - y).mean()) for tau, p in cv.items()}
    best = min(SHRINKAGE, key=lambda t: (round(mae[t], 12), -t))
    beta = _shrink(stack(f, y), best)
    cv_err = np.abs(cv[best] - y)
    diff = cv_err - np.abs(ref - y)
    lo, hi = cluster_bootstrap(diff, proposals, np.random.default_rng(seed))
    out: dict[str, Any] = {
        "about": "ensemble weights: stacking on a DEU backtest, shrinkage towards equal weights"
        " chosen by cross-validation over proposals (detente.sim.stacking)",
        "source": Path(result.source).name,
        "capability": result.capability,
        "institutions": result.institutions,
        "seed": seed,
        "folds": folds,
        "issues": len(rows),
        "proposals": len(keys),
        "models": names,
        "weights": {m: round(float(b), 6) for m, b in zip(names, beta, strict=True)},
        "shrinkage": best,
        "cv_mae_by_shrinkage": {str(t): round(v, 4) for t, v in mae.items()},
        "cv_mae": round(mae[best], 4),
        "cv_diff_to_compromise": [
            round(float(diff.mean()), 4),
            round(lo, 4),
            round(hi, 4),
        ],
        "in_sample_mae": round(float(np.abs(f @ beta - y).mean()), 4),
    }
    if source is not None:
        out["sha256"] = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    return out


def components() -> list[str]:
    """The ensemble's candidate models: every registered model but the ensemble itself."""
    from detente.models import models

    return [spec.name for spec in models() if spec.name != "ensemble"]


def weights_json(fit: dict[str, Any]) -> str:
    """The text of a weights file: the fit as indented JSON, keys in a fixed order."""
    import json

    return json.dumps(fit, indent=1, ensure_ascii=False) + "\n"
