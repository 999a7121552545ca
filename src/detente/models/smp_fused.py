"""The ``n³`` inner loops of an SMP turn, compiled (Numba, extra ``fast``), optional.

The NumPy kernel (:mod:`detente.models.smp_kernel`) spends a turn of many actors in four loops
over three actor indices: the third parties of every challenge, the coalitions of the risk and
outcome elections, the coalitions of the bargain elections, and every voter's value of the
state after every bargain. NumPy computes them in chunks with a dozen passes over memory each;
here each is one loop nest whose innermost loop runs along contiguous rows (vectorised by the
compiler), with no temporaries. The rest of the turn stays in NumPy.

Every sum runs in the order the NumPy kernel adds (KTAB's: left to right, from the same
starting value), every product and quotient is formed as NumPy forms it, so the numbers are
the NumPy kernel's bit for bit (``tests/models/test_smp_fused.py``). These functions compile
in a few seconds; :mod:`detente.models.accel` decides when they are worth it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from detente.models import smp_kernel as K
from detente.models.accel import jit

F = NDArray[np.float64]
I64 = NDArray[np.int64]
Ix = NDArray[np.intp]

_VR_BINARY, _VR_PROPBIN, _VR_PROP = K.VR_BINARY, K.VR_PROPBIN, K.VR_PROP
_VR_PROPCBC, _VR_CUBIC, _VR_ASYM = K.VR_PROPCBC, K.VR_CUBIC, K.VR_ASYM


# -- scalars ---------------------------------------------------------------------------------------


@jit(inline=True)
def pos(x: float) -> float:
    """``np.fmax(x, 0.0)`` (NaN gives 0; the sign of a zero may differ, which no sum sees)."""
    return x if x > 0.0 else 0.0


@jit(inline=True)
def _clip1(x: float) -> float:
    if x < -1.0:
        return -1.0
    if x > 1.0:
        return 1.0
    return x


@jit(inline=True)
def vote(rule: int, w: float, du: float) -> float:
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


@jit(inline=True)
def third_party_vote(
    ktab_form: bool, vr: int, wm: float, a: float, b: float, umi: float, umj: float, umm: float
) -> float:
    """The vote of a third party ``m`` in ``i``'s challenge of ``j`` (``a``, ``b``: the two
    sides' strengths without third parties; ``umi``, ``umj``, ``umm``: ``m``'s utilities of
    ``i``'s, ``j``'s and its own position, as the one estimating the contest sees them), in
    ``smp_kernel``'s algebraically simplified form or, with ``ktab_form``, in KTAB's
    (``smp_kernel.third_party_votes``, used for ``smp_kernel.RAMP_RULES``)."""
    v0 = vote(vr, wm, umi - umj)
    if ktab_form:
        cni = a + pos(v0)
        cnj = b + pos(-v0)
        pin = cni / (cni + cnj)
        pjn = 1.0 - pin
        u1 = (umi + umi) + umm
        u2 = (umj + umj) + umj
        u3 = (umi + umi) + umi
        u4 = (umj + umj) + umm
        return vote(vr, wm, (pin * u1 + pjn * u2) - (pin * u3 + pjn * u4))
    cni = pos(v0) + a
    den = abs(v0) + (a + b)
    pin = cni / den
    t2 = (((umm + umm) - umi) - umj) * pin
    return vote(vr, wm, (umj - umm) + t2)


# -- the third parties of every challenge ----------------------------------------------------------
#
# The voting rule is a constant of each compiled loop (one closure per rule, compiled on first
# use): with the rule known the compiler vectorises the loop along targets; with it read at run
# time, the branches stop it (ten times slower). For the same reason the loops index the full
# arrays instead of taking row views.


def _third_party_loop(rule: int) -> Callable[..., None]:
    """The compiled :func:`third_party_strengths` loop for voting rule ``rule``."""
    ramp = rule in (_VR_BINARY, _VR_PROPBIN)

    @jit(entry=True)
    def loop(
        lo: int, hi: int, w: F, a: F, b: F, om: F, dm: F, rr: F, ucross: F, uself: F, at: F, bt: F
    ) -> None:
        """Initiators ``lo <= r * n + i < hi`` (replicate ``r``, actor ``i``)."""
        n = a.shape[1]
        for k in range(lo, hi):
            r, i = k // n, k % n
            for j in range(n):
                at[r, i, j] = a[r, i, j]
                bt[r, i, j] = b[r, i, j]
            for m in range(n):
                if m == i:  # the principals are no third parties of their own contest
                    continue
                wm, umi, umm, rim = w[r, m], ucross[r, i, m], uself[r, i, m], rr[r, i, m]
                for j in range(n):
                    umj = (rim * dm[r, m, j] + 1.0) * om[r, m, j]  # as smp_kernel forms it
                    v = third_party_vote(ramp, rule, wm, a[r, i, j], b[r, i, j], umi, umj, umm)
                    if j == m:
                        v = 0.0
                    at[r, i, j] += pos(v)
                    bt[r, i, j] += pos(-v)

    return cast(Callable[..., None], loop)


_THIRD_PARTIES = [_third_party_loop(rule) for rule in range(len(K.VOTING))]


def third_party_strengths(vr: int, state: K.State, con: K.Contests) -> tuple[F, F]:
    """:func:`detente.models.smp_kernel.third_party_strengths`, compiled (the same numbers):
    ``a``, ``b`` plus the third parties' positive and negative votes, each challenge's sums
    from its principals' strengths by third party index, as KTAB adds."""
    at, bt = np.empty_like(con.a), np.empty_like(con.b)
    c = np.ascontiguousarray
    inputs = (con.w, con.a, con.b, state.om, state.dm, state.rr, con.ucross, con.uself)
    args = (*(c(x) for x in inputs), at, bt)
    r_n, n = con.a.shape[:2]
    _split(_THIRD_PARTIES[vr], r_n * n, r_n * n**3, args)
    return at, bt


