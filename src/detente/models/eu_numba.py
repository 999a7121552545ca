"""Fused Numba kernel of the expected-utility model for ``simulate(..., record=False)``.

Optional: :func:`detente.models.eu_kernel.simulate` uses it when Numba is importable (and the
environment variable ``DETENTE_NO_NUMBA`` is unset or ``0``), and only for ``record=False``,
where no per-pair arrays are kept. The NumPy kernel in :mod:`detente.models.eu_kernel` is the
reference implementation; this module repeats its round computation formula by formula, with
the same guards and tie rules, but loops over replicates and actor pairs in compiled code
instead of making about a hundred passes over ``B × n × n`` arrays per round.

The results agree with the NumPy kernel's to rounding, not bit for bit: powers are computed as
``exp(r log x)`` (one logarithm serves both ``(i, j)`` and ``(j, i)``; NumPy's own ``power``
differs from the C library's ``pow`` in the last bit anyway, and by processor), and suffix sums
are cumulative. After one round positions agree within about 1e-13 of the range; the model
amplifies rounding over the rounds (eq. 32 divides by the spread of the security sums), so over
10 rounds they agree within about 1e-10 of the range. Where a decision rests on a knife-edge
that rounding alone settles (``E_i + E_j`` within 1e-17 of 0 at the compromise/capitulation
border, or, with ``Q < 1``, the T rule's ``|x_j - mu| = |x_j - x_i|`` when ``x_i`` is the
median) the two kernels may part ways; ``tests/models/test_eu_numba.py`` checks both.

Replicates are independent: the parallel version hands blocks of replicates to threads, and
every replicate is computed by the same sequential code whatever the block or thread, so the
results do not depend on the number of threads.
"""

from __future__ import annotations

import math
import threading
from typing import Any, NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

from detente.models.accel import jit
from detente.models.baselines import TIE_RTOL as _MEDIAN_TIE_RTOL
from detente.models.eu_kernel import (
    _CONFLICT_TIE,
    _NO_OFFER,
    _SAME_POSITION,
    _SECURITY_RTOL,
    _TIE_RTOL,
    KIND_CAPITULATION,
    KIND_COMPROMISE,
    KIND_CONFLICT,
    KIND_NONE,
    Choices,
)

F = NDArray[np.float64]
I64 = NDArray[np.int64]

_LOG_HALF = math.log(0.5)

PARALLEL_MIN_REPLICATES = 64
"""Batches at least this large run on all of Numba's threads; smaller ones (single runs) run
on the calling thread, where starting the threads would cost more than it saves."""

_BLOCKS_PER_THREAD = 8
"""Replicates go to threads in blocks (each with its own scratch arrays): about this many blocks
per thread, to even out the load."""


# -- helpers (all compiled) ----------------------------------------------------------------------


@jit()
def block_sum(a: F, start: int, n: int) -> float:
    """``a[start:start + n].sum()`` for ``n <= 128`` in NumPy's pairwise order (also used by
    :mod:`detente.models.smp_numba`)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        r0 += a[start + i]
        r1 += a[start + i + 1]
        r2 += a[start + i + 2]
        r3 += a[start + i + 3]
        r4 += a[start + i + 4]
        r5 += a[start + i + 5]
        r6 += a[start + i + 6]
        r7 += a[start + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return float(res)


@jit()
def _pairwise_sum(a: F, start: int, n: int) -> float:
    """``a[start:start + n].sum()``: NumPy's order up to 128 values, then blocks of 128 (NumPy
    halves recursively; Numba's on-disk cache cannot hold recursive functions)."""
    if n <= 128:
        return block_sum(a, start, n)
    res = 0.0
    for b in range(start, start + n, 128):
        res += block_sum(a, b, min(128, start + n - b))
    return res


@jit()
def _stable_order(key: F, order: I64) -> None:
    """``order`` = ``np.argsort(key, kind="stable")`` (insertion sort; n is small)."""
    n = key.size
    for i in range(n):
        order[i] = i
    for i in range(1, n):
        cur = order[i]
        value = key[cur]
        j = i - 1
        while j >= 0 and key[order[j]] > value:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = cur


