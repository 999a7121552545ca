"""Setting levers of a scenario's causal map: the settled map before and after, and every
scenario value the move changes (what ``detente causal --lever`` prints).

The levers are moved by one shock of lever changes (:mod:`detente.sim.shocks`), so the changed
scenario is exactly what ``compare --shocks LEVER=VALUE`` runs the models on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from detente.causal import Settlement, lever_moves, settings, settle
from detente.scenario import LeverChange, Scenario, Shock
from detente.serial import number
from detente.sim.shocks import _apply_named

_SHOCK = "levers"


@dataclass(frozen=True)
class ValueMove:
    """One scenario number the levers moved: its dotted path, old and new value."""

    target: str
    before: float
    after: float

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "before": number(self.before), "after": number(self.after)}


@dataclass(frozen=True, eq=False)
class LeverResult:
    """Levers set: the map before and after, the values moved, the changed scenario, notes."""

    scenario: str
    levers_before: Mapping[str, float]
    levers_after: Mapping[str, float]
    before: Settlement
    after: Settlement
    changes: tuple[ValueMove, ...]
    notes: tuple[str, ...]
    shocked: Scenario

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, deterministic."""
        cmap = self.shocked.causal
        assert cmap is not None
        return {
            "scenario": self.scenario,
            "levers": {
                k: {"before": float(self.levers_before[k]), "after": float(self.levers_after[k])}
                for k in self.levers_before
            },
            "concepts": [
                {
                    "id": c.id,
                    "kind": c.kind,
                    "label": c.title,
                    "before": number(float(self.before.final[0, i])),
                    "after": number(float(self.after.final[0, i])),
                }
                for i, c in enumerate(cmap.concepts)
            ],
            "settled": {
                "before": {k: v for k, v in self.before.to_dict().items() if k != "values"},
                "after": {k: v for k, v in self.after.to_dict().items() if k != "values"},
            },
            "changes": [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
        }


def set_levers(scenario: Scenario, new: Mapping[str, float] | None = None) -> LeverResult:
    """Set ``new`` levers (none: the map as written) and say what moves.

    Raises ``ValueError`` for a scenario without a causal map, an unknown lever or a setting
    outside the transfer's range.

    Examples
    --------
    >>> from detente.io import load_default
    >>> result = set_levers(load_default(), {"us_commitment": 0.0})
    >>> [(c.target, c.before, c.after) for c in result.changes][-1]
    ('usa.guarantees.position', 25.0, 5.0)
    """
    cmap = scenario.causal
    if cmap is None:
        raise ValueError(
            f"scenario {scenario.name!r} has no causal map (add a causal: section;"
            " see docs/causal.md)"
        )
    new = dict(new or {})
    moved = lever_moves(scenario, new)  # checks the levers and gives the joint settlements
    shock = Shock(changes=[LeverChange(lever=k, value=v) for k, v in new.items()])
    with_shock = scenario.model_copy(update={"shocks": {_SHOCK: shock}})
    problem = with_shock.shock_problem(_SHOCK)
    if problem is not None:
        raise ValueError(problem[2].replace(f"shock {_SHOCK!r}, ", ""))
    shocked, notes = _apply_named(with_shock, with_shock.shocks, [_SHOCK] if new else [])
    notes = [n.replace(f"shock {_SHOCK!r}: ", "") for n in notes]
    before, after = scenario.arrays(), shocked.arrays()
    changes: list[ValueMove] = []
    seen: set[str] = set()
    for link in cmap.links:
        if link.target in seen:
            continue
        seen.add(link.target)
        i = before.actors.index(link.actor)
        if link.field == "capability":
            old, now = before.capability[i], after.capability[i]
        else:
            assert link.issue is not None
            k = before.issues.index(link.issue)
            table = "position" if link.field == "position" else "salience"
            old, now = getattr(before, table)[i, k], getattr(after, table)[i, k]
        if old != now:
            changes.append(ValueMove(link.target, float(old), float(now)))
    if not new:
        unsettled = settle(cmap).note()
        notes = [unsettled] if unsettled else []
    return LeverResult(
        scenario=scenario.name,
        levers_before=settings(cmap),
        levers_after=moved.after_levers,
        before=moved.before,
        after=moved.after,
        changes=tuple(changes),
        notes=tuple(dict.fromkeys(notes)),
        shocked=shocked,
    )


def parse_levers(texts: list[str]) -> dict[str, float]:
    """``["sanctions=1", "summit=1,aid=0.2"]`` -> ``{"sanctions": 1.0, ...}``; ``ValueError``
    naming the bad item otherwise."""
    out: dict[str, float] = {}
    for text in texts:
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, value = item.partition("=")
            try:
                if not sep or not key.strip():
                    raise ValueError
                number_ = float(value)
                if not math.isfinite(number_):
                    raise ValueError
                out[key.strip()] = number_
            except ValueError:
                raise ValueError(
                    f"--lever {item!r}: expected LEVER=VALUE with a finite number, e.g. sanctions=1"
                ) from None
    return out
