"""Plain-language explanations of the exchange model, the Nash bargaining solution and the
ensemble."""

from __future__ import annotations

from typing import Any

import numpy as np

from detente.trace import Labels, Trace


def explain_exchange(trace: Trace, labels: Labels) -> list[str]:
    events: list[dict[str, Any]] = list(trace.details.get("exchanges", []))
    outcome: list[dict[str, float | None]] = list(trace.details.get("outcome", []))
    rounds = trace.rounds - 1
    lines = []
    for k, issue in enumerate(trace.issues):
        title = labels.issue(issue)
        f = trace.forecast[k]
        if np.isnan(f):
            lines.append(f"{title}: no actor has weight here, so no forecast.")
            continue
        start = outcome[0].get(issue) if outcome else None
        here = [e for e in events if e["issue"] == issue]
        if not here:
            lines.append(
                f"{title}: nobody gave way here, so the forecast stays at the compromise {f:.1f}."
            )
            continue
        big = max(here, key=lambda e: abs(e["to"] - e["from"]))
        lines.append(
            f"{title}: {len(here)} shift{'s' if len(here) != 1 else ''} of voting position in"
            f" {rounds} round{'s' if rounds != 1 else ''} move the compromise from"
            f" {start:.1f} to {f:.1f}; the largest: {labels.actor(big['supplier'])} gave way from"
            f" {big['from']:.1f} to {big['to']:.1f} for {labels.actor(big['demander'])}, who"
            " gave way in return on an issue it cares less about."
        )
    if trace.details.get("settled"):
        lines.append("The last round found no further exchange: the positions have settled.")
    return lines


def explain_nbs(trace: Trace, labels: Labels) -> list[str]:
    d = trace.details
    kinds: dict[str, str] = d.get("disagreement", {})
    refs: dict[str, float | None] = d.get("reference", {})
    lines = []
    for k, issue in enumerate(trace.issues):
        title = labels.issue(issue)
        f = trace.forecast[k]
        if np.isnan(f):
            lines.append(f"{title}: no actor has weight here, so no forecast.")
            continue
        if kinds.get(issue) == "reference":
            fallback = f"breaking off leaves it at its reference point {refs[issue]:g}"
        else:
            fallback = "breaking off is as bad for each actor as the far end of the scale"
        lines.append(
            f"{title}: the Nash bargaining solution is {f:.1f}, the outcome that maximises the"
            " product of the actors' gains over breaking off, each raised to its capability;"
            f" {fallback}."
        )
    if not d.get("agreed", True):
        who = ", ".join(labels.actor(a) for a in d.get("cannot_gain", []))
        lines.append(
            f"No outcome leaves every actor better off than breaking off ({who} cannot gain), so"
            " the forecast keeps them where breaking off would: on one issue, the status quo."
        )
    return lines


def explain_ensemble(trace: Trace, labels: Labels) -> list[str]:
    d = trace.details
    ws: dict[str, float] = d.get("weights", {})
    total = sum(ws.values()) or 1.0
    top = sorted(ws, key=lambda m: -ws[m])[:3]
    share = ", ".join(f"{m} {ws[m] / total:.0%}" for m in top)
    fit = d.get("fit", {})
    lines = []
    for k, issue in enumerate(trace.issues):
        title = labels.issue(issue)
        f = trace.forecast[k]
        lo, hi = d.get("interval", {}).get(issue, [None, None])
        if np.isnan(f) or lo is None:
            lines.append(f"{title}: no model forecasts this issue, so no forecast.")
            continue
        lines.append(
            f"{title}: the ensemble forecasts {f:.1f}, a weighted average of {len(ws)} models"
            f" (largest weights: {share}); the models range from {lo:.1f} to {hi:.1f}."
        )
    if fit:
        lines.append(
            f"The weights were fitted on {fit.get('source')} by stacking, shrunk towards equal"
            f" weights by {fit.get('shrinkage')} as cross-validation over proposals chose; its"
            f" cross-validated mean absolute error there was {fit.get('cv_mae')} points."
        )
    return lines