@jit()
def _median(c: F, x: F, s: F, key: F, order: I64, prod: F) -> float:
    """``(lower + upper) / 2`` of :func:`detente.models.baselines.weighted_median` (NaN if no
    weight)."""
    n = x.size
    for i in range(n):
        w = c[i] * s[i]
        prod[i] = w
        key[i] = x[i] if w > 0 else np.inf
    _stable_order(key, order)
    total = 0.0
    for k in range(n):
        total += prod[order[k]]
    if not total > 0:
        return np.nan
    half = total / 2.0
    tol = _MEDIAN_TIE_RTOL * total
    lower_at, upper_at = 0, 0
    found_lower, found_upper = False, False
    cum = 0.0
    for k in range(n):
        cum += prod[order[k]]
        if not found_lower and cum >= half - tol:
            lower_at, found_lower = k, True
        if not found_upper and cum > half + tol:
            upper_at, found_upper = k, True
    return float((key[order[lower_at]] + key[order[upper_at]]) / 2.0)


@jit()
def _mean(c: F, x: F, s: F, prod: F) -> float:
    """:func:`detente.models.baselines.weighted_mean` of one state (NaN if no weight)."""
    n = x.size
    for i in range(n):
        prod[i] = c[i] * s[i]
    total = _pairwise_sum(prod, 0, n)
    for i in range(n):
        prod[i] *= x[i]
    if total > 0:
        return _pairwise_sum(prod, 0, n) / total
    return np.nan


@jit()
def _support(v: F, below: I64, x: F, tab: F, sup: F) -> None:
    """``sup[i, j]``: votes of the actors on i's side of the midpoint of i and j (eq. 31's
    numerator), from ``v[k, a]`` (voters k sorted by position), as ``_PartialSums`` forms it:
    ``tab`` stacks the prefix sums (rows ``0..n``) and suffix sums (rows ``n+1..2n+1``) of
    ``v`` (both cumulative, as the NumPy kernel's path for more than 32 actors).
    """
    n = x.size
    for a in range(n):
        tab[0, a] = 0.0
        tab[2 * n + 1, a] = 0.0
        tab[2 * n, a] = v[n - 1, a]
    for k in range(1, n + 1):
        for a in range(n):
            tab[k, a] = tab[k - 1, a] + v[k - 1, a]
    for k in range(n - 2, -1, -1):
        for a in range(n):
            tab[n + 1 + k, a] = tab[n + 2 + k, a] + v[k, a]
    for i in range(n):
        for j in range(n):
            row = below[i, j]
            if x[i] - x[j] > 0:
                row += n + 1
            sup[i, j] = tab[row, j] - tab[row, i]


@jit()
def _probability(sup: F, total_norm: bool, p: F) -> None:
    """``P_ij`` (eq. 31, or one grand total, A1), as ``eu_kernel._probability``."""
    n = sup.shape[0]
    if total_norm:
        total = 2.0 * _pairwise_sum(sup.ravel(), 0, n * n)
        scale = 1.0 / total if total > 0 else 0.0
        for i in range(n):
            for j in range(n):
                p[i, j] = sup[i, j] * scale
    else:
        for i in range(n):
            for j in range(n):
                den = sup[i, j] + sup[j, i]
                p[i, j] = sup[i, j] / den if den > 0 else 0.0


# -- the data of a run ---------------------------------------------------------------------------


class Rules(NamedTuple):
    """A run's switches (:class:`detente.models.eu_kernel.Choices`) and settings."""

    total_norm: bool
    """A1: one grand total normalises the probabilities (else each pair's)."""
    voter: bool
    """A2: votes use each voter's risk exponent in the second pass."""
    printed: bool
    """A3: j's expected utility leads with ``s_j`` (else ``s_i``)."""
    own: bool
    """A4: i evaluates j's expected utility with ``r_j`` (else its own ``r_i``)."""
    weighted: bool
    """A9: compromises are weighted averages (else eq. 36)."""
    capitulate: bool
    """A9: an actor that capitulates moves (else no offer)."""
    scholz_order: bool
    """A10: compromises ordered by their weighted average (else least movement)."""
    tol: float
    """Expected utilities below this count as zero."""
    q: float
    """Status-quo probability ``Q``."""
    rounds: int


