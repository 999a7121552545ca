"""The (asymmetric) Nash bargaining solution over the actors' salience-weighted utilities.

Registered as ``nbs`` (alias ``nash``). The outcome ``z`` (one point per issue) maximises the
Nash product ``Π_i (u_i(z) − d_i)^{w_i}`` (Nash 1950; with unequal exponents, the asymmetric
solution of Kalai 1977), where:

* ``u_i(z) = −Σ_k s_ik φ(z_k − x_ik)`` is actor ``i``'s utility, its saliences weighting the
  distances from its positions on each issue's scale mapped to 0–1; ``φ(t) = t²``
  (``utility=quadratic``, the default) or ``|t|`` (``utility=linear``);
* ``d_i`` is its utility at the disagreement point: on an issue with a reference point (the
  status quo) the utility of the reference point; on an issue without one (or with
  ``disagreement=worst``) the utility of the scale's end farthest from the actor, so that
  breaking off is as bad as anything on that issue;
* ``w_i = c_i / Σ c`` (``weights=capability``) or equal (``weights=equal``, the symmetric
  solution).

The product is concave in log form, so the maximum is unique. When no outcome leaves every
actor better off than the disagreement point (on one issue: actors on both sides of the
status quo), the bargaining problem is degenerate; the forecast is then the limit of the
solutions with the disagreement utilities lowered by ``δ → 0``, which is the reference point
itself on one issue, and on several issues holds the actors who cannot gain at their
disagreement utility while the others bargain (noted). ``docs/nbs.md`` has the details.

Examples
--------
>>> from detente.models import run
>>> from detente.scenario import Scenario
>>> sc = Scenario.model_validate({"name": "split", "issues": [{"id": "x"}], "actors": [
...     {"id": "a", "capability": 1, "stances": {"x": {"position": 0, "salience": 1}}},
...     {"id": "b", "capability": 3, "stances": {"x": {"position": 100, "salience": 1}}}]})
>>> round(float(run(sc, "nbs", params={"utility": "linear"}).forecast[0]), 6)  # c_b/(c_a+c_b)
75.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.models.baselines import input_centre
from detente.models.registry import ModelSpec, Parameter, register
from detente.scenario import ScenarioArrays
from detente.scenario.batch import ScenarioBatch
from detente.trace import Trace

F = NDArray[np.float64]
B = NDArray[np.bool_]

SMOOTH = 1e-9
"""``|t|`` is computed as ``sqrt(t² + ε²) − ε`` with this ``ε`` (on the 0–1 scale): smooth, so
the solver's steps are defined at the actors' own positions, and within 1e-9 of ``|t|``."""
DELTA_MIN = 1e-13
"""The last (smallest) lowering of the disagreement utilities, relative to their scale."""
GAIN_TOL = 1e-9
"""An actor whose gain over the disagreement point is at most this (relative) cannot gain."""
SNAP = 1e-9
"""A solution this close (on 0–1) to a reference point is the reference point."""
MAX_ITER = 200
"""Solver steps per value of ``δ``."""


@dataclass(frozen=True)
class NBSResult:
    """``z[..., issue]`` on 0–1 (NaN where nobody cares), ``agreed[...]``: every actor gains
    over its disagreement utility; ``gain[..., actor]`` and ``disagreement[..., actor]``
    (utilities on 0–1 distances), ``converged[...]``."""

    z: F
    agreed: B
    gain: F
    disagreement: F
    converged: B


def _phi(t: F, linear: bool, eps: float = SMOOTH) -> F:
    if linear:
        out: F = np.sqrt(t * t + eps * eps) - eps
        return out
    return t * t


def solve(
    capability: F,
    position: F,
    salience: F,
    reference: F,
    *,
    linear: bool = False,
    equal_weights: bool = False,
) -> NBSResult:
    """The Nash bargaining solution for ``R`` replicates at once, on the 0–1 scale.

    ``capability[R, actor]``, ``position[R, actor, issue]`` in [0, 1] (NaN: no stance),
    ``salience[R, actor, issue]``, ``reference[issue]`` in [0, 1] (NaN: none; the farthest
    scale end is the disagreement point there).

    Method: the log of the Nash product with the disagreement utilities lowered by ``δ``,
    ``Σ w_i log(g_i(z) + δ)`` with ``g_i = u_i − d_i``, is concave; it is maximised by
    reweighted steps (each actor weighted by ``w_i / (g_i + δ)``, the step from ``z`` to the
    correspondingly weighted mean of the positions is an ascent direction) with step halving,
    for ``δ`` falling tenfold from where the start is feasible to :data:`DELTA_MIN`.
    """
    cap = np.asarray(capability, dtype=np.float64)
    present = ~np.isnan(position)
    s = np.where(present, salience, 0.0)
    a = np.where(present, position, 0.0)
    r_count, _n, m = a.shape
    cares = s.sum(axis=-1) > 0  # [R, n]
    w = np.where(cares, 1.0 if equal_weights else cap, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = w / w.sum(axis=-1, keepdims=True)
    w = np.nan_to_num(w)
    issue_weight = (cap[..., None] * s).sum(axis=-2)  # [R, m]
    live = issue_weight > 0
    has_ref = ~np.isnan(reference)
    ref = np.where(has_ref, reference, 0.0)
    # Disagreement losses per actor and issue: at the reference point, or the farthest end.
    worst = np.maximum(_phi(a, linear), _phi(1.0 - a, linear))
    at_ref = _phi(ref - a, linear)
    d_loss = s * np.where(has_ref, at_ref, worst)  # [R, n, m]
    d_loss = np.where(live[..., None, :], d_loss, 0.0)
    big_d = d_loss.sum(axis=-1)  # [R, n]
    scale = np.maximum(big_d.max(axis=-1), 1e-300)  # [R]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(live, (cap[..., None] * s * a).sum(axis=-2) / issue_weight, 0.0)
    # A point every actor weakly prefers to breaking off: the reference points where given,
    # anything elsewhere (no loss there exceeds the farthest end's).
    safe_mask = has_ref & live

    # Linear losses are smoothed less and less (ε from 1e-3 down to SMOOTH), which keeps
    # Newton's steps well scaled near the actors' positions, where the optimum often lies.
    eps = 1e-3 if linear else SMOOTH

    def gains(zz: F) -> F:
        loss = s * _phi(zz[..., None, :] - a, linear, eps)
        loss = np.where(live[..., None, :], loss, 0.0)
        out: F = big_d - loss.sum(axis=-1)
        return out

    def objective(g: F, delta: F) -> F:
        with np.errstate(divide="ignore", invalid="ignore"):
            vals = np.where(w > 0, w * np.log(np.maximum(g + delta[:, None], 0.0)), 0.0)
        out: F = vals.sum(axis=-1)
        return out

    g = gains(z)
    low = np.minimum((g * (w > 0)).min(axis=-1), 0.0)  # most negative gain at the start
    delta = np.maximum(2.0 * -low, DELTA_MIN * scale)
    delta = np.where(low < 0, np.maximum(delta, 1e-3 * scale), delta)
    converged = np.zeros(r_count, dtype=bool)
    while True:
        # Feasibility for this δ: blend towards the safe point until every g + δ > 0.
        g = gains(z)
        bad = ((g + delta[:, None] <= 0) & (w > 0)).any(axis=-1)
        if bad.any():
            safe = np.where(safe_mask, ref, z)
            alpha = np.ones(r_count)
            for _ in range(80):
                trial = np.where(bad[:, None], safe + alpha[:, None] * (z - safe), z)
                tg = gains(trial)
                still = ((tg + delta[:, None] <= 0) & (w > 0)).any(axis=-1) & bad
                if not still.any():
                    break
                alpha = np.where(still, alpha / 2.0, alpha)
            z = np.where(bad[:, None], safe + alpha[:, None] * (z - safe), z)
            g = gains(z)
        value = objective(g, delta)
        done = np.zeros(r_count, dtype=bool)
        for _ in range(MAX_ITER):
            step = _direction(z, g, delta, w, s, a, live, linear, eps)
            alpha = np.ones(r_count)
            accepted = done.copy()
            new_z, new_g, new_value = z.copy(), g.copy(), value.copy()
            for _ in range(40):
                trial = z + alpha[:, None] * step
                tg = gains(trial)
                tv = objective(tg, delta)
                ok = ~accepted & ((tg + delta[:, None] > 0) | (w == 0)).all(axis=-1)
                ok &= tv >= value - 1e-15 * np.abs(value)
                new_z = np.where(ok[:, None], trial, new_z)
                new_g = np.where(ok[:, None], tg, new_g)
                new_value = np.where(ok, tv, new_value)
                accepted |= ok
                if accepted.all():
                    break
                alpha = np.where(accepted, alpha, alpha / 2.0)
            moved = np.abs(new_z - z).max(axis=-1) if m else np.zeros(r_count)
            gained = new_value - value
            z, g, value = new_z, new_g, new_value
            done |= (moved < 1e-14) | (gained <= 1e-15 * (1.0 + np.abs(value)))
            if done.all():
                break
        last = (delta <= DELTA_MIN * scale * 1.0000001) & (eps <= SMOOTH)
        converged = np.where(last, done, converged)
        if last.all():
            break
        delta = np.maximum(delta / 100.0, DELTA_MIN * scale)
        eps = max(eps / 10.0, SMOOTH)
    g = gains(z)
    agreed = ((g > GAIN_TOL * scale[:, None]) | (w == 0)).all(axis=-1)
    near = has_ref & (np.abs(z - ref) < SNAP)
    z = np.where(near, ref, z)
    z = np.where(live, np.clip(z, 0.0, 1.0), np.nan)
    return NBSResult(z, agreed, g, -big_d, converged)


def _direction(z: F, g: F, delta: F, w: F, s: F, a: F, live: B, linear: bool, eps: float) -> F:
    """An ascent direction of ``Σ w_i log(g_i + δ)`` at ``z``: Newton's, where it ascends,
    else the reweighted-mean step (a positively scaled gradient)."""
    lam = np.where(w > 0, w / np.maximum(g + delta[:, None], 1e-300), 0.0)  # [R, n]
    t = z[..., None, :] - a  # [R, n, m]
    if linear:
        rho = np.sqrt(t * t + eps * eps)
        d1, d2, per = t / rho, eps * eps / rho**3, 1.0 / rho
    else:
        d1, d2, per = 2.0 * t, np.full_like(t, 2.0), np.ones_like(t)
    dg = -s * d1  # ∂g_i/∂z_k
    grad = (lam[..., None] * dg).sum(axis=-2)  # [R, m]
    hess = np.einsum("rn,rnk,rnl->rkl", -(lam * lam) / np.maximum(w, 1e-300), dg, dg)
    diag = -(lam[..., None] * s * d2).sum(axis=-2)
    idx = np.arange(z.shape[-1])
    hess[:, idx, idx] += np.where(live, diag, -1.0)
    grad = np.where(live, grad, 0.0)
    # A little more curvature keeps a nearly flat direction (few actors) solvable.
    ridge = 1e-12 * np.abs(hess[:, idx, idx]).max(axis=-1, initial=1e-300)
    hess[:, idx, idx] -= ridge[:, None]
    try:
        newton = -np.linalg.solve(hess, grad[..., None])[..., 0]
    except np.linalg.LinAlgError:
        newton = np.full_like(grad, np.nan)
    v = lam[..., None] * s * per  # the reweighted mean: ∂g/∂z = −2 v (z − a) piece by piece
    vs = v.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        target = np.where(vs > 0, (v * a).sum(axis=-2) / vs, z)
    plain = np.where(live, target - z, 0.0)
    ascends = np.isfinite(newton).all(axis=-1) & ((newton * grad).sum(axis=-1) > 0)
    out: F = np.where(ascends[:, None], np.where(live, newton, 0.0), plain)
    return out


def _solve_arrays(
    arrays: ScenarioArrays, capability: F, position: F, salience: F, params: Mapping[str, Any]
) -> tuple[NBSResult, F]:
    """Solve on replicates ``[R, ...]`` of ``arrays``; the forecast on each issue's scale."""
    lo, hi = arrays.scale_min, arrays.scale_max
    span = hi - lo
    unit = (position - lo) / span
    ref = arrays.reference_points()
    if params["disagreement"] == "worst":
        ref = np.full_like(ref, np.nan)
    res = solve(
        capability,
        unit,
        salience,
        (ref - lo) / span,
        linear=params["utility"] == "linear",
        equal_weights=params["weights"] == "equal",
    )
    forecast = np.clip(lo + res.z * span, lo, hi)
    # Where the solution is a reference point or every actor stands at one position, give
    # that number exactly (not its image through the 0–1 scale and back).
    forecast = np.where(np.isclose(res.z, (ref - lo) / span, rtol=0, atol=SNAP), ref, forecast)
    same = _unanimous(position, salience)
    forecast = np.where(np.isnan(same) | np.isnan(forecast), forecast, same)
    return res, forecast


