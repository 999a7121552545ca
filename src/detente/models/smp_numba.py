"""Compiled turns of the SMP kernel (:mod:`detente.models.smp_kernel`), optional.

:func:`detente.models.smp_kernel.simulate` without ``record`` runs each turn's heavy part here
where :func:`detente.models.accel.choose` finds that it pays (compiling this module takes about
40 s of CPU, loading it from Numba's cache under a second):
a state's distances, risk election and utilities (:func:`setup_state`), a turn's challenges,
bargains and bargain elections up to the new positions (:func:`turn`), and the win
probabilities where replicates stop (:func:`win_probabilities`). The NumPy kernel does the same
work in some three hundred whole-batch passes per turn, and its Markov elections iterate until
the slowest election of the batch has settled; here each replicate runs alone in compiled code,
and large batches are split among threads (the compiled functions release the GIL).

The numbers are the NumPy kernel's bit for bit. Every product, quotient and sum is formed in
the same order: KTAB's ordered sums as loops, NumPy's ``sum`` over a last axis as NumPy's
pairwise summation (from 0.0, a plain loop below 8 terms, eight running sums up to 128, halves
beyond), ``argmax`` as the first maximum; padded options of an election add exact zeros, which
are skipped. What depends on the batch's layout stays in NumPy (``einsum`` of the new ideals,
the stopping rule) or is handed in (the width NumPy pads the final elections to).
``tests/models/test_smp_numba.py`` checks the equality for every parameter value. Replicates
are independent, so the threads change no number.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

from detente.models import smp_kernel as K
from detente.models.accel import jit
from detente.models.eu_numba import block_sum
from detente.models.smp_fused import pos as _pos
from detente.models.smp_fused import third_party_vote as _third_party_vote
from detente.models.smp_fused import vote as _vote

F = NDArray[np.float64]
B = NDArray[np.bool_]
I64 = NDArray[np.int64]

# the parameter codes, read as compile-time constants
_VP_LINEAR, _VP_SQUARE, _VP_QUARTIC, _VP_BINARY = (
    K.VP_LINEAR,
    K.VP_SQUARE,
    K.VP_QUARTIC,
    K.VP_BINARY,
)
_PCE_CONDITIONAL, _PCE_MARKOV_INCENTIVE = K.PCE_CONDITIONAL, K.PCE_MARKOV_INCENTIVE
_VR_BINARY, _VR_PROPBIN, _VR_ASYM = K.VR_BINARY, K.VR_PROPBIN, K.VR_ASYM
_RA_ONE_THIRD, _RA_HALF, _RA_TWO_THIRDS, _RA_FULL = (
    K.RA_ONE_THIRD,
    K.RA_HALF,
    K.RA_TWO_THIRDS,
    K.RA_FULL,
)
_RR_MIN, _RR_MID = K.RR_MIN, K.RR_MID
_TPC_SEMI = K.TPC_SEMI
_IVB_S2P2, _IVB_S2PMAX = K.IVB_S2P2, K.IVB_S2PMAX
_BM_INIT_ONLY, _BM_INIT_RCVR = K.BM_INIT_ONLY, K.BM_INIT_RCVR

# positions in the codes array (:func:`codes`)
C_VICTORY, C_PCE, C_VOTING, C_ADJUST, C_RANGE, C_THIRD, C_INTER, C_BARGAIN, C_COMPAT = range(9)
C_KTAB_BARGAINS, C_MAX_ITER = 9, 10


def codes(cfg: K.Config, max_iter: int) -> I64:
    """The parameters of ``cfg`` as the compiled functions read them, and the largest number of
    iterations of a Markov election."""
    return np.array(
        [
            cfg.victory,
            cfg.pce,
            cfg.voting,
            cfg.big_r_adjust,
            cfg.big_r_range,
            cfg.third_party,
            cfg.inter_vec,
            cfg.bargain,
            int(cfg.ktab_compat),
            int(cfg.ktab_bargains or cfg.ktab_compat),
            int(max_iter),
        ],
        dtype=np.int64,
    )


_BLOCK = 128
"""NumPy's pairwise summation adds up to this many terms with eight running sums."""

PARALLEL_MIN_REPLICATES = 128
"""Each thread gets at least this many replicates of a batch (smaller batches run on the
calling thread): a turn of 128 replicates is worth more than handing it to a thread, even on
a machine whose cores are busy with other work."""


# -- sums, votes, elections ------------------------------------------------------------------------


@jit(entry=True)
def _pairwise_sum(a: F, n: int, work: I64, vals: F) -> float:
    """``np.add.reduce(a[:n])`` in NumPy's order: from 0.0, and beyond 128 terms the sum of
    both halves (the first a multiple of 8 long). The recursion runs on explicit stacks
    (Numba's cache cannot hold recursive functions): ``work`` needs ``3 * 64`` slots and
    ``vals`` 64."""
    if n <= _BLOCK:
        return 0.0 + block_sum(a, 0, n)
    # work holds (start, length, visited) triples; vals the finished partial sums
    top, nv = 0, 0
    work[0], work[1], work[2] = 0, n, 0
    while top >= 0:
        s, m, seen = work[3 * top], work[3 * top + 1], work[3 * top + 2]
        top -= 1
        if m <= _BLOCK:
            vals[nv] = block_sum(a, s, m)
            nv += 1
        elif seen == 0:
            h = m // 2
            h -= h % 8
            top += 1
            work[3 * top], work[3 * top + 1], work[3 * top + 2] = s, m, 1
            top += 1
            work[3 * top], work[3 * top + 1], work[3 * top + 2] = s + h, m - h, 0
            top += 1
            work[3 * top], work[3 * top + 1], work[3 * top + 2] = s, h, 0
        else:
            nv -= 1
            vals[nv - 1] = vals[nv - 1] + vals[nv]
    return 0.0 + float(vals[0])