class Scratch(NamedTuple):
    """Scratch of one replicate, reused by the next: stacks of ``n × n`` matrices and of
    ``n``-vectors, whose rows the constants below name."""

    mats: F
    """``[_MATS, n, n]``."""
    vecs: F
    """``[_VECS, n]``."""
    ivecs: I64
    """``[_IVECS, n]``."""
    below: I64
    """Voters strictly below each pair's midpoint ``[n, n]``."""
    tab: F
    """Prefix and suffix sums of the votes ``[2n + 2, n]`` (:func:`_support`)."""


# the matrices: distances |x_i - x_j| / range, their logarithms, log(0.5 - d/2), log(0.5 + d/2),
# votes of the voters in sorted order, support of each side of each pair, probabilities of the
# first and second pass, 0.5^r_i - (0.5 - d/2)^r_i and (0.5 + d/2)^r_i - (0.5 - d/2)^r_i
_D, _LOG_D, _LOG_WIN, _LOG_LOSE, _V, _SUP, _P1, _P2, _CORE, _SPREAD = range(10)
_MATS = 10
# the vectors: positions, capability × salience, positions and weights in sorted order, distances
# from the median (Q < 1), security sums, risk exponents, 0.5^r; for the actor choosing its
# offer: E_i(ij) and E_j(ji) as it estimates them, scores and where each offer moves it; the
# positions after the round; sort keys and products of the median and the mean
_X, _W, _XS, _WS, _GAP, _SEC, _R, _HALF_R = range(8)
_EU_OWN, _EU_OPP, _SCORE, _NEWPOS, _XNEW, _KEY, _PROD = range(8, 15)
_VECS = 15
# the integer vectors: actors by position, the kinds of the offers, the median's order
_ORDER, _KINDS, _MORDER = range(3)
_IVECS = 3


Settings = tuple[bool, bool, bool, bool, bool, bool, bool, float, float, int]
"""The fields of :class:`Rules` as a plain tuple."""

Rows = tuple[I64, NDArray[np.int8], F, F]
"""A replicate's proposers, kinds of offers, and both sides' expected utilities ``[T, n]``."""


# -- one round -------------------------------------------------------------------------------------
#
# The steps of a round are inlined into :func:`_block`, their only caller (Numba counts references
# to every array a compiled call receives); the loops over pairs call only helpers of scalars.


@jit(inline=True)
def _geometry(per: float, sc: Scratch) -> None:
    """Distances, symmetric, and the logarithms that the powers of both passes need (``x ** r``
    as ``exp(r log x)``, which is cheaper than pow and shares ``log x`` between ``(i, j)`` and
    ``(j, i)``); the actors in order of position, and the voters strictly below each pair's
    midpoint (``2 x_k < x_i + x_j``)."""
    x, d, log_d = sc.vecs[_X], sc.mats[_D], sc.mats[_LOG_D]
    log_win, log_lose = sc.mats[_LOG_WIN], sc.mats[_LOG_LOSE]
    n = x.size
    for i in range(n):
        d[i, i] = 0.0
        log_d[i, i] = -np.inf
        log_win[i, i] = log_lose[i, i] = _LOG_HALF
        for j in range(i + 1, n):
            dij = abs(x[i] - x[j]) / per
            d[i, j] = d[j, i] = dij
            half = 0.5 * dij
            log_d[i, j] = log_d[j, i] = math.log(dij) if dij > 0 else -np.inf
            low = 0.5 - half
            log_win[i, j] = log_win[j, i] = math.log(low) if low > 0 else -np.inf
            log_lose[i, j] = log_lose[j, i] = math.log(0.5 + half)
    order, xs, ws, w, below = sc.ivecs[_ORDER], sc.vecs[_XS], sc.vecs[_WS], sc.vecs[_W], sc.below
    _stable_order(x, order)
    for k in range(n):
        xs[k] = x[order[k]]
        ws[k] = w[order[k]]
    # with both the pair and the voters in sorted order the count only grows along a row
    for p in range(n):
        below[order[p], order[p]] = 0
        count = 0
        for q_ in range(p + 1, n):
            m = xs[p] + xs[q_]
            while count < n and 2.0 * xs[count] < m:
                count += 1
            below[order[p], order[q_]] = count
            below[order[q_], order[p]] = count


