"""The arithmetic of one equal-gain exchange, shared by the exchange model's single run
(:mod:`detente.models.exchange`) and its NumPy batch (:mod:`detente.models.exchange_lockstep`),
so both compute the same operations in the same order (bit-identical numbers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.float64]
B = NDArray[np.bool_]

EPS = 1e-10
"""Shifts and gains at or below this (on 0–100 × salience) are no exchange (as the program)."""
TIE_RTOL = 1e-12
"""Two gains are tied when they differ by less than this fraction of the larger."""


class Shifts(NamedTuple):
    """Candidates' shifts: suppliers ``I`` (on ``q``) and ``J`` (on ``p``), the outcome
    changes ``dp``, ``dq``, ``I``'s gain, directions, whether a cut applied, and validity."""

    move_i: F
    move_j: F
    dp: F
    dq: F
    gain: F
    sign_i: F
    sign_j: F
    capped: B
    valid: B


def shifts(
    terms: Sequence[F],
    from_i: F,
    from_j: F,
    dir_i: F,
    dir_j: F,
    alive: B,
    outcome_qp: tuple[F, F] | None,
) -> Shifts:
    """The equal-gain exchange of each candidate (see :func:`detente.models.exchange._evaluate`).

    ``terms``: ``(ratio, w_iq, w_jp, tot_p, tot_q, s_ip, s_iq, target_i, target_j)`` per
    candidate; ``from_i``, ``from_j`` the suppliers' voting positions; ``dir_i``, ``dir_j`` the
    directions they have shifted in this round (0: none); ``outcome_qp`` the outcomes on ``q``
    and ``p`` (None: no cut, the shifts are upper bounds). The caller sets ``np.errstate``.
    """
    r, w_iq, w_jp, tot_p, tot_q, s_ip, s_iq, target_i, target_j = terms
    dist_i, dist_j = np.abs(target_j - from_i), np.abs(target_i - from_j)
    sign_i, sign_j = np.sign(target_j - from_i), np.sign(target_i - from_j)
    dp = w_jp * dist_j / tot_p
    dq = dp * r
    move_i = dq * tot_q / w_iq
    move_j = dist_j
    full_i = move_i > dist_i
    dq = np.where(full_i, w_iq * dist_i / tot_q, dq)
    dp = np.where(full_i, dq / r, dp)
    move_i = np.where(full_i, dist_i, move_i)
    move_j = np.where(full_i, dp * tot_p / w_jp, move_j)
    capped = np.zeros(np.shape(dp), dtype=bool)
    if outcome_qp is not None:
        # The outcome on q must not pass J's position (J demands q), then likewise on p.
        o_q, o_p = outcome_qp
        before, after = target_j - o_q, target_j - (o_q + sign_i * dq)
        cut_q = ((before > 0) & (after < 0)) | ((before < 0) & (after > 0))
        dq = np.where(cut_q, np.abs(before), dq)
        dp = np.where(cut_q, dq / r, dp)
        before, after = target_i - o_p, target_i - (o_p + sign_j * dp)
        cut_p = ((before > 0) & (after < 0)) | ((before < 0) & (after > 0))
        dp = np.where(cut_p, np.abs(before), dp)
        dq = np.where(cut_p, dp * r, dq)
        capped = cut_q | cut_p
        move_i = np.where(capped, dq * tot_q / w_iq, move_i)
        move_j = np.where(capped, dp * tot_p / w_jp, move_j)
    gain = dp * s_ip - dq * s_iq
    valid = (
        alive
        & (move_i > EPS)
        & (move_j > EPS)
        & (gain > EPS)
        # an actor never reverses the direction in which it has shifted this round
        & ((dir_i == 0) | (dir_i == sign_i))
        & ((dir_j == 0) | (dir_j == sign_j))
    )
    return Shifts(move_i, move_j, dp, dq, gain, sign_i, sign_j, capped, valid)