SPLIT_ELEMENTS = 1 << 21
"""From this many elements (about 130 actors) a loop's rows are shared between two threads: the
compiled loops release the GIL, so a second free core halves the wall time (the CPU time stays)."""

_POOL: list[tuple[int, ThreadPoolExecutor]] = []
"""``(process id, pool)`` of the one helper thread (a forked child makes its own)."""


def _split(loop: Callable[..., None], rows: int, elements: int, args: tuple[Any, ...]) -> None:
    """``loop(lo, hi, *args)`` over ``0 <= lo < hi <= rows``: on the calling thread, or for
    large loops half on a helper thread (rows are independent: the split changes no number)."""
    import numba

    if elements < SPLIT_ELEMENTS or rows < 2 or numba.get_num_threads() < 2:
        loop(0, rows, *args)
        return
    pid = os.getpid()
    if not _POOL or _POOL[0][0] != pid:
        _POOL[:] = [(pid, ThreadPoolExecutor(max_workers=1, thread_name_prefix="detente-smp"))]
    half = rows // 2
    other = _POOL[0][1].submit(loop, half, rows, *args)
    loop(0, half, *args)
    other.result()


# -- each challenge as its target sees it ---------------------------------------------------------


@jit(inline=True)
def _u(om: F, dm: F, rr: F, r: int, h: int, m: int, j: int) -> float:
    """``u^h_{m,j}``: ``m``'s utility of ``j``'s position with the risk attitude ``h`` ascribes
    to ``m``, as ``smp_kernel`` forms it."""
    u: float = om[r, m, j] * (1.0 + rr[r, h, m] * dm[r, m, j])
    return u


@jit(entry=True)
def _target_views(vr: int, semi: bool, w: F, om: F, dm: F, rr: F, tt: I64, out: F) -> None:
    """``out[:, r, i]``: ``(P, P', u_ii, u_ij, u_ji, u_jj)`` of the challenge ``i → tt[r, i]``
    as the target estimates it (``smp_kernel._target_view``)."""
    r_n, n = tt.shape
    for r in range(r_n):
        for i in range(n):
            t = tt[r, i]
            uii, uij = _u(om, dm, rr, r, t, i, i), _u(om, dm, rr, r, t, i, t)
            uji, ujj = _u(om, dm, rr, r, t, t, i), _u(om, dm, rr, r, t, t, t)
            ci, cj = vote(vr, w[r, i], uii - uij), vote(vr, w[r, t], uji - ujj)
            a = (1e-10 + pos(ci)) + pos(cj)
            b = (1e-10 + pos(-ci)) + pos(-cj)
            at, bt = a, b
            for m in range(n):
                if not semi or m == i or m == t:  # noqa: SIM109 (plain compiled comparisons)
                    continue
                umi, umj = _u(om, dm, rr, r, t, m, i), _u(om, dm, rr, r, t, m, t)
                umm = _u(om, dm, rr, r, t, m, m)
                # the target's estimates take KTAB's form of the votes, whatever the rule
                v = third_party_vote(True, vr, w[r, m], a, b, umi, umj, umm)
                at += pos(v)
                bt += pos(-v)
            out[0, r, i], out[1, r, i] = at / (at + bt), bt / (at + bt)
            out[2, r, i], out[3, r, i], out[4, r, i], out[5, r, i] = uii, uij, uji, ujj


def target_view(vr: int, semi: bool, state: K.State, w: F, tt: Ix) -> tuple[F, ...]:
    """``smp_kernel._target_view``, compiled (the same numbers)."""
    out = np.empty((6, *tt.shape))
    c = np.ascontiguousarray
    _target_views(
        int(vr), bool(semi), c(w), c(state.om), c(state.dm), c(state.rr), tt.astype(np.int64), out
    )
    return tuple(out)


# -- coalitions ------------------------------------------------------------------------------------


