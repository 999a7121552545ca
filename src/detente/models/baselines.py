"""Baselines: compromise (weighted mean), weighted median and Condorcet winner.

Every kernel works on arrays with any leading (replicate) axes: ``capability[..., actor]``,
``position[..., actor, issue]``, ``salience[..., actor, issue]``. An actor without a stance
on an issue (position NaN) has no weight there and is no candidate.

The voting weight of actor ``i`` on issue ``k`` is ``w_ik = c_i s_ik``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.models.registry import ModelSpec, Parameter, register
from detente.scenario import ScenarioArrays
from detente.scenario.batch import ScenarioBatch
from detente.trace import Trace

F = NDArray[np.float64]

TIE_RTOL = 1e-12
"""Two sums are tied when they differ by less than this fraction of the total weight."""


def _weights(capability: F, position: F, salience: F) -> tuple[F, F]:
    """Weights with missing stances zeroed, and positions with NaN replaced by 0."""
    missing = np.isnan(position)
    w = np.where(missing, 0.0, capability[..., :, None] * salience)
    return w, np.where(missing, 0.0, position)


def weighted_mean(capability: F, position: F, salience: F) -> F:
    """Compromise model: ``Σ c_i s_i x_i / Σ c_i s_i`` per issue (NaN if no weight).

    Examples
    --------
    >>> import numpy as np
    >>> weighted_mean(np.array([1.0, 3.0]), np.array([[0.0], [100.0]]), np.ones((2, 1)))
    array([75.])
    """
    w, x = _weights(capability, position, salience)
    total = w.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (w * x).sum(axis=-2) / total, np.nan)


def weighted_median(capability: F, position: F, salience: F) -> tuple[F, F]:
    """The ``c*s``-weighted median per issue, as ``(lower, upper)``.

    Sort the actors by position and accumulate their weights; the median is the first position
    at which the running total reaches half the total weight. If the running total equals half
    exactly (within ``TIE_RTOL`` of the total) at a position, every point up to the next
    weighted position is a median: ``lower`` is that position, ``upper`` the next one.
    Otherwise ``lower == upper``. Actors with zero weight do not count. NaN if no weight.

    Examples
    --------
    >>> import numpy as np
    >>> weighted_median(np.ones(4), np.array([[1.0], [2.0], [3.0], [4.0]]), np.ones((4, 1)))
    (array([2.]), array([3.]))
    """
    w, x = _weights(capability, position, salience)
    # Move the actor axis last so that sorting and searching run along it.
    w = np.moveaxis(w, -2, -1)
    x = np.where(w > 0, np.moveaxis(x, -2, -1), np.inf)
    order = np.argsort(x, axis=-1, kind="stable")
    xs = np.take_along_axis(x, order, axis=-1)
    cum = np.cumsum(np.take_along_axis(w, order, axis=-1), axis=-1)
    total = cum[..., -1:]
    half, tol = total / 2.0, TIE_RTOL * total
    lower_idx = np.argmax(cum >= half - tol, axis=-1)[..., None]
    upper_idx = np.argmax(cum > half + tol, axis=-1)[..., None]
    lower = np.take_along_axis(xs, lower_idx, axis=-1)[..., 0]
    upper = np.take_along_axis(xs, upper_idx, axis=-1)[..., 0]
    empty = total[..., 0] <= 0
    return np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)


def pairwise_votes(
    capability: F, position: F, salience: F, *, joint: bool = False, majority: bool = False
) -> tuple[F, NDArray[np.bool_]]:
    """Pairwise contests ``V[..., issue, a, b]`` between the actors' positions as candidates.

    Voter ``k`` has utility ``-d_k(a)`` for candidate ``a``, where ``d`` is ``|x_k - x_a|`` on
    one issue, or with ``joint`` KTAB's salience-weighted distance over all issues. Its vote for
    ``a`` over ``b`` is ``w_k (u_k(a) - u_k(b))`` (proportional, as in Bueno de Mesquita's
    votes) or ``w_k sign(u_k(a) - u_k(b))`` with ``majority``. Weights are ``c_k s_k`` per
    issue, and ``c_k`` in the joint space. Returns the votes and ``candidate[..., issue, a]``.
    With ``joint`` the issue axis has length 1.
    """
    w, x = _weights(capability, position, salience)
    present = ~np.isnan(position)
    if joint:
        complete: NDArray[np.bool_] = np.all(present, axis=-1)  # (..., n)
        s2 = np.where(present, salience, 0.0) ** 2
        diff = x[..., :, None, :] - x[..., None, :, :]  # voter k, candidate a, issue
        num = (s2[..., :, None, :] * diff**2).sum(axis=-1)
        den = s2.sum(axis=-1)[..., :, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.sqrt(np.where(den > 0, num / den, 0.0))[..., None, :, :]  # (...,1,k,a)
        voter_w = np.where(complete & (den[..., 0] > 0), capability, 0.0)[..., None, :]
        candidate = complete[..., None, :]
    else:
        xt = np.moveaxis(x, -2, -1)  # (..., issue, actor)
        dist = np.abs(xt[..., :, :, None] - xt[..., :, None, :])  # (..., issue, k, a)
        voter_w = np.moveaxis(w, -2, -1)
        candidate = np.moveaxis(present, -2, -1)
    if not majority:
        # Proportional margins are differences of one score per candidate, the weighted sum of
        # distances to it: V[a, b] = s[b] - s[a]. That is O(n^2), and never cycles.
        score = np.einsum("...k,...ka->...a", voter_w, dist)
        return score[..., None, :] - score[..., :, None], candidate
    du = dist[..., :, None, :] - dist[..., :, :, None]  # u(a) - u(b) = d(b) - d(a)
    votes = np.einsum("...k,...kab->...ab", voter_w, np.sign(du))
    return votes, candidate


def condorcet(
    capability: F, position: F, salience: F, *, joint: bool = False, majority: bool = False
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], F]:
    """Condorcet winners among the actors' positions, with a Copeland fallback.

    A position wins if it loses no pairwise contest (a margin within ``100 * TIE_RTOL`` of the
    largest margin counts as a tie, not a loss). Returns ``(winners, exists, copeland)``:
    ``winners[..., issue, actor]`` marks the Condorcet winners, or, where ``exists`` is False,
    the Copeland winners (most pairwise wins minus losses); ``copeland`` holds the scores.
    """
    votes, candidate = pairwise_votes(
        capability, position, salience, joint=joint, majority=majority
    )
    both = candidate[..., :, None] & candidate[..., None, :]
    tol = 100 * TIE_RTOL * np.abs(votes).max(axis=(-2, -1), keepdims=True)
    loses = both & (votes < -tol)
    wins = both & (votes > tol)
    undefeated = candidate & ~loses.any(axis=-1)
    exists = undefeated.any(axis=-1)
    copeland = np.where(candidate, wins.sum(axis=-1) - loses.sum(axis=-1), -np.inf)
    best = copeland == copeland.max(axis=-1, keepdims=True)
    winners = np.where(exists[..., None], undefeated, best & candidate)
    return winners, exists, copeland.astype(np.float64)


# -- models with the shared signature ------------------------------------------------------------


def _single_round(arrays: ScenarioArrays, name: str, forecast: F, **extra: Any) -> Trace:
    return Trace(
        model=name,
        actors=arrays.actors,
        issues=arrays.issues,
        positions=np.array(arrays.position, copy=True)[None],
        forecast=forecast,
        **extra,
    )


def _issue_weights(arrays: ScenarioArrays) -> list[list[float]]:
    """``weights[issue][actor] = c * s`` (0 where the actor has no stance), for JSON."""
    w, _ = _weights(arrays.capability, arrays.position, arrays.salience)
    return [[float(v) for v in col] for col in w.T]


def _no_weight_notes(arrays: ScenarioArrays, forecast: F) -> tuple[str, ...]:
    return tuple(
        f"{issue}: no actor has weight on this issue; no forecast"
        for issue, value in zip(arrays.issues, forecast, strict=True)
        if np.isnan(value)
    )


def _mean_model(
    arrays: ScenarioArrays, rng: np.random.Generator, params: Mapping[str, Any]
) -> Trace:
    forecast = weighted_mean(arrays.capability, arrays.position, arrays.salience)
    return _single_round(
        arrays,
        "mean",
        forecast,
        params=dict(params),
        notes=_no_weight_notes(arrays, forecast),
        details={"weights": _issue_weights(arrays)},
    )


def _median_model(
    arrays: ScenarioArrays, rng: np.random.Generator, params: Mapping[str, Any]
) -> Trace:
    lower, upper = weighted_median(arrays.capability, arrays.position, arrays.salience)
    forecast = (lower + upper) / 2.0
    notes = list(_no_weight_notes(arrays, forecast))
    for issue, lo, hi in zip(arrays.issues, lower, upper, strict=True):
        if lo != hi:
            notes.append(
                f"{issue}: exact half-weight tie; every point in [{lo:g}, {hi:g}] is a median,"
                " the forecast is its midpoint"
            )
    details = {
        "median_lower": {k: float(v) for k, v in zip(arrays.issues, lower, strict=True)},
        "median_upper": {k: float(v) for k, v in zip(arrays.issues, upper, strict=True)},
        "weights": _issue_weights(arrays),
    }
    return _single_round(
        arrays, "median", forecast, params=dict(params), notes=tuple(notes), details=details
    )


def _condorcet_model(
    arrays: ScenarioArrays, rng: np.random.Generator, params: Mapping[str, Any]
) -> Trace:
    joint, majority = params["space"] == "joint", params["voting"] == "majority"
    winners, exists, copeland = condorcet(
        arrays.capability, arrays.position, arrays.salience, joint=joint, majority=majority
    )
    x = arrays.position
    groups: list[tuple[str, int | slice]] = (
        [("joint", slice(None))] if joint else [(k, j) for j, k in enumerate(arrays.issues)]
    )
    forecast = np.full(len(arrays.issues), np.nan)
    notes: list[str] = []
    winner_ids: dict[str, list[str]] = {}
    fallback: dict[str, dict[str, float]] = {}
    for g, (label, cols) in enumerate(groups):
        mask = winners[g]
        ids = [a for a, won in zip(arrays.actors, mask, strict=True) if won]
        winner_ids[label] = ids
        if not ids:
            notes.append(f"{label}: no candidate position; no forecast")
            continue
        chosen = x[mask][:, cols]
        forecast[cols] = (np.nanmin(chosen, axis=0) + np.nanmax(chosen, axis=0)) / 2.0
        if not exists[g]:
            notes.append(
                f"{label}: no Condorcet winner (the pairwise majorities cycle); forecast is the"
                f" Copeland winner {', '.join(ids)}"
            )
            fallback[label] = {
                a: float(s)
                for a, s, c in zip(
                    arrays.actors, copeland[g], np.isfinite(copeland[g]), strict=True
                )
                if c
            }
        elif np.unique(chosen, axis=0).shape[0] > 1:
            notes.append(
                f"{label}: tied Condorcet winners {', '.join(ids)}; forecast is the midpoint"
                " of their positions"
            )
    details: dict[str, Any] = {
        "winners": winner_ids,
        "condorcet_exists": {label: bool(e) for (label, _), e in zip(groups, exists, strict=True)},
    }
    if fallback:
        details["copeland_scores"] = fallback
    return _single_round(
        arrays, "condorcet", forecast, params=dict(params), notes=tuple(notes), details=details
    )


# -- batch runs: R replicates at once (the registry's BatchFunction) -------------------------


def median_centre(c: F, x: F, s: F) -> F:
    """The ``c·s``-weighted median of positions ``x[..., actor, issue]``, midpoint on a tie:
    the centre a batch run reports per round."""
    lower, upper = weighted_median(c, x, s)
    out: F = (lower + upper) / 2.0
    return out


def input_centre(b: ScenarioBatch) -> F:
    """``centre[r, 1, issue]`` of a one-step model: the median of the replicate's input."""
    return median_centre(b.capability, b.position, b.salience)[:, None, :]