def _unanimous(position: F, salience: F) -> F:
    """``position[..., issue]`` where every actor with a stance stands at one position, else NaN."""
    present = ~np.isnan(position)
    hi = np.where(present, position, -np.inf).max(axis=-2)
    lo = np.where(present, position, np.inf).min(axis=-2)
    out: F = np.where((hi == lo) & present.any(axis=-2), hi, np.nan)
    return out


def _nbs_model(
    arrays: ScenarioArrays, rng: np.random.Generator, params: Mapping[str, Any]
) -> Trace:
    res, forecast = _solve_arrays(
        arrays,
        arrays.capability[None],
        arrays.position[None],
        arrays.salience[None],
        params,
    )
    f = forecast[0]
    actors, issues = arrays.actors, arrays.issues
    ref = arrays.reference_points()
    use_ref = params["disagreement"] == "reference"
    notes = [
        f"{k}: no actor has weight on this issue; no forecast"
        for k, v in zip(issues, f, strict=True)
        if np.isnan(v)
    ]
    stuck = [
        a
        for a, gain, c in zip(actors, res.gain[0], arrays.salience.sum(axis=-1) > 0, strict=True)
        if c and gain <= GAIN_TOL * max(float(-res.disagreement[0].min()), 1e-300)
    ]
    if not res.agreed[0]:
        notes.append(
            "no outcome leaves every actor better off than the disagreement point"
            f" ({', '.join(stuck)} cannot gain); the forecast holds them at their"
            " disagreement utility"
        )
    if not res.converged[0]:
        notes.append(f"the solver stopped after {MAX_ITER} steps before settling")
    details = {
        "disagreement": {
            k: ("reference" if use_ref and not np.isnan(r) else "worst")
            for k, r in zip(issues, ref, strict=True)
        },
        "reference": {
            k: (float(r) if use_ref and not np.isnan(r) else None)
            for k, r in zip(issues, ref, strict=True)
        },
        "agreed": bool(res.agreed[0]),
        "gain": {a: float(v) for a, v in zip(actors, res.gain[0], strict=True)},
        "disagreement_utility": {
            a: float(v) for a, v in zip(actors, res.disagreement[0], strict=True)
        },
        "cannot_gain": stuck if not res.agreed[0] else [],
    }
    return Trace(
        model="nbs",
        actors=actors,
        issues=issues,
        positions=np.array(arrays.position, copy=True)[None],
        forecast=f,
        params=dict(params),
        notes=tuple(notes),
        details=details,
    )