@jit(inline=True)
def _first_pass(c: F, s: F, rules: Rules, per: float, sc: Scratch) -> None:
    """The first pass (every exponent 1), which only sets the security sums; with ``Q < 1``
    first each actor's distance from the median."""
    x, d, v, p1 = sc.vecs[_X], sc.mats[_D], sc.mats[_V], sc.mats[_P1]
    sec, gap, order, ws = sc.vecs[_SEC], sc.vecs[_GAP], sc.ivecs[_ORDER], sc.vecs[_WS]
    n = x.size
    drift = rules.q != 1.0
    qq = 1.0 - rules.q
    if drift:
        mu = _median(c, x, s, sc.vecs[_KEY], sc.ivecs[_MORDER], sc.vecs[_PROD])
        for i in range(n):
            gap[i] = abs(x[i] - mu) / per
    for k in range(n):
        ok = order[k]
        for a in range(n):
            v[k, a] = d[ok, a] * ws[k]
    _support(v, sc.below, x, sc.tab, sc.mats[_SUP])
    _probability(sc.mats[_SUP], rules.total_norm, p1)
    if not drift:
        for i in range(n):
            near = 0.0
            dp = 0.0
            for j in range(n):
                near += d[j, i]
                dp += d[j, i] * p1[j, i]
            sec[i] = 2.0 * near - 4.0 * s[i] * (near - dp)
        return
    for i in range(n):
        sec[i] = 0.0
    for j in range(n):
        for i in range(n):
            if i == j:
                e = 0.0
            else:
                # E1[j, i] (eq. 25a at r = 1, target salience s_i).
                e = (1.0 - p1[j, i]) * s[i]
                e *= d[j, i]
                e = 0.5 * d[j, i] - e
                e *= 4.0
                e += qq * (2.0 - 4.0 * 0.5)
                h = 0.25 * (gap[j] + d[j, i])
                if gap[j] < d[j, i]:
                    e -= qq * (2.0 - 4.0 * (0.5 - h))
                else:
                    e -= qq * (2.0 - 4.0 * (0.5 + h))
            sec[i] += e


@jit(inline=True)
def _risk_exponents(sc: Scratch) -> bool:
    """Risk exponents (eqs. 32-33, A6) and ``0.5^r``; returns whether the security sums are too
    close to tell apart."""
    sec, r, half_r = sc.vecs[_SEC], sc.vecs[_R], sc.vecs[_HALF_R]
    n = sec.size
    shi = sec[0]
    slo = sec[0]
    for i in range(n):
        shi = max(shi, sec[i])
        slo = min(slo, sec[i])
    sspread = shi - slo
    size = max(1.0, max(abs(shi), abs(slo)))
    degenerate = bool(sspread <= _SECURITY_RTOL * size)
    for i in range(n):
        rel = 0.0 if degenerate else (2.0 * sec[i] - shi - slo) / sspread
        r[i] = (1.0 - rel / 3.0) / (1.0 + rel / 3.0)
        half_r[i] = math.exp(r[i] * _LOG_HALF)  # as the powers below
    return degenerate


@jit(inline=True)
def _second_pass(rules: Rules, sc: Scratch) -> F:
    """The probabilities with the risk exponents (those of the first pass without voters'
    exponents), and the powers of the expected utilities (``_CORE``, ``_SPREAD``)."""
    x, r, log_d = sc.vecs[_X], sc.vecs[_R], sc.mats[_LOG_D]
    n = x.size
    pp: F = sc.mats[_P1]
    if rules.voter:
        v, order, ws = sc.mats[_V], sc.ivecs[_ORDER], sc.vecs[_WS]
        for k in range(n):
            ok = order[k]
            rk = r[ok]
            for a in range(n):
                v[k, a] = math.exp(rk * log_d[ok, a]) * ws[k]
        _support(v, sc.below, x, sc.tab, sc.mats[_SUP])
        _probability(sc.mats[_SUP], rules.total_norm, sc.mats[_P2])
        pp = sc.mats[_P2]
    log_win, log_lose = sc.mats[_LOG_WIN], sc.mats[_LOG_LOSE]
    core, spread, half_r = sc.mats[_CORE], sc.mats[_SPREAD], sc.vecs[_HALF_R]
    for i in range(n):
        ri = r[i]
        for j in range(n):
            win = math.exp(ri * log_win[i, j])
            lose = math.exp(ri * log_lose[i, j])
            core[i, j] = half_r[i] - win
            spread[i, j] = lose - win
    return pp