@jit(inline=True)
def _sum(a: F, n: int, work: I64, vals: F) -> float:
    """:func:`_pairwise_sum` with its common case (under 8 terms) inlined."""
    if n < 8:
        s = 0.0
        for i in range(n):
            s += a[i]
        return s
    return _pairwise_sum(a, n, work, vals)


@jit()
def _victory(model: int, c: F, pv: F, w: int) -> None:
    """``pv[:w, :w]`` = ``smp_kernel.victory_probabilities(c[:w, :w])``."""
    for a in range(w):
        pv[a, a] = 0.5
        for b in range(a):
            s1, s2 = c[a, b], c[b, a]
            if model == _VP_BINARY:
                thresh, min_x = 1.10, 1e-6
                r12 = s1 / (s1 + s2)
                p12 = (r12 * (thresh + 1.0) - 1.0) / (thresh - 1.0)
                if s1 >= thresh * s2:
                    x1, x2 = 1.0, min_x
                elif s2 >= thresh * s1:
                    x1, x2 = min_x, 1.0
                else:
                    x1, x2 = p12, 1 - p12
                total = x1 + x2
                pv[a, b] = x1 / total
                pv[b, a] = x2 / total
                continue
            if model == _VP_LINEAR:
                x1, x2 = s1, s2
            elif model == _VP_SQUARE:
                x1, x2 = s1 * s1, s2 * s2
            elif model == _VP_QUARTIC:
                x1, x2 = (s1 * s1) * (s1 * s1), (s2 * s2) * (s2 * s2)
            else:
                q1, q2 = (s1 * s1) * (s1 * s1), (s2 * s2) * (s2 * s2)
                x1, x2 = q1 * q1, q2 * q2
            pv[a, b] = x1 / (x1 + x2)
            pv[b, a] = x2 / (x2 + x1)


@jit(inline=True)
def _masked_sum(row: F, cnt: int, width: int, work: I64, vals: F) -> float:
    """``np.add.reduce`` of ``width`` terms of which only the first ``cnt`` (``row[:cnt]``) can
    be nonzero, none of them -0.0: adding an exact zero changes nothing, so the zeros are
    skipped, and only NumPy's grouping of the others is kept."""
    if width < 8:
        s = 0.0
        for j in range(cnt):
            s += row[j]
        return s
    if width > _BLOCK:
        for j in range(cnt, width):
            row[j] = 0.0
        return _pairwise_sum(row, width, work, vals)
    # eight running sums over the first width - width % 8 terms, then the rest one by one
    stop = width - width % 8
    r0, r1, r2, r3, r4, r5, r6, r7 = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    j = 0
    lim = min(cnt, stop)
    while j + 8 <= lim:
        r0 += row[j]
        r1 += row[j + 1]
        r2 += row[j + 2]
        r3 += row[j + 3]
        r4 += row[j + 4]
        r5 += row[j + 5]
        r6 += row[j + 6]
        r7 += row[j + 7]
        j += 8
    k = j
    while k < lim:
        lane = k - j
        if lane == 0:
            r0 += row[k]
        elif lane == 1:
            r1 += row[k]
        elif lane == 2:
            r2 += row[k]
        elif lane == 3:
            r3 += row[k]
        elif lane == 4:
            r4 += row[k]
        elif lane == 5:
            r5 += row[k]
        else:
            r6 += row[k]
        k += 1
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for t in range(stop, cnt):
        res += row[t]
    return res


# -- elections (smp_kernel.condorcet_probabilities) ----------------------------------------------


class Election(NamedTuple):
    """Scratch of one election over up to ``w`` options (:func:`_election`)."""

    c: F
    """Coalition strengths ``[w, w]`` (``smp_kernel.coalitions``)."""
    pv: F
    """Victory probabilities ``[w, w]``."""
    p: F
    """The options' probabilities ``[w]``: the result."""
    a: F
    """Markov iteration: each option's weight on itself ``[w]``."""
    m: F
    """Markov iteration: the transfers ``[w, w]``."""
    q: F
    """Markov iteration: the next iterate ``[w]``."""
    row: F
    """Terms of one sum ``[w]``."""
    col: F
    """Column sums ``[w]``."""
    work: I64
    """Stack of :func:`_pairwise_sum` (``3 * 64``)."""
    vals: F
    """Partial sums of :func:`_pairwise_sum` (64)."""


@jit()
def _election(w: int) -> Election:
    return Election(
        np.empty((w, w)),
        np.empty((w, w)),
        np.empty(w),
        np.empty(w),
        np.empty((w, w)),
        np.empty(w),
        np.empty(w),
        np.empty(w),
        np.empty(192, dtype=np.int64),
        np.empty(64),
    )


