"""KTAB's intermediate tables of one SMP state, for checking detente against ``smpc --``.

``smpc`` run without ``--logmin`` stores every utility, vote and estimate of a turn in its
database (``PosUtil``, ``PosProb``, ``PosVote``, ``ProbVict``, ``UtilChlg``,
``TPProbVictLoss``, ``BargnUtil``, ``BargnVote``; see ``kmodelsql.cpp``, ``smpsql.cpp``).
:func:`ktab_tables` recomputes them from a state with the kernel's functions, keyed as KTAB
keys them, so a test can compare the two by key. Several tables have ``n⁴`` entries per turn
(KTAB computes them only for logging): use this on small scenarios only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from detente.models import smp_kernel as K

F = NDArray[np.float64]


@dataclass(frozen=True)
class Tables:
    """Arrays indexed like KTAB's keys (actor indices from 0).

    ``pos_util[h, i, j]``: ``u^h_ij`` (``PosUtil``). ``pos_prob[h, i]``: probability of actor
    ``i``'s position in an election over the unique positions with ``h``'s estimates of every
    voter's utilities (``PosProb``). ``pos_vote[h, k, i, j]``: voter ``k``'s proportional vote
    on ``i`` against ``j`` by ``h``'s estimate (``PosVote``, KTAB logs ``h ∈ {i, j}``).
    ``prob_vict[h, i, j]``: ``h``'s estimate that ``i`` beats ``j`` (``ProbVict``).
    ``util_chlg[h, k, i, j, :]``: ``(SQ, Vict, Cntst, Chlg)`` utilities to ``k``
    (``UtilChlg``). ``tp[h, i, m, j, :]``: third party ``m``'s ``(Prob, Util_V, Util_L)``, 0 for
    the principals (``TPProbVictLoss``). ``pos_equiv[i]``: first actor within the position
    tolerance of ``i`` (``PosEquiv``).
    """

    pos_util: F
    pos_prob: F
    pos_vote: F
    prob_vict: F
    util_chlg: F
    tp: F
    pos_equiv: NDArray[np.intp]


def ktab_tables(inputs: K.Inputs, cfg: K.Config, x: F, y: F | None = None) -> Tables:
    """KTAB's tables of the state with positions ``x[n, D]`` and ideals ``y`` (0–1 scale).

    Examples
    --------
    >>> inp = K.Inputs(np.array([1.0, 2.0, 3.0]), np.full((3, 1), 0.5),
    ...                np.array([[0.1], [0.5], [0.9]]))
    >>> t = ktab_tables(inp, K.Config(), inp.position)
    >>> t.pos_util.shape, t.util_chlg.shape
    ((3, 3, 3), (3, 3, 3, 3, 4))
    """
    y = x if y is None else y
    state = K.setup(inputs, cfg, x[None], y[None])
    n = x.shape[0]
    idx = np.arange(n)
    om, dm, rr = state.om[0], state.dm[0], state.rr[0]
    # u[h, a, b] = u^h_ab
    u = om[None] * (1.0 + rr[:, :, None] * dm[None])
    cap = inputs.capability
    sal_tot = np.sum(inputs.salience, axis=-1)
    w = sal_tot * cap

    # PosProb: an election over unique positions per estimator, KTAB's posProb lookup
    rep, group, _ = K.unique_positions(x[None], compat=True)
    reps = np.flatnonzero(rep[0])
    pos_prob = np.empty((n, n))
    for h in range(n):
        p, _, _ = K.election(cfg, cap, u[h][:, reps])
        full = np.zeros(n)
        full[reps] = p
        pos_prob[h] = full[group[0]]

    # PosVote: KTAB's actors keep the proportional rule of their constructor here
    du = u[:, :, :, None] - u[:, :, None, :]  # [h, k, i, j]
    pos_vote = K.vote(K.VR_PROP, cap[None, :, None, None], du)

    # challenges of every (h, i, j) with third parties m: [h, i, j, m]
    hh = idx[:, None, None, None]
    ii = idx[None, :, None, None]
    jj = idx[None, None, :, None]
    mm = idx[None, None, None, :]
    uii, uij = u[hh, ii, ii][..., 0], u[hh, ii, jj][..., 0]
    uji, ujj = u[hh, jj, ii][..., 0], u[hh, jj, jj][..., 0]
    a, b = K.principals(cfg.voting, w[None, :, None], uii, uij, w[None, None, :], uji, ujj)
    umi, umj, umm = u[hh, mm, ii], u[hh, mm, jj], u[hh, mm, mm]
    v, pin, u1, u3 = K.third_party_votes(
        cfg.voting, cfg.third_party, a[..., None], b[..., None], w, umi, umj, umm
    )
    third = (mm != ii) & (mm != jj)
    v = np.where(third, v, 0.0)
    at = a + np.fmax(v, 0.0).sum(axis=-1)
    bt = b + np.fmax(-v, 0.0).sum(axis=-1)
    p_ij, p_ji = at / (at + bt), bt / (at + bt)
    tp = np.stack(
        [np.where(third, pin, 0.0), np.where(third, u1, 0.0), np.where(third, u3, 0.0)], -1
    )
    tp = np.transpose(tp, (0, 1, 3, 2, 4))  # [h, i, m, j, 3]

    # UtilChlg[h, k, i, j]
    uki = u[:, :, :, None]  # [h, k, i, 1] = u^h_ki
    ukj = u[:, :, None, :]  # [h, k, 1, j]
    _, eu_sq, eu_vict, eu_cntst, eu_chlg = K.gains(
        p_ij[:, None], p_ji[:, None], sal_tot[None, None, None, :], uki, ukj
    )
    shape = (n, n, n, n)
    util_chlg = np.stack(
        [np.broadcast_to(e, shape) for e in (eu_sq, eu_vict, eu_cntst, eu_chlg)], -1
    )

    diff = x[:, None, :] - x[None, :, :]
    close = np.sqrt((diff * diff).sum(axis=-1)) < K.POSITION_TOL
    pos_equiv = np.argmax(close, axis=1).astype(np.intp)
    return Tables(
        pos_util=u,
        pos_prob=pos_prob,
        pos_vote=pos_vote,
        prob_vict=p_ij,
        util_chlg=util_chlg,
        tp=tp,
        pos_equiv=pos_equiv,
    )
