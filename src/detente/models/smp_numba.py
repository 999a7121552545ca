"""Compiled turns of the SMP kernel (:mod:`detente.models.smp_kernel`), optional.

:func:`detente.models.smp_kernel.simulate` without ``record`` runs each turn's heavy part here:
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
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

from detente.models import smp_kernel as K
from detente.models.eu_numba import block_sum

F = NDArray[np.float64]
B = NDArray[np.bool_]
I64 = NDArray[np.int64]
Fn = TypeVar("Fn", bound=Callable[..., Any])

# the parameter codes, read as compile-time constants
_VP_LINEAR, _VP_SQUARE, _VP_QUARTIC, _VP_BINARY = (
    K.VP_LINEAR,
    K.VP_SQUARE,
    K.VP_QUARTIC,
    K.VP_BINARY,
)
_PCE_CONDITIONAL, _PCE_MARKOV_INCENTIVE = K.PCE_CONDITIONAL, K.PCE_MARKOV_INCENTIVE
_VR_BINARY, _VR_PROPBIN, _VR_PROP = K.VR_BINARY, K.VR_PROPBIN, K.VR_PROP
_VR_PROPCBC, _VR_CUBIC, _VR_ASYM = K.VR_PROPCBC, K.VR_CUBIC, K.VR_ASYM
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
C_KTAB_BARGAINS = 9


def codes(cfg: K.Config) -> I64:
    """The parameters of ``cfg`` as the compiled functions read them."""
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
        ],
        dtype=np.int64,
    )


_BLOCK = 128
"""NumPy's pairwise summation adds up to this many terms with eight running sums."""

PARALLEL_MIN_REPLICATES = 128
"""Each thread gets at least this many replicates of a batch (smaller batches run on the
calling thread): a turn of 128 replicates is worth more than handing it to a thread, even on
a machine whose cores are busy with other work."""


def _jit(inline: bool = False) -> Callable[[Fn], Fn]:
    """``numba.njit`` (without the GIL) with an on-disk cache where one can be written, and
    none otherwise.

    ``inline``: inline into callers at Numba's level, for small helpers of inner loops (a call
    passing arrays costs more than their work); inlining more makes compiling slow.
    """
    opts: dict[str, Any] = {"error_model": "numpy", "nogil": True}
    if inline:
        opts["inline"] = "always"

    def wrap(fn: Fn) -> Fn:
        try:
            compiled: Any = numba.njit(cache=True, **opts)(fn)
        except Exception:  # no writable cache location
            compiled = numba.njit(cache=False, **opts)(fn)
        return cast(Fn, compiled)

    return wrap


# -- sums, votes, elections ------------------------------------------------------------------------


@_jit()
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


@_jit(inline=True)
def _sum(a: F, n: int, work: I64, vals: F) -> float:
    """:func:`_pairwise_sum` with its common case (under 8 terms) inlined."""
    if n < 8:
        s = 0.0
        for i in range(n):
            s += a[i]
        return s
    return _pairwise_sum(a, n, work, vals)


@_jit()
def _pos(x: float) -> float:
    """``np.fmax(x, 0.0)`` (NaN gives 0; the sign of a zero may differ, which no sum sees)."""
    return x if x > 0.0 else 0.0


@_jit()
def _clip1(x: float) -> float:
    if x < -1.0:
        return -1.0
    if x > 1.0:
        return 1.0
    return x


@_jit()
def _vote(rule: int, w: float, du: float) -> float:
    """``smp_kernel.vote`` of one voter."""
    if rule == _VR_PROP:
        return w * du
    if rule == _VR_BINARY:
        return w * _clip1(du / 1e-8)
    if rule == _VR_PROPBIN:
        return w * ((1 - 0.2) * du + 0.2 * _clip1(du / 1e-8))
    if rule == _VR_PROPCBC:
        return w * ((1 - 0.5) * du + 0.5 * (du * du * du))
    if rule == _VR_CUBIC:
        return w * (du * du * du)
    # asymmetric: losses count fully, gains two thirds
    if du < 0.0:
        return w * du
    if du > 0.0:
        return ((2.0 * w) * du) / 3.0
    return 0.0


@_jit()
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


@_jit(inline=True)
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