@jit()
def _markov(
    incentive_model: bool, el: Election, cnt: int, width: int, tol: float, max_iter: int
) -> bool:
    """A Markov election (``smp_kernel.condorcet_probabilities``) over ``width`` options of which
    the first ``cnt`` are valid, from ``el.c`` and ``el.pv`` into ``el.p[:width]``; False if it
    did not settle in ``max_iter`` steps.

    NumPy's arrays hold zeros at every invalid option (no -0.0: every term is a product of
    nonnegative numbers), which no product or sum here needs; the width only decides how
    NumPy groups its pairwise sums (:func:`_masked_sum`).
    """
    c, pv_in, p, a, m, q, row, col = el.c, el.pv, el.p, el.a, el.m, el.q, el.row, el.col
    work, vals = el.work, el.vals
    count = float(cnt)
    for i in range(width):
        p[i] = 1.0 / count if i < cnt else 0.0
    # the fixed parts of the iteration q = p·a + M p
    if incentive_model:
        # incentive X_ij = C_ij P_ij (+1e-10 on the diagonal); col[j] gets the column sums,
        # added top to bottom
        for j in range(cnt):
            s = 0.0
            for i in range(cnt):
                x = c[i, j] * pv_in[i, j]
                if i == j:
                    x += 1e-10
                s = x if i == 0 else s + x
            col[j] = s
        # a_i = sum_j P_ij X_ji / col_i; m_ij = P_ij X_ij / col_j
        for i in range(cnt):
            for j in range(cnt):
                x = c[j, i] * pv_in[j, i]
                y = c[i, j] * pv_in[i, j]
                if i == j:
                    x += 1e-10
                    y += 1e-10
                m[i, j] = pv_in[i, j] * (y / col[j])
                row[j] = pv_in[i, j] * (x / col[i])
            a[i] = _masked_sum(row, cnt, width, work, vals)
    else:
        for i in range(cnt):
            for j in range(cnt):
                row[j] = pv_in[i, j]
                m[i, j] = row[j] / count
            a[i] = _masked_sum(row, cnt, width, work, vals) / count
    small = width < 8
    for _ in range(max_iter):
        change = 0.0
        nan = False
        for i in range(cnt):
            if small:
                s = 0.0
                for j in range(cnt):
                    s += m[i, j] * p[j]
            else:
                for j in range(cnt):
                    row[j] = m[i, j] * p[j]
                s = _masked_sum(row, cnt, width, work, vals)
            q[i] = p[i] * a[i] + s
            d = abs(q[i] - p[i])
            if math.isnan(d):
                nan = True
            elif d > change:
                change = d
        for i in range(cnt):
            p[i] = (p[i] + q[i]) / 2.0
        # KTAB loops while tol < change; a NaN change ends the loop too
        if nan or not change > tol:
            return True
    return False


@jit()
def _conditional(pv: F, cnt: int, width: int, p: F) -> None:
    """Conditional PCE: ``p_a ∝ Π_b P_ab`` over the first ``cnt`` options, in KTAB's order
    (NumPy multiplies by 1.0 and adds 0.0 for invalid ones: no change)."""
    for a in range(cnt):
        prod = pv[a, 0]
        for b in range(1, cnt):
            prod = prod * pv[a, b]
        p[a] = prod
    total = p[0]
    for a in range(1, cnt):
        total = total + p[a]
    for a in range(cnt):
        p[a] = p[a] / total
    for a in range(cnt, width):
        p[a] = 0.0


@jit()
def _elect(el: Election, cnt: int, width: int, victory: int, pce: int, max_iter: int) -> bool:
    """The election over ``cnt`` options (padded to ``width``) whose coalition strengths are in
    ``el.c``: victory probabilities (model ``victory``), then the PCE (``pce``), into ``el.p``;
    False if a Markov election did not settle in ``max_iter`` steps."""
    _victory(victory, el.c, el.pv, cnt)
    if pce == _PCE_CONDITIONAL:
        _conditional(el.pv, cnt, width, el.p)
        return True
    incentive = pce == _PCE_MARKOV_INCENTIVE
    return _markov(incentive, el, cnt, width, 1e-8 if incentive else 1e-6, max_iter)


@jit()
def _coalitions(rule: int, cap: F, u: F, opts: I64, cnt: int, c: F) -> None:
    """``c[:cnt, :cnt]``: the strengths of the coalitions for and against the positions
    ``opts[:cnt]`` when voters ``m`` value position ``o`` at ``u[m, o]``."""
    n = cap.shape[0]
    for a in range(cnt):
        c[a, a] = 1e-8
        for b in range(cnt):
            if a == b:
                continue
            oa, ob = opts[a], opts[b]
            s = 1e-8
            if rule == _VR_ASYM and a < b:
                for m in range(n):
                    s += _pos(-_vote(rule, cap[m], u[m, ob] - u[m, oa]))
            else:
                for m in range(n):
                    s += _pos(_vote(rule, cap[m], u[m, oa] - u[m, ob]))
            c[a, b] = s


@jit(entry=True)
def _markov_batch(
    incentive_model: bool, c: F, pv: F, count: I64, tol: float, max_iter: int, out: F
) -> bool:
    e_n, n = out.shape
    el = _election(n)
    ok = True
    c_el, pv_el, p_el = el.c, el.pv, el.p
    for e in range(e_n):
        c_el[:, :] = c[e]
        pv_el[:, :] = pv[e]
        if not _markov(incentive_model, el, count[e], n, tol, max_iter):
            ok = False
        out[e, :] = p_el
    return ok


def markov_pce(
    incentive_model: bool, c: F, p_vict: F, valid: B, tol: float, max_iter: int
) -> F | None:
    """Markov election probabilities ``p[..., a]`` as
    :func:`detente.models.smp_kernel.condorcet_probabilities` gives them, for ``valid`` masks
    that are a prefix of the options (every caller's); None if some election did not settle in
    ``max_iter`` iterations. Raises ValueError for other masks."""
    lead = c.shape[:-2]
    n = c.shape[-1]
    vv = np.broadcast_to(valid, (*lead, n)).reshape(-1, n)
    count = vv.sum(axis=-1)
    if not np.array_equal(vv, np.arange(n)[None, :] < count[:, None]):
        raise ValueError("valid options must come first")
    cc = np.ascontiguousarray(c, dtype=np.float64).reshape(-1, n, n)
    pp = np.ascontiguousarray(p_vict, dtype=np.float64).reshape(-1, n, n)
    out = np.empty((cc.shape[0], n))
    if not _markov_batch(
        incentive_model, cc, pp, count.astype(np.int64), float(tol), int(max_iter), out
    ):
        return None
    return out.reshape(*lead, n)


# -- one state (smp_kernel.setup) ------------------------------------------------------------------