def _mean_batch(
    b: ScenarioBatch, params: Mapping[str, Any], _: Sequence[np.random.SeedSequence]
) -> tuple[F, F]:
    return weighted_mean(b.capability, b.position, b.salience), input_centre(b)


def _median_batch(
    b: ScenarioBatch, params: Mapping[str, Any], _: Sequence[np.random.SeedSequence]
) -> tuple[F, F]:
    centre = input_centre(b)
    return centre[:, 0, :].copy(), centre


def _condorcet_batch(
    b: ScenarioBatch, params: Mapping[str, Any], _: Sequence[np.random.SeedSequence]
) -> tuple[F, F]:
    joint = params["space"] == "joint"
    winners, _exists, _score = condorcet(
        b.capability,
        b.position,
        b.salience,
        joint=joint,
        majority=params["voting"] == "majority",
    )
    # winners[r, group, actor]; with joint one group covers every issue.
    win = np.moveaxis(winners, -1, -2)  # [r, actor, group]
    if joint:
        win = np.broadcast_to(win, b.position.shape)
    lo = np.where(win, b.position, np.inf).min(axis=1)
    hi = np.where(win, b.position, -np.inf).max(axis=1)
    none = ~win.any(axis=1)
    with np.errstate(invalid="ignore"):
        forecast = np.where(none, np.nan, (lo + hi) / 2.0)
    return forecast, input_centre(b)