def _coalition_loop(rule: int) -> Callable[..., None]:
    """The compiled :func:`coalitions` loop for voting rule ``rule``."""

    @jit(entry=True)
    def loop(w: F, u: F, out: F) -> None:
        r_n, n_m, n_o = u.shape
        for r in range(r_n):
            for a in range(n_o):
                for b in range(n_o):
                    out[r, a, b] = 1e-8
                for m in range(n_m):
                    wm, ua = w[r, m], u[r, m, a]
                    for b in range(n_o):
                        if rule == _VR_ASYM and b > a:
                            # KTAB votes once per pair, the option of higher index against
                            # the lower, and gives the negative part to the lower
                            out[r, a, b] += pos(-vote(rule, wm, u[r, m, b] - ua))
                        else:
                            out[r, a, b] += pos(vote(rule, wm, ua - u[r, m, b]))
                out[r, a, a] = 1e-8

    return cast(Callable[..., None], loop)


_COALITIONS = [_coalition_loop(rule) for rule in range(len(K.VOTING))]


def coalitions(rule: int, w: F, util: F) -> F:
    """:func:`detente.models.smp_kernel.coalitions` for ``util[r, m, a]`` and ``w[r, m]`` or
    ``w[m]``, compiled (the same numbers): each strength summed over voters in order from
    1e-8."""
    r_n, n_m, n_o = util.shape
    ww = np.ascontiguousarray(np.broadcast_to(w, (r_n, n_m)), dtype=np.float64)
    out = np.empty((r_n, n_o, n_o))
    _COALITIONS[rule](ww, np.ascontiguousarray(util, dtype=np.float64), out)
    return out


def _pair_loop(rule: int) -> Callable[..., None]:
    """The compiled :func:`pair_strengths` loop for voting rule ``rule``."""

    @jit(entry=True)
    def loop(w: F, table: F, lead: I64, row_a: I64, row_b: I64, cab: F, cba: F) -> None:
        n_m = table.shape[2]
        for p in range(lead.shape[0]):
            ll, ra, rb = lead[p], row_a[p], row_b[p]
            s_ab, s_ba = 1e-8, 1e-8
            for m in range(n_m):
                v = vote(rule, w[ll, m], table[ll, ra, m] - table[ll, rb, m])
                s_ab += pos(v)
                s_ba += pos(-v)
            cab[p], cba[p] = s_ab, s_ba

    return cast(Callable[..., None], loop)


_PAIRS = [_pair_loop(rule) for rule in range(len(K.VOTING))]


def pair_strengths(rule: int, w: F, table: F, lead: Ix, row_a: Ix, row_b: Ix) -> tuple[F, F]:
    """:func:`detente.models.smp_kernel.pair_strengths` for a table ``[r, row, m]`` (voter
    ``m``'s utility of each option, voters last) and weights ``w[r, m]``, compiled (the same
    numbers): the strengths for and against option ``row_a[p]`` over ``row_b[p]`` of
    ``table[lead[p]]``, voters in order."""
    r_n, _, n_m = table.shape
    ww = np.ascontiguousarray(np.broadcast_to(w, (r_n, n_m)), dtype=np.float64)
    cab, cba = np.empty(lead.shape[0]), np.empty(lead.shape[0])
    i64 = np.int64
    _PAIRS[rule](
        ww,
        np.ascontiguousarray(table, dtype=np.float64),
        lead.astype(i64),
        row_a.astype(i64),
        row_b.astype(i64),
        cab,
        cba,
    )
    return cab, cba


# -- every voter's value of the state after every bargain ------------------------------------------


@jit(entry=True)
def _bargain_sums(uown: F, moved: F, initiator: I64, receiver: I64, out: F) -> None:
    """``out[r, m, s]``: ``moved[r, m, s]`` (the two moved positions' utilities) plus voter
    ``m``'s utilities of every other actor's position in index order, the initiator's and
    receiver's left out."""
    r_n, n, _ = uown.shape
    n_s = initiator.shape[0]
    for r in range(r_n):
        for m in range(n):
            for s in range(n_s):
                out[r, m, s] = moved[r, m, s]
            for k in range(n):
                ukm = uown[r, m, k]
                for s in range(n_s):
                    skip = initiator[s] == k or receiver[r, s] == k
                    out[r, m, s] += 0.0 if skip else ukm


def bargain_utilities(uown: F, u_pi: F, u_pj: F, initiator: Ix, receiver: Ix) -> F:
    """:func:`detente.models.smp_kernel.bargain_utilities`, compiled (the same numbers)."""
    r_n, n, _ = uown.shape
    out = np.empty((r_n, n, initiator.shape[0]))
    _bargain_sums(
        np.ascontiguousarray(uown),
        np.ascontiguousarray(u_pi + u_pj),
        initiator.astype(np.int64),
        np.ascontiguousarray(receiver, dtype=np.int64),
        out,
    )
    return out


CACHED_KERNELS = (
    _THIRD_PARTIES[K.VR_PROP],
    _COALITIONS[K.VR_PROP],
    _PAIRS[K.VR_PROP],
    _bargain_sums,
)
"""Kernels whose presence in Numba's cache means that this module loads without compiling
(for the default voting rule; see :func:`detente.models.accel.in_cache`)."""
