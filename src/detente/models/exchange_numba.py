"""The exchange model's batch run, compiled (Numba, extra ``fast``), optional.

:func:`detente.models.exchange.simulate` runs a round as a sequence of NumPy calls per executed
exchange (find the best, execute it, re-evaluate the candidates it touched), some fifty calls
of a few microseconds each on arrays of a few hundred candidates: the interpreter, not the
arithmetic, sets the pace. Here a whole chunk of replicates runs as one loop nest over
replicates, rounds and exchanges, every candidate a handful of scalars.

The numbers are the NumPy code's bit for bit (``tests/models/test_exchange_batch.py``):

* every shift, gain and position is formed by the same operations in the same order;
* the round-start outcomes add the actors in order as NumPy's ``sum(axis=0)`` over an
  ``(actor, issue)`` array does, and an outcome after an exchange adds them in NumPy's pairwise
  order (:func:`_pairwise`), as its ``sum()`` of one issue's column does;
* the best exchange is found by evaluating, with the cut at the demander, every candidate whose
  uncut gain (an upper bound) could reach the best one: the same choice, and the same tied
  set, as :func:`~detente.models.exchange._best`'s widening pool (which chooses what evaluating
  all would);
* at a tie the run stops and hands the number of tied exchanges (ordered by actor, partner and
  issues) to the caller, which draws the choice from the replicate's own generator exactly as
  a single run does and resumes the run with it (:func:`run`).

These functions compile in a few seconds; :mod:`detente.models.accel` decides when they pay.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from detente.models.accel import jit
from detente.models.eu_numba import block_sum
from detente.models.exchange_shifts import EPS, TIE_RTOL

F = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]

# rows of the candidates' float table ``cf`` and int table ``ci``
_RATIO, _WIQ, _WJP, _TOTP, _TOTQ, _SIP, _SIQ, _TGTI, _TGTJ, _UPPER, _GAIN = range(11)
_I, _J, _P, _Q, _EVAL, _TIED = range(6)
# rows of the per-replicate float workspace ``fw[row, actor, issue]``
_W, _X, _Y, _DIR, _MOVED = range(5)
# entries of the state ``st`` kept between calls of :func:`run`
_R, _T, _EXECUTED, _NC, _NTIED = range(5)


@jit(inline=True)
def _sign(d: float) -> float:
    """``np.sign`` of one number."""
    if d > 0.0:
        return 1.0
    if d < 0.0:
        return -1.0
    if d == 0.0:
        return 0.0
    return d


@jit(inline=True)
def _nz(v: float) -> float:
    """``np.nan_to_num`` of a number that is never infinite."""
    return 0.0 if np.isnan(v) else v


@jit(entry=True)
def _pairwise(a: F, n: int) -> float:
    """NumPy's ``a[:n].sum()`` of a contiguous float64 array, in its order: blocks of up to 128
    (:func:`detente.models.eu_numba.block_sum`), above that the two halves (cut at a multiple
    of 8) added. Without recursion (a recursive kernel loaded from Numba's cache crashed)."""
    if n <= 128:
        return block_sum(a, 0, n)
    start = np.empty(64, dtype=np.int64)
    size = np.empty(64, dtype=np.int64)
    stage = np.empty(64, dtype=np.int64)
    done = np.empty(64)
    start[0], size[0], stage[0] = 0, n, 0
    top, nd = 1, 0
    while top > 0:
        f = top - 1
        if size[f] <= 128:
            done[nd] = block_sum(a, start[f], size[f])
            nd += 1
            top -= 1
            continue
        half = size[f] // 2
        half -= half % 8
        if stage[f] == 0:  # the left half first
            stage[f] = 1
            start[top], size[top], stage[top] = start[f], half, 0
            top += 1
        elif stage[f] == 1:
            stage[f] = 2
            start[top], size[top], stage[top] = start[f] + half, size[f] - half, 0
            top += 1
        else:
            done[nd - 2] = done[nd - 2] + done[nd - 1]
            nd -= 1
            top -= 1
    return float(done[0])


@jit()
def _evaluate(
    ratio: float, w_iq: float, w_jp: float, tot_p: float, tot_q: float, s_ip: float,
    s_iq: float, target_i: float, target_j: float, alive: bool, from_i: float, from_j: float,
    dir_i: float, dir_j: float, cut: bool, o_q: float, o_p: float,
) -> tuple[float, float, float, float, float, bool]:  # fmt: skip
    """:func:`detente.models.exchange._evaluate` of one candidate: ``(move_I, move_J, gain,
    sign_I, sign_J, valid)``; ``cut``: with the cut at the demander on outcomes ``o_q, o_p``."""
    dist_i, dist_j = abs(target_j - from_i), abs(target_i - from_j)
    sign_i, sign_j = _sign(target_j - from_i), _sign(target_i - from_j)
    dp = w_jp * dist_j / tot_p
    dq = dp * ratio
    move_i = dq * tot_q / w_iq
    move_j = dist_j
    if move_i > dist_i:
        dq = w_iq * dist_i / tot_q
        dp = dq / ratio
        move_i = dist_i
        move_j = dp * tot_p / w_jp
    if cut:
        capped = False
        before, after = target_j - o_q, target_j - (o_q + sign_i * dq)
        if (before > 0 and after < 0) or (before < 0 and after > 0):
            dq = abs(before)
            dp = dq / ratio
            capped = True
        before, after = target_i - o_p, target_i - (o_p + sign_j * dp)
        if (before > 0 and after < 0) or (before < 0 and after > 0):
            dp = abs(before)
            dq = dp * ratio
            capped = True
        if capped:
            move_i = dq * tot_q / w_iq
            move_j = dp * tot_p / w_jp
    gain = dp * s_ip - dq * s_iq
    valid = (
        alive
        and move_i > EPS
        and move_j > EPS
        and gain > EPS
        and (dir_i == 0 or dir_i == sign_i)
        and (dir_j == 0 or dir_j == sign_j)
    )
    return move_i, move_j, gain, sign_i, sign_j, valid


@jit()
def _eval_candidate(
    c: int, cf: F, ci: I64, alive: B, y: F, direction: F, cut: bool, outcome: F
) -> tuple[float, float, float, float, float, bool]:
    i, j, p, q = ci[_I, c], ci[_J, c], ci[_P, c], ci[_Q, c]
    return _evaluate(
        cf[_RATIO, c], cf[_WIQ, c], cf[_WJP, c], cf[_TOTP, c], cf[_TOTQ, c], cf[_SIP, c],
        cf[_SIQ, c], cf[_TGTI, c], cf[_TGTJ, c], alive[c], y[i, q], y[j, p],
        direction[i, q], direction[j, p], cut, outcome[q], outcome[p],
    )  # fmt: skip


@jit()
def _start_round(
    x: F, s: F, w: F, total: F, outcome: F, cf: F, ci: I64, alive: B, y: F, direction: F,
    tree: F, index: I64,
) -> int:  # fmt: skip
    """:func:`detente.models.exchange._candidates` and the first, uncut evaluation of each:
    fills the tables, the suppliers' index and the tree of bounds, returns the number of
    candidates; ``outcome`` the round's start."""
    n, m = x.shape
    for k in range(m):
        if total[k] > 0:
            acc = w[0, k] * _nz(x[0, k])  # NumPy's sum(axis=0): row after row
            for a in range(1, n):
                acc += w[a, k] * _nz(x[a, k])
            outcome[k] = acc / total[k]
        else:
            outcome[k] = np.nan
    nc = 0
    for p in range(m - 1):
        if not total[p] > 0:
            continue
        for q in range(p + 1, m):
            if not total[q] > 0:
                continue
            for a in range(n - 1):
                if np.isnan(x[a, p]) or np.isnan(x[a, q]):
                    continue
                left_ap, left_aq = x[a, p] <= outcome[p], x[a, q] <= outcome[q]
                for b in range(a + 1, n):
                    if np.isnan(x[b, p]) or np.isnan(x[b, q]):
                        continue
                    if left_ap == (x[b, p] <= outcome[p]) or left_aq == (x[b, q] <= outcome[q]):
                        continue
                    if s[a, p] * s[b, q] >= s[b, p] * s[a, q]:
                        i, j = a, b
                    else:
                        i, j = b, a
                    num = s[i, p] + s[j, p]
                    den = s[i, q] + s[j, q]
                    ratio = num / den if (num > 0 and den > 0) else np.nan
                    ci[_I, nc], ci[_J, nc], ci[_P, nc], ci[_Q, nc] = i, j, p, q
                    cf[_RATIO, nc] = ratio
                    cf[_WIQ, nc], cf[_WJP, nc] = w[i, q], w[j, p]
                    cf[_TOTP, nc], cf[_TOTQ, nc] = total[p], total[q]
                    cf[_SIP, nc], cf[_SIQ, nc] = s[i, p], s[i, q]
                    cf[_TGTI, nc], cf[_TGTJ, nc] = x[i, p], x[j, q]
                    alive[nc] = np.isfinite(ratio) and s[i, p] * s[j, q] > s[j, p] * s[i, q]
                    nc += 1
    for c in range(nc):
        _mi, _mj, gain, _si, _sj, valid = _eval_candidate(
            c, cf, ci, alive, y, direction, False, outcome
        )
        alive[c] = alive[c] and valid
        cf[_UPPER, c] = gain if valid else -np.inf
    _index(nc, ci, m, n * m, index)
    leaves = tree.shape[0] // 2
    for c in range(leaves):
        tree[leaves + c] = cf[_UPPER, c] if c < nc and alive[c] else -np.inf
    for node in range(leaves - 1, 0, -1):
        tree[node] = max(tree[2 * node], tree[2 * node + 1])
    return nc


@jit()
def _index(nc: int, ci: I64, m: int, keys: int, index: I64) -> None:
    """The candidates by the actor-issue each of their suppliers shifts on (``actor·m +
    issue``): those of key ``e`` are ``index[keys + 1 + index[e]:keys + 1 + index[e + 1]]``
    (a counting sort)."""
    index[: keys + 1] = 0
    for c in range(nc):
        index[_key(ci, c, 0, m) + 1] += 1
        index[_key(ci, c, 1, m) + 1] += 1
    for e in range(keys):
        index[e + 1] += index[e]
    for c in range(nc):
        for side in range(2):
            e = _key(ci, c, side, m)
            index[keys + 1 + index[e]] = c
            index[e] += 1
    for e in range(keys, 0, -1):
        index[e] = index[e - 1]
    index[0] = 0


@jit(inline=True)
def _key(ci: I64, c: int, side: int, m: int) -> int:
    """``actor·m + issue`` of candidate ``c``'s supplier ``I`` (side 0, on ``q``) or ``J`` (on
    ``p``)."""
    if side == 0:
        return int(ci[_I, c] * m + ci[_Q, c])
    return int(ci[_J, c] * m + ci[_P, c])


@jit(inline=True)
def _set(tree: F, c: int, v: float) -> None:
    """Leaf ``c`` of the max-tree over the candidates' bounds to ``v``, and its ancestors."""
    node = tree.shape[0] // 2 + c
    tree[node] = v
    node //= 2
    while node >= 1:
        tree[node] = max(tree[2 * node], tree[2 * node + 1])
        node //= 2


@jit()
def _best(cf: F, ci: I64, alive: B, y: F, direction: F, outcome: F, tree: F) -> int:
    """The exchanges tied for the highest gain on the current state, ordered by their
    ``(I, J, p, q)``, in ``ci[_TIED]``; returns how many (0: none left).

    A candidate's uncut gain bounds its gain with the cut, so only the candidates whose bound
    reaches the tie band below the best gain found so far are evaluated: the tree of bounds
    leads first to the highest bound, then to every subtree whose maximum reaches the band.
    """
    if tree[1] == -np.inf:
        return 0
    leaves = tree.shape[0] // 2
    best = -np.inf
    node = 1
    while node < leaves:
        node = 2 * node if tree[2 * node] >= tree[2 * node + 1] else 2 * node + 1
    _mi, _mj, gain, _si, _sj, valid = _eval_candidate(
        node - leaves, cf, ci, alive, y, direction, True, outcome
    )
    if valid:
        best = gain
    stack = np.empty(128, dtype=np.int64)
    stack[0] = 1
    top = 1
    ne = 0
    while top > 0:
        top -= 1
        node = stack[top]
        bound = tree[node]
        if bound == -np.inf or (best > -np.inf and bound < best - TIE_RTOL * abs(best)):
            continue
        if node < leaves:
            stack[top] = 2 * node + 1
            stack[top + 1] = 2 * node
            top += 2
            continue
        c = node - leaves
        _mi, _mj, gain, _si, _sj, valid = _eval_candidate(
            c, cf, ci, alive, y, direction, True, outcome
        )
        if valid:
            ci[_EVAL, ne] = c
            cf[_GAIN, ne] = gain
            ne += 1
            if gain > best:
                best = gain
    if ne == 0:
        return 0
    floor = best - TIE_RTOL * abs(best)
    nt = 0
    m = y.shape[1]
    n = y.shape[0]
    for e in range(ne):
        if cf[_GAIN, e] >= floor:
            c = ci[_EVAL, e]
            key = ((ci[_I, c] * n + ci[_J, c]) * m + ci[_P, c]) * m + ci[_Q, c]
            # insertion by key: the tied set is small
            k = nt
            while k > 0:
                o = ci[_TIED, k - 1]
                okey = ((ci[_I, o] * n + ci[_J, o]) * m + ci[_P, o]) * m + ci[_Q, o]
                if okey <= key:
                    break
                ci[_TIED, k] = o
                k -= 1
            ci[_TIED, k] = c
            nt += 1
    return nt


@jit()
def _execute(
    k: int, cf: F, ci: I64, alive: B, fw: F, total: F, outcome: F, prod: F, tree: F,
    index: I64,
) -> None:  # fmt: skip
    """Execute candidate ``k``: shifts, outcomes, and the re-evaluation of the candidates whose
    suppliers moved (``simulate``'s loop body)."""
    w, x, y, direction, moved = fw[_W], fw[_X], fw[_Y], fw[_DIR], fw[_MOVED]
    n, m = y.shape
    move_i, move_j, _gain, sign_i, sign_j, _valid = _eval_candidate(
        k, cf, ci, alive, y, direction, True, outcome
    )
    i, j, p, q = ci[_I, k], ci[_J, k], ci[_P, k], ci[_Q, k]
    yi_from, yj_from = y[i, q], y[j, p]
    y[i, q] = _clamp_towards(yi_from, yi_from + sign_i * move_i, x[j, q])
    y[j, p] = _clamp_towards(yj_from, yj_from + sign_j * move_j, x[i, p])
    direction[i, q], direction[j, p] = sign_i, sign_j
    moved[i, q] = moved[j, p] = 1.0
    for e in (p, q):
        for a in range(n):
            prod[a] = w[a, e] * _nz(y[a, e])
        outcome[e] = _pairwise(prod, n) / total[e]
    alive[k] = False
    _set(tree, k, -np.inf)
    offset = n * m + 1
    for key in (i * m + q, j * m + p):
        for at in range(index[key], index[key + 1]):
            c = index[offset + at]
            if not alive[c]:
                continue
            _mi, _mj, gain, _si, _sj, valid = _eval_candidate(
                c, cf, ci, alive, y, direction, False, outcome
            )
            alive[c] = valid
            cf[_UPPER, c] = gain if valid else -np.inf
            _set(tree, c, cf[_UPPER, c])


@jit(inline=True)
def _clamp_towards(start: float, end: float, target: float) -> float:
    """``exchange._clamp_towards`` (Python's ``min``/``max``: the first of equals)."""
    lo = target if target < start else start
    hi = target if target > start else start
    v = lo if lo > end else end
    return hi if hi < v else v


@jit(entry=True)
def run(
    capability: F, position: F, salience: F, share: F, rounds: int, voting: F, rounds_run: I64,
    fw: F, fv: F, cf: F, ci: I64, alive: B, tree: F, index: I64, st: I64, pick: int,
) -> int:  # fmt: skip
    """Run replicates ``st[0]`` onwards of a chunk until all are done (returns 0) or one meets
    a tie (returns the number of tied exchanges ``k > 1``; draw ``pick`` in ``range(k)`` from
    that replicate's generator and call again with it to go on).

    ``capability[R, n]``, ``position[R, n, m]`` on 0–100 (NaN: no stance), ``salience``,
    ``share[R, n, m]`` (how far preferred positions move between rounds). Writes
    ``voting[r, t]`` (the voting positions after round ``t``, ``voting[r, 0]`` the input) and
    ``rounds_run[r]``. The rest is scratch kept between calls (start: zeros, ``pick = -1``):
    ``fw[5, n, m]``, ``fv[3, max(n, m)]``, with ``C`` at least the number of pairs of actors
    times pairs of issues ``cf[11, C]``, ``ci[6, C]``, ``alive[C]``, ``tree[2P]`` (``P`` a power
    of 2 at least ``C``), ``index[n·m + 1 + 2C]``, and ``st[5]``.
    """
    n_rep, n, m = position.shape
    total, outcome, prod = fv[0], fv[1], fv[2]
    w, x, y, direction, moved = fw[_W], fw[_X], fw[_Y], fw[_DIR], fw[_MOVED]
    r = st[_R]
    resuming = pick >= 0
    while r < n_rep:
        s = salience[r]
        t = 1
        executed = 0
        nc = 0
        start = True
        if resuming:
            t, executed, nc = st[_T], st[_EXECUTED], st[_NC]
            start = False
        else:
            for a in range(n):
                for k in range(m):
                    w[a, k] = 0.0 if np.isnan(position[r, a, k]) else capability[r, a] * s[a, k]
                    x[a, k] = position[r, a, k]
                    voting[r, 0, a, k] = x[a, k]
            for k in range(m):
                total[k] = w[0, k]
            for a in range(1, n):
                for k in range(m):
                    total[k] += w[a, k]
        while True:
            if resuming:
                chosen = ci[_TIED, pick]
                resuming = False
            else:
                if start:
                    y[:, :] = x
                    direction[:, :] = 0.0
                    moved[:, :] = 0.0
                    executed = 0
                    nc = _start_round(
                        x, s, w, total, outcome, cf, ci, alive, y, direction, tree, index
                    )
                    start = False
                nt = _best(cf, ci, alive, y, direction, outcome, tree)
                if nt == 0:  # the round is over
                    voting[r, t] = y
                    rounds_run[r] = t
                    if executed == 0 or t == rounds:
                        break
                    for a in range(n):
                        for k in range(m):
                            if moved[a, k] != 0.0:
                                x[a, k] = x[a, k] + share[r, a, k] * (y[a, k] - x[a, k])
                    t += 1
                    start = True
                    continue
                if nt > 1:
                    st[_R], st[_T], st[_EXECUTED], st[_NC], st[_NTIED] = r, t, executed, nc, nt
                    return nt
                chosen = ci[_TIED, 0]
            _execute(chosen, cf, ci, alive, fw, total, outcome, prod, tree, index)
            executed += 1
        r += 1
    st[_R] = n_rep
    return 0


CACHED_KERNELS = (run,)
"""Kernels whose presence in Numba's cache means that this module loads without compiling
(see :func:`detente.models.accel.in_cache`)."""