@jit()
def _expected(
    pij: float,
    pji: float,
    si: float,
    sj: float,
    core_ij: float,
    spread_ij: float,
    core_ji: float,
    spread_ji: float,
    rules: Rules,
) -> tuple[float, float]:
    """``E_i(ij)``, i's expected utility of challenging j, and ``E_j(ji)`` as i estimates it
    (eq. 25a without the status quo's share)."""
    e = (1.0 - pij) * sj
    e *= spread_ij
    e = core_ij - e
    e *= 4.0
    z = sj if rules.printed else si
    f = (1.0 - pji) * z
    if rules.own:
        f *= spread_ji
        f = core_ji - f
    else:
        f *= spread_ij
        f = core_ij - f
    f *= 4.0
    return e, f


@jit()
def _with_status_quo(
    u: float, qq: float, half: float, gap: float, dist: float, near: float, r: float
) -> float:
    """An expected utility with the status quo's share ``qq = 1 - Q`` (eq. 25a): ``half`` is
    ``0.5^r``, ``gap`` the challenger's distance from the median, ``dist`` (and ``near``, the
    same distance the other way round) the pair's."""
    u += qq * (2.0 - 4.0 * half)
    h = 0.25 * (gap + dist)
    if gap < near:
        u -= qq * (2.0 - 4.0 * (0.5 - h) ** r)
    else:
        u -= qq * (2.0 - 4.0 * (0.5 + h) ** r)
    return u


@jit()
def _classify(
    e: float, f: float, xi: float, xj: float, dij: float, rules: Rules, frame: tuple[float, float]
) -> tuple[int, float, float]:
    """``(kind, score, new position)`` of i's offer to j (``eu_kernel._offer_kinds``), its score
    the class rank plus a key, lowest best (``eu_kernel._choose_offers``); ``frame``: the
    lowest initial position and 1 / range."""
    tol = rules.tol
    if tol > 0:
        pa, na, pb = e >= tol, e <= -tol, f >= tol
    else:
        pa, na, pb = e > 0, e < 0, f > 0
    kind = KIND_NONE
    if pb and dij > _SAME_POSITION:
        if pa:
            if f - e > _CONFLICT_TIE:
                kind = KIND_CONFLICT
        elif e + f >= 0:
            kind = KIND_COMPROMISE
        elif rules.capitulate and na:
            kind = KIND_CAPITULATION
    if kind == KIND_NONE:
        return kind, _NO_OFFER, xj
    if kind != KIND_COMPROMISE:
        score = kind * -2.0
        score += 6.0
        score += dij
        return kind, score, xj
    lo, inv = frame
    abs_a, abs_b = abs(e), abs(f)
    if rules.weighted:
        to = xi + (xj - xi) * (abs_b / (abs_a + abs_b))
    else:
        to = xi + (xj - xi) * (abs_a / abs_b)
    if rules.scholz_order:
        kk = ((abs_a * xi + abs_b * xj) / (abs_a + abs_b) - lo) * inv
    else:
        kk = abs(to - xi) * inv
    return kind, 2.0 + kk, to


@jit()
def _tie_break(best: float, pick: int, sc: Scratch) -> int:
    """Among offers as good as the best that lead elsewhere: the strongest, then the lowest."""
    score, newpos, eu_opp = sc.vecs[_SCORE], sc.vecs[_NEWPOS], sc.vecs[_EU_OPP]
    n = score.size
    chosen = newpos[pick]
    limit = best + 2 * _TIE_RTOL
    rare = False
    for j in range(n):
        if score[j] <= limit and newpos[j] != chosen:
            rare = True
    if not rare:
        return pick
    strongest = -np.inf
    for j in range(n):
        if score[j] <= limit and eu_opp[j] > strongest:
            strongest = eu_opp[j]
    lowest = np.inf
    for j in range(n):
        tied = score[j] <= limit and eu_opp[j] >= strongest - _TIE_RTOL
        if tied and newpos[j] < lowest:
            lowest, pick = newpos[j], j
    return pick