def _nbs_batch(
    b: ScenarioBatch, params: Mapping[str, Any], _: Sequence[np.random.SeedSequence]
) -> tuple[F, F]:
    with np.errstate(over="ignore", invalid="ignore"):
        _res, forecast = _solve_arrays(b.base, b.capability, b.position, b.salience, params)
    return forecast, input_centre(b)


NBS = register(
    ModelSpec(
        name="nbs",
        title="Nash bargaining solution",
        summary="The outcome maximising Π (u_i − d_i)^c_i over salience-weighted utilities,"
        " the disagreement point being the reference point (status quo) where given.",
        function=_nbs_model,
        batch=_nbs_batch,
        chunk=500,
        aliases=("nash",),
        parameters=(
            Parameter(
                "utility",
                str,
                "quadratic",
                "quadratic: loss s·(z − x)²; linear: loss s·|z − x| (distances on the scale"
                " mapped to 0–1)",
                choices=("quadratic", "linear"),
            ),
            Parameter(
                "disagreement",
                str,
                "reference",
                "reference: breaking off leaves an issue at its reference point where the"
                " scenario gives one (else at the actor's farthest scale end); worst: always"
                " the farthest end",
                choices=("reference", "worst"),
            ),
            Parameter(
                "weights",
                str,
                "capability",
                "capability: exponents c_i (the asymmetric solution); equal: the symmetric"
                " solution",
                choices=("capability", "equal"),
            ),
        ),
    )
)
