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
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

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
Fn = TypeVar("Fn", bound=Callable[..., Any])

_LOG_HALF = math.log(0.5)

PARALLEL_MIN_REPLICATES = 64
"""Batches at least this large run on all of Numba's threads; smaller ones (single runs) run
on the calling thread, where starting the threads would cost more than it saves."""

_BLOCKS_PER_THREAD = 8
"""Replicates go to threads in blocks (each with its own scratch arrays): about this many blocks
per thread, to even out the load."""


def _jit(parallel: bool = False) -> Callable[[Fn], Fn]:
    """``numba.njit`` with an on-disk cache where one can be written, and none otherwise."""

    def wrap(fn: Fn) -> Fn:
        try:
            compiled: Any = numba.njit(cache=True, parallel=parallel, error_model="numpy")(fn)
        except Exception:  # no writable cache location: compile in every process instead
            compiled = numba.njit(cache=False, parallel=parallel, error_model="numpy")(fn)
        return cast(Fn, compiled)

    return wrap


# -- helpers (all compiled) ----------------------------------------------------------------------


@_jit()
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


@_jit()
def _pairwise_sum(a: F, start: int, n: int) -> float:
    """``a[start:start + n].sum()``: NumPy's order up to 128 values, then blocks of 128 (NumPy
    halves recursively; Numba's on-disk cache cannot hold recursive functions)."""
    if n <= 128:
        return block_sum(a, start, n)
    res = 0.0
    for b in range(start, start + n, 128):
        res += block_sum(a, b, min(128, start + n - b))
    return res


@_jit()
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


@_jit()
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


@_jit()
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


@_jit()
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


@_jit()
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


