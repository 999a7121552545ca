"""A scenario's causal map at work: settle it, move levers, and what the links do to the values.

The scenario's numbers are those of the levers' settings as written. Moving levers settles the
map twice (before and after, same weights) and each link turns its concept's change ``c -> c'``
into a change of one scenario value (:mod:`detente.scenario.causal`): an ``add`` of
``gain × (c' − c)`` or a ``scale`` by ``(1 + gain c') / (1 + gain c)``. Applying those changes
to the scenario (with clipping and notes) is :mod:`detente.sim.shocks`' work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.causal.fcm import Settlement, simulate
from detente.scenario import CausalMap, Link, Scenario
from detente.scenario.causal import value_range

F = NDArray[np.float64]


def weight_matrix(cmap: CausalMap) -> F:
    """``W[cause, effect]`` of the map's point weights (0 where there is no edge)."""
    index = {c: i for i, c in enumerate(cmap.ids)}
    w = np.zeros((len(index), len(index)))
    for edge in cmap.edges:
        w[index[edge.cause], index[edge.effect]] = edge.weight.value
    return w


def clamped(cmap: CausalMap) -> NDArray[np.bool_]:
    """Concepts held at their value: the levers, and any concept no edge points to."""
    driven = {e.effect for e in cmap.edges}
    return np.array([c.kind == "lever" or c.id not in driven for c in cmap.concepts])


def settings(cmap: CausalMap, *, before_moves: bool = False) -> dict[str, float]:
    """Every lever's setting (``before_moves``: the setting before lever shocks moved it)."""
    start = dict(zip(cmap.ids, cmap.initial(), strict=True))
    out: dict[str, float] = {}
    for concept in cmap.concepts:
        if concept.kind == "lever":
            moved = concept.moved_from if before_moves else None
            out[concept.id] = moved if moved is not None else start[concept.id]
    return out


def settle(
    cmap: CausalMap,
    levers: Mapping[str, float] | None = None,
    *,
    weights: F | None = None,
    record: bool = False,
) -> Settlement:
    """Run the map from its starting values with ``levers`` overriding lever settings.

    ``weights`` (``[C, C]`` or ``[R, C, C]``) replaces the point weights, e.g. by Monte Carlo
    draws; the result has one row per draw.

    Examples
    --------
    >>> from detente.io import load_default
    >>> cmap = load_default().causal
    >>> s = settle(cmap, {"sanctions": 1.0})
    >>> bool(s.converged[0]), s.value("sanctions")
    (True, 1.0)
    """
    x0 = np.array(cmap.initial())
    for lever, value in (levers or {}).items():
        x0[cmap.ids.index(lever)] = value
    return simulate(
        weight_matrix(cmap) if weights is None else weights,
        x0,
        clamped=clamped(cmap),
        inference=cmap.inference,
        transfer_function=cmap.transfer,
        lam=cmap.lambda_,
        tolerance=cmap.tolerance,
        max_steps=cmap.max_steps,
        concepts=cmap.ids,
        record=record,
    )


def link_change(link: Link, before: F, after: F) -> F:
    """What ``link`` does, per draw, when its concept moves from ``before`` to ``after``: the
    amount to add (``op: add``) or the factor to multiply by (``op: scale``)."""
    if link.op == "add":
        out: F = link.gain * (after - before)
    else:
        out = (1.0 + link.gain * after) / (1.0 + link.gain * before)
    return out


@dataclass(frozen=True)
class LinkMove:
    """One link's effect: ``op`` (``add`` or ``scale``) by ``amount`` on ``link.target``."""

    link: Link
    concept_before: float
    concept_after: float
    amount: float

    @property
    def op(self) -> str:
        return self.link.op

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.link.target,
            "concept": self.link.concept,
            "op": self.link.op,
            "gain": self.link.gain,
            "concept_before": self.concept_before,
            "concept_after": self.concept_after,
            "amount": self.amount,
        }


@dataclass(frozen=True)
class LeverMoves:
    """Levers moved: the map settled before and after, and what each link does."""

    before_levers: Mapping[str, float]
    after_levers: Mapping[str, float]
    before: Settlement
    after: Settlement
    moves: tuple[LinkMove, ...]
    notes: tuple[str, ...]


def lever_moves(scenario: Scenario, new: Mapping[str, float], *, op: str = "set") -> LeverMoves:
    """Move the levers in ``new`` (``op`` ``set``, or ``add`` to the current setting) and say
    what each link of the scenario's map does.

    A setting outside the transfer's range is clipped, with a note; so is a map that does not
    settle (before or after). Raises ``ValueError`` for a scenario without a map or an unknown
    lever.
    """
    cmap = scenario.causal
    if cmap is None:
        raise ValueError(f"scenario {scenario.name!r} has no causal map (causal:)")
    low, high = value_range(cmap.transfer)
    current = settings(cmap)
    moved = dict(current)
    notes: list[str] = []
    for lever, value in new.items():
        if lever not in current:
            raise ValueError(f"unknown lever {lever!r} (levers: {', '.join(current) or 'none'})")
        target = current[lever] + value if op == "add" else value
        clipped = min(max(target, low), high)
        if clipped != target:
            notes.append(
                f"lever {lever} {op} {value:g} gives {target:g}, clipped to {clipped:g}"
                f" (range of the {cmap.transfer} transfer [{low:g}, {high:g}])"
            )
        moved[lever] = clipped
    before, after = settle(cmap, current), settle(cmap, moved)
    for when, s in (("before", before), ("after", after)):
        note = s.note()
        if note is not None:
            notes.append(f"{note} ({when} the levers moved)")
    index = {c: i for i, c in enumerate(cmap.ids)}
    moves = []
    for link in cmap.links:
        j = index[link.concept]
        c0, c1 = before.final[:, j], after.final[:, j]
        moves.append(
            LinkMove(link, float(c0[0]), float(c1[0]), float(link_change(link, c0, c1)[0]))
        )
    return LeverMoves(current, moved, before, after, tuple(moves), tuple(notes))


def drawn_adjustments(
    cmap: CausalMap, weights: F
) -> tuple[list[tuple[Link, F]], NDArray[np.bool_]]:
    """For Monte Carlo: per link, how its effect under each draw of the weights differs from
    its effect under the point weights, for the lever moves the scenario records
    (``moved_from`` -> setting). ``[(link, adjustment[R])]``: an amount to add for ``add``
    links, a factor for ``scale`` links; and per draw whether the map failed to settle (before
    or after the move)."""
    origin, now = settings(cmap, before_moves=True), settings(cmap)
    d0, d1 = settle(cmap, origin, weights=weights), settle(cmap, now, weights=weights)
    p0, p1 = settle(cmap, origin), settle(cmap, now)
    index = {c: i for i, c in enumerate(cmap.ids)}
    out: list[tuple[Link, F]] = []
    for link in cmap.links:
        j = index[link.concept]
        drawn = link_change(link, d0.final[:, j], d1.final[:, j])
        point = link_change(link, p0.final[:, j], p1.final[:, j])
        out.append((link, drawn - point if link.op == "add" else drawn / point))
    return out, ~(d0.converged & d1.converged)
