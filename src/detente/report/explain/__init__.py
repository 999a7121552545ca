"""Each model's run told in sentences (``detente explain``): presentation, kept out of the models.

:func:`explain` picks the model's own explainer, or for a model without one says what every
trace can say: its rounds and forecast.
"""

from __future__ import annotations

from collections.abc import Callable

from detente.report.explain import baselines, eu, literature, smp
from detente.trace import Labels, Trace

Explainer = Callable[[Trace, Labels], list[str]]

EXPLAINERS: dict[str, Explainer] = {
    "mean": baselines.explain_mean,
    "median": baselines.explain_median,
    "condorcet": baselines.explain_condorcet,
    "eu": eu.explain,
    "smp": smp.explain,
    "exchange": literature.explain_exchange,
    "nbs": literature.explain_nbs,
    "ensemble": literature.explain_ensemble,
}


def explain(trace: Trace, labels: Labels | None = None) -> list[str]:
    """The sentences that tell how ``trace``'s model reached its forecast."""
    labels = labels or Labels()
    own = EXPLAINERS.get(trace.model)
    if own is not None:
        return own(trace, labels)
    rounds = trace.rounds - 1
    steps = f"after {rounds} round{'s' if rounds != 1 else ''}" if rounds else "in one step"
    return [
        f"{labels.issue(k)}: {trace.model} forecasts {v:.4g} {steps}."
        for k, v in zip(trace.issues, trace.forecast, strict=True)
    ]