@_jit()
def _markov(
    incentive_model: bool,
    c: F,
    pv_in: F,
    cnt: int,
    width: int,
    p: F,
    a: F,
    m: F,
    q: F,
    row: F,
    col: F,
    work: I64,
    vals: F,
    tol: float,
    max_iter: int,
) -> bool:
    """A Markov election (``smp_kernel.condorcet_probabilities``) over ``width`` options of which
    the first ``cnt`` are valid, into ``p[:width]``; False if it did not settle in ``max_iter``
    steps.

    NumPy's arrays hold zeros at every invalid option (no -0.0: every term is a product of
    nonnegative numbers), which no product or sum here needs; the width only decides how
    NumPy groups its pairwise sums (:func:`_masked_sum`).
    """
    count = float(cnt)
    for i in range(width):
        p[i] = 1.0 / count if i < cnt else 0.0
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


@_jit()
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


@_jit()
def _condorcet(
    pce: int,
    c: F,
    pv: F,
    cnt: int,
    width: int,
    p: F,
    sa: F,
    sm: F,
    sq: F,
    srow: F,
    scol: F,
    work: I64,
    vals: F,
    max_iter: int,
) -> bool:
    if pce == _PCE_CONDITIONAL:
        _conditional(pv, cnt, width, p)
        return True
    tol = 1e-8 if pce == _PCE_MARKOV_INCENTIVE else 1e-6
    return _markov(
        pce == _PCE_MARKOV_INCENTIVE,
        c,
        pv,
        cnt,
        width,
        p,
        sa,
        sm,
        sq,
        srow,
        scol,
        work,
        vals,
        tol,
        max_iter,
    )


@_jit()
def _markov_batch(
    incentive_model: bool, c: F, pv: F, count: I64, tol: float, max_iter: int, out: F
) -> bool:
    e_n, n = out.shape
    a, q, row, col = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    m = np.empty((n, n))
    work = np.empty(192, dtype=np.int64)
    vals = np.empty(64)
    ok = True
    for e in range(e_n):
        if not _markov(
            incentive_model,
            c[e],
            pv[e],
            count[e],
            n,
            out[e],
            a,
            m,
            q,
            row,
            col,
            work,
            vals,
            tol,
            max_iter,
        ):
            ok = False
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


@_jit()
def _setup_one(
    codes: I64,
    cap: F,
    sal: F,
    s2sum: F,
    x: F,
    y: F,
    d: F,
    om: F,
    dm: F,
    risk: F,
    rr: F,
    uown: F,
    c: F,
    pv: F,
    p: F,
    sa: F,
    sm: F,
    sq: F,
    srow: F,
    scol: F,
    work: I64,
    vals: F,
    max_iter: int,
) -> tuple[bool, bool]:
    """One replicate's state; returns ``(flat, converged)``."""
    n, dim = x.shape
    rule = codes[C_VOTING]
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
    # the risk election: every actor's position is an option, utilities 1 - d
    for a in range(n):
        c[a, a] = 1e-8
        for b in range(n):
            if a == b:
                continue
            s = 1e-8
            if rule == _VR_ASYM and a < b:
                for m in range(n):
                    s += _pos(-_vote(rule, cap[m], om[m, b] - om[m, a]))
            else:
                for m in range(n):
                    s += _pos(_vote(rule, cap[m], om[m, a] - om[m, b]))
            c[a, b] = s
    _victory(codes[C_VICTORY], c, pv, n)
    ok = _condorcet(codes[C_PCE], c, pv, n, n, p, sa, sm, sq, srow, scol, work, vals, max_iter)
    # risk attitudes (big_r)
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
    flat = spread <= (0.0 if compat else 1e-12)
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
        rh = risk[h]
        for i in range(n):
            ri = risk[i]
            if adjust == _RA_FULL:
                e = ri + 0.0 * rh
            elif adjust == _RA_TWO_THIRDS:
                e = (rh + (2.0 * ri)) / 3.0
            elif adjust == _RA_HALF:
                e = (rh + ri) / 2
            elif adjust == _RA_ONE_THIRD:
                e = ((2.0 * rh) + ri) / 3.0
            else:
                e = rh + 0.0 * ri
            rr[h, i] = e
    for i in range(n):
        for j in range(n):
            uown[i, j] = om[i, j] * (1.0 + rr[i, i] * dm[i, j])
    return flat, ok