@jit(inline=True)
def _offers(
    t: int, pp: F, s: F, rules: Rules, frame: tuple[float, float], sc: Scratch, rows: Rows
) -> None:
    """Every actor's offers in round ``t``, classified, and the one it takes ([S] §6.2): its
    new position into the ``_XNEW`` row, and ``(proposer, kind, E_i, E_j)`` into row ``t`` of
    ``rows`` (``-1``, none and NaN without one)."""
    x, d, r, half_r, gap = sc.vecs[_X], sc.mats[_D], sc.vecs[_R], sc.vecs[_HALF_R], sc.vecs[_GAP]
    core, spread = sc.mats[_CORE], sc.mats[_SPREAD]
    eu_own, eu_opp, kinds = sc.vecs[_EU_OWN], sc.vecs[_EU_OPP], sc.ivecs[_KINDS]
    newpos, score, xnew = sc.vecs[_NEWPOS], sc.vecs[_SCORE], sc.vecs[_XNEW]
    proposer, kind, eu, opp = rows
    n = x.size
    drift = rules.q != 1.0
    qq = 1.0 - rules.q
    for i in range(n):
        # pick starts as i, not 0: it is read only once best is below _NO_OFFER, and Numba
        # would compile _tie_break once more for a literal 0
        pick = i
        best = np.inf
        for j in range(n):
            e, f = _expected(
                pp[i, j],
                pp[j, i],
                s[i],
                s[j],
                core[i, j],
                spread[i, j],
                core[j, i],
                spread[j, i],
                rules,
            )
            if drift:
                rb, hb = (r[j], half_r[j]) if rules.own else (r[i], half_r[i])
                e = _with_status_quo(e, qq, half_r[i], gap[i], d[i, j], d[i, j], r[i])
                f = _with_status_quo(f, qq, hb, gap[j], d[i, j], d[j, i], rb)
            eu_own[j] = e  # E_i(ij), kept for the accepted offer
            eu_opp[j] = f  # E_j(ji) as i estimates it
            kinds[j], score[j], newpos[j] = _classify(e, f, x[i], x[j], d[i, j], rules, frame)
            if score[j] < best:
                best, pick = score[j], j
        if not best < _NO_OFFER:
            proposer[t, i], kind[t, i], eu[t, i], opp[t, i] = -1, KIND_NONE, np.nan, np.nan
            xnew[i] = x[i]
            continue
        pick = _tie_break(best, pick, sc)
        proposer[t, i], kind[t, i], eu[t, i], opp[t, i] = (
            pick,
            kinds[pick],
            eu_own[pick],
            eu_opp[pick],
        )
        xnew[i] = newpos[pick]


# -- replicates ------------------------------------------------------------------------------------

Arrays = tuple[F, F, F, F, F, F, NDArray[np.bool_], I64, NDArray[np.int8], F, F]
"""The output arrays of :func:`simulate_fused` in its order (``[B, ...]``)."""


@jit(entry=True)
def _block(start: int, stop: int, inp: tuple[F, F, F], settings: Settings, arrays: Arrays) -> None:
    """Replicates ``start..stop-1`` of ``inp = (c, x0, s)`` one after the other, sharing one
    set of scratch arrays: every round, then the medians and means of every state.
    ``settings``: the fields of :class:`Rules` (a plain tuple: Numba reads one faster from
    Python)."""
    c, x0, s = inp
    rules = Rules(*settings)
    positions, median, mean, span, risk, security, degenerate, proposer, kind, eu, opp = arrays
    n = x0.shape[1]
    sc = Scratch(
        np.empty((_MATS, n, n)),
        np.empty((_VECS, n)),
        np.empty((_IVECS, n), dtype=np.int64),
        np.empty((n, n), dtype=np.int64),
        np.empty((2 * n + 2, n)),
    )
    x, w, xnew, r, sec = sc.vecs[_X], sc.vecs[_W], sc.vecs[_XNEW], sc.vecs[_R], sc.vecs[_SEC]
    key, order, prod = sc.vecs[_KEY], sc.ivecs[_MORDER], sc.vecs[_PROD]
    for b in range(start, stop):
        # this replicate's inputs and results (views made once: each costs a reference count)
        cb, x0b, sb, pos = c[b], x0[b], s[b], positions[b]
        rows = (proposer[b], kind[b], eu[b], opp[b])
        lo, hi = x0b[0], x0b[0]
        for i in range(n):
            lo = min(lo, x0b[i])
            hi = max(hi, x0b[i])
            x[i] = x0b[i]
            w[i] = cb[i] * sb[i]
            pos[0, i] = x0b[i]
        width = hi - lo
        span[b] = width
        per = width if width > 0 else 1.0
        frame = (lo, 1.0 / per)
        for t in range(rules.rounds):
            _geometry(per, sc)
            _first_pass(cb, sb, rules, per, sc)
            degenerate[b, t] = _risk_exponents(sc)
            pp = _second_pass(rules, sc)
            _offers(t, pp, sb, rules, frame, sc, rows)
            for i in range(n):  # everyone moves at once (A11)
                risk[b, t, i] = r[i]
                security[b, t, i] = sec[i]
                x[i] = xnew[i]
                pos[t + 1, i] = x[i]
        for t in range(rules.rounds + 1):
            median[b, t] = _median(cb, pos[t], sb, key, order, prod)
            mean[b, t] = _mean(cb, pos[t], sb, prod)