@_jit()
def _replicate(
    c: F,
    x0: F,
    s: F,
    rounds: int,
    q: float,
    total_norm: bool,
    voter: bool,
    printed: bool,
    own: bool,
    weighted: bool,
    capitulate: bool,
    scholz_order: bool,
    tol: float,
    positions: F,
    median: F,
    mean: F,
    risk_out: F,
    security_out: F,
    degenerate_out: NDArray[np.bool_],
    proposer_out: I64,
    kind_out: NDArray[np.int8],
    offer_eu: F,
    offer_opp: F,
    work: F,
    iwork: I64,
) -> float:
    """All rounds of one replicate; returns its range. ``work``/``iwork``: scratch."""
    n = x0.size
    nn = n * n
    # Scratch views: n×n float matrices, a (2n+2)×n table, vectors.
    d = work[0:nn].reshape((n, n))
    log_d = work[nn : 2 * nn].reshape((n, n))
    v = work[2 * nn : 3 * nn].reshape((n, n))
    sup = work[3 * nn : 4 * nn].reshape((n, n))
    p1 = work[4 * nn : 5 * nn].reshape((n, n))
    p2 = work[5 * nn : 6 * nn].reshape((n, n))
    core = work[6 * nn : 7 * nn].reshape((n, n))
    spread = work[7 * nn : 8 * nn].reshape((n, n))
    log_win = work[8 * nn : 9 * nn].reshape((n, n))
    log_lose = work[9 * nn : 10 * nn].reshape((n, n))
    tab = work[10 * nn : 10 * nn + (2 * n + 2) * n].reshape((2 * n + 2, n))
    off = 10 * nn + (2 * n + 2) * n
    x = work[off : off + n]
    xs = work[off + n : off + 2 * n]
    ws = work[off + 2 * n : off + 3 * n]
    w = work[off + 3 * n : off + 4 * n]
    sec = work[off + 4 * n : off + 5 * n]
    r = work[off + 5 * n : off + 6 * n]
    half_r = work[off + 6 * n : off + 7 * n]
    gap = work[off + 7 * n : off + 8 * n]
    xnew = work[off + 8 * n : off + 9 * n]
    score = work[off + 9 * n : off + 10 * n]
    newpos = work[off + 10 * n : off + 11 * n]
    key = work[off + 11 * n : off + 12 * n]
    prod = work[off + 12 * n : off + 13 * n]
    below = iwork[0:nn].reshape((n, n))
    order = iwork[nn : nn + n]
    morder = iwork[nn + n : nn + 2 * n]
    kinds = iwork[nn + 2 * n : nn + 3 * n]

    lo = x0[0]
    hi = x0[0]
    for i in range(n):
        lo = min(lo, x0[i])
        hi = max(hi, x0[i])
        x[i] = x0[i]
        w[i] = c[i] * s[i]
        positions[0, i] = x0[i]
    span = hi - lo
    per = span if span > 0 else 1.0
    inv = 1.0 / per
    drift = q != 1.0
    qq = 1.0 - q

    for t in range(rounds):
        # Distances, symmetric; and the logarithms that the powers of both passes need
        # (x ** r as exp(r log x), which is cheaper than pow and shares log x between (i, j)
        # and (j, i)).
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
        _stable_order(x, order)
        for k in range(n):
            xs[k] = x[order[k]]
            ws[k] = w[order[k]]
        # Voters strictly below each pair's midpoint (2 x_k < x_i + x_j): with both the pair
        # and the voters in sorted order the count only grows along a row.
        for p in range(n):
            below[order[p], order[p]] = 0
            count = 0
            for q_ in range(p + 1, n):
                m = xs[p] + xs[q_]
                while count < n and 2.0 * xs[count] < m:
                    count += 1
                below[order[p], order[q_]] = count
                below[order[q_], order[p]] = count
        if drift:
            mu = _median(c, x, s, key, morder, prod)
            for i in range(n):
                gap[i] = abs(x[i] - mu) / per

        # First pass: every exponent 1; it only sets the risk exponents.
        for k in range(n):
            ok = order[k]
            for a in range(n):
                v[k, a] = d[ok, a] * ws[k]
        _support(v, below, x, tab, sup)
        _probability(sup, total_norm, p1)
        if not drift:
            for i in range(n):
                near = 0.0
                dp = 0.0
                for j in range(n):
                    near += d[j, i]
                    dp += d[j, i] * p1[j, i]
                sec[i] = 2.0 * near - 4.0 * s[i] * (near - dp)
        else:
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
        # Risk exponents (eqs. 32-33, A6).
        shi = sec[0]
        slo = sec[0]
        for i in range(n):
            shi = max(shi, sec[i])
            slo = min(slo, sec[i])
        sspread = shi - slo
        size = max(1.0, max(abs(shi), abs(slo)))
        degenerate = sspread <= _SECURITY_RTOL * size
        for i in range(n):
            rel = 0.0 if degenerate else (2.0 * sec[i] - shi - slo) / sspread
            r[i] = (1.0 - rel / 3.0) / (1.0 + rel / 3.0)
            half_r[i] = math.exp(r[i] * _LOG_HALF)  # as the powers below

        # Second pass with the risk exponents.
        if voter:
            for k in range(n):
                ok = order[k]
                rk = r[ok]
                for a in range(n):
                    v[k, a] = math.exp(rk * log_d[ok, a]) * ws[k]
            _support(v, below, x, tab, sup)
            _probability(sup, total_norm, p2)
            pp = p2
        else:
            pp = p1
        for i in range(n):
            ri = r[i]
            for j in range(n):
                win = math.exp(ri * log_win[i, j])
                lose = math.exp(ri * log_lose[i, j])
                core[i, j] = half_r[i] - win
                spread[i, j] = lose - win

        # Each actor's offers, classified and chosen row by row ([S] §6.2).
        for i in range(n):
            xi = x[i]
            ri = r[i]
            pick = 0
            best = np.inf
            for j in range(n):
                e = (1.0 - pp[i, j]) * s[j]
                e *= spread[i, j]
                e = core[i, j] - e
                e *= 4.0
                z = s[j] if printed else s[i]
                rb = r[j] if own else ri
                f = (1.0 - pp[j, i]) * z
                if own:
                    f *= spread[j, i]
                    f = core[j, i] - f
                else:
                    f *= spread[i, j]
                    f = core[i, j] - f
                f *= 4.0
                if drift:
                    e += qq * (2.0 - 4.0 * half_r[i])
                    h = 0.25 * (gap[i] + d[i, j])
                    if gap[i] < d[i, j]:
                        e -= qq * (2.0 - 4.0 * (0.5 - h) ** ri)
                    else:
                        e -= qq * (2.0 - 4.0 * (0.5 + h) ** ri)
                    f += qq * (2.0 - 4.0 * (half_r[j] if own else half_r[i]))
                    h = 0.25 * (gap[j] + d[i, j])
                    if gap[j] < d[j, i]:
                        f -= qq * (2.0 - 4.0 * (0.5 - h) ** rb)
                    else:
                        f -= qq * (2.0 - 4.0 * (0.5 + h) ** rb)
                sup[i, j] = e  # E_i(ij), kept for the accepted offer
                v[i, j] = f  # E_j(ji) as i estimates it
                # Offer kind (eu_kernel._offer_kinds).
                if tol > 0:
                    pa, na, pb = e >= tol, e <= -tol, f >= tol
                else:
                    pa, na, pb = e > 0, e < 0, f > 0
                kind = KIND_NONE
                if pb and d[i, j] > _SAME_POSITION:
                    if pa:
                        if f - e > _CONFLICT_TIE:
                            kind = KIND_CONFLICT
                    elif e + f >= 0:
                        kind = KIND_COMPROMISE
                    elif capitulate and na:
                        kind = KIND_CAPITULATION
                kinds[j] = kind
                # Score: class rank plus key (eu_kernel._choose_offers).
                if kind == KIND_NONE:
                    sc = _NO_OFFER
                    newpos[j] = x[j]
                elif kind == KIND_COMPROMISE:
                    xj = x[j]
                    abs_a, abs_b = abs(e), abs(f)
                    if weighted:
                        to = xi + (xj - xi) * (abs_b / (abs_a + abs_b))
                    else:
                        to = xi + (xj - xi) * (abs_a / abs_b)
                    newpos[j] = to
                    if scholz_order:
                        kk = ((abs_a * xi + abs_b * xj) / (abs_a + abs_b) - lo) * inv
                    else:
                        kk = abs(to - xi) * inv
                    sc = 2.0 + kk
                else:
                    sc = kind * -2.0
                    sc += 6.0
                    sc += d[i, j]
                    newpos[j] = x[j]
                score[j] = sc
                if sc < best:
                    best, pick = sc, j
            if not best < _NO_OFFER:
                proposer_out[t, i] = -1
                kind_out[t, i] = KIND_NONE
                offer_eu[t, i] = np.nan
                offer_opp[t, i] = np.nan
                xnew[i] = xi
                continue
            chosen = newpos[pick]
            limit = best + 2 * _TIE_RTOL
            rare = False
            for j in range(n):
                if score[j] <= limit and newpos[j] != chosen:
                    rare = True
            if rare:  # equally good offers that lead elsewhere: strongest, then lowest
                strongest = -np.inf
                for j in range(n):
                    if score[j] <= limit and v[i, j] > strongest:
                        strongest = v[i, j]
                lowest = np.inf
                for j in range(n):
                    tied = score[j] <= limit and v[i, j] >= strongest - _TIE_RTOL
                    if tied and newpos[j] < lowest:
                        lowest, pick = newpos[j], j
                chosen = newpos[pick]
            proposer_out[t, i] = pick
            kind_out[t, i] = kinds[pick]
            offer_eu[t, i] = sup[i, pick]
            offer_opp[t, i] = v[i, pick]
            xnew[i] = chosen
        for i in range(n):
            risk_out[t, i] = r[i]
            security_out[t, i] = sec[i]
        degenerate_out[t] = degenerate
        # Everyone moves at once (A11).
        for i in range(n):
            x[i] = xnew[i]
            positions[t + 1, i] = x[i]
    for t in range(rounds + 1):
        median[t] = _median(c, positions[t], s, key, morder, prod)
        mean[t] = _mean(c, positions[t], s, prod)
    return float(span)