@jit()
def _distances(sal: F, s2sum: F, x: F, y: F, d: F, om: F, dm: F) -> None:
    """``d[i, j]``: actor i's salience-weighted distance from its ideal ``y[i]`` to position
    ``x[j]``; ``om = 1 - d`` and ``dm = min(d, 1)``."""
    n, dim = x.shape
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(dim):
                ds = (y[i, k] - x[j, k]) * sal[i, k]
                s = ds * ds if k == 0 else s + ds * ds
            dd = math.sqrt(s / s2sum[i])
            d[i, j] = dd
            om[i, j] = 1.0 - dd
            dm[i, j] = 1.0 if dd > 1.0 else dd


@jit()
def _adjusted(adjust: int, rh: float, ri: float) -> float:
    """The risk attitude actor h ascribes to actor i (``big_r_adjust``)."""
    if adjust == _RA_FULL:
        return ri + 0.0 * rh
    if adjust == _RA_TWO_THIRDS:
        return (rh + (2.0 * ri)) / 3.0
    if adjust == _RA_HALF:
        return (rh + ri) / 2
    if adjust == _RA_ONE_THIRD:
        return ((2.0 * rh) + ri) / 3.0
    return rh + 0.0 * ri


@jit()
def _risk_attitudes(codes: I64, p: F, risk: F, rr: F) -> bool:
    """Risk attitudes ``risk[i]`` from the risk election's probabilities ``p`` and as each actor
    sees the others, ``rr[h, i]``; returns whether the probabilities are flat."""
    n = risk.shape[0]
    pmin, pmax = p[0], p[0]
    for i in range(1, n):
        if math.isnan(p[i]) or math.isnan(pmin):
            pmin = math.nan
        elif p[i] < pmin:
            pmin = p[i]
        if math.isnan(p[i]) or math.isnan(pmax):
            pmax = math.nan
        elif p[i] > pmax:
            pmax = p[i]
    spread = pmax - pmin
    compat = codes[C_COMPAT] != 0
    flat = bool(spread <= (0.0 if compat else 1e-12))
    rng = codes[C_RANGE]
    for i in range(n):
        if rng == _RR_MID:
            r = (3 * p[i] - (pmax + 2 * pmin)) / (2 * spread)
        elif rng == _RR_MIN:
            r = (p[i] - pmin) / spread
        else:
            r = (2 * p[i] - (pmax + pmin)) / spread
        risk[i] = 0.0 if (flat and not compat) else r
    adjust = codes[C_ADJUST]
    for h in range(n):
        for i in range(n):
            rr[h, i] = _adjusted(adjust, risk[h], risk[i])
    return flat


@jit(entry=True)
def _setup_block(
    lo: int,
    hi: int,
    codes: I64,
    inp: tuple[F, F, F, F, F],
    out: tuple[F, F, F, F, F, F],
    flat: B,
    ok: B,
) -> None:
    """Replicates ``lo..hi-1``: the state from ``inp = (cap, sal, s2sum, x, y)`` into ``out =
    (d, om, dm, risk, rr, uown)``, whether its risk election is flat, and whether it settled."""
    cap, sal, s2sum, x, y = inp
    d, om, dm, risk, rr, uown = out
    n = x.shape[1]
    el = _election(n)
    c, p = el.c, el.p
    ident = np.arange(n)
    vr, victory, pce, max_iter = codes[C_VOTING], codes[C_VICTORY], codes[C_PCE], codes[C_MAX_ITER]
    for r in range(lo, hi):
        _distances(sal[r], s2sum[r], x[r], y[r], d[r], om[r], dm[r])
        # the risk election: every actor's position is an option, utilities 1 - d
        _coalitions(vr, cap[r], om[r], ident, n, c)
        ok[r] = _elect(el, n, n, victory, pce, max_iter)
        flat[r] = _risk_attitudes(codes, p, risk[r], rr[r])
        for i in range(n):
            for j in range(n):
                uown[r, i, j] = om[r, i, j] * (1.0 + rr[r, i, i] * dm[r, i, j])


# -- one turn (smp_kernel.challenges, make_bargains, choose_bargains) -----------------------------
#
# A replicate's turn is five steps (challenges, the targets' estimates, bargains, their values,
# the elections) over the bundles below. The steps are inlined into :func:`_turn_block`, their
# only caller: Numba counts references to every array a compiled call receives, each member of
# a bundle included, and five calls per replicate cost up to a tenth of a small turn. For the
# same reason the loops over pairs and voters call only helpers of scalars.


class Actors(NamedTuple):
    """One replicate's actors, as a turn reads them."""

    cap: F
    """Capabilities ``[n]``."""
    sal: F
    """Saliences ``[n, D]``."""
    s2sum: F
    """``smp_kernel.salience_norm`` of the saliences ``[n]``."""
    sal_tot: F
    """Total saliences ``[n]``."""
    w: F
    """``sal_tot * cap`` ``[n]``: the weight of each actor's vote in a challenge."""


class State(NamedTuple):
    """One replicate's state (``smp_kernel.State``), as a turn reads it."""

    x: F
    """Positions ``[n, D]``."""
    y: F
    """Ideals ``[n, D]``."""
    om: F
    """``1 - d`` ``[n, n]``."""
    dm: F
    """``min(d, 1)`` ``[n, n]``."""
    rr: F
    """Risk attitudes as each actor sees the others ``[n, n]``."""
    uown: F
    """Each actor's utility of each position, by its own risk attitude ``[n, n]``."""
    risk: F
    """Risk attitudes ``[n]``."""


class Contests(NamedTuple):
    """Scratch of one replicate's challenges."""

    target: I64
    """Each initiator's target ``[n]`` (-1: none)."""
    p_init: F
    """Its probability of winning, as the initiator estimates it ``[n]``."""
    p_rcvr: F
    """The same contest as the target estimates it ``[n]`` (a gain with KTAB's bargains)."""