@jit(entry=True, parallel=True)
def _parallel(blocks: int, inp: tuple[F, F, F], settings: Settings, arrays: Arrays) -> None:
    """:func:`_block` on ``blocks`` blocks of replicates, spread over Numba's threads."""
    bsz = inp[1].shape[0]
    for blk in numba.prange(blocks):
        _block(blk * bsz // blocks, (blk + 1) * bsz // blocks, inp, settings, arrays)


_PARALLEL_LOCK = threading.Lock()
"""The parallel version runs one call at a time (Numba's ``workqueue`` threading layer, used
where OpenMP and TBB are missing, does not allow concurrent calls); a concurrent caller runs on
its own thread with the serial version, which gives the same results."""


def simulate_fused(
    c: F, x0: F, s: F, rounds: int, q: float, ch: Choices
) -> dict[str, NDArray[Any]]:
    """Run the fused kernel on ``[B, n]`` inputs; the arrays of ``eu_kernel._allocate``
    (``record=False``)."""
    c = np.ascontiguousarray(c, dtype=np.float64)
    x0 = np.ascontiguousarray(x0, dtype=np.float64)
    s = np.ascontiguousarray(s, dtype=np.float64)
    b, n = x0.shape
    t = rounds
    out: dict[str, NDArray[Any]] = {
        "positions": np.empty((b, t + 1, n)),
        "median": np.empty((b, t + 1)),
        "mean": np.empty((b, t + 1)),
        "range": np.empty(b),
        "risk": np.empty((b, t, n)),
        "security": np.empty((b, t, n)),
        "risk_degenerate": np.zeros((b, t), dtype=bool),
        "proposer": np.full((b, t, n), -1, dtype=np.int64),
        "kind": np.zeros((b, t, n), dtype=np.int8),
        "offer_eu": np.full((b, t, n), np.nan),
        "offer_opponent_eu": np.full((b, t, n), np.nan),
    }
    settings = (  # the fields of Rules, in order
        ch.normaliser == "total",
        ch.vote_exponent == "voter",
        ch.opponent_salience == "printed",
        ch.opponent_exponent == "own",
        ch.compromise == "weighted",
        ch.capitulation == "move",
        ch.offer_order == "scholz-program",
        float(ch.zero_tolerance),
        float(q),
        int(rounds),
    )
    inp = (c, x0, s)
    arrays = (
        out["positions"],
        out["median"],
        out["mean"],
        out["range"],
        out["risk"],
        out["security"],
        out["risk_degenerate"],
        out["proposer"],
        out["kind"],
        out["offer_eu"],
        out["offer_opponent_eu"],
    )
    threads = numba.get_num_threads()
    if b >= PARALLEL_MIN_REPLICATES and threads > 1 and _PARALLEL_LOCK.acquire(blocking=False):
        try:
            _parallel(min(b, threads * _BLOCKS_PER_THREAD), inp, settings, arrays)
        finally:
            _PARALLEL_LOCK.release()
    else:
        _block(0, b, inp, settings, arrays)
    return out