@_jit()
def _block(
    start: int,
    stop: int,
    c: F,
    x0: F,
    s: F,
    rounds: int,
    q: float,
    flags: NDArray[np.bool_],
    tol: float,
    positions: F,
    median: F,
    mean: F,
    span: F,
    risk: F,
    security: F,
    degenerate: NDArray[np.bool_],
    proposer: I64,
    kind: NDArray[np.int8],
    offer_eu: F,
    offer_opp: F,
) -> None:
    """Replicates ``start..stop-1`` one after the other, sharing one set of scratch arrays."""
    n = x0.shape[1]
    work = np.empty(10 * n * n + (2 * n + 2) * n + 13 * n)
    iwork = np.empty(n * n + 3 * n, dtype=np.int64)
    for b in range(start, stop):
        span[b] = _replicate(
            c[b],
            x0[b],
            s[b],
            rounds,
            q,
            flags[0],
            flags[1],
            flags[2],
            flags[3],
            flags[4],
            flags[5],
            flags[6],
            tol,
            positions[b],
            median[b],
            mean[b],
            risk[b],
            security[b],
            degenerate[b],
            proposer[b],
            kind[b],
            offer_eu[b],
            offer_opp[b],
            work,
            iwork,
        )


@_jit(parallel=True)
def _parallel(
    blocks: int,
    c: F,
    x0: F,
    s: F,
    rounds: int,
    q: float,
    flags: NDArray[np.bool_],
    tol: float,
    positions: F,
    median: F,
    mean: F,
    span: F,
    risk: F,
    security: F,
    degenerate: NDArray[np.bool_],
    proposer: I64,
    kind: NDArray[np.int8],
    offer_eu: F,
    offer_opp: F,
) -> None:
    """:func:`_block` on ``blocks`` blocks of replicates, spread over Numba's threads."""
    bsz = x0.shape[0]
    for blk in numba.prange(blocks):
        _block(
            blk * bsz // blocks,
            (blk + 1) * bsz // blocks,
            c,
            x0,
            s,
            rounds,
            q,
            flags,
            tol,
            positions,
            median,
            mean,
            span,
            risk,
            security,
            degenerate,
            proposer,
            kind,
            offer_eu,
            offer_opp,
        )


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
    flags = np.array(
        [
            ch.normaliser == "total",
            ch.vote_exponent == "voter",
            ch.opponent_salience == "printed",
            ch.opponent_exponent == "own",
            ch.compromise == "weighted",
            ch.capitulation == "move",
            ch.offer_order == "scholz-program",
        ],
        dtype=np.bool_,
    )
    args = (
        c,
        x0,
        s,
        int(rounds),
        float(q),
        flags,
        float(ch.zero_tolerance),
    )
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
            blocks = min(b, threads * _BLOCKS_PER_THREAD)
            _parallel(blocks, *args, *arrays)
        finally:
            _PARALLEL_LOCK.release()
    else:
        _block(0, b, *args, *arrays)
    return out
