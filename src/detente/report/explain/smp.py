"""Plain-language explanation of an ``smp`` trace, turn by turn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.trace import Labels, Trace

F = NDArray[np.float64]

MAX_MOVES = 3
"""Movers named per turn; the rest are counted."""
MAX_CHALLENGES = 2


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.0f}"


def explain(trace: Trace, labels: Labels) -> list[str]:
    """Turn-by-turn sentences: challenges, who adopted whose bargain, why the forecast moved.

    Examples
    --------
    >>> from detente.io import load_default
    >>> from detente.models import run
    >>> lines = explain(run(load_default(), "smp"), Labels())  # doctest: +SKIP
    """
    det = trace.details
    per_turn: list[dict[str, Any]] = det["per_turn"]
    actors, issues = trace.actors, trace.issues
    pos = trace.positions
    idx = {a: i for i, a in enumerate(actors)}
    name = labels.actor
    lines: list[str] = []
    start = per_turn[0]["forecast"]
    lines.append(
        "start: the forecast (probability-weighted mean of the distinct positions) is "
        + ", ".join(f"{labels.issue(k)} {_fmt(start[k])}" for k in issues)
        + "; "
        + _likeliest(per_turn[0], name)
    )
    for t, entry in enumerate(per_turn[:-1]):
        parts: list[str] = []
        chs = sorted(entry["challenges"], key=lambda c: -(c["gain_by_initiator"] or 0.0))
        for c in chs[:MAX_CHALLENGES]:
            parts.append(
                f"{name(c['initiator'])} challenged {name(c['target'])} expecting"
                f" {c['gain_by_initiator']:+.3f} (win chance {c['p_win_by_initiator']:.2f} by its"
                f" own estimate, {c['p_win_by_target']:.2f} by {name(c['target'])}'s)"
            )
        if len(chs) > MAX_CHALLENGES:
            more = len(chs) - MAX_CHALLENGES
            parts.append(f"{more} more actor{'s' if more > 1 else ''} challenged")
        moves = entry["moves"]
        dist = {
            m["actor"]: float(np.abs(pos[t + 1, idx[m["actor"]]] - pos[t, idx[m["actor"]]]).max())
            for m in moves
        }
        ranked = sorted(moves, key=lambda m: -dist[m["actor"]])
        for m in ranked[:MAX_MOVES]:
            parts.append(_move_sentence(m, t, pos, idx, issues, labels))
        if len(ranked) > MAX_MOVES:
            more = len(ranked) - MAX_MOVES
            parts.append(f"{more} more actor{'s' if more > 1 else ''} moved less")
        if not moves:
            parts.append("no actor moved")
        parts.append(_forecast_sentence(entry, per_turn[t + 1], pos, t, idx, issues, labels))
        lines.append(f"turn {t + 1}: " + "; ".join(p for p in parts if p) + ".")
    final = per_turn[-1]
    lines.append(
        f"end after {det['turns']} turns: "
        + ", ".join(f"{labels.issue(k)} {_fmt(trace.forecast[j])}" for j, k in enumerate(issues))
        + "; "
        + _likeliest(final, name)
    )
    return lines


def _likeliest(entry: Mapping[str, Any], name: Any) -> str:
    outs = sorted(entry["outcomes"], key=lambda o: -o["probability"])
    best = outs[0]
    who = ", ".join(name(a) for a in best["actors"][:4])
    more = f" and {len(best['actors']) - 4} more" if len(best["actors"]) > 4 else ""
    return (
        f"{len(outs)} distinct position(s); the likeliest (p = {best['probability']:.2f}) is held"
        f" by {who}{more}"
    )


def _move_sentence(
    m: Mapping[str, Any],
    t: int,
    pos: F,
    idx: Mapping[str, int],
    issues: Sequence[str],
    labels: Labels,
) -> str:
    k = idx[m["actor"]]
    other = m["receiver"] if m["actor"] == m["initiator"] else m["initiator"]
    delta = pos[t + 1, k] - pos[t, k]
    order = np.argsort(-np.abs(delta), kind="stable")
    main = int(order[0])
    toward = np.sign(pos[t, idx[other], main] - pos[t, k, main]) == np.sign(delta[main])
    how = "toward" if toward else "away from"
    whose = "its own offer to" if m["actor"] == m["initiator"] else "the offer of"
    text = (
        f"{labels.actor(m['actor'])} adopted {whose} {labels.actor(other)} and moved"
        f" {_fmt(abs(delta[main]))} points {how} {labels.actor(other)} on"
        f" {labels.issue(issues[main])}"
    )
    extra = [int(j) for j in order[1:3] if abs(delta[j]) >= 0.5]
    if extra:
        text += (
            " (and "
            + ", ".join(f"{_fmt(abs(delta[j]))} on {labels.issue(issues[j])}" for j in extra)
            + ")"
        )
    return text


def _forecast_sentence(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    pos: F,
    t: int,
    idx: Mapping[str, int],
    issues: Sequence[str],
    labels: Labels,
) -> str:
    """Why the forecast moved.

    Each actor carries its outcome's probability split evenly among the outcome's holders
    (``π_i``), so the forecast is ``f = Σ_i π_i x_i`` and, as both sets of weights sum to 1,
    its change splits exactly into per-actor terms ``π'_i (x'_i − f) − π_i (x_i − f)``: the
    actor's own move (``π'_i (x'_i − x_i)``) plus the probability its outcome gained or lost
    times its distance from the old forecast (``(π'_i − π_i)(x_i − f)``).
    """
    f0, f1 = before["forecast"], after["forecast"]
    shifts = {k: f1[k] - f0[k] for k in issues}
    k = max(issues, key=lambda q: abs(shifts[q]))
    j = issues.index(k)
    if abs(shifts[k]) < 0.005:
        return "the forecast did not move"
    pi0, pi1 = _shares(before, idx), _shares(after, idx)
    x0, x1 = pos[t, :, j], pos[t + 1, :, j]
    move = pi1 * (x1 - x0)
    reweight = (pi1 - pi0) * (x0 - f0[k])
    contrib = move + reweight
    order = np.argsort(-np.abs(contrib), kind="stable")
    actors = list(idx)
    why = []
    for i in order[:2]:
        if abs(contrib[i]) < 0.005:
            continue
        reason = []
        if abs(move[i]) >= 0.005:
            reason.append(f"its move {move[i]:+.2f}")
        if abs(reweight[i]) >= 0.005:
            likelier = "likelier" if pi1[i] > pi0[i] else "less likely"
            reason.append(f"its outcome {likelier} {reweight[i]:+.2f}")
        why.append(f"{labels.actor(actors[i])} {contrib[i]:+.2f} ({', '.join(reason)})")
    text = f"the {labels.issue(k)} forecast moved from {_fmt(f0[k])} to {_fmt(f1[k])}"
    others = [q for q in issues if q != k and abs(shifts[q]) >= 0.5]
    if others:
        text += (
            " (also " + ", ".join(f"{labels.issue(q)} {shifts[q]:+.1f}" for q in others[:2]) + ")"
        )
    if why:
        text += ", mostly through " + " and ".join(why)
    return text


def _shares(entry: Mapping[str, Any], idx: Mapping[str, int]) -> F:
    pi = np.zeros(len(idx))
    total = sum(o["probability"] for o in entry["outcomes"])
    for o in entry["outcomes"]:
        for a in o["actors"]:
            pi[idx[a]] = o["probability"] / len(o["actors"]) / total
    return pi
