"""Plain-language explanations of the baselines' forecasts."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from detente.trace import Labels, Trace

F = NDArray[np.float64]


def explain_mean(trace: Trace, labels: Labels) -> list[str]:
    x, w = trace.positions[0], np.asarray(trace.details["weights"])
    lines = []
    for k, issue in enumerate(trace.issues):
        ok = ~np.isnan(x[:, k]) & (w[k] > 0)
        if not ok.any():
            lines.append(f"{labels.issue(issue)}: no actor has weight here, so no forecast.")
            continue
        share = np.where(ok, w[k], 0.0) / np.sum(np.where(ok, w[k], 0.0))
        pull = share * np.abs(np.where(ok, x[:, k], 0.0) - trace.forecast[k])
        top = np.argsort(-share, kind="stable")[:2]
        far = int(np.argmax(pull))
        lines.append(
            f"{labels.issue(issue)}: the compromise is {trace.forecast[k]:.1f}, the average of the"
            " positions weighted by capability × salience; "
            + " and ".join(
                f"{labels.actor(trace.actors[i])} ({x[i, k]:g}) carries {share[i]:.0%}" for i in top
            )
            + f" of the weight, and {labels.actor(trace.actors[far])} ({x[far, k]:g}) pulls"
            " hardest on the average."
        )
    return lines


def explain_median(trace: Trace, labels: Labels) -> list[str]:
    x, w = trace.positions[0], np.asarray(trace.details["weights"])
    lines = []
    for k, issue in enumerate(trace.issues):
        f = trace.forecast[k]
        ok = ~np.isnan(x[:, k]) & (w[k] > 0)
        if not ok.any():
            lines.append(f"{labels.issue(issue)}: no actor has weight here, so no forecast.")
            continue
        total = np.sum(w[k][ok])
        below = np.sum(w[k][ok & (x[:, k] < f)]) / total
        above = np.sum(w[k][ok & (x[:, k] > f)]) / total
        at = [
            labels.actor(a)
            for a, p, o in zip(trace.actors, x[:, k], ok, strict=True)
            if o and p == f
        ]
        who = f", the position of {', '.join(at)}" if at else ""
        lines.append(
            f"{labels.issue(issue)}: the weighted median is {f:g}{who}; actors below it hold"
            f" {below:.0%} of the capability × salience weight and actors above it {above:.0%},"
            " so neither side can outvote the middle."
        )
    return lines


def explain_condorcet(trace: Trace, labels: Labels) -> list[str]:
    lines = []
    exists = trace.details["condorcet_exists"]
    for group, ids in trace.details["winners"].items():
        title = "all issues together" if group == "joint" else labels.issue(group)
        names = ", ".join(labels.actor(a) for a in ids)
        if not ids:
            lines.append(f"{title}: no actor has a position here, so no forecast.")
        elif exists[group]:
            lines.append(
                f"{title}: the position of {names} loses no pairwise vote against any other"
                " actor's position, so it is the Condorcet winner."
            )
        else:
            lines.append(
                f"{title}: every position loses some pairwise vote (the majorities cycle); {names}"
                " wins the most contests (Copeland), and that is the forecast."
            )
    return lines