@_jit()
def _setup_block(
    lo: int,
    hi: int,
    codes: I64,
    cap: F,
    sal: F,
    s2sum: F,
    x: F,
    y: F,
    d: F,
    om: F,
    dm: F,
    risk: F,
    flat: B,
    rr: F,
    uown: F,
    ok: B,
    max_iter: int,
) -> None:
    n = x.shape[1]
    c, pv, sm = np.empty((n, n)), np.empty((n, n)), np.empty((n, n))
    p, sa, sq, srow, scol = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    work = np.empty(192, dtype=np.int64)
    vals = np.empty(64)
    for r in range(lo, hi):
        flat[r], ok[r] = _setup_one(
            codes,
            cap[r],
            sal[r],
            s2sum[r],
            x[r],
            y[r],
            d[r],
            om[r],
            dm[r],
            risk[r],
            rr[r],
            uown[r],
            c,
            pv,
            p,
            sa,
            sm,
            sq,
            srow,
            scol,
            work,
            vals,
            max_iter,
        )


# -- one turn (smp_kernel.challenges, make_bargains, choose_bargains) -----------------------------


@_jit()
def _gain(p: float, pji: float, sj: float, uki: float, ukj: float) -> float:
    """``smp_kernel.gains(...)[0]``."""
    eu_sq = uki + ukj
    eu_vict = uki + uki
    eu_cntst = p * eu_vict + pji * (ukj + ukj)
    eu_chlg = (1 - sj) * eu_vict + sj * eu_cntst
    return eu_chlg - eu_sq


@_jit()
def _round4(x: float) -> float:
    return float(np.trunc(0.5 + x * 10000.0)) / 10000.0


@_jit()
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


