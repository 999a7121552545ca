"""Fuzzy cognitive map inference, vectorised over draws of the weights.

A map of ``C`` concepts has weights ``W[cause, effect]`` in [-1, 1] and a state ``A`` (one
activation per concept). One step computes every concept's input from the state and passes it
through a transfer function ``f`` (Kosko 1986; Stylios & Groumpos 2004; Papageorgiou 2011):

``kosko``            ``A'_j = f(Σ_i A_i W_ij)``
``modified-kosko``   ``A'_j = f(Σ_i A_i W_ij + A_j)`` (a concept keeps a memory of itself)
``rescaled``         ``A'_j = f(Σ_i (2A_i − 1) W_ij + (2A_j − 1))``

Transfer functions: ``sigmoid`` ``1 / (1 + e^{−λx})`` (values in [0, 1]), ``tanh`` ``tanh(λx)``
([-1, 1]), ``bivalent`` (1 if ``x > 0`` else 0) and ``trivalent`` (the sign of ``x``).

Clamped concepts (the levers, and any concept no edge points to) keep their starting value
at every step, as FCMpy does for concepts of in-degree 0. The map *settles* at step ``t`` when
no concept moved more than ``tolerance`` in that step (FCMpy's ``absDiff`` rule); it runs at
most ``max_steps`` steps. A map that has not settled by then either *oscillates* (its last
state repeats one ``p`` steps earlier, within the tolerance, for some period ``p >= 2``) or
simply has not settled yet; :meth:`Settlement.note` says which.

Every draw of a batch runs exactly as it would alone: a draw that settles is frozen there while
the others go on, so its steps, state and trajectory equal those of its own run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.float64]

MAX_PERIOD = 32
"""Oscillations are looked for with periods 2 to this (within the steps that ran)."""


def transfer(kind: str, x: F, lam: float = 1.0) -> F:
    """The transfer function ``kind`` applied elementwise.

    Examples
    --------
    >>> transfer("trivalent", np.array([-0.2, 0.0, 0.3])).tolist()
    [-1.0, 0.0, 1.0]
    >>> round(float(transfer("sigmoid", np.array(0.0))), 3)
    0.5
    """
    if kind == "sigmoid":
        out: F = 1.0 / (1.0 + np.exp(-lam * x))
    elif kind == "tanh":
        out = np.tanh(lam * x)
    elif kind == "bivalent":
        out = (x > 0.0).astype(np.float64)
    elif kind == "trivalent":
        out = np.sign(x).astype(np.float64)
    else:
        raise ValueError(f"unknown transfer {kind!r} (sigmoid, tanh, bivalent, trivalent)")
    return out


def infer(rule: str, weights: F, state: F) -> F:
    """Every concept's input for one step under ``rule``: ``state[R, C]``, ``weights[R, C, C]``
    (or ``[C, C]`` shared by all draws) -> ``[R, C]``."""
    if rule == "kosko":
        return _push(weights, state)
    if rule == "modified-kosko":
        return _push(weights, state) + state
    if rule == "rescaled":
        centred = 2.0 * state - 1.0
        return _push(weights, centred) + centred
    raise ValueError(f"unknown inference rule {rule!r} (kosko, modified-kosko, rescaled)")


def _push(weights: F, state: F) -> F:
    # One summation for shared and per-draw weights alike (not BLAS for one, einsum for the
    # other), so a draw of a batch gives bit for bit the numbers of its own run.
    out: F = (state[:, :, None] * weights).sum(axis=1)
    return out


@dataclass(frozen=True, eq=False)
class Settlement:
    """Where a map's runs ended: one row per draw.

    Attributes
    ----------
    concepts
        Concept ids, the columns.
    final
        ``final[draw, concept]``: the settled state (the last state when it did not settle).
    steps
        ``steps[draw]``: steps taken (the step at which it settled, else ``max_steps``).
    converged
        ``converged[draw]``: whether it settled within ``max_steps``.
    period
        ``period[draw]``: for a draw that did not settle, the period ``p >= 2`` with which its
        last states repeat (0 when it settled or repeats with no period up to
        :data:`MAX_PERIOD`).
    change
        ``change[draw]``: the largest move of any concept in the draw's last step.
    trajectory
        ``trajectory[step, draw, concept]`` from the starting state (step 0) when recorded;
        a draw that settled early repeats its settled state.
    """

    concepts: tuple[str, ...]
    final: F
    steps: NDArray[np.int64]
    converged: NDArray[np.bool_]
    period: NDArray[np.int64]
    change: F
    tolerance: float
    max_steps: int
    trajectory: F | None = None

    @property
    def draws(self) -> int:
        return int(self.final.shape[0])

    def value(self, concept: str, draw: int = 0) -> float:
        return float(self.final[draw, self.concepts.index(concept)])

    def note(self, draw: int = 0) -> str | None:
        """Plain words when draw ``draw`` did not settle (None when it did)."""
        if self.converged[draw]:
            return None
        p = int(self.period[draw])
        if p >= 2:
            return (
                f"the causal map oscillates with period {p} instead of settling: its values"
                f" after {self.max_steps} steps are one phase of the cycle, not a settled state"
            )
        return (
            f"the causal map did not settle within {self.max_steps} steps (the last step still"
            f" moved a concept by {float(self.change[draw]):.2g} > tolerance"
            f" {self.tolerance:g}); its values are those of the last step"
        )

    def summary_note(self) -> str | None:
        """One line about the draws that did not settle (None when all did)."""
        bad = ~self.converged
        if not bad.any():
            return None
        if self.draws == 1:
            return self.note(0)
        cycling = int((self.period[bad] >= 2).sum())
        return (
            f"the causal map did not settle within {self.max_steps} steps in {int(bad.sum())}"
            f" of {self.draws} draws ({cycling} of them oscillating); their values are those"
            " of the last step"
        )

    def to_dict(self, draw: int = 0) -> dict[str, Any]:
        """Draw ``draw`` as JSON-ready data (with its trajectory when recorded)."""
        out: dict[str, Any] = {
            "values": {c: float(v) for c, v in zip(self.concepts, self.final[draw], strict=True)},
            "steps": int(self.steps[draw]),
            "settled": bool(self.converged[draw]),
            "period": int(self.period[draw]),
            "note": self.note(draw),
        }
        if self.trajectory is not None:
            last = int(self.steps[draw])
            out["trajectory"] = [
                [float(v) for v in row] for row in self.trajectory[: last + 1, draw]
            ]
        return out


def simulate(
    weights: F,
    initial: F | Sequence[float],
    *,
    clamped: NDArray[np.bool_] | Sequence[bool] | None = None,
    inference: str = "kosko",
    transfer_function: str = "sigmoid",
    lam: float = 1.0,
    tolerance: float = 0.001,
    max_steps: int = 50,
    concepts: Sequence[str] | None = None,
    record: bool = False,
) -> Settlement:
    """Run a fuzzy cognitive map until it settles, for one or many draws at once.

    Parameters
    ----------
    weights
        ``[C, C]`` (rows cause, columns effect) or ``[R, C, C]``, one matrix per draw.
    initial
        Starting state ``[C]`` or ``[R, C]``.
    clamped
        ``[C]``: concepts held at their starting value. Default: those no edge points to
        (a zero column of every draw's weights), as FCMpy does.
    inference, transfer_function, lam
        The update rule, transfer function and its steepness (see the module docstring).
    tolerance, max_steps
        Settled when no concept moves more than ``tolerance`` in a step; at most
        ``max_steps`` steps.
    concepts
        Concept labels (default ``c0, c1, ...``).
    record
        Keep the whole trajectory (``[steps + 1, R, C]``).

    Returns
    -------
    Settlement

    Examples
    --------
    >>> w = np.array([[0.0, 0.8], [0.0, 0.0]])
    >>> s = simulate(w, [1.0, 0.5], concepts=["lever", "effect"])
    >>> round(s.value("effect"), 4), int(s.steps[0]), bool(s.converged[0])
    (0.69, 2, True)
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim not in (2, 3) or w.shape[-1] != w.shape[-2]:
        raise ValueError(f"weights must be [C, C] or [R, C, C], got shape {w.shape}")
    c = w.shape[-1]
    x0 = np.asarray(initial, dtype=np.float64)
    r = w.shape[0] if w.ndim == 3 else (x0.shape[0] if x0.ndim == 2 else 1)
    state = np.broadcast_to(x0, (r, c)).copy()
    if w.ndim == 3 and w.shape[0] != r:
        raise ValueError(f"{w.shape[0]} weight matrices for {r} starting states")
    if clamped is None:
        held = ~np.any(w.reshape(-1, c, c) != 0.0, axis=(0, 1))
    else:
        held = np.asarray(clamped, dtype=bool)
    if held.shape != (c,):
        raise ValueError(f"clamped must have one flag per concept ({c}), got shape {held.shape}")
    labels = tuple(concepts) if concepts is not None else tuple(f"c{i}" for i in range(c))
    fixed = state[:, held].copy()
    steps = np.full(r, max_steps, dtype=np.int64)
    converged = np.zeros(r, dtype=bool)
    change = np.zeros(r)
    active = np.ones(r, dtype=bool)
    window: deque[F] = deque([state.copy()], maxlen=MAX_PERIOD + 1)
    path = [state.copy()] if record else []
    for step in range(1, max_steps + 1):
        new = transfer(transfer_function, infer(inference, w, state), lam)
        new[:, held] = fixed
        moved = np.max(np.abs(new - state), axis=1) if c else np.zeros(r)
        change = np.where(active, moved, change)
        state = np.where(active[:, None], new, state)
        done = active & (moved <= tolerance)
        steps[done] = step
        converged |= done
        active &= ~done
        window.append(state.copy())
        if record:
            path.append(state.copy())
        if not active.any():
            break
    period = _periods(window, ~converged, tolerance)
    return Settlement(
        concepts=labels,
        final=state,
        steps=steps,
        converged=converged,
        period=period,
        change=change,
        tolerance=tolerance,
        max_steps=max_steps,
        trajectory=np.stack(path) if record else None,
    )


def _periods(window: deque[F], open_: NDArray[np.bool_], tolerance: float) -> NDArray[np.int64]:
    """Per draw still moving, the smallest period ``p >= 2`` with which the last state repeats."""
    states = list(window)
    last = states[-1]
    period = np.zeros(last.shape[0], dtype=np.int64)
    todo = open_.copy()
    for p in range(2, len(states)):
        if not todo.any():
            break
        back = states[-1 - p]
        gap = np.max(np.abs(last - back), axis=1) if last.shape[1] else np.zeros(len(last))
        hit = todo & (gap <= tolerance)
        period[hit] = p
        todo &= ~hit
    return period