class Bargains(NamedTuple):
    """Scratch of one replicate's bargains, in slots ``s = initiator * versions + version``,
    and of the elections among them."""

    pos_i: F
    """The initiator's position after each bargain ``[n_s, D]``."""
    pos_j: F
    """The receiver's position after each bargain ``[n_s, D]``."""
    ok_slot: B
    """Whether each slot holds a bargain ``[n_s]``."""
    recv: I64
    """Each slot's receiver ``[n_s]``."""
    u_brgn: F
    """Every voter's value of the state after each bargain ``[n_s, n]``."""
    u_sq: F
    """Every voter's value of the status quo ``[n]``."""
    opts: I64
    """One actor's options: -1 for its status quo, else a slot ``[n_s + 1]``."""


@jit()
def _contests(n: int) -> Contests:
    return Contests(np.empty(n, dtype=np.int64), np.empty(n), np.empty(n))


@jit()
def _bargains(n: int, dim: int, n_s: int) -> Bargains:
    return Bargains(
        np.empty((n_s, dim)),
        np.empty((n_s, dim)),
        np.empty(n_s, dtype=np.bool_),
        np.empty(n_s, dtype=np.int64),
        np.empty((n_s, n)),
        np.empty(n),
        np.empty(n_s + 1, dtype=np.int64),
    )


@jit()
def _gain(p: float, pji: float, sj: float, uki: float, ukj: float) -> float:
    """``smp_kernel.gains(...)[0]``."""
    eu_sq = uki + ukj
    eu_vict = uki + uki
    eu_cntst = p * eu_vict + pji * (ukj + ukj)
    eu_chlg = (1 - sj) * eu_vict + sj * eu_cntst
    return eu_chlg - eu_sq


@jit(inline=True)
def _sides(vr: int, wi: float, wj: float, dui: float, duj: float) -> tuple[float, float]:
    """The strengths of the two sides of a challenge without third parties: the challenger
    votes by ``dui``, the target by ``duj``."""
    ci = _vote(vr, wi, dui)
    cj = _vote(vr, wj, duj)
    a = (1e-10 + _pos(ci)) + _pos(cj)
    b = (1e-10 + _pos(-ci)) + _pos(-cj)
    return a, b


@jit(inline=True)
def _challenges(codes: I64, act: Actors, st: State, con: Contests) -> None:
    """Each initiator's best target by its own estimates, into ``con.target`` (-1: none) and
    ``con.p_init`` (its chance, as it estimates it); the third parties in KTAB's order."""
    om, dm, rr, uown, w, sal_tot = st.om, st.dm, st.rr, st.uown, act.w, act.sal_tot
    target, p_init = con.target, con.p_init
    n = om.shape[0]
    vr = codes[C_VOTING]
    semi = codes[C_THIRD] == _TPC_SEMI
    ramp = vr in (_VR_BINARY, _VR_PROPBIN)
    for i in range(n):
        uii = uown[i, i]
        best, arg = -math.inf, 0
        pbest = 0.0
        for j in range(n):
            if j == i:
                continue
            uij = uown[i, j]
            ucross = om[j, i] * (1.0 + rr[i, j] * dm[j, i])  # u^i_{j,i}
            uself = om[j, j] * (1.0 + rr[i, j] * dm[j, j])  # u^i_{j,j}
            a, b = _sides(vr, w[i], w[j], uii - uij, ucross - uself)
            at, bt = a, b
            if semi:
                # KTAB's order: the principals' strengths, then each third party by index
                for m in range(n):
                    if m == i or m == j:  # noqa: SIM109 (plain compiled comparisons)
                        continue
                    umj = om[m, j] * (1.0 + rr[i, m] * dm[m, j])
                    umi = om[m, i] * (1.0 + rr[i, m] * dm[m, i])
                    umm = om[m, m] * (1.0 + rr[i, m] * dm[m, m])
                    v = _third_party_vote(ramp, vr, w[m], a, b, umi, umj, umm)
                    at += _pos(v)
                    bt += _pos(-v)
            pij, pji = at / (at + bt), bt / (at + bt)
            g = _gain(pij, pji, sal_tot[j], uii, uij)
            if g > 1e-5 and g > best:
                best, arg, pbest = g, j, pij
        has = math.isfinite(best)
        target[i] = arg if has else -1
        p_init[i] = pbest


@jit(inline=True)
def _receiver_estimates(codes: I64, act: Actors, st: State, con: Contests) -> None:
    """Each challenge as its target estimates it, into ``con.p_rcvr``: the initiator's chance,
    or with KTAB's bargains the gain the target ascribes to it."""
    om, dm, rr, w, sal_tot = st.om, st.dm, st.rr, act.w, act.sal_tot
    target, p_rcvr = con.target, con.p_rcvr
    n = om.shape[0]
    vr = codes[C_VOTING]
    semi = codes[C_THIRD] == _TPC_SEMI
    for i in range(n):
        t = target[i]
        if t < 0:
            continue
        uii_t = om[i, i] * (1.0 + rr[t, i] * dm[i, i])
        uij_t = om[i, t] * (1.0 + rr[t, i] * dm[i, t])
        uji_t = om[t, i] * (1.0 + rr[t, t] * dm[t, i])
        ujj_t = om[t, t] * (1.0 + rr[t, t] * dm[t, t])
        a_t, b_t = _sides(vr, w[i], w[t], uii_t - uij_t, uji_t - ujj_t)
        at, bt = a_t, b_t
        if semi:
            for m in range(n):
                if m == i or m == t:  # noqa: SIM109
                    continue
                umi = om[m, i] * (1.0 + rr[t, m] * dm[m, i])
                umj = om[m, t] * (1.0 + rr[t, m] * dm[m, t])
                umm = om[m, m] * (1.0 + rr[t, m] * dm[m, m])
                # the target estimates with the votes in KTAB's form, whatever the rule
                v = _third_party_vote(True, vr, w[m], a_t, b_t, umi, umj, umm)
                at += _pos(v)
                bt += _pos(-v)
        p_t, pji_t = at / (at + bt), bt / (at + bt)
        if codes[C_KTAB_BARGAINS] != 0:
            p_rcvr[i] = _gain(p_t, pji_t, sal_tot[t], uii_t, uij_t)
        else:
            p_rcvr[i] = p_t