@_jit()
def _turn_one(
    codes: I64,
    cap: F,
    sal: F,
    s2sum: F,
    sal_tot: F,
    w: F,
    x: F,
    y: F,
    om: F,
    dm: F,
    rr: F,
    uown: F,
    risk: F,
    draws: F,
    stochastic: bool,
    x_new: F,
    # scratch
    target: I64,
    p_init: F,
    p_rcvr: F,
    vbuf: F,
    vbuf2: F,
    pos_i: F,
    pos_j: F,
    ok_slot: B,
    recv: I64,
    u_brgn: F,
    u_sq: F,
    opts: I64,
    c: F,
    pv: F,
    p: F,
    sa: F,
    sm: F,
    sq: F,
    srow: F,
    scol: F,
    work: I64,
    vals: F,
    max_iter: int,
) -> bool:
    """One replicate's turn: its new positions into ``x_new``; False if an election did not
    settle."""
    n, dim = x.shape
    vr = codes[C_VOTING]
    semi = codes[C_THIRD] == _TPC_SEMI
    ramp = vr in (_VR_BINARY, _VR_PROPBIN)
    bargain = codes[C_BARGAIN]
    ktab_bargains = codes[C_KTAB_BARGAINS] != 0
    ivb = codes[C_INTER]
    versions = 2 if bargain == _BM_INIT_RCVR else 1
    # -- challenges: each initiator's best target by its own estimates
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
            ci = _vote(vr, w[i], uii - uij)
            cj = _vote(vr, w[j], ucross - uself)
            a = (1e-10 + _pos(ci)) + _pos(cj)
            b = (1e-10 + _pos(-ci)) + _pos(-cj)
            if semi:
                for m in range(n):
                    if m == i or m == j:  # noqa: SIM109 (plain compiled comparisons)
                        vbuf[m] = 0.0
                        continue
                    umj = om[m, j] * (1.0 + rr[i, m] * dm[m, j])
                    umi = om[m, i] * (1.0 + rr[i, m] * dm[m, i])
                    umm = om[m, m] * (1.0 + rr[i, m] * dm[m, m])
                    v0 = _vote(vr, w[m], umi - umj)
                    if ramp:  # KTAB's form (smp_kernel.RAMP_RULES)
                        cni = a + _pos(v0)
                        cnj = b + _pos(-v0)
                        pin = cni / (cni + cnj)
                        pjn = 1.0 - pin
                        u1 = (umi + umi) + umm
                        u2 = (umj + umj) + umj
                        u3 = (umi + umi) + umi
                        u4 = (umj + umj) + umm
                        vbuf[m] = _vote(vr, w[m], (pin * u1 + pjn * u2) - (pin * u3 + pjn * u4))
                        continue
                    cni = _pos(v0) + a
                    den = abs(v0) + (a + b)
                    pin = cni / den
                    t2 = (((umm + umm) - umi) - umj) * pin
                    vbuf[m] = _vote(vr, w[m], (umj - umm) + t2)
                for m in range(n):
                    vbuf2[m] = _pos(vbuf[m])
                pos_sum = _sum(vbuf2, n, work, vals)
                at = a + pos_sum
                bt = b + (pos_sum - _sum(vbuf, n, work, vals))
                pij, pji = at / (at + bt), bt / (at + bt)
            else:
                pij, pji = a / (a + b), b / (a + b)
            g = _gain(pij, pji, sal_tot[j], uii, uij)
            if g > 1e-5 and g > best:
                best, arg, pbest = g, j, pij
        has = math.isfinite(best)
        target[i] = arg if has else -1
        p_init[i] = pbest
        if not has or bargain == _BM_INIT_ONLY:
            continue
        # the target's own estimates of the same contest
        t = arg
        uii_t = om[i, i] * (1.0 + rr[t, i] * dm[i, i])
        uij_t = om[i, t] * (1.0 + rr[t, i] * dm[i, t])
        uji_t = om[t, i] * (1.0 + rr[t, t] * dm[t, i])
        ujj_t = om[t, t] * (1.0 + rr[t, t] * dm[t, t])
        ci = _vote(vr, w[i], uii_t - uij_t)
        cj = _vote(vr, w[t], uji_t - ujj_t)
        a_t = (1e-10 + _pos(ci)) + _pos(cj)
        b_t = (1e-10 + _pos(-ci)) + _pos(-cj)
        if semi:
            for m in range(n):
                if m == i or m == t:  # noqa: SIM109
                    vbuf[m] = 0.0
                    continue
                umi = om[m, i] * (1.0 + rr[t, m] * dm[m, i])
                umj = om[m, t] * (1.0 + rr[t, m] * dm[m, t])
                umm = om[m, m] * (1.0 + rr[t, m] * dm[m, m])
                v0 = _vote(vr, w[m], umi - umj)
                cni = a_t + _pos(v0)
                cnj = b_t + _pos(-v0)
                pin = cni / (cni + cnj)
                pjn = 1.0 - pin
                u1 = (umi + umi) + umm
                u2 = (umj + umj) + umj
                u3 = (umi + umi) + umi
                u4 = (umj + umj) + umm
                vbuf[m] = _vote(vr, w[m], (pin * u1 + pjn * u2) - (pin * u3 + pjn * u4))
            for m in range(n):
                vbuf2[m] = _pos(vbuf[m])
            a_t = a_t + _sum(vbuf2, n, work, vals)
            for m in range(n):
                vbuf2[m] = _pos(-vbuf[m])
            b_t = b_t + _sum(vbuf2, n, work, vals)
        p_t, pji_t = a_t / (a_t + b_t), b_t / (a_t + b_t)
        if ktab_bargains:
            p_rcvr[i] = _gain(p_t, pji_t, sal_tot[t], uii_t, uij_t)
        else:
            p_rcvr[i] = p_t
    # -- bargains, in slots s = initiator * versions + version
    n_s = n * versions
    for i in range(n):
        t = target[i]
        for v in range(versions):
            s = i * versions + v
            ok_slot[s] = t >= 0
            recv[s] = t
        if t < 0:
            continue
        pp = p_init[i]
        if bargain == _BM_INIT_ONLY:
            for k in range(dim):
                bi, bj = _interpolate(ivb, x[i, k], sal[i, k], pp, x[t, k], sal[t, k], 1 - pp)
                pos_i[i, k], pos_j[i, k] = bi, bj
            continue
        pr = p_rcvr[i]
        if bargain == _BM_INIT_RCVR:
            for k in range(dim):
                bi, bj = _interpolate(ivb, x[i, k], sal[i, k], pp, x[t, k], sal[t, k], 1 - pp)
                ri, rj = _interpolate(ivb, x[i, k], sal[i, k], pr, x[t, k], sal[t, k], 1 - pr)
                pos_i[2 * i, k], pos_j[2 * i, k] = bi, bj
                pos_i[2 * i + 1, k], pos_j[2 * i + 1, k] = ri, rj
            continue
        wi = cap[i] * sal_tot[i]
        wj = (cap[i] if ktab_bargains else cap[t]) * sal_tot[t]
        for k in range(dim):
            bi, bj = _interpolate(ivb, x[i, k], sal[i, k], pp, x[t, k], sal[t, k], 1 - pp)
            ri, rj = _interpolate(ivb, x[i, k], sal[i, k], pr, x[t, k], sal[t, k], 1 - pr)
            pos_i[i, k] = (wi * bi + wj * ri) / (wi + wj)
            pos_j[i, k] = (wi * bj + wj * rj) / (wi + wj)
    # -- every voter's value of the state after each bargain, and of the status quo
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
    # -- each actor's election over its status quo and the bargains it made or received, in
    # initiator order with its status quo before its own (smp_kernel.option_lists)
    for k in range(n):
        cnt = 0
        for s in range(n_s):
            if s == k * versions:
                opts[cnt] = -1
                cnt += 1
            if ok_slot[s] and (s // versions == k or recv[s] == k):
                opts[cnt] = s
                cnt += 1
        if cnt == 1:
            p[0] = 1.0
        else:
            width = 1
            while width < cnt:
                width *= 2
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
            _victory(codes[C_VICTORY], c, pv, cnt)
            if not _condorcet(
                codes[C_PCE], c, pv, cnt, width, p, sa, sm, sq, srow, scol, work, vals, max_iter
            ):
                return False
        # the option taken
        chosen = 0
        if stochastic:
            cum = 0.0
            chosen = cnt - 1
            for o in range(cnt):
                cum = p[o] if o == 0 else cum + p[o]
                if draws[k] <= cum:
                    chosen = o
                    break
        else:
            bestp = -math.inf
            for o in range(cnt):
                ap = abs(p[o])
                if math.isnan(ap):
                    chosen = o
                    break
                if ap > bestp:
                    bestp, chosen = ap, o
        slot = opts[chosen]
        for d in range(dim):
            if slot < 0:
                x_new[k, d] = x[k, d]
            elif slot // versions == k:
                x_new[k, d] = pos_i[slot, d]
            else:
                x_new[k, d] = pos_j[slot, d]
    return True


@_jit()
def _turn_block(
    lo: int,
    hi: int,
    codes: I64,
    cap: F,
    sal: F,
    s2sum: F,
    sal_tot: F,
    w: F,
    x: F,
    y: F,
    om: F,
    dm: F,
    rr: F,
    uown: F,
    risk: F,
    draws: F,
    stochastic: bool,
    x_new: F,
    ok: B,
    max_iter: int,
) -> None:
    n = x.shape[1]
    versions = 2 if codes[C_BARGAIN] == _BM_INIT_RCVR else 1
    n_s = n * versions
    wmax = 1
    while wmax < n_s + 1:
        wmax *= 2
    target = np.empty(n, dtype=np.int64)
    p_init, p_rcvr = np.empty(n), np.empty(n)
    vbuf, vbuf2 = np.empty(n), np.empty(n)
    dim = x.shape[2]
    pos_i, pos_j = np.empty((n_s, dim)), np.empty((n_s, dim))
    ok_slot = np.empty(n_s, dtype=np.bool_)
    recv = np.empty(n_s, dtype=np.int64)
    u_brgn, u_sq = np.empty((n_s, n)), np.empty(n)
    opts = np.empty(wmax, dtype=np.int64)
    c, pv, sm = np.empty((wmax, wmax)), np.empty((wmax, wmax)), np.empty((wmax, wmax))
    p, sa, sq = np.empty(wmax), np.empty(wmax), np.empty(wmax)
    srow, scol = np.empty(wmax), np.empty(wmax)
    work = np.empty(192, dtype=np.int64)
    vals = np.empty(64)
    for r in range(lo, hi):
        ok[r] = _turn_one(
            codes,
            cap[r],
            sal[r],
            s2sum[r],
            sal_tot[r],
            w[r],
            x[r],
            y[r],
            om[r],
            dm[r],
            rr[r],
            uown[r],
            risk[r],
            draws[r],
            stochastic,
            x_new[r],
            target,
            p_init,
            p_rcvr,
            vbuf,
            vbuf2,
            pos_i,
            pos_j,
            ok_slot,
            recv,
            u_brgn,
            u_sq,
            opts,
            c,
            pv,
            p,
            sa,
            sm,
            sq,
            srow,
            scol,
            work,
            vals,
            max_iter,
        )


# -- win probabilities of the unique positions (smp_kernel.win_probabilities) ---------------------


@_jit()
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


@_jit()
def _outcome_block(
    codes: I64, cap: F, uown: F, rep: B, width: int, p_out: F, ok: B, max_iter: int
) -> None:
    """Each replicate's election over its unique positions, padded to ``width`` options."""
    r_n, n, _ = uown.shape
    rule = codes[C_VOTING]
    opts = np.empty(n, dtype=np.int64)
    w = max(width, 1)
    c, pv, sm = np.empty((w, w)), np.empty((w, w)), np.empty((w, w))
    p, sa, sq, srow, scol = np.empty(w), np.empty(w), np.empty(w), np.empty(w), np.empty(w)
    work = np.empty(192, dtype=np.int64)
    vals = np.empty(64)
    for r in range(r_n):
        u = uown[r]
        cnt = 0
        for i in range(n):
            if rep[r, i]:
                opts[cnt] = i
                cnt += 1
        for a in range(cnt):
            c[a, a] = 1e-8
            for b in range(cnt):
                if a == b:
                    continue
                oa, ob = opts[a], opts[b]
                s = 1e-8
                if rule == _VR_ASYM and a < b:
                    for m in range(n):
                        s += _pos(-_vote(rule, cap[r, m], u[m, ob] - u[m, oa]))
                else:
                    for m in range(n):
                        s += _pos(_vote(rule, cap[r, m], u[m, oa] - u[m, ob]))
                c[a, b] = s
        _victory(codes[C_VICTORY], c, pv, cnt)
        ok[r] = _condorcet(
            codes[C_PCE], c, pv, cnt, width, p, sa, sm, sq, srow, scol, work, vals, max_iter
        )
        for i in range(n):
            p_out[r, i] = 0.0
        for a in range(cnt):
            p_out[r, opts[a]] = p[a]


def win_probabilities(
    codes: I64, cap: F, x: F, uown: F, max_iter: int
) -> tuple[F, B, I64, F] | None:
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
    _outcome_block(codes, cap, uown, rep, width, p_out, ok, max_iter)
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
    codes: I64, cap: F, sal: F, s2sum: F, x: F, y: F, max_iter: int
) -> tuple[F, F, F, F, B, F, F] | None:
    """``(d, om, dm, risk, flat, rr, uown)`` of ``smp_kernel.setup`` for ``[R, n, D]`` positions
    and ideals (contiguous float64 inputs); None if a Markov election did not settle."""
    r_n, n, _ = x.shape
    d, om, dm = np.empty((r_n, n, n)), np.empty((r_n, n, n)), np.empty((r_n, n, n))
    rr, uown = np.empty((r_n, n, n)), np.empty((r_n, n, n))
    risk = np.empty((r_n, n))
    flat = np.empty(r_n, dtype=np.bool_)
    ok = np.empty(r_n, dtype=np.bool_)
    args = (codes, cap, sal, s2sum, x, y, d, om, dm, risk, flat, rr, uown, ok, max_iter)
    _run(_setup_block, r_n, *args)
    if not ok.all():
        return None
    return d, om, dm, risk, flat, rr, uown


def turn(
    codes: I64,
    cap: F,
    sal: F,
    s2sum: F,
    sal_tot: F,
    x: F,
    y: F,
    om: F,
    dm: F,
    rr: F,
    uown: F,
    risk: F,
    draws: F | None,
    max_iter: int,
) -> F | None:
    """New positions ``[R, n, D]`` after one turn (``challenges`` and ``choose_bargains`` of
    :mod:`detente.models.smp_kernel`); None if a Markov election did not settle."""
    r_n, n, _ = x.shape
    x_new = np.empty_like(x)
    ok = np.empty(r_n, dtype=np.bool_)
    w = sal_tot * cap
    stochastic = draws is not None
    dr = np.ascontiguousarray(draws) if draws is not None else np.zeros((r_n, n))
    args = (
        codes,
        cap,
        sal,
        s2sum,
        sal_tot,
        w,
        x,
        y,
        om,
        dm,
        rr,
        uown,
        risk,
        dr,
        stochastic,
        x_new,
        ok,
        max_iter,
    )
    _run(_turn_block, r_n, *args)
    if not ok.all():
        return None
    return x_new