MEAN = register(
    ModelSpec(
        name="mean",
        title="Compromise (weighted mean)",
        summary="Σ c·s·x / Σ c·s per issue: the compromise model of the EU-decision literature.",
        function=_mean_model,
        batch=_mean_batch,
        aliases=("compromise", "weighted-mean"),
    )
)
MEDIAN = register(
    ModelSpec(
        name="median",
        title="Weighted median",
        summary="Position where the running c·s weight reaches half; midpoint on an exact tie.",
        function=_median_model,
        batch=_median_batch,
        aliases=("weighted-median",),
    )
)
CONDORCET = register(
    ModelSpec(
        name="condorcet",
        title="Condorcet winner",
        summary="Actor position that loses no pairwise vote (c·s weights, utility −|x−y|);"
        " Copeland winner when the majorities cycle.",
        function=_condorcet_model,
        batch=_condorcet_batch,
        parameters=(
            Parameter(
                "voting",
                str,
                "proportional",
                "proportional: votes weighted by utility difference (BDM eq. 28);"
                " majority: each voter casts its whole weight for the nearer position",
                choices=("proportional", "majority"),
            ),
            Parameter(
                "space",
                str,
                "issue",
                "issue: one contest per issue; joint: candidates are whole position vectors,"
                " compared by KTAB's salience-weighted distance, voters weighted by capability",
                choices=("issue", "joint"),
            ),
        ),
    )
)