@jit()
def _round4(x: float) -> float:
    return float(np.trunc(0.5 + x * 10000.0)) / 10000.0


@jit()
def _interpolate(
    ivb: int, ti: float, si: float, pi: float, tj: float, sj: float, pj: float
) -> tuple[float, float]:
    """``smp_kernel.interpolate`` on one coordinate."""
    if ivb == _IVB_S2PMAX:
        di = pj - pi if pj > pi else 0.0
        dj = pi - pj if pi > pj else 0.0
        si2, sj2 = si * si, sj * sj
        dik = (di * sj2) / ((di * sj2) + 1e-6 + ((1 - di) * si2))
        djk = (dj * si2) / ((dj * si2) + 1e-6 + ((1 - dj) * sj2))
        return ti + dik * (tj - ti), tj + djk * (ti - tj)
    if ivb == _IVB_S2P2:
        wi, wj = (si * si) * (pi * pi), (sj * sj) * (pj * pj)
    else:
        wi, wj = si * pi, sj * pj
    den = wi + 1e-6 + wj
    bi = _round4(((wi + 1e-6) * ti + wj * tj) / den)
    bj = _round4((wi * ti + (1e-6 + wj) * tj) / den)
    return bi, bj


@jit(inline=True)
def _bargain_positions(codes: I64, act: Actors, x: F, con: Contests, bar: Bargains) -> None:
    """Every initiator's bargain(s) with its target: in their slots, the positions of both
    sides (``bar.pos_i``, ``bar.pos_j``), whether the slot holds one, and its receiver."""
    sal, cap, sal_tot = act.sal, act.cap, act.sal_tot
    ivb, bargain, ktab = codes[C_INTER], codes[C_BARGAIN], codes[C_KTAB_BARGAINS] != 0
    pos_i, pos_j, ok_slot, recv = bar.pos_i, bar.pos_j, bar.ok_slot, bar.recv
    target, p_init, p_rcvr = con.target, con.p_init, con.p_rcvr
    n, dim = x.shape
    versions = ok_slot.shape[0] // n
    for i in range(n):
        t = target[i]
        for v in range(versions):
            ok_slot[i * versions + v] = t >= 0
            recv[i * versions + v] = t
        if t < 0:
            continue
        pp = p_init[i]
        if bargain == _BM_INIT_ONLY:
            for k in range(dim):
                bi, bj = _interpolate(ivb, x[i, k], sal[i, k], pp, x[t, k], sal[t, k], 1 - pp)
                pos_i[i, k], pos_j[i, k] = bi, bj
            continue
        pr = p_rcvr[i]
        wi = cap[i] * sal_tot[i]
        wj = (cap[i] if ktab else cap[t]) * sal_tot[t]
        for k in range(dim):
            bi, bj = _interpolate(ivb, x[i, k], sal[i, k], pp, x[t, k], sal[t, k], 1 - pp)
            ri, rj = _interpolate(ivb, x[i, k], sal[i, k], pr, x[t, k], sal[t, k], 1 - pr)
            if bargain == _BM_INIT_RCVR:
                pos_i[2 * i, k], pos_j[2 * i, k] = bi, bj
                pos_i[2 * i + 1, k], pos_j[2 * i + 1, k] = ri, rj
            else:
                pos_i[i, k] = (wi * bi + wj * ri) / (wi + wj)
                pos_j[i, k] = (wi * bj + wj * rj) / (wi + wj)


@jit(inline=True)
def _bargain_values(act: Actors, st: State, bar: Bargains) -> None:
    """Every voter m's value of the status quo (``bar.u_sq``) and of the state after each
    bargain (``bar.u_brgn``): the average of its utilities of every actor's position, with the
    bargain's initiator and receiver moved."""
    sal, s2sum, y, risk, uown = act.sal, act.s2sum, st.y, st.risk, st.uown
    ok_slot, recv, pos_i, pos_j, u_sq, u_brgn = (
        bar.ok_slot,
        bar.recv,
        bar.pos_i,
        bar.pos_j,
        bar.u_sq,
        bar.u_brgn,
    )
    n, dim = y.shape
    n_s = ok_slot.shape[0]
    versions = n_s // n
    for m in range(n):
        sq_sum = 0.0
        for j in range(n):
            sq_sum = uown[m, j] if j == 0 else sq_sum + uown[m, j]
        u_sq[m] = sq_sum / n
    for s in range(n_s):
        if not ok_slot[s]:
            continue
        ini, rec = s // versions, recv[s]
        for m in range(n):
            rm = risk[m]
            upair = 0.0
            for side in range(2):
                acc = 0.0
                for k in range(dim):
                    pk = pos_i[s, k] if side == 0 else pos_j[s, k]
                    ds = (y[m, k] - pk) * sal[m, k]
                    acc = ds * ds if k == 0 else acc + ds * ds
                dd = math.sqrt(acc / s2sum[m])
                u = (1.0 - dd) * (1.0 + rm * (1.0 if dd > 1.0 else dd))
                upair = u if side == 0 else upair + u
            tot = 0.0
            for k in range(n):
                term = 0.0 if (k == ini or k == rec) else uown[m, k]  # noqa: SIM109
                if k == 0:
                    term = term + upair
                tot += term
            u_brgn[s, m] = tot / n


@jit()
def _padded(cnt: int) -> int:
    """The width NumPy pads an election of ``cnt`` options to: the next power of two."""
    width = 1
    while width < cnt:
        width *= 2
    return width


