"""Applying the scenario's declarative shocks (:mod:`detente.scenario.shocks`).

:func:`apply_shocks` is a pure function: it returns a new :class:`Scenario` and plain-language
notes, and leaves its argument unchanged. Shocks apply in the order given, and the changes of
each in the order listed, each to the value left by the previous one. Results are clipped to
the valid range (position to the issue's scale, salience to [0, 1], capability to at least
:data:`MIN_CAPABILITY`), with a note whenever that happens. A changed number keeps its source;
its uncertainty is kept when it still fits the new value, else dropped with a note.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from detente.scenario import Estimate, Scenario
from detente.scenario.shocks import Change

MIN_CAPABILITY = 1e-6
"""The smallest capability a shock can leave (capability must stay > 0; only ratios matter)."""


class UnknownShockError(ValueError):
    """A shock name the scenario does not define."""


def check_names(scenario: Scenario, names: Sequence[str]) -> None:
    """Raise :class:`UnknownShockError` naming the available shocks if any name is unknown."""
    unknown = [n for n in names if n not in scenario.shocks]
    if unknown:
        available = ", ".join(scenario.shocks) or "none defined"
        plural = "s" if len(unknown) > 1 else ""
        raise UnknownShockError(
            f"unknown shock{plural} {', '.join(map(repr, unknown))} in scenario"
            f" {scenario.name!r} (shocks: {available})"
        )


def apply_shocks(scenario: Scenario, names: Sequence[str]) -> tuple[Scenario, list[str]]:
    """The scenario with the named shocks applied, and notes (clipping, dropped uncertainty)."""
    check_names(scenario, names)
    shocked = scenario.model_copy(deep=True)
    notes: list[str] = []
    for name in names:
        for change in scenario.shocks[name].changes:
            _apply(shocked, change, name, notes)
    # Re-validate the whole: the per-field validators ran on assignment, this runs the rest.
    return Scenario.model_validate(shocked.model_dump()), notes


def _apply(sc: Scenario, change: Change, shock: str, notes: list[str]) -> None:
    actor = sc.actor(change.actor)
    if change.field == "capability":
        old = actor.capability
        target = sc.actor(change.toward).capability.value if change.toward else math.nan
        low, high = MIN_CAPABILITY, math.inf
    else:
        assert change.issue is not None  # checked by Change
        stance = actor.stances[change.issue]
        old = getattr(stance, change.field)
        other = sc.actor(change.toward).stances[change.issue] if change.toward else None
        target = getattr(other, change.field).value if other is not None else math.nan
        if change.field == "position":
            scale = sc.issue(change.issue).scale
            low, high = scale.min, scale.max
        else:
            low, high = 0.0, 1.0
    x = old.value
    if change.op == "set":
        new = change.value
    elif change.op == "add":
        new = x + change.value
    elif change.op == "scale":
        new = x * change.value
    else:
        new = x + change.value * (target - x)
    clipped = min(max(new, low), high)
    if clipped != new:
        notes.append(
            f"shock {shock!r}: {change.target} {change.op} {change.value:g} gives {new:g},"
            f" clipped to {clipped:g} (valid range [{low:g}, {high:g}])"
        )
    uncertainty = old.uncertainty
    if uncertainty is not None:
        try:
            Estimate(value=clipped, uncertainty=uncertainty).check_uncertainty(
                low if change.field != "capability" else 0.0, high, change.field
            )
        except ValueError:
            uncertainty = None
            notes.append(
                f"shock {shock!r}: {change.target}'s uncertainty no longer fits the new value"
                f" {clipped:g} and was dropped"
            )
    estimate = Estimate(value=clipped, source=old.source, uncertainty=uncertainty)
    if change.field == "capability":
        actor.capability = estimate
    else:
        assert change.issue is not None
        setattr(actor.stances[change.issue], change.field, estimate)
