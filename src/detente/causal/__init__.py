"""The causal layer: fuzzy cognitive maps whose levers move the scenario's values.

A scenario's map (:class:`~detente.scenario.CausalMap`, the ``causal:`` section of its YAML)
has levers, indicators and outcomes joined by signed weights; :func:`settle` runs it
(:mod:`detente.causal.fcm`: Kosko, modified Kosko and rescaled inference; sigmoid, tanh,
bivalent and trivalent transfer), vectorised over draws of the weights. :func:`lever_moves`
says what moving levers does to the values the map is linked to; lever shocks
(``{lever: sanctions, value: 1}``) apply it through :mod:`detente.sim.shocks`.

Examples
--------
>>> from detente.io import load_default
>>> from detente.causal import lever_moves
>>> moves = lever_moves(load_default(), {"sanctions": 1.0})
>>> [m.link.target for m in moves.moves][:1]
['russia.capability']
"""

from detente.causal.fcm import Settlement, infer, simulate, transfer
from detente.causal.links import (
    LeverMoves,
    LinkMove,
    clamped,
    drawn_adjustments,
    lever_moves,
    settings,
    settle,
    weight_matrix,
)
from detente.scenario.causal import CausalMap, Concept, Edge, Link

__all__ = [
    "CausalMap",
    "Concept",
    "Edge",
    "LeverMoves",
    "Link",
    "LinkMove",
    "Settlement",
    "clamped",
    "drawn_adjustments",
    "infer",
    "lever_moves",
    "settings",
    "settle",
    "simulate",
    "transfer",
    "weight_matrix",
]