@jit(inline=True)
def _taken(p: F, cnt: int, stochastic: bool, draw: float) -> int:
    """The option taken: by the draw on the cumulated probabilities, or the first of the most
    likely (a NaN first)."""
    if stochastic:
        cum = 0.0
        for o in range(cnt):
            cum = p[o] if o == 0 else cum + p[o]
            if draw <= cum:
                return o
        return cnt - 1
    chosen = 0
    bestp = -math.inf
    for o in range(cnt):
        ap = abs(p[o])
        if math.isnan(ap):
            return o
        if ap > bestp:
            bestp, chosen = ap, o
    return chosen


@jit(inline=True)
def _elections(
    codes: I64,
    act: Actors,
    st: State,
    draws: F,
    stochastic: bool,
    x_new: F,
    bar: Bargains,
    el: Election,
) -> bool:
    """Each actor's election over its status quo and the bargains it made or received, in
    initiator order with its status quo before its own (``smp_kernel.option_lists``), and the
    position it takes into ``x_new``; False if an election did not settle."""
    x, cap, opts, c, p = st.x, act.cap, bar.opts, el.c, el.p
    ok_slot, recv, pos_i, pos_j, u_sq, u_brgn = (
        bar.ok_slot,
        bar.recv,
        bar.pos_i,
        bar.pos_j,
        bar.u_sq,
        bar.u_brgn,
    )
    n, dim = x.shape
    n_s = ok_slot.shape[0]
    versions = n_s // n
    vr, victory, pce, max_iter = codes[C_VOTING], codes[C_VICTORY], codes[C_PCE], codes[C_MAX_ITER]
    for k in range(n):
        # the options, -1 the status quo, else a slot (cnt starts as a typed zero: Numba would
        # compile _elect once more for a literal 0)
        cnt = int(np.int64(0))
        for s in range(n_s):
            if s == k * versions:
                opts[cnt] = -1
                cnt += 1
            if ok_slot[s] and (s // versions == k or recv[s] == k):
                opts[cnt] = s
                cnt += 1
        for a in range(cnt):
            c[a, a] = 1e-8
            ra = opts[a]
            for b in range(a):
                rb = opts[b]
                cab, cba = 1e-8, 1e-8
                for m in range(n):
                    ua = u_sq[m] if ra < 0 else u_brgn[ra, m]
                    ub = u_sq[m] if rb < 0 else u_brgn[rb, m]
                    vv = _vote(vr, cap[m], ua - ub)
                    cab += _pos(vv)
                    cba += _pos(-vv)
                c[a, b], c[b, a] = cab, cba
        if cnt == 1:
            p[0] = 1.0
        elif not _elect(el, cnt, _padded(cnt), victory, pce, max_iter):
            return False
        slot = opts[_taken(p, cnt, stochastic, draws[k])]
        for d in range(dim):
            if slot < 0:
                x_new[k, d] = x[k, d]
            elif slot // versions == k:
                x_new[k, d] = pos_i[slot, d]
            else:
                x_new[k, d] = pos_j[slot, d]
    return True


@jit(entry=True)
def _turn_block(
    lo: int,
    hi: int,
    codes: I64,
    actors: tuple[F, F, F, F, F],
    state: tuple[F, F, F, F, F, F, F],
    draws: F,
    stochastic: bool,
    x_new: F,
    ok: B,
) -> None:
    """Replicates ``lo..hi-1``: one turn's new positions into ``x_new``, and whether every
    election settled into ``ok``. ``actors = (cap, sal, s2sum, sal_tot, w)``, ``state = (x, y,
    om, dm, rr, uown, risk)`` (see :class:`Actors`, :class:`State`)."""
    cap, sal, s2sum, sal_tot, w = actors
    x, y, om, dm, rr, uown, risk = state
    n, dim = x.shape[1:]
    n_s = n * (2 if codes[C_BARGAIN] == _BM_INIT_RCVR else 1)
    wmax = 1
    while wmax < n_s + 1:
        wmax *= 2
    con, bar, el = _contests(n), _bargains(n, dim, n_s), _election(wmax)
    for r in range(lo, hi):
        act = Actors(cap[r], sal[r], s2sum[r], sal_tot[r], w[r])
        st = State(x[r], y[r], om[r], dm[r], rr[r], uown[r], risk[r])
        _challenges(codes, act, st, con)
        if codes[C_BARGAIN] != _BM_INIT_ONLY:
            # the target's own estimates of the same contests
            _receiver_estimates(codes, act, st, con)
        _bargain_positions(codes, act, st.x, con, bar)
        _bargain_values(act, st, bar)
        ok[r] = _elections(codes, act, st, draws[r], stochastic, x_new[r], bar, el)


# -- win probabilities of the unique positions (smp_kernel.win_probabilities) ---------------------


@jit(entry=True)
def _unique_block(x: F, compat: bool, rep: B, group: I64, holder: I64) -> None:
    """``smp_kernel.unique_positions``: the sequential scan its fixed point equals."""
    r_n, n, dim = x.shape
    diff = np.empty(dim)
    close = np.empty((n, n), dtype=np.bool_)
    work = np.empty(192, dtype=np.int64)
    vals = np.empty(64)
    for r in range(r_n):
        xr = x[r]
        for i in range(n):
            for j in range(n):
                for k in range(dim):
                    dd = xr[i, k] - xr[j, k]
                    diff[k] = dd * dd
                close[i, j] = math.sqrt(_sum(diff, dim, work, vals)) < 1e-3
        for i in range(n):
            rep[r, i] = True
            for j in range(i):
                if rep[r, j] and close[i, j]:
                    rep[r, i] = False
                    break
        for i in range(n):
            first, last = -1, -1
            for j in range(n):
                if rep[r, j] and close[i, j]:
                    last = j
                    if first < 0:
                        first = j
            group[r, i] = last if compat else first
            holder[r, i] = last


@jit()
def _listed(rep: B, opts: I64) -> int:
    """The actors holding unique positions into ``opts``; returns their number."""
    cnt = 0
    for i in range(rep.shape[0]):
        if rep[i]:
            opts[cnt] = i
            cnt += 1
    return cnt


@jit(entry=True)
def _outcome_block(codes: I64, cap: F, uown: F, rep: B, width: int, p_out: F, ok: B) -> None:
    """Each replicate's election over its unique positions, padded to ``width`` options."""
    r_n, n, _ = uown.shape
    opts = np.empty(n, dtype=np.int64)
    el = _election(max(width, 1))
    c, p = el.c, el.p
    vr, victory, pce, max_iter = codes[C_VOTING], codes[C_VICTORY], codes[C_PCE], codes[C_MAX_ITER]
    for r in range(r_n):
        cnt = _listed(rep[r], opts)
        _coalitions(vr, cap[r], uown[r], opts, cnt, c)
        ok[r] = _elect(el, cnt, width, victory, pce, max_iter)
        for i in range(n):
            p_out[r, i] = 0.0
        for a in range(cnt):
            p_out[r, opts[a]] = p[a]


def win_probabilities(codes: I64, cap: F, x: F, uown: F) -> tuple[F, B, I64, F] | None:
    """``smp_kernel.win_probabilities`` (contiguous float64 inputs); None if a Markov election
    did not settle."""
    r_n, n, _ = x.shape
    rep = np.empty((r_n, n), dtype=np.bool_)
    group = np.empty((r_n, n), dtype=np.int64)
    holder = np.empty((r_n, n), dtype=np.int64)
    _unique_block(x, bool(codes[C_COMPAT]), rep, group, holder)
    # NumPy pads every replicate's election to the batch's largest
    width = int(rep.sum(axis=-1).max())
    p_out = np.empty((r_n, n))
    ok = np.empty(r_n, dtype=np.bool_)
    _outcome_block(codes, cap, uown, rep, width, p_out, ok)
    if not ok.all():
        return None
    p_actor = np.take_along_axis(p_out, holder, axis=-1)
    return p_actor, rep, group, p_out


# -- entry points ----------------------------------------------------------------------------------

_POOL: list[tuple[int, int, ThreadPoolExecutor]] = []
"""``(process id, workers, pool)`` of the worker threads (a forked child makes its own)."""


def _pool(workers: int) -> ThreadPoolExecutor:
    pid = os.getpid()
    if not _POOL or _POOL[0][0] != pid or _POOL[0][1] < workers:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="detente-smp")
        _POOL[:] = [(pid, workers, pool)]
    return _POOL[0][2]


