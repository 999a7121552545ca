"""The exchange model's batch run in NumPy, the replicates of a chunk in lockstep.

:func:`detente.models.exchange.simulate` spends its time in the interpreter: some fifty NumPy
calls per executed exchange on arrays of a few hundred candidates. Here the replicates of a
group advance together, one exchange each per step, so that every call works on all of them:
the possible exchanges of a round are a table ``[replicate, pair of actors × pair of issues]``
(an entry is alive only where the pair stands on opposite sides of both issues), and a step
finds each replicate's best exchange, breaks its ties and executes it with whole-array
operations; a replicate whose round is over (no valid exchange left) waits for the others.

The numbers are :func:`~detente.models.exchange.simulate`'s bit for bit
(``tests/models/test_exchange_batch.py``):

* every shift, gain and position is formed by the same elementwise operations in the same
  order (:func:`_evaluate` is :func:`detente.models.exchange._evaluate` on gathered columns);
* a round's weights' totals and starting outcomes add the actors one after another, as
  NumPy's ``sum(axis=0)`` of an ``(actor, issue)`` array does; an outcome after an exchange is
  the sum of a contiguous row of the actors' products, which NumPy adds pairwise exactly as
  the single run's ``sum()`` of one issue's column;
* the best exchange is found among the candidates whose uncut gain (an upper bound of the gain
  with the cut at the demander) reaches the tie band of a first evaluated one: the same best
  gain and tied set as evaluating every candidate, which the single run's widening pool
  chooses too;
* a replicate with several tied exchanges orders them by ``(I, J, p, q)`` and draws among them
  from its own generator, made on its first tie (:class:`ReplicateGenerators`), as a single
  run does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from detente.models.exchange_shifts import TIE_RTOL, shifts
from detente.models.streams import ReplicateGenerators

F = NDArray[np.float64]
I64 = NDArray[np.intp]
B = NDArray[np.bool_]

MAX_ENTRIES = 1 << 15
"""The most entries (replicates × pairs of actors × pairs of issues, about 250 bytes each) of
the table of every possible exchange built at once when a round starts (at least one
replicate's, 8 MiB). A round keeps only the live ones, in general a quarter or less: a chunk
runs in groups of up to ``GROUP_ENTRIES`` entries of the full table (on the benchmark machine
a chunk of 50 draws of 30 actors × 10 issues peaks at 12 MiB, in groups of 6, and runs in half
the loop's time; in groups of 13 it takes 24 MiB for a further 30 %)."""
GROUP_ENTRIES = 4 * MAX_ENTRIES
"""The most entries of the full table (as above) of the replicates run in lockstep."""

# rows of the candidates' constants, gathered together
_RATIO, _WIQ, _WJP, _TOTP, _TOTQ, _SIP, _SIQ, _TGTI, _TGTJ = range(9)


def voting(
    capability: F,
    span: F,
    salience: F,
    share: F,
    rounds: int,
    streams: Sequence[np.random.SeedSequence],
) -> F:
    """``voting[r, t]`` on 0–100 after round ``t`` of replicate ``r`` (``voting[r, 0]`` the
    input; after a settled run's last round its final state repeated), what
    :func:`~detente.models.exchange.simulate` gives with ``default_rng(streams[r])``.

    ``capability[R, n]``, ``span[R, n, m]`` positions on 0–100 (NaN: no stance),
    ``salience[R, n, m]``, ``share[R, n, m]`` (how far a traded preferred position moves
    between rounds).
    """
    r_n, n, m = span.shape
    out = np.empty((r_n, rounds + 1, n, m))
    size = (n * (n - 1) // 2) * (m * (m - 1) // 2)
    build = max(1, MAX_ENTRIES // max(1, size))
    group = max(build, GROUP_ENTRIES // max(1, size))
    generators = ReplicateGenerators(streams)
    with np.errstate(all="ignore"):
        for g0 in range(0, r_n, group):
            g1 = min(r_n, g0 + group)
            _group(
                capability[g0:g1], span[g0:g1], salience[g0:g1], share[g0:g1], rounds,
                out[g0:g1], generators, g0, build,
            )  # fmt: skip
    return out


def _column_sums(a: F) -> F:
    """``a[r].sum(axis=0)`` for every ``r`` of ``a[r, actor, issue]``: actor after actor, as
    NumPy adds the rows of an ``(actor, issue)`` array."""
    acc = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        acc += a[:, k]
    return acc


def _group(
    capability: F, x0: F, salience: F, share: F, rounds: int, voting: F,
    generators: ReplicateGenerators, first: int, build: int,
) -> None:  # fmt: skip
    r_n, n, m = x0.shape
    w = np.where(np.isnan(x0), 0.0, capability[:, :, None] * salience)
    total = _column_sums(w)
    x = np.array(x0, dtype=np.float64, copy=True)
    voting[:, 0] = x
    rounds_run = np.zeros(r_n, dtype=np.intp)
    # every pair of actors on every pair of issues, issue pairs outer (the single run's order)
    a, b = np.triu_indices(n, 1)
    p, q = np.triu_indices(m, 1)
    pairs = (np.tile(a, len(p)), np.tile(b, len(p)), np.repeat(p, len(a)), np.repeat(q, len(a)))
    running = np.arange(r_n)
    for t in range(1, rounds + 1):
        if len(running) == 0 or len(pairs[0]) == 0:
            break
        rnd = _Round(x[running], salience[running], w[running], total[running], pairs, build)
        executed = rnd.run(generators, first + running)
        voting[running, t] = rnd.y
        rounds_run[running] = t
        xs = x[running]
        x[running] = np.where(rnd.moved, xs + share[running] * (rnd.y - xs), xs)
        running = running[executed > 0]
    for r in range(r_n):
        voting[r, rounds_run[r] + 1 :] = voting[r, rounds_run[r]]


@dataclass
class _Table:
    """Possible exchanges of replicates ``[k]``, ``[k, width]`` each (flattened): constants
    ``const[9, k·width]`` (rows ``_RATIO``…), the actors ``i`` (demands ``p``) and ``j``
    (demands ``q``), the issues, the flat indices of the suppliers' cells in the round's
    ``y[k, n, m]`` (``I`` on ``q``, ``J`` on ``p``: they also name the candidates an executed
    exchange touches) and of the outcomes in ``outcome[k, m]``, liveness and uncut gains."""

    const: F
    i: I64
    j: I64
    p: I64
    q: I64
    cell_i: I64
    cell_j: I64
    out_p: I64
    out_q: I64
    alive: B
    upper: F


class _Round:
    """One round of exchanges of replicates ``[k]``: their possible exchanges, voting
    positions ``y``, directions and outcomes, as arrays with a leading replicate axis."""

    def __init__(
        self, x: F, s: F, w: F, total: F, pairs: tuple[I64, I64, I64, I64], build: int
    ) -> None:
        k, n, m = x.shape
        self.k, self.n, self.m = k, n, m
        sums = _column_sums(w * np.nan_to_num(x))
        self.outcome: F = np.where(total > 0, sums / total, np.nan)
        self.y: F = np.array(x, dtype=np.float64, copy=True)
        self.direction: F = np.zeros((k, n, m))
        self.moved: B = np.zeros((k, n, m), dtype=bool)
        self.w = w
        self.total = total
        # The table of every pair is built ``build`` replicates at a time (memory); a round
        # keeps only the candidates alive after the first evaluation, each replicate's packed
        # to the left of a row as wide as the most any replicate has.
        parts = [self._start(r0, min(k, r0 + build), x, s, w, total, pairs)
                 for r0 in range(0, k, build)]  # fmt: skip
        self.tab = _pad(parts, k)
        self.c_n = self.tab.alive.size // k
        # the live candidates by the cells their suppliers shift: ``sup_ids[sup_start[e]:
        # sup_start[e + 1]]`` are those in which cell ``e`` of ``y`` is supplied
        live = np.flatnonzero(self.tab.alive)
        keys = np.concatenate([self.tab.cell_i[live], self.tab.cell_j[live]])
        order = np.argsort(keys, kind="stable")
        self.sup_ids: I64 = np.concatenate([live, live])[order]
        self.sup_start: I64 = np.searchsorted(keys[order], np.arange(k * n * m + 1))

    def _start(
        self, r0: int, r1: int, x: F, s: F, w: F, total: F, pairs: tuple[I64, I64, I64, I64]
    ) -> tuple[_Table, int, int]:
        """The possible exchanges of replicates ``r0:r1`` (every pair of actors on every pair
        of issues), evaluated without the cut on the round's start, the live ones packed: the
        table, its rows and its width."""
        ca, cb, cp, cq = pairs
        n, m = self.n, self.m
        x, s, w, total, outcome = x[r0:r1], s[r0:r1], w[r0:r1], total[r0:r1], self.outcome[r0:r1]
        present = ~np.isnan(x)
        left = x <= outcome[:, None, :]  # an actor at the outcome counts as left
        has = (
            (total[:, cp] > 0)
            & (total[:, cq] > 0)
            & present[:, ca, cp]
            & present[:, ca, cq]
            & present[:, cb, cp]
            & present[:, cb, cq]
            & (left[:, ca, cp] != left[:, cb, cp])
            & (left[:, ca, cq] != left[:, cb, cq])
        )
        a_first = s[:, ca, cp] * s[:, cb, cq] >= s[:, cb, cp] * s[:, ca, cq]
        i = np.where(a_first, ca, cb)
        j = np.where(a_first, cb, ca)
        rl = np.arange(r1 - r0)[:, None]
        s_ip, s_jp, s_iq, s_jq = s[rl, i, cp], s[rl, j, cp], s[rl, i, cq], s[rl, j, cq]
        num = s_ip + s_jp
        den = s_iq + s_jq
        ratio = np.where((num > 0) & (den > 0), num / den, np.nan)
        const = np.empty((9, r1 - r0, len(ca)))
        const[_RATIO] = ratio
        const[_WIQ], const[_WJP] = w[rl, i, cq], w[rl, j, cp]
        const[_TOTP], const[_TOTQ] = total[:, cp], total[:, cq]
        const[_SIP], const[_SIQ] = s_ip, s_iq
        const[_TGTI], const[_TGTJ] = x[rl, i, cp], x[rl, j, cq]
        rr = rl + r0
        shape = i.shape
        tab = _Table(
            const=const.reshape(9, -1),
            i=i.ravel(),
            j=j.ravel(),
            p=np.broadcast_to(cp, shape).ravel(),
            q=np.broadcast_to(cq, shape).ravel(),
            cell_i=((rr * n + i) * m + cq).ravel(),
            cell_j=((rr * n + j) * m + cp).ravel(),
            out_p=(rr * m + cp).ravel(),
            out_q=(rr * m + cq).ravel(),
            alive=(has & np.isfinite(ratio) & (s_ip * s_jq > s_jp * s_iq)).ravel(),
            upper=np.full(i.size, -np.inf),
        )
        self._bounds(tab, np.flatnonzero(tab.alive))
        alive = tab.alive.reshape(shape)
        width = max(1, int(alive.sum(axis=1).max(initial=0)))
        keep = np.argsort(~alive, axis=1, kind="stable")[:, :width] + rl * shape[1]
        return _take(tab, keep.ravel()), r1 - r0, width

    def _bounds(self, tab: _Table, idx: I64) -> None:
        """The uncut gains of candidates ``idx`` (alive) on the current state: a candidate
        found invalid is dead for the round."""
        _mi, _mj, gain, _si, _sj, valid = self._evaluate(tab, idx, cut=False)
        tab.alive[idx] = valid
        tab.upper[idx] = np.where(valid, gain, -np.inf)

    def _evaluate(self, tab: _Table, idx: I64, cut: bool) -> tuple[F, F, F, F, F, B]:
        """:func:`detente.models.exchange._evaluate` of candidates ``idx``: ``(move_I,
        move_J, gain, sign_I, sign_J, valid)``, same operations in the same order."""
        yf, df = self.y.reshape(-1), self.direction.reshape(-1)
        cell_i, cell_j = tab.cell_i[idx], tab.cell_j[idx]
        outcome = None
        if cut:
            of = self.outcome.reshape(-1)
            outcome = (of[tab.out_q[idx]], of[tab.out_p[idx]])
        sh = shifts(
            list(tab.const[:, idx]),
            yf[cell_i],
            yf[cell_j],
            df[cell_i],
            df[cell_j],
            tab.alive[idx],
            outcome,
        )
        return sh.move_i, sh.move_j, sh.gain, sh.sign_i, sh.sign_j, sh.valid

    def run(self, generators: ReplicateGenerators, replicate: I64) -> I64:
        """Execute exchanges, best first, until no replicate has a valid one left; returns
        how many each executed. ``replicate[r]``: the index of row ``r``'s generator."""
        k, c_n = self.k, self.c_n
        executed = np.zeros(k, dtype=np.intp)
        upper = self.tab.upper.reshape(k, c_n)
        active = self.tab.alive.reshape(k, c_n).any(axis=1)
        every = np.arange(k)
        while True:
            # A first exact gain per replicate (of its highest bound) sets a tie band: only
            # candidates whose bound reaches it can be best or tied. A live candidate's bound
            # is above EPS > 0, a dead one's -inf.
            c0 = upper.argmax(axis=1)
            active &= upper[every, c0] > -np.inf
            act = np.flatnonzero(active)
            if len(act) == 0:
                break
            _mi, _mj, g0, _si, _sj, v0 = self._evaluate(self.tab, act * c_n + c0[act], cut=True)
            band = np.where(v0, g0 - TIE_RTOL * np.abs(g0), 0.0)
            floor = np.full(k, np.inf)
            floor[act] = np.where(np.isnan(band), 0.0, band)
            pool = upper >= floor[:, None]
            pool[act, c0[act]] = True
            pr, pc = np.nonzero(pool)
            _mi, _mj, gain, _si, _sj, valid = self._evaluate(self.tab, pr * c_n + pc, cut=True)
            gain = np.where(valid, gain, -np.inf)
            best = np.full(k, -np.inf)
            np.maximum.at(best, pr, gain)
            tied = valid & (gain >= (best - TIE_RTOL * np.abs(best))[pr])
            count = np.bincount(pr[tied], minlength=k)
            active &= count > 0  # the others' rounds are over
            act = np.flatnonzero(active)
            if len(act) == 0:
                break
            pick = np.zeros(k, dtype=np.intp)
            pick[pr[tied]] = pc[tied]
            for r in np.flatnonzero(count > 1):
                pick[r] = self._draw(int(r), pc[tied & (pr == r)], generators, int(replicate[r]))
            self._execute(act, act * c_n + pick[act])
            executed[act] += 1
        return executed

    def _draw(self, row: int, cols: I64, generators: ReplicateGenerators, replicate: int) -> int:
        """Among tied candidates ``cols`` of row ``row``, the one the replicate's generator
        picks, ordered by ``(I, J, p, q)`` as a single run orders them."""
        flat = row * self.c_n + cols
        keys = list(
            zip(
                self.tab.i[flat].tolist(),
                self.tab.j[flat].tolist(),
                self.tab.p[flat].tolist(),
                self.tab.q[flat].tolist(),
                strict=True,
            )
        )
        ranked = sorted(range(len(keys)), key=keys.__getitem__)
        return int(cols[ranked[int(generators[replicate].integers(len(ranked)))]])

    def _execute(self, act: I64, flat: I64) -> None:
        """Execute candidate ``flat[e]`` in row ``act[e]``: shifts, directions, the two
        outcomes, and the new bounds of the candidates whose suppliers moved."""
        move_i, move_j, _gain, sign_i, sign_j, _valid = self._evaluate(self.tab, flat, cut=True)
        yf = self.y.reshape(-1)
        cell_i, cell_j = self.tab.cell_i[flat], self.tab.cell_j[flat]
        yi_from, yj_from = yf[cell_i], yf[cell_j]
        # the clamp at the demander's preferred position (simulate's _clamp_towards)
        yf[cell_i] = _clamp_towards(yi_from, yi_from + sign_i * move_i, self.tab.const[_TGTJ, flat])
        yf[cell_j] = _clamp_towards(yj_from, yj_from + sign_j * move_j, self.tab.const[_TGTI, flat])
        df, mf = self.direction.reshape(-1), self.moved.reshape(-1)
        df[cell_i], df[cell_j] = sign_i, sign_j
        mf[cell_i] = mf[cell_j] = True
        for e in (self.tab.p[flat], self.tab.q[flat]):
            prod = np.ascontiguousarray(self.w[act, :, e] * np.nan_to_num(self.y[act, :, e]))
            self.outcome[act, e] = prod.sum(axis=1) / self.total[act, e]
        self.tab.alive[flat] = False
        self.tab.upper[flat] = -np.inf
        # Only the candidates in which one of the two cells that moved is supplied change
        # their (uncut) shifts; the cut is applied when a candidate is a contender.
        cells = np.concatenate([cell_i, cell_j])
        lo, hi = self.sup_start[cells], self.sup_start[cells + 1]
        size = hi - lo
        ends = np.cumsum(size)
        at = np.repeat(lo - (ends - size), size) + np.arange(int(ends[-1]))
        touched = self.sup_ids[at]
        touched = touched[self.tab.alive[touched]]
        if len(touched):
            self._bounds(self.tab, touched)


def _clamp_towards(start: F, end: F, target: F) -> F:
    """``exchange._clamp_towards`` elementwise (Python's ``min``/``max``: the first of
    equals)."""
    lo = np.where(target < start, target, start)
    hi = np.where(target > start, target, start)
    v = np.where(lo > end, lo, end)
    out: F = np.where(hi < v, hi, v)
    return out


def _take(tab: _Table, idx: I64) -> _Table:
    """Candidates ``idx`` of ``tab``."""
    return _Table(**{f.name: getattr(tab, f.name)[..., idx] for f in fields(_Table)})


def _pad(parts: list[tuple[_Table, int, int]], k: int) -> _Table:
    """Tables ``(table, rows, width)`` of consecutive groups of replicates as one of ``k``
    rows as wide as the widest, the padding dead (cells and outcomes 0, never read as
    alive)."""
    width = max(wd for _t, _r, wd in parts)
    out = {}
    for f in fields(_Table):
        blocks = []
        for t, rows, wd in parts:
            a = getattr(t, f.name)
            a = a.reshape(*a.shape[:-1], rows, wd)
            fill = -np.inf if f.name == "upper" else 0
            pad = np.full((*a.shape[:-1], width - wd), fill, dtype=a.dtype)
            blocks.append(np.concatenate([a, pad], axis=-1))
        joined = np.concatenate(blocks, axis=-2)
        out[f.name] = joined.reshape(*joined.shape[:-2], k * width)
    return _Table(**out)