def _run(block: Callable[..., None], r_n: int, *args: Any) -> None:
    """``block(lo, hi, *args)`` over all replicates: in parts on Numba's number of threads for
    large batches (the compiled blocks release the GIL), else on the calling thread. Every
    replicate is computed alone, so the split changes no number."""
    threads = min(numba.get_num_threads(), r_n // PARALLEL_MIN_REPLICATES)
    if threads < 2:
        block(0, r_n, *args)
        return
    cuts = [r_n * k // threads for k in range(threads + 1)]
    pool = _pool(threads - 1)
    futures = [pool.submit(block, cuts[k], cuts[k + 1], *args) for k in range(1, threads)]
    block(cuts[0], cuts[1], *args)
    for f in futures:
        f.result()


def setup_state(
    codes: I64, cap: F, sal: F, s2sum: F, x: F, y: F
) -> tuple[F, F, F, F, B, F, F] | None:
    """``(d, om, dm, risk, flat, rr, uown)`` of ``smp_kernel.setup`` for ``[R, n, D]`` positions
    and ideals (contiguous float64 inputs); None if a Markov election did not settle."""
    r_n, n, _ = x.shape
    d, om, dm = np.empty((r_n, n, n)), np.empty((r_n, n, n)), np.empty((r_n, n, n))
    rr, uown = np.empty((r_n, n, n)), np.empty((r_n, n, n))
    risk = np.empty((r_n, n))
    flat = np.empty(r_n, dtype=np.bool_)
    ok = np.empty(r_n, dtype=np.bool_)
    _run(_setup_block, r_n, codes, (cap, sal, s2sum, x, y), (d, om, dm, risk, rr, uown), flat, ok)
    if not ok.all():
        return None
    return d, om, dm, risk, flat, rr, uown


def turn(
    codes: I64,
    actors: tuple[F, F, F, F],
    state: tuple[F, F, F, F, F, F, F],
    draws: F | None,
) -> F | None:
    """New positions ``[R, n, D]`` after one turn (``challenges`` and ``choose_bargains`` of
    :mod:`detente.models.smp_kernel`); None if a Markov election did not settle.

    ``actors``: ``(cap, sal, s2sum, sal_tot)``; ``state``: ``(x, y, om, dm, rr, uown, risk)``
    (contiguous float64, a leading replicate axis); ``draws``: ``[R, n]`` uniforms of a
    stochastic turn, or None."""
    cap, sal, s2sum, sal_tot = actors
    x = state[0]
    r_n, n, _ = x.shape
    x_new = np.empty_like(x)
    ok = np.empty(r_n, dtype=np.bool_)
    stochastic = draws is not None
    dr = np.ascontiguousarray(draws) if draws is not None else np.zeros((r_n, n))
    bundle = (cap, sal, s2sum, sal_tot, sal_tot * cap)
    _run(_turn_block, r_n, codes, bundle, state, dr, stochastic, x_new, ok)
    if not ok.all():
        return None
    return x_new


CACHED_KERNELS = (_setup_block, _turn_block, _unique_block, _outcome_block)
"""Kernels whose presence in Numba's cache means that this module loads without compiling (see
:func:`detente.models.accel.in_cache`)."""
