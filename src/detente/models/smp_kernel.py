"""The numerical kernel of the spatial model of politics (KTAB's ``smpc``), vectorised.

Every array carries a leading replicate axis ``r`` (one scenario run several times with
independent random streams), then actors and dimensions: positions ``x[r, actor, dim]`` on
KTAB's internal 0–1 scale. A Python loop runs over turns only; inside a turn the work is
whole-array NumPy over replicates, initiators, targets and third parties. Where a turn needs
``n³`` numbers (third parties of every challenge, votes of every actor on every pair of
positions) they are produced in chunks of initiators (or options) of at most
``Config.chunk_elements`` elements and reduced at once, so peak memory stays ``O(n²)`` per
replicate plus one chunk.

Runs without per-turn records (:func:`simulate` with ``record=False``: Monte Carlo, batches)
compute each turn's challenges, bargains and elections, and each state's utilities, in the
compiled :mod:`detente.models.smp_numba` where Numba is installed: replicate by replicate,
with exactly this module's numbers (this module stays the reference, and the fallback).

Which KTAB source holds each step (``examples/smp/libsrc`` unless said otherwise):

* distances and utilities: ``smp.cpp`` (``SMPModel::bvDiff``, ``SMPModel::bsUtil``);
* votes, coalitions, victory probabilities, PCE: ``KTAB/kmodel/libsrc/kmodel.cpp``
  (``Model::vote``, ``Model::coalitions``, ``Model::vProb``, ``Model::condPCE``,
  ``Model::markovIncentivePCE``, ``Model::markovUniformPCE``);
* risk attitudes: ``smp.cpp`` (``SMPState::setAllAUtil``, ``Model::bigRfromProb``,
  ``Model::estNRA`` in ``kmodel.cpp``);
* win probabilities of unique positions: ``smp.cpp`` (``SMPState::pDist``,
  ``SMPModel::showVPHistory``), ``KTAB/kutils/libsrc/kutils.h`` (``ueIndices``),
  ``KTAB/kmodel/libsrc/kstate.cpp`` (``State::posProb``);
* challenges: ``smpbcn.cpp`` (``SMPState::probEduChlg``, ``bestChallenge``),
  ``kmodel.cpp`` (``Actor::vProbLittle``, ``Actor::thirdPartyVoteSU``);
* bargains: ``smp.cpp`` (``SMPActor::interpBrgnSnPm``, ``interpBrgnS2PMax``,
  ``interpolateBrgn``), ``smpbcn.cpp`` (``SMPState::doBCN``);
* choosing bargains: ``smpbcn.cpp`` (``SMPState::updateBestBrgnPositions``);
* ideals and the stopping rule: ``smp.cpp`` (``SMPState::newIdeals``, ``smpStopFn``,
  ``SMPModel::configExec``).

Floating-point operations follow KTAB's order where that is cheap (e.g. ``(u + u) + w``), so
that intermediate values agree to ~1e-15 and near-ties break the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from detente.models import accel

if TYPE_CHECKING:
    from detente.models.streams import ReplicateUniforms

F = NDArray[np.float64]
I = NDArray[np.intp]  # noqa: E741 (array of indices)
B = NDArray[np.bool_]

# -- parameter codes, in KTAB's enum order (the integers of its scenario table) -----------------

VICTORY = ("Linear", "Square", "Quartic", "Octic", "Binary")
PCE = ("Conditional", "MarkovIncentive", "MarkovUniform")
TRANSITIONS = ("Deterministic", "Stochastic")
VOTING = ("Binary", "PropBin", "Proportional", "PropCbc", "Cubic", "ASymProsp")
BIG_R_ADJUST = ("No", "OneThird", "Half", "TwoThirds", "Full")
BIG_R_RANGE = ("Min", "Mid", "Max")
THIRD_PARTY = ("NoCommit", "SemiCommit", "FullCommit")
INTER_VEC = ("S1P1", "S2P2", "S2PMax")
BARGAIN = ("InitOnlyInterp", "InitRcvrInterp", "PWCompInterp")

VP_LINEAR, VP_SQUARE, VP_QUARTIC, VP_OCTIC, VP_BINARY = range(5)
PCE_CONDITIONAL, PCE_MARKOV_INCENTIVE, PCE_MARKOV_UNIFORM = range(3)
VR_BINARY, VR_PROPBIN, VR_PROP, VR_PROPCBC, VR_CUBIC, VR_ASYM = range(6)
RA_NO, RA_ONE_THIRD, RA_HALF, RA_TWO_THIRDS, RA_FULL = range(5)
RR_MIN, RR_MID, RR_MAX = range(3)
TPC_NO, TPC_SEMI, TPC_FULL = range(3)
IVB_S1P1, IVB_S2P2, IVB_S2PMAX = range(3)
BM_INIT_ONLY, BM_INIT_RCVR, BM_PW_COMP = range(3)

# -- KTAB's constants ---------------------------------------------------------------------------

MIN_COALITION = 1e-8
"""Strength every coalition starts with in an election (``Model::coalitions``)."""
MIN_CONTEST = 1e-10
"""Strength every side starts with in a challenge (``SMPState::probEduChlg``)."""
MIN_GAIN = 1e-5
"""A challenge must be worth more than this to be made (``SMPState::bestChallenge``)."""
MIN_BARGAIN_WEIGHT = 1e-6
"""Added to one side's weight in an interpolated bargain (``interpBrgnSnPm``)."""
POSITION_TOL = 1e-3
"""Positions closer than this (Euclidean, 0–1 scale) are one outcome (``SMPModel::posTol``)."""
STOP_RATIO = 0.02
STOP_MIN_DELTA = 1e-4
STOP_MIN_TURNS = 2
MARKOV_INCENTIVE_TOL = 1e-8
MARKOV_UNIFORM_TOL = 1e-6
MARKOV_MAX_ITER = 100_000
"""KTAB iterates the Markov PCEs until converged, without a bound; we stop (and raise) here."""
FLAT_RISK_TOL = 1e-12
"""Below this spread of probabilities every position counts as equally likely (A.4)."""

MAX_BATCH_ELEMENTS = 1 << 22
"""Largest ``replicates × actors²`` to hand :func:`simulate` at once: a batch's state holds
about a dozen such float arrays (32 MiB each at this size), so larger batches are split."""

NO_NUMBA_ENV = accel.NO_NUMBA_ENV
"""Set this environment variable (to anything but ``0`` or empty) to run NumPy only, even where
the compiled pieces of :mod:`detente.models.smp_numba` are available (same numbers)."""


def compiled() -> ModuleType | None:
    """:mod:`detente.models.smp_numba`, or None without Numba or with :data:`NO_NUMBA_ENV` set
    (see :func:`detente.models.accel.load`).

    Its functions give the NumPy code's numbers bit for bit; it is imported on first use.
    """
    return accel.load("detente.models.smp_numba")


@dataclass(frozen=True)
class Config:
    """The nine KTAB parameters as codes (see the tuples above) and detente's own options."""

    victory: int = VP_LINEAR
    pce: int = PCE_CONDITIONAL
    stochastic: bool = False
    voting: int = VR_PROP
    big_r_adjust: int = RA_ONE_THIRD
    big_r_range: int = RR_MID
    third_party: int = TPC_SEMI
    inter_vec: int = IVB_S2P2
    bargain: int = BM_INIT_ONLY
    max_turns: int = 100
    ktab_compat: bool = False
    ktab_bargains: bool = True
    """InitRcvrInterp/PWCompInterp as ``smpc`` codes them; False: detente's corrected reading."""
    thread_order: bool = False
    """Order each actor's options by a random model of ``smpc``'s threads (:func:`thread_keys`)
    instead of actor order."""
    chunk_elements: int = 1 << 17
    """Largest temporary array (elements) of the n³ parts of a turn; 1 MB blocks stay in cache."""


@dataclass(frozen=True)
class Inputs:
    """A scenario on the 0–1 scale: ``capability[n]``, ``salience[n, D]``, ``position[n, D]``
    shared by every replicate, or per replicate ``capability[R, n]``, ``salience[R, n, D]``,
    ``position[R, n, D]`` (one batch runs ``R`` different inputs).

    ``accommodation[n, n]`` is KTAB's ideal-adjustment matrix, or None for the identity
    (ideals follow positions); it is shared by all replicates.
    """

    capability: F
    salience: F
    position: F
    accommodation: F | None = None

    @property
    def batched(self) -> bool:
        """Whether the inputs carry a replicate axis."""
        return bool(self.capability.ndim == 2)


def per_replicate(inputs: Inputs, r_n: int) -> Inputs:
    """``inputs`` with a leading replicate axis of length ``r_n`` (C-contiguous copies).

    Every replicate's numbers are those of the shared input, and each reduction over actors
    or dimensions runs on the same contiguous rows as without the replicate axis, so a
    replicate gives bit for bit what a single run gives. Batched inputs are returned as given
    (their replicate axis must be ``r_n`` long).
    """
    if inputs.batched:
        if inputs.capability.shape[0] != r_n:
            raise ValueError(
                f"inputs have {inputs.capability.shape[0]} replicates, the state has {r_n}"
            )
        return inputs

    def rep(a: F) -> F:
        out: F = np.ascontiguousarray(np.broadcast_to(a, (r_n, *a.shape)), dtype=np.float64)
        return out

    return Inputs(
        capability=rep(inputs.capability),
        salience=rep(inputs.salience),
        position=rep(inputs.position),
        accommodation=inputs.accommodation,
    )


def subset_inputs(inputs: Inputs, rows: I) -> Inputs:
    """The per-replicate inputs of some replicates only."""
    return Inputs(
        capability=inputs.capability[rows],
        salience=inputs.salience[rows],
        position=inputs.position[rows],
        accommodation=inputs.accommodation,
    )


# -- votes and elections (kmodel.cpp) -------------------------------------------------------------


def vote(rule: int, w: F | float, du: F) -> F:
    """KTAB's vote of weight ``w`` on a utility difference ``du`` (``Model::vote``).

    Examples
    --------
    >>> vote(VR_PROPCBC, 2.0, np.array([0.5]))
    array([0.625])
    """
    if rule == VR_PROP:
        return np.multiply(w, du)
    if rule == VR_BINARY:
        return np.multiply(w, np.clip(du / 1e-8, -1.0, 1.0))
    if rule == VR_PROPBIN:
        return np.multiply(w, (1 - 0.2) * du + 0.2 * np.clip(du / 1e-8, -1.0, 1.0))
    if rule == VR_PROPCBC:
        return np.multiply(w, (1 - 0.5) * du + 0.5 * (du * du * du))
    if rule == VR_CUBIC:
        return np.multiply(w, du * du * du)
    if rule == VR_ASYM:
        # losses count fully, gains two thirds (prospect theory)
        gain = np.multiply(np.multiply(2.0, w), du) / 3.0
        loss = np.multiply(w, du)
        return np.where(du < 0.0, loss, np.where(du > 0.0, gain, 0.0))
    raise ValueError(f"unknown voting rule code {rule}")


def _lower(n: int) -> B:
    """``lower[a, b] = a > b``: KTAB scans option pairs from the lower-left triangle."""
    idx = np.arange(n)
    out: B = idx[:, None] > idx[None, :]
    return out


def seq_sum(a: F, axis: int = -1) -> F:
    """Left-to-right sum, ``((a0 + a1) + a2) + ...``, as KTAB's ``+=`` loops add.

    NumPy's ``sum`` adds pairwise; the difference is round-off, but KTAB's coalition floor
    (1e-8) turns the round-off between two options that are the same state into differences
    of 1e-6 in their probabilities, so where that can happen we add in KTAB's order.

    Examples
    --------
    >>> float(seq_sum(np.array([1e16, 1.0, 1.0, -1e16])))
    0.0
    """
    return seq_sum0(np.moveaxis(a, axis, 0))


def seq_sum0(a: F, initial: float | None = None) -> F:
    """Left-to-right sum over the leading axis, starting from ``initial`` if given.

    An outer-axis ``add.reduce`` of a C-contiguous array adds whole rows in order; with a
    single element per row NumPy would switch to pairwise summation, so that case (and a
    non-contiguous input) goes through ``add.accumulate``, sequential by definition.
    ``tests/models/test_smp.py`` pins both facts.
    """
    if a.flags.c_contiguous and a[0].size >= 2:
        if initial is None:
            out: F = np.add.reduce(a, axis=0)
        else:
            out = np.add.reduce(a, axis=0, initial=initial)
        return out
    if initial is not None:
        a = np.concatenate([np.full((1, *a.shape[1:]), initial), a])
    out = np.add.accumulate(a, axis=0)[-1]
    return out


def pair_strengths(
    rule: int, w: F, table: F, lead: I, row_a: I, row_b: I, chunk_elements: int = 1 << 20
) -> tuple[F, F]:
    """Coalition strengths of the pairs ``(row_a, row_b)`` of ``table[:, lead]``.

    ``table[m, l, row]`` is voter ``m``'s utility of an option (voters lead, so that the sum
    over them runs in KTAB's order); ``w[m]`` the voters' weights, or ``w[l, m]`` per lead.
    For each pair KTAB casts one vote per voter, ``v_m = vote(w_m, u_ma - u_mb)``, and returns
    ``(1e-8 + Σ max(v, 0), 1e-8 + Σ max(-v, 0))``: the strengths of ``a`` over ``b`` and of
    ``b`` over ``a`` (``Model::coalitions``). Votes on NaN utilities count as 0, as in KTAB.
    """
    n_p, n_m = row_a.shape[0], table.shape[0]
    n_rows = table.shape[2]
    flat = table.reshape(n_m, -1)
    cab, cba = np.empty(n_p), np.empty(n_p)
    step = max(2, chunk_elements // max(1, n_m))
    w_t = np.ascontiguousarray(w.T) if w.ndim == 2 else None  # [m, l]
    wb = w[:, None]
    for p0 in range(0, n_p, step):
        p1 = min(n_p, p0 + step)
        if w_t is not None:
            wb = np.take(w_t, lead[p0:p1], axis=1)
        la = lead[p0:p1] * n_rows
        # np.take keeps the gathered [m, pair] block C-contiguous for the ordered sum
        ua = np.take(flat, la + row_a[p0:p1], axis=1)
        ub = np.take(flat, la + row_b[p0:p1], axis=1)
        v = vote(rule, wb, ua - ub)
        cab[p0:p1] = seq_sum0(np.fmax(v, 0.0), MIN_COALITION)
        cba[p0:p1] = seq_sum0(np.fmax(-v, 0.0), MIN_COALITION)
    return cab, cba


def coalitions(
    rule: int, w: F, util: F, valid: B | None = None, chunk_elements: int = 1 << 20
) -> F:
    """Coalition strengths ``C[..., a, b]`` of option ``a`` against ``b`` (``Model::coalitions``).

    ``util[..., m, a]`` is voter ``m``'s utility of option ``a``; ``w[m]`` the voting weights,
    or ``w[..., m]`` with the leading axes of ``util`` (per replicate).
    ``C = 1e-8 + Σ_m max(v_m(a, b), 0)`` with voters added in order. KTAB casts each pair's
    votes once, on ``a > b``, and gives the negative parts to ``b``; for every rule but the
    asymmetric one that equals voting on both orders, which is what is done here (no gather).
    ``valid`` is accepted for symmetry with padded elections; padded options get any value.

    Examples
    --------
    >>> u = np.array([[1.0, 0.5], [0.2, 1.0]])  # voter 0 prefers option 0, voter 1 option 1
    >>> coalitions(VR_PROP, np.array([2.0, 1.0]), u).round(6)
    array([[0. , 1. ],
           [0.8, 0. ]])
    """
    lead_shape = util.shape[:-2]
    n_vot, n_opt = util.shape[-2], util.shape[-1]
    # voters first: u[m, ..., a]
    u = np.ascontiguousarray(np.moveaxis(util, -2, 0))
    if w.ndim == 1:
        wb = w.reshape((n_vot,) + (1,) * (len(lead_shape) + 2))
    else:
        wb = np.moveaxis(w, -1, 0)[..., None, None]
    size = max(1, int(np.prod(lead_shape, dtype=np.int64))) * n_opt * n_vot
    step = max(1, chunk_elements // size)
    pos = np.empty((*lead_shape, n_opt, n_opt))
    neg = np.empty_like(pos) if rule == VR_ASYM else pos
    for a0 in range(0, n_opt, step):
        a1 = min(n_opt, a0 + step)
        v = vote(rule, wb, u[..., a0:a1, None] - u[..., None, :])
        pos[..., a0:a1, :] = seq_sum0(np.fmax(v, 0.0), MIN_COALITION)
        if rule == VR_ASYM:
            neg[..., a0:a1, :] = seq_sum0(np.fmax(-v, 0.0), MIN_COALITION)
    if rule == VR_ASYM:
        pos = np.where(_lower(n_opt), pos, np.swapaxes(neg, -1, -2))
    idx = np.arange(n_opt)
    pos[..., idx, idx] = MIN_COALITION
    return pos


def victory_probabilities(model: int, c: F) -> F:
    """``P[..., a, b]``: probability that option ``a`` beats ``b`` (``Model::vProb``).

    Examples
    --------
    >>> victory_probabilities(VP_SQUARE, np.array([[1e-8, 2.0], [1.0, 1e-8]]))
    array([[0.5, 0.8],
           [0.2, 0.5]])
    """
    s1 = c
    s2 = np.swapaxes(c, -1, -2)
    if model == VP_LINEAR:
        x1, x2 = s1, s2
    elif model == VP_SQUARE:
        x1, x2 = s1 * s1, s2 * s2
    elif model == VP_QUARTIC:
        x1, x2 = (s1 * s1) * (s1 * s1), (s2 * s2) * (s2 * s2)
    elif model == VP_OCTIC:
        q1, q2 = (s1 * s1) * (s1 * s1), (s2 * s2) * (s2 * s2)
        x1, x2 = q1 * q1, q2 * q2
    elif model == VP_BINARY:
        # a 10 % advantage wins for sure; linear in between so that round-off cannot flip it
        thresh, min_x = 1.10, 1e-6
        r12 = s1 / (s1 + s2)
        p12 = (r12 * (thresh + 1.0) - 1.0) / (thresh - 1.0)
        win, lose = s1 >= thresh * s2, s2 >= thresh * s1
        x1 = np.where(win, 1.0, np.where(lose, min_x, p12))
        x2 = np.where(win, min_x, np.where(lose, 1.0, 1 - p12))
    else:
        raise ValueError(f"unknown victory model code {model}")
    total = x1 + x2
    n = c.shape[-1]
    if model == VP_BINARY:
        # KTAB evaluates each pair once (a > b); the threshold rule is not symmetric in
        # floating point, so the upper triangle comes from the same evaluation
        out: F = np.where(_lower(n), x1 / total, np.swapaxes(x2 / total, -1, -2))
    else:
        # x2[b, a] = x1[a, b] for power laws: both triangles are the same numbers
        out = x1 / total
    idx = np.arange(n)
    out[..., idx, idx] = 0.5
    return out


def condorcet_probabilities(pce: int, victory: int, c: F, p_vict: F, valid: B | None = None) -> F:
    """Probabilistic Condorcet election: ``p[..., a]`` over options (``Model::probCE2``).

    ``valid[..., a]`` marks real options in padded arrays; padded ones get probability 0 and
    do not take part.

    Examples
    --------
    >>> p = np.array([[0.5, 0.8], [0.2, 0.5]])
    >>> condorcet_probabilities(PCE_CONDITIONAL, VP_LINEAR, p, p)
    array([0.8, 0.2])
    """
    n = c.shape[-1]
    if pce == PCE_CONDITIONAL:
        pv = p_vict if valid is None else np.where(valid[..., None, :], p_vict, 1.0)
        prod = np.take(np.multiply.accumulate(pv, axis=-1), -1, axis=-1)  # KTAB's order
        if valid is not None:
            prod = np.where(valid, prod, 0.0)
        out: F = prod / seq_sum(prod)[..., None]
        return out
    if valid is None:
        valid = np.ones(c.shape[:-1], dtype=bool)
    fast = compiled() if pce in (PCE_MARKOV_INCENTIVE, PCE_MARKOV_UNIFORM) else None
    # the compiled iteration (same numbers, each election on its own) takes valid options
    # first, as every caller pads
    if fast is not None and np.array_equal(valid, np.arange(n) < valid.sum(-1, keepdims=True)):
        tol = MARKOV_INCENTIVE_TOL if pce == PCE_MARKOV_INCENTIVE else MARKOV_UNIFORM_TOL
        got: F | None = fast.markov_pce(
            pce == PCE_MARKOV_INCENTIVE, c, p_vict, valid, tol, MARKOV_MAX_ITER
        )
        if got is None:
            raise ConvergenceError(_NO_CONVERGENCE)
        return got
    both = valid[..., :, None] & valid[..., None, :]
    count = valid.sum(axis=-1, keepdims=True).astype(np.float64)
    p = np.where(valid, 1.0 / count, 0.0)
    pv = np.where(both, p_vict, 0.0)
    # Each KTAB iteration is linear in p: q_i = Σ_j P_ij (p_i X_ji + p_j X_ij), with X the
    # challenge probabilities (MarkovIncentive) or 1/N (MarkovUniform). So q = p·a + M p with
    # a and M fixed; the same numbers as KTAB's loops to round-off (the iteration contracts).
    if pce == PCE_MARKOV_INCENTIVE:
        incentive = np.where(both, c * p_vict, 0.0)
        idx = np.arange(n)
        incentive[..., idx, idx] += np.where(valid, 1e-10, 0.0)
        col = seq_sum(incentive, axis=-2)[..., None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            chlg = np.where(both, incentive / col, 0.0)
        a = (pv * np.swapaxes(chlg, -1, -2)).sum(axis=-1)
        m = pv * chlg
        tol = MARKOV_INCENTIVE_TOL
    elif pce == PCE_MARKOV_UNIFORM:
        a = pv.sum(axis=-1) / count
        m = pv / count[..., None]
        tol = MARKOV_UNIFORM_TOL
    else:
        raise ValueError(f"unknown PCE model code {pce}")
    done = np.zeros(p.shape[:-1], dtype=bool)
    for _ in range(MARKOV_MAX_ITER):
        q = p * a + (m * p[..., None, :]).sum(axis=-1)
        change = np.abs(q - p).max(axis=-1)
        p = np.where(done[..., None], p, (p + q) / 2.0)
        # KTAB loops while tol < change: a NaN change ends its loop, too
        done |= ~(change > tol)
        if done.all():
            return p
    raise ConvergenceError(_NO_CONVERGENCE)


_NO_CONVERGENCE = (
    f"the Markov election (PCEModel) did not converge in {MARKOV_MAX_ITER} iterations;"
    " KTAB loops forever on such input; try --param PCEModel=Conditional"
)


class ConvergenceError(ValueError):
    """An iterative election did not settle; reported to the user as bad input, not a crash."""


def election(
    cfg: Config, weight: F, util: F, valid: B | None = None, fast: ModuleType | None = None
) -> tuple[F, F, F]:
    """``(p, C, P)``: a full KTAB election (``Model::scalarPCE``) over options ``a``.

    ``util[..., m, a]`` utilities of voters to options, ``weight[..., m]`` voting weights.
    ``fast``: :mod:`detente.models.smp_fused` for the coalitions (the same numbers), or None.
    """
    if fast is not None and util.ndim == 3:
        c = fast.coalitions(cfg.voting, weight, util)
    else:
        c = coalitions(cfg.voting, weight, util, valid, cfg.chunk_elements)
    pv = victory_probabilities(cfg.victory, c)
    p = condorcet_probabilities(cfg.pce, cfg.victory, c, pv, valid)
    return p, c, pv


WIDE_ELECTION = 16
"""From this many options (padded) an election's coalitions are computed as a whole matrix
by the compiled loops, instead of pair by pair."""


def election_rows(
    cfg: Config, weight: F, table: F, lead: I, rows: I, valid: B, fast: ModuleType | None = None
) -> F:
    """Elections ``p[e, o]`` whose options are rows of a shared utility table.

    ``table[r, row, m]`` holds voter ``m``'s utility of an option once; election ``e`` chooses
    among ``table[lead[e], rows[e, o]]`` for its ``valid`` options ``o``. Each pair of options
    is voted on once, so the work is ``Σ_e options_e² × voters``. ``fast``: as in
    :func:`election`.
    """
    n_e, n_opt = rows.shape
    if fast is not None and n_opt >= WIDE_ELECTION:
        # the full coalition matrix of a wide election, vectorised along options, is cheaper
        # than its pairs one by one; both vote once per voter and pair (see coalitions)
        util = np.swapaxes(table[lead[:, None], rows], 1, 2)  # [e, m, o]
        c = fast.coalitions(cfg.voting, weight[lead] if weight.ndim == 2 else weight, util)
        c = np.where(valid[:, :, None] & valid[:, None, :], c, MIN_COALITION)
        pv = victory_probabilities(cfg.victory, c)
        return condorcet_probabilities(cfg.pce, cfg.victory, c, pv, valid)
    pairs = _lower(n_opt)[None] & valid[:, :, None] & valid[:, None, :]
    ee, oa, ob = np.nonzero(pairs)
    if fast is not None:
        cab, cba = fast.pair_strengths(
            cfg.voting, weight, table, lead[ee], rows[ee, oa], rows[ee, ob]
        )
    else:
        voters_first = np.ascontiguousarray(np.moveaxis(table, -1, 0))  # [m, r, row]
        cab, cba = pair_strengths(
            cfg.voting,
            weight,
            voters_first,
            lead[ee],
            rows[ee, oa],
            rows[ee, ob],
            cfg.chunk_elements,
        )
    c = np.full((n_e, n_opt, n_opt), MIN_COALITION)
    c[ee, oa, ob] = cab
    c[ee, ob, oa] = cba
    pv = victory_probabilities(cfg.victory, c)
    return condorcet_probabilities(cfg.pce, cfg.victory, c, pv, valid)


# -- distances, utilities, risk (smp.cpp) ----------------------------------------------------------


def salience_norm(sal: F) -> F:
    """``Σ_k s_ik²`` per actor, the denominator of its distances (``SMPModel::bvDiff``).

    An actor with salience 0 on every issue (KTAB refuses one) gets 1 instead of 0: its
    distances are then 0 (its numerators are 0 too), so it is indifferent among all positions;
    with a total salience of 0 it never resists a challenge.
    """
    s2: F = seq_sum(sal * sal)
    out: F = np.where(s2 > 0.0, s2, 1.0)
    return out


def distances(ideal: F, position: F, salience: F, s2sum: F) -> F:
    """``d[..., i, j]``: salience-weighted distance from ``i``'s ideal to ``j``'s position.

    Examples
    --------
    >>> s = np.array([[1.0, 0.0], [0.5, 0.5]])
    >>> x = np.array([[0.0, 0.0], [0.3, 0.4]])
    >>> distances(x, x, s, (s * s).sum(-1))
    array([[0.        , 0.3       ],
           [0.35355339, 0.        ]])
    """
    ds = (ideal[..., :, None, :] - position[..., None, :, :]) * salience[..., :, None, :]
    out: F = np.sqrt(seq_sum(ds * ds) / s2sum[..., :, None])
    return out


def utility(d: F, r: F | float) -> F:
    """KTAB's utility of a distance with risk attitude ``r`` (``SMPModel::bsUtil``).

    ``(1 - d)(1 + r d)`` for ``d <= 1``, ``(1 - d)(1 + r)`` beyond (round-off only).

    Examples
    --------
    >>> utility(np.array([0.0, 0.5, 1.0]), 1.0)
    array([1.  , 0.75, 0.  ])
    """
    out: F = (1.0 - d) * (1.0 + np.multiply(r, np.minimum(d, 1.0)))
    return out


def big_r(p: F, rng_code: int, compat: bool) -> tuple[F, B]:
    """Risk attitudes from the probabilities of the actors' positions (``bigRfromProb``).

    Returns ``(R, flat)``; ``flat[...]`` marks elections where all positions were (nearly)
    equally likely: KTAB divides by zero there (``R`` is NaN with ``compat``); detente makes
    every actor risk neutral instead.

    Examples
    --------
    >>> big_r(np.array([0.5, 0.3, 0.2]), RR_MID, compat=False)[0].round(6).tolist()
    [1.0, -0.0, -0.5]
    """
    pmin = p.min(axis=-1, keepdims=True)
    pmax = p.max(axis=-1, keepdims=True)
    spread = pmax - pmin
    with np.errstate(invalid="ignore", divide="ignore"):
        if rng_code == RR_MID:
            r = (3 * p - (pmax + 2 * pmin)) / (2 * spread)
        elif rng_code == RR_MIN:
            r = (p - pmin) / spread
        elif rng_code == RR_MAX:
            r = (2 * p - (pmax + pmin)) / spread
        else:
            raise ValueError(f"unknown BigRRange code {rng_code}")
    flat: B = spread[..., 0] <= (0.0 if compat else FLAT_RISK_TOL)
    if not compat:
        r = np.where(flat[..., None], 0.0, r)
    return r, flat


def estimated_risk(rh: F, ri: F, adjust: int) -> F:
    """``h``'s estimate of ``i``'s risk attitude (``Model::estNRA``).

    Examples
    --------
    >>> estimated_risk(np.array([1.0]), np.array([-0.5]), RA_ONE_THIRD)
    array([0.5])
    """
    if adjust == RA_FULL:
        return ri + 0.0 * rh
    if adjust == RA_TWO_THIRDS:
        out: F = (rh + (2.0 * ri)) / 3.0
        return out
    if adjust == RA_HALF:
        out = (rh + ri) / 2
        return out
    if adjust == RA_ONE_THIRD:
        out = ((2.0 * rh) + ri) / 3.0
        return out
    if adjust == RA_NO:
        return rh + 0.0 * ri
    raise ValueError(f"unknown BigRAdjust code {adjust}")


@dataclass
class State:
    """One state of a batch of replicates and what KTAB derives from it before a turn."""

    x: F
    """positions ``[r, n, D]``"""
    y: F
    """ideals ``[r, n, D]``"""
    d: F
    """``d[r, i, j]`` from ``i``'s ideal to ``j``'s position"""
    om: F
    """``1 - d``"""
    dm: F
    """``min(d, 1)``"""
    risk: F
    """``R[r, i]``"""
    flat: B
    """``flat[r]``: the risk election had all positions equally likely"""
    rr: F
    """``rr[r, h, i]``: ``h``'s estimate of ``i``'s risk attitude"""
    uown: F
    """``uown[r, i, j] = u^i_ij``: each actor's own utility of each position"""


def setup(inputs: Inputs, cfg: Config, x: F, y: F, fast: ModuleType | None = None) -> State:
    """Distances, risk attitudes and own utilities of a state (``SMPState::setAllAUtil``).

    ``fast``: :mod:`detente.models.smp_fused` for the risk election (the same numbers), or None.
    """
    inputs = per_replicate(inputs, x.shape[0])
    sal = inputs.salience
    s2sum = salience_norm(sal)
    d = distances(y, x, sal, s2sum)
    om = 1.0 - d
    dm = np.minimum(d, 1.0)
    # risk-neutral utilities are 1 - d; the election counts every actor's position
    p, _, _ = election(cfg, inputs.capability, om, fast=fast)
    risk, flat = big_r(p, cfg.big_r_range, cfg.ktab_compat)
    rr = estimated_risk(risk[:, :, None], risk[:, None, :], cfg.big_r_adjust)
    n = x.shape[1]
    idx = np.arange(n)
    uown = om * (1.0 + rr[:, idx, idx][:, :, None] * dm)
    return State(x=x, y=y, d=d, om=om, dm=dm, risk=risk, flat=flat, rr=rr, uown=uown)


def _c(a: NDArray[np.generic]) -> F:
    out: F = np.ascontiguousarray(a, dtype=np.float64)
    return out


def _setup_compiled(fast: ModuleType, inputs: Inputs, cfg: Config, x: F, y: F) -> State:
    """:func:`setup` by the compiled kernel (the same numbers)."""
    inputs = per_replicate(inputs, x.shape[0])
    sal = _c(inputs.salience)
    x, y = _c(x), _c(y)
    got = fast.setup_state(
        fast.codes(cfg, MARKOV_MAX_ITER), _c(inputs.capability), sal, salience_norm(sal), x, y
    )
    if got is None:
        raise ConvergenceError(_NO_CONVERGENCE)
    d, om, dm, risk, flat, rr, uown = got
    return State(x=x, y=y, d=d, om=om, dm=dm, risk=risk, flat=flat, rr=rr, uown=uown)


def _win_compiled(fast: ModuleType, state: State, inputs: Inputs, cfg: Config) -> tuple[F, B, I, F]:
    """:func:`win_probabilities`, compiled."""
    inputs = per_replicate(inputs, state.x.shape[0])
    got = fast.win_probabilities(
        fast.codes(cfg, MARKOV_MAX_ITER), _c(inputs.capability), state.x, state.uown
    )
    if got is None:
        raise ConvergenceError(_NO_CONVERGENCE)
    p_actor, rep, group, p_out = got
    return p_actor, rep, group.astype(np.intp), p_out


def _turn_compiled(
    fast: ModuleType, state: State, inputs: Inputs, cfg: Config, draws: F | None
) -> F:
    """The new positions of :func:`challenges` and :func:`choose_bargains`, compiled."""
    inputs = per_replicate(inputs, state.x.shape[0])
    sal = _c(inputs.salience)
    actors = (_c(inputs.capability), sal, salience_norm(sal), np.sum(sal, axis=-1))
    st = (state.x, state.y, state.om, state.dm, state.rr, state.uown, state.risk)
    x_new: F | None = fast.turn(fast.codes(cfg, MARKOV_MAX_ITER), actors, st, draws)
    if x_new is None:
        raise ConvergenceError(_NO_CONVERGENCE)
    return x_new


def subset(state: State, rows: I) -> State:
    """The state of some replicates only."""
    return State(
        x=state.x[rows],
        y=state.y[rows],
        d=state.d[rows],
        om=state.om[rows],
        dm=state.dm[rows],
        risk=state.risk[rows],
        flat=state.flat[rows],
        rr=state.rr[rows],
        uown=state.uown[rows],
    )


# -- unique positions and win probabilities ------------------------------------------------------


def unique_positions(x: F, compat: bool) -> tuple[B, I, I]:
    """``(representative[r, i], group[r, i], holder[r, i])`` of KTAB's unique positions
    (``ueIndices``).

    Actors are scanned in index order; an actor within ``POSITION_TOL`` of an earlier
    representative joins it, else it represents a new outcome. ``group[r, i]`` is the actor
    index of the representative of ``i``'s outcome: the first one within tolerance (the group
    it was put in), or with ``compat`` the last one. ``holder[r, i]`` is the last one, whose
    probability ``State::posProb`` gives the actor as its win probability.

    Examples
    --------
    >>> x = np.array([[[0.2], [0.2009], [0.5], [0.2018]]])  # 0.2018 is near 0.2009, not 0.2
    >>> unique_positions(x, compat=False)[:2]
    (array([[ True, False,  True,  True]]), array([[0, 0, 2, 3]]))
    >>> unique_positions(x, compat=False)[2]  # KTAB: 0.2009 takes the last outcome in range
    array([[0, 3, 2, 3]])
    """
    diff = x[:, :, None, :] - x[:, None, :, :]
    close = np.sqrt((diff * diff).sum(axis=-1)) < POSITION_TOL
    n = x.shape[1]
    earlier = close & _lower(n)
    rep = np.ones(x.shape[:2], dtype=bool)
    # rep[i] depends on rep[j] for j < i only, so iterating to a fixed point gives the
    # sequential scan's answer (usually in two or three passes)
    for _ in range(n + 1):
        new = ~np.any(earlier & rep[:, None, :], axis=-1)
        if np.array_equal(new, rep):
            break
        rep = new
    member = close & rep[:, None, :]
    # first match (the group it joined), and KTAB's posProb: the last representative in range
    holder = (n - 1 - np.argmax(member[:, :, ::-1], axis=-1)).astype(np.intp)
    group = holder if compat else np.argmax(member, -1).astype(np.intp)
    return rep, group, holder


def win_probabilities(
    state: State, inputs: Inputs, cfg: Config, fast: ModuleType | None = None
) -> tuple[F, B, I, F]:
    """Each actor's win probability and each outcome's (``SMPState::pDist(-1)``).

    Returns ``(p_actor[r, i], representative[r, i], group[r, i], p_outcome[r, i])`` where
    ``p_outcome`` is nonzero on representatives only. ``p_actor`` is KTAB's (``posProb``): an
    actor within tolerance of two representatives gets the later one's probability, which may
    not be its group's.
    """
    rep, group, holder = unique_positions(state.x, cfg.ktab_compat)
    r_n, n = rep.shape
    inputs = per_replicate(inputs, r_n)
    order = np.argsort(~rep, axis=-1, kind="stable")  # representatives first, in index order
    n_u = int(rep.sum(axis=-1).max())
    opts = order[:, :n_u]
    valid = np.take_along_axis(rep, opts, axis=-1)
    util = np.take_along_axis(state.uown, np.broadcast_to(opts[:, None, :], (r_n, n, n_u)), -1)
    p, _, _ = election(cfg, inputs.capability, util, valid, fast)
    p_outcome = np.zeros((r_n, n))
    np.put_along_axis(p_outcome, opts, np.where(valid, p, 0.0), axis=-1)
    p_actor = np.take_along_axis(p_outcome, holder, axis=-1)
    return p_actor, rep, group, p_outcome


def outcome_mean(x: F, p_outcome: F) -> F:
    """Probability-weighted mean of the unique outcomes, ``[r, D]``."""
    out: F = (p_outcome[:, :, None] * x).sum(axis=1) / p_outcome.sum(axis=1)[:, None]
    return out


# -- challenges (smpbcn.cpp) -----------------------------------------------------------------------


def principals(vr: int, wi: F, uii: F, uij: F, wj: F, uji: F, ujj: F) -> tuple[F, F]:
    """Strengths ``(A, B)`` of the two principals alone (``SMPState::probEduChlg``)."""
    ci = vote(vr, wi, uii - uij)
    cj = vote(vr, wj, uji - ujj)
    a = (MIN_CONTEST + np.fmax(ci, 0.0)) + np.fmax(cj, 0.0)
    b = (MIN_CONTEST + np.fmax(-ci, 0.0)) + np.fmax(-cj, 0.0)
    return a, b


def third_party_votes(
    vr: int, tpc: int, a: F, b: F, wm: F, umi: F, umj: F, umm: F
) -> tuple[F, F, F, F]:
    """Third parties' votes in a challenge: ``(v, p_in, u_if_i_wins, u_if_i_loses)``.

    Each third party ``m`` judges the contest of the principals alone plus its own preference
    (``Actor::vProbLittle``), then votes the difference of its expected utility of joining
    either side (``Actor::thirdPartyVoteSU``). Under NoCommit and FullCommit KTAB's two sides
    come out equal, so those votes are exactly 0 (callers skip the work).
    """
    v0 = vote(vr, wm, umi - umj)
    cni = a + np.fmax(v0, 0.0)
    cnj = b + np.fmax(-v0, 0.0)
    pin = cni / (cni + cnj)
    pjn = 1.0 - pin
    if tpc == TPC_SEMI:
        u1 = (umi + umi) + umm
        u2 = (umj + umj) + umj
        u3 = (umi + umi) + umi
        u4 = (umj + umj) + umm
    elif tpc == TPC_NO:
        u1 = (umi + umi) + umm
        u2 = (umj + umj) + umm
        u3, u4 = u1, u2
    elif tpc == TPC_FULL:
        u1 = (umi + umi) + umi
        u2 = (umj + umj) + umj
        u3, u4 = u1, u2
    else:
        raise ValueError(f"unknown ThirdPartyCommit code {tpc}")
    v = vote(vr, wm, (pin * u1 + pjn * u2) - (pin * u3 + pjn * u4))
    return v, pin, u1 + 0.0 * umj, u3 + 0.0 * umj


def _semi_commit_votes(
    vr: int, w: F, a: F, b: F, om_t: F, dm_t: F, rr: F, umi: F, umm: F, b1: F, b2: F, b3: F
) -> None:
    """Third-party votes of a chunk of challenges under SemiCommit, into ``b1``.

    The same numbers as :func:`third_party_votes` (to round-off), in about eighteen in-place
    ``n³`` operations: with ``pjn = 1 - pin`` the utility difference KTAB votes on,
    ``(pin u1 + pjn u2) - (pin u3 + pjn u4)``, is ``(u_mj - u_mm) + pin ((2 u_mm - u_mi) -
    u_mj)``, and ``cni + cnj = a + b + |v0|``. Under the ``RAMP_RULES`` the round-off matters
    (KTAB's ramp multiplies a difference below 1e-8 by 1e8), so they take KTAB's own form.
    """
    # b1 = u_mj = u^i_{m,j} = (1 - d)(1 + r d) in KTAB's form (bsUtil), like u_mi: where m is
    # as far from j as from i the two are then equal bit for bit, as KTAB's are, which the
    # 1e-8 ramp of the Binary and PropBin votes would otherwise turn into a vote
    np.multiply(rr, dm_t, out=b1)
    b1 += 1.0
    b1 *= om_t
    np.subtract(umi, b1, out=b2)
    _vote_inplace(vr, w, b2)  # b2 = v0, m's own preference between i and j
    np.fmax(b2, 0.0, out=b3)
    b3 += a  # cni
    np.abs(b2, out=b2)
    b2 += a + b  # cni + cnj
    np.divide(b3, b2, out=b3)  # pin
    if vr in RAMP_RULES:
        # KTAB's own form: these rules' 1e-8 ramp turns round-off into votes
        b1[...] = third_party_votes(vr, TPC_SEMI, a, b, w, umi, b1, umm)[0]
        return
    np.subtract((umm + umm) - umi, b1, out=b2)
    b2 *= b3
    b1 -= umm
    b1 += b2
    _vote_inplace(vr, w, b1)


RAMP_RULES = (VR_BINARY, VR_PROPBIN)
"""Voting rules with KTAB's linear ramp of width 1e-8 around a zero difference."""


def _vote_inplace(rule: int, w: F, arr: F) -> None:
    if rule == VR_PROP:
        arr *= w
    else:
        arr[...] = vote(rule, w, arr)


def gains(p: F, pji: F, sj: F, uki: F, ukj: F) -> tuple[F, F, F, F, F]:
    """``(gain, euSQ, euVict, euCntst, euChlg)`` of a challenge to an actor ``k``.

    ``uki, ukj`` are ``k``'s utilities of the two principals' positions; the target resists
    with probability ``sj`` (its total salience).

    Examples
    --------
    >>> round(float(gains(np.array(0.8), np.array(0.2), 0.5, np.array(1.0), np.array(0.6))[0]), 6)
    0.32
    """
    eu_sq = uki + ukj
    eu_vict = uki + uki
    eu_cntst = p * eu_vict + pji * (ukj + ukj)
    eu_chlg = (1 - sj) * eu_vict + sj * eu_cntst
    return eu_chlg - eu_sq, eu_sq, eu_vict, eu_cntst, eu_chlg


@dataclass
class Challenges:
    """Each initiator's chosen challenge (``target`` −1 if none), estimated by both sides."""

    target: I
    p_by_init: F
    gain_init_by_init: F
    gain_target_by_init: F
    p_by_target: F
    gain_init_by_target: F
    gain_target_by_target: F


@dataclass
class Contests:
    """The principals' side of every challenge ``i → j`` as the initiator ``i`` estimates it
    (``SMPState::probEduChlg``), ``[r, i, j]`` unless said otherwise."""

    w: F
    """``[r, m]``: each actor's vote weight in a challenge, ``c_m S_m``."""
    sal_tot: F
    """``[r, m]``: total saliences ``S_m`` (the target's chance of resisting)."""
    ucross: F
    """``[r, i, m]``: ``u^i_{m,i}``, ``m``'s utility of ``i``'s position as ``i`` sees it."""
    uself: F
    """``[r, i, m]``: ``u^i_{m,m}``, ``m``'s utility of its own position as ``i`` sees it."""
    a: F
    """The strength of ``i``'s side from the two principals alone (from 1e-10)."""
    b: F
    """The strength of ``j``'s side from the two principals alone."""


def contests(state: State, inputs: Inputs, cfg: Config) -> Contests:
    """:class:`Contests` of a state (``n²`` work; the third parties come in
    :func:`third_party_strengths`)."""
    r_n, n = state.x.shape[:2]
    inputs = per_replicate(inputs, r_n)
    sal_tot = np.sum(inputs.salience, axis=-1)  # [r, n]
    w = sal_tot * inputs.capability
    idx = np.arange(n)
    om, dm, rr = state.om, state.dm, state.rr
    om_t, dm_t = np.swapaxes(om, -1, -2), np.swapaxes(dm, -1, -2)
    om_d, dm_d = om[:, idx, idx], dm[:, idx, idx]
    ucross = om_t * (1.0 + rr * dm_t)  # [r, i, m]
    uself = om_d[:, None, :] * (1.0 + rr * dm_d[:, None, :])  # [r, i, m]
    u_ii = state.uown[:, idx, idx]
    a, b = principals(
        cfg.voting, w[:, :, None], u_ii[:, :, None], state.uown, w[:, None, :], ucross, uself
    )
    return Contests(w=w, sal_tot=sal_tot, ucross=ucross, uself=uself, a=a, b=b)


def third_party_strengths(state: State, con: Contests, cfg: Config) -> tuple[F, F]:
    """``(A, B)[r, i, j]``: both sides' strengths in every challenge ``i → j`` with the third
    parties' SemiCommit votes added, as ``i`` estimates them: the ``n³`` heart of a turn.

    KTAB adds the third parties in index order to the principals' strengths
    (``SMPState::probEduChlg``), and so does this: per chunk of initiators the votes are laid
    out third parties first and added along that axis (sequential, :func:`seq_sum0`). The
    compiled :func:`detente.models.smp_fused.third_party_strengths` adds in the same order and
    gives the same numbers.
    """
    r_n, n = con.a.shape[:2]
    # third parties lead: [m, r, i, j]
    w_m = np.ascontiguousarray(con.w.T)[:, :, None, None]
    om_m = np.ascontiguousarray(np.moveaxis(state.om, 1, 0))[:, :, None, :]  # om[r, m, j]
    dm_m = np.ascontiguousarray(np.moveaxis(state.dm, 1, 0))[:, :, None, :]
    rr_m = np.moveaxis(state.rr, 2, 0)  # rr[r, i, m]
    uc_m, us_m = np.moveaxis(con.ucross, 2, 0), np.moveaxis(con.uself, 2, 0)
    at, bt = np.empty((r_n, n, n)), np.empty((r_n, n, n))
    step = max(1, cfg.chunk_elements // max(1, r_n * n * n))
    every = np.arange(n)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        c = i1 - i0
        shape = (n, r_n, c, n)
        b1, b2, terms = np.empty(shape), np.empty(shape), np.empty((n + 1, r_n, c, n))
        a_c, b_c = con.a[:, i0:i1], con.b[:, i0:i1]
        _semi_commit_votes(
            cfg.voting,
            w_m,
            a_c,
            b_c,
            om_m,
            dm_m,
            rr_m[:, :, i0:i1, None],
            uc_m[:, :, i0:i1, None],
            us_m[:, :, i0:i1, None],
            b1,
            b2,
            terms[1:],
        )
        # the principals are no third parties of their own contest
        ci = np.arange(c)
        b1[ci + i0, :, ci, :] = 0.0
        b1[every, :, :, every] = 0.0
        terms[0] = a_c
        np.fmax(b1, 0.0, out=terms[1:])
        at[:, i0:i1] = seq_sum0(terms)
        terms[0] = b_c
        np.negative(b1, out=b1)
        np.fmax(b1, 0.0, out=terms[1:])
        bt[:, i0:i1] = seq_sum0(terms)
    return at, bt


def _initiator_odds(
    state: State, con: Contests, cfg: Config, fast: ModuleType | None
) -> tuple[F, F]:
    """``(P, P')[r, i, j]``: ``i``'s estimate of its chance to win (and to lose) ``i → j``."""
    if cfg.third_party != TPC_SEMI:
        # KTAB's two sides are equal for every third party: they vote 0
        a, b = con.a, con.b
    elif fast is not None:
        a, b = fast.third_party_strengths(cfg.voting, state, con)
    else:
        a, b = third_party_strengths(state, con, cfg)
    return a / (a + b), b / (a + b)


def _target_view(
    state: State, con: Contests, cfg: Config, tt: I, fast: ModuleType | None = None
) -> tuple[F, ...]:
    """The challenge ``i → tt[r, i]`` as its target estimates it: ``(P, P', u_ii, u_ij, u_ji,
    u_jj)`` per initiator (``n²`` work, but some fifty passes over ``n²`` temporaries in NumPy:
    ``fast``, :mod:`detente.models.smp_fused`, does it in one)."""
    r_n, n = tt.shape
    vr = cfg.voting
    if fast is not None:
        out: tuple[F, ...] = fast.target_view(vr, cfg.third_party == TPC_SEMI, state, con.w, tt)
        return out
    rows = np.arange(r_n)[:, None]
    idx = np.arange(n)
    om, dm, rr = state.om, state.dm, state.rr
    om_t, dm_t = np.swapaxes(om, -1, -2), np.swapaxes(dm, -1, -2)
    om_d, dm_d = om[:, idx, idx], dm[:, idx, idx]
    rr_t = rr[rows, tt]  # [r, i, m]: r^t_m
    umi_t = om_t * (1.0 + rr_t * dm_t)  # u^t_{m,i}
    umj_t = om_t[rows, tt] * (1.0 + rr_t * dm_t[rows, tt])  # u^t_{m,t}
    umm_t = om_d[:, None, :] * (1.0 + rr_t * dm_d[:, None, :])  # u^t_{m,m}
    ii = np.broadcast_to(idx, (r_n, n))

    def at_m(arr: F, m: I) -> F:
        out: F = np.take_along_axis(arr, m[:, :, None], -1)[:, :, 0]
        return out

    uii_t, uij_t = at_m(umi_t, ii), at_m(umj_t, ii)
    uji_t, ujj_t = at_m(umi_t, tt), at_m(umj_t, tt)
    w = con.w
    a_t, b_t = principals(vr, w, uii_t, uij_t, w[rows, tt], uji_t, ujj_t)
    if cfg.third_party == TPC_SEMI:
        v, _, _, _ = third_party_votes(
            vr, TPC_SEMI, a_t[:, :, None], b_t[:, :, None], w[:, None, :], umi_t, umj_t, umm_t
        )
        v[:, idx, idx] = 0.0
        np.put_along_axis(v, tt[:, :, None], 0.0, axis=-1)
        # in KTAB's order: the principals' strengths, then the third parties by index
        v_m = np.moveaxis(v, -1, 0)
        a_t = seq_sum0(np.concatenate([a_t[None], np.fmax(v_m, 0.0)]))
        b_t = seq_sum0(np.concatenate([b_t[None], np.fmax(-v_m, 0.0)]))
    return a_t / (a_t + b_t), b_t / (a_t + b_t), uii_t, uij_t, uji_t, ujj_t


def challenges(
    state: State, inputs: Inputs, cfg: Config, fast: ModuleType | None = None
) -> Challenges:
    """Every actor's best challenge, by its own estimates (``doBCN``, ``bestChallenge``).

    ``fast``: :mod:`detente.models.smp_fused` for the third parties' ``n³`` sums (the same
    numbers), or None for NumPy (:func:`third_party_strengths`).
    """
    r_n, n = state.x.shape[:2]
    con = contests(state, inputs, cfg)
    idx = np.arange(n)
    rows = np.arange(r_n)[:, None]
    uown = state.uown
    u_ii = uown[:, idx, idx]
    p, pji = _initiator_odds(state, con, cfg, fast)
    sj = con.sal_tot[:, None, :]
    gain_ii = gains(p, pji, sj, u_ii[:, :, None], uown)[0]
    gain_ii[:, idx, idx] = -np.inf
    best = np.where(gain_ii > MIN_GAIN, gain_ii, -np.inf)
    target = np.argmax(best, axis=-1)
    has = np.isfinite(np.take_along_axis(best, target[:, :, None], -1)[:, :, 0])
    target = np.where(has, target, -1).astype(np.intp)
    tt = np.where(has, target, (idx + 1) % n)  # placeholder target where none

    def pick(arr: F) -> F:
        out: F = np.take_along_axis(arr, tt[:, :, None], -1)[:, :, 0]
        return out

    p_i, pji_i = pick(p), pick(pji)
    g_ij = gains(p_i, pji_i, con.sal_tot[rows, tt], pick(con.ucross), pick(con.uself))[0]
    # the target's own estimates of the same contest, for the report and the receiver's bargains
    p_t, pji_t, uii_t, uij_t, uji_t, ujj_t = _target_view(state, con, cfg, tt, fast)
    st = con.sal_tot[rows, tt]
    nan = np.where(has, 1.0, np.nan)
    return Challenges(
        target=target,
        p_by_init=p_i * nan,
        gain_init_by_init=pick(gain_ii) * nan,
        gain_target_by_init=g_ij * nan,
        p_by_target=p_t * nan,
        gain_init_by_target=gains(p_t, pji_t, st, uii_t, uij_t)[0] * nan,
        gain_target_by_target=gains(p_t, pji_t, st, uji_t, ujj_t)[0] * nan,
    )


# -- bargains (smp.cpp, smpbcn.cpp) ----------------------------------------------------------------


def _round4(x: F) -> F:
    """KTAB rounds bargain coordinates to 4 decimals on the 0–1 scale (``(int)(0.5 + x s)``)."""
    out: F = np.trunc(0.5 + x * 10000.0) / 10000.0
    return out


def interpolate(ivb: int, ti: F, si: F, pi: F, tj: F, sj: F, pj: F) -> tuple[F, F]:
    """The bargain ``(b_i, b_j)`` between positions ``ti, tj`` (``SMPActor::interpolateBrgn``).

    ``si, sj`` are the saliences per dimension, ``pi, pj`` (broadcast over dimensions) the
    win probabilities of either side.

    Examples
    --------
    >>> bi, bj = interpolate(IVB_S2P2, np.array([0.2]), np.array([0.5]), np.array([0.75]),
    ...                      np.array([0.8]), np.array([0.5]), np.array([0.25]))
    >>> bi, bj
    (array([0.26]), array([0.26]))
    """
    if ivb == IVB_S2PMAX:
        di = np.where(pj > pi, pj - pi, 0.0)
        dj = np.where(pi > pj, pi - pj, 0.0)
        si2, sj2 = si * si, sj * sj
        dik = (di * sj2) / ((di * sj2) + MIN_BARGAIN_WEIGHT + ((1 - di) * si2))
        djk = (dj * si2) / ((dj * si2) + MIN_BARGAIN_WEIGHT + ((1 - dj) * sj2))
        return ti + dik * (tj - ti), tj + djk * (ti - tj)
    if ivb == IVB_S2P2:
        wi, wj = (si * si) * (pi * pi), (sj * sj) * (pj * pj)
    elif ivb == IVB_S1P1:
        wi, wj = si * pi, sj * pj
    else:
        raise ValueError(f"unknown InterVecBrgn code {ivb}")
    # the 1e-6 keeps 0/0 away when neither side cares or can coerce; its asymmetry is KTAB's
    den = wi + MIN_BARGAIN_WEIGHT + wj
    bi = _round4(((wi + MIN_BARGAIN_WEIGHT) * ti + wj * tj) / den)
    bj = _round4((wi * ti + (MIN_BARGAIN_WEIGHT + wj) * tj) / den)
    return bi, bj


@dataclass
class Bargains:
    """Bargains of one turn, in slots ``s = initiator * versions + version``.

    ``pos_init[r, s]`` is the initiator's side, ``pos_rcvr[r, s]`` the receiver's; ``valid``
    marks slots holding a bargain. ``options[r, k, o]`` lists actor ``k``'s choice: ``-1`` is
    its status quo (always option 0), ``-2`` padding, else a slot. ``prob[r, k, o]`` are the
    election's probabilities and ``chosen[r, k]`` the option taken. ``utility[r, s, m]`` is
    voter ``m``'s value of the state after bargain ``s``, the last row its status quo
    (KTAB's ``BargnUtil``); :func:`simulate` keeps it only when asked (``n²`` per turn).
    """

    versions: int
    receiver: I
    value: F
    pos_init: F
    pos_rcvr: F
    valid: B
    options: I
    prob: F
    chosen: I
    utility: F | None


def make_bargains(
    state: State, inputs: Inputs, cfg: Config, ch: Challenges
) -> tuple[I, F, F, F, B, int]:
    """``(receiver[r, s], value, pos_init[r, s, D], pos_rcvr, valid[r, s], versions)``."""
    r_n, n, dim = state.x.shape
    inputs = per_replicate(inputs, r_n)
    has = ch.target >= 0
    t = np.where(has, ch.target, 0)
    rows = np.arange(r_n)[:, None]
    x, sal = state.x, inputs.salience
    xi, xj = x, x[rows, t]
    si, sj = sal, sal[rows, t]
    p = ch.p_by_init[:, :, None]
    bi, bj = interpolate(cfg.inter_vec, xi, si, p, xj, sj, 1 - p)
    if cfg.bargain == BM_INIT_ONLY:
        versions = 1
        pos_i, pos_j = bi[:, :, None, :], bj[:, :, None, :]
    else:
        # smpc passes the target's estimate of the initiator's gain where a probability is
        # expected (get<1> of probEduChlg); bargain_rules=corrected takes the probability
        ktab = cfg.ktab_bargains or cfg.ktab_compat
        pr = ch.gain_init_by_target if ktab else ch.p_by_target
        pr = pr[:, :, None]
        ri, rj = interpolate(cfg.inter_vec, xi, si, pr, xj, sj, 1 - pr)
        if cfg.bargain == BM_INIT_RCVR:
            versions = 2
            pos_i = np.stack([bi, ri], axis=2)
            pos_j = np.stack([bj, rj], axis=2)
        else:
            # capability × total salience of either side; smpc weighs the receiver's side with
            # the initiator's capability (bargain_rules=corrected: the receiver's own)
            sal_tot = np.sum(sal, axis=-1)
            cap = inputs.capability
            wi = (cap * sal_tot)[:, :, None]
            cap_j = cap if ktab else cap[rows, t]
            wj = (cap_j * sal_tot[rows, t])[:, :, None]
            versions = 1
            pos_i = ((wi * bi + wj * ri) / (wi + wj))[:, :, None, :]
            pos_j = ((wi * bj + wj * rj) / (wi + wj))[:, :, None, :]
    valid = np.repeat(has, versions, axis=1)
    receiver = np.repeat(np.where(has, ch.target, -1), versions, axis=1)
    value = np.repeat(ch.gain_init_by_init, versions, axis=1)
    return (
        receiver.astype(np.intp),
        value,
        pos_i.reshape(r_n, n * versions, dim),
        pos_j.reshape(r_n, n * versions, dim),
        valid,
        versions,
    )


def option_lists(initiator: I, receiver: I, valid: B, versions: int, keys: F | None) -> I:
    """Each actor's options in the order its election sees them, ``[r, k, o]``.

    ``-1`` is actor ``k``'s status quo, ``-2`` padding, else a bargain slot. In ``smpc`` the
    list of actor ``k`` fills as its actors' threads push to it (``SMPState::doBCN``): ``k``'s
    status quo when its own thread starts, each bargain when its initiator's thread ends. The
    order matters for ties and, under the asymmetric voting rule, for the probabilities
    themselves (:func:`coalitions`). Without ``keys`` the threads run one after another in
    actor order: the bargains by initiator, ``k``'s status quo just before its own bargain(s),
    which is the order ``smpc`` logs for most lists. ``keys[r, k, s]`` (slots, then the status
    quo last) give another order: lower keys first, ties by slot.
    """
    r_n, n_s = valid.shape
    n = n_s // versions if versions else 0
    idx = np.arange(n)
    own = initiator[None, None, :] == idx[None, :, None]  # [1, k, s]
    member = valid[:, None, :] & (own | (receiver[:, None, :] == idx[None, :, None]))
    if keys is None:
        slot_key = np.broadcast_to(np.arange(n_s, dtype=np.float64), (r_n, n, n_s))
        sq_key = np.broadcast_to(idx * versions - 0.5, (r_n, n))
    else:
        slot_key, sq_key = keys[..., :n_s], keys[..., n_s]
    key = np.concatenate([np.where(member, slot_key, np.inf), sq_key[..., None]], axis=-1)
    order = np.argsort(key, axis=-1, kind="stable")
    n_opt = (int(member.sum(axis=-1).max()) if n_s else 0) + 1
    sel = order[:, :, :n_opt]
    ok = np.take_along_axis(np.isfinite(key), sel, -1)
    out: I = np.where(ok, np.where(sel == n_s, -1, sel), -2).astype(np.intp)
    return out


THREAD_DELAY = 0.65
"""Mean run time of an actor's thread in :func:`thread_keys`, in units of the gap between two
threads' starts: with it about 6 % of the option lists leave actor order, as 501 of the 8,131
lists in smpc's logs of ``runs-params`` do."""


def thread_keys(gen: np.random.Generator, n: int, versions: int) -> F:
    """Option keys of one replicate's turn for ``bargain_order=threads``, ``[n, n·v + 1]``.

    Thread ``i`` starts at time ``i`` and runs for an exponential time of mean ``THREAD_DELAY``:
    the status quo of ``k`` is keyed by ``k``'s start, a bargain by its initiator's end (two
    versions of one bargain keep their order). A model of ``smpc``'s thread timing, not a
    measurement.
    """
    end = np.arange(n) + gen.exponential(THREAD_DELAY, n)
    slots = np.repeat(end, versions)
    return np.concatenate(
        [np.broadcast_to(slots, (n, n * versions)), np.arange(n, dtype=np.float64)[:, None]],
        axis=-1,
    )


def choose_bargains(
    state: State,
    inputs: Inputs,
    cfg: Config,
    ch: Challenges,
    draws: F | None,
    keys: F | None = None,
    fast: ModuleType | None = None,
) -> tuple[Bargains, F, I]:
    """Each actor's election over its status quo and its bargains (``updateBestBrgnPositions``).

    A voter's value of an option is its mean utility over all actors' positions after the
    option (only the two parties move). Returns the bargains, the new positions ``[r, n, D]``
    and the mover slot per actor (``-1`` if the actor did not move). ``keys``: the order of
    each actor's options (:func:`option_lists`); ``fast``: :mod:`detente.models.smp_fused` for
    the ``n³`` sums and coalitions (the same numbers), or None.
    """
    r_n, n, _ = state.x.shape
    inputs = per_replicate(inputs, r_n)
    receiver, value, pos_i, pos_j, valid, versions = make_bargains(state, inputs, cfg, ch)
    initiator = np.repeat(np.arange(n), versions)
    rows = np.arange(r_n)[:, None]
    idx = np.arange(n)
    table = _option_values(state, inputs, (initiator, receiver, valid), pos_i, pos_j, fast)
    options = option_lists(initiator, receiver, valid, versions, keys)
    prob, opt_valid = _option_elections(cfg, inputs.capability, table, options, fast)
    if draws is None:
        chosen = np.argmax(np.where(opt_valid, np.abs(prob), -1.0), axis=-1)
    else:
        cum = np.cumsum(np.where(opt_valid, prob, 0.0), axis=-1)
        hit = draws[:, :, None] <= cum
        last = opt_valid.sum(axis=-1) - 1
        chosen = np.where(hit.any(axis=-1), np.argmax(hit, axis=-1), last)
    chosen = chosen.astype(np.intp)
    slot = np.take_along_axis(options, chosen[:, :, None], -1)[:, :, 0]
    s_ok = slot >= 0
    sc = np.where(s_ok, slot, 0)
    is_init = initiator[sc] == idx[None, :]
    new_pos = np.where(is_init[:, :, None], pos_i[rows, sc], pos_j[rows, sc])
    new_x = np.where(s_ok[:, :, None], new_pos, state.x)
    moved = np.any(new_x != state.x, axis=-1)
    mover = np.where(s_ok & moved, slot, -1).astype(np.intp)
    brg = Bargains(
        versions=versions,
        receiver=receiver,
        value=value,
        pos_init=pos_i,
        pos_rcvr=pos_j,
        valid=valid,
        options=options,
        prob=prob,
        chosen=chosen,
        utility=table,
    )
    return brg, new_x, mover


def _option_values(
    state: State,
    inputs: Inputs,
    slots: tuple[I, I, B],
    pos_i: F,
    pos_j: F,
    fast: ModuleType | None,
) -> F:
    """``table[r, row, m]``: voter ``m``'s value of the state after the bargain in slot
    ``row``, the last row its status quo (KTAB's ``BargnUtil``). ``slots = (initiator[s],
    receiver[r, s], valid[r, s])``."""
    initiator, receiver, valid = slots
    n = state.x.shape[1]
    sal = inputs.salience
    s2sum = salience_norm(sal)
    risk = state.risk
    # the voters' utilities of the moved positions use their own R (SMPActor::posUtil)
    u_pi = utility(_dist_to_points(state.y, pos_i, sal, s2sum), risk[:, :, None])  # [r, m, s]
    u_pj = utility(_dist_to_points(state.y, pos_j, sal, s2sum), risk[:, :, None])
    uown = state.uown
    u_sq = seq_sum(uown) / n  # [r, m]
    rcv = np.where(valid, receiver, -1)
    if fast is not None:
        u_brgn = fast.bargain_utilities(uown, u_pi, u_pj, initiator, rcv)
    else:
        u_brgn = bargain_utilities(uown, u_pi, u_pj, initiator, rcv)
    u_brgn /= n
    out: F = np.concatenate([np.swapaxes(u_brgn, 1, 2), u_sq[:, None, :]], axis=1)
    return out


def _option_elections(
    cfg: Config, capability: F, table: F, options: I, fast: ModuleType | None
) -> tuple[F, B]:
    """``(prob, valid)[r, k, o]``: each actor's election over its options (:func:`option_lists`)
    with the values of ``table`` (:func:`_option_values`)."""
    r_n, n, width0 = options.shape
    n_s = table.shape[1] - 1
    opt_valid = options >= -1
    rows_tab = np.where(options >= 0, options, n_s)
    # elections grouped by their number of options (next power of two), so that one actor
    # with many offers does not pad everyone's; padding is neutral (×1.0, +0.0) bit for bit
    count = opt_valid.sum(axis=-1)
    width = 2 ** np.ceil(np.log2(np.maximum(count, 1))).astype(np.intp)
    extra = int(width.max()) - width0
    if extra > 0:
        rows_tab = np.pad(rows_tab, ((0, 0), (0, 0), (0, extra)), constant_values=n_s)
        opt_valid = np.pad(opt_valid, ((0, 0), (0, 0), (0, extra)))
    prob = np.zeros((r_n, n, width0 + max(extra, 0)))
    prob[..., 0] = np.where(count == 1, 1.0, 0.0)  # the status quo alone
    for size in np.unique(width[count > 1]):
        er, ek = np.nonzero((width == size) & (count > 1))
        prob[er, ek, :size] = election_rows(
            cfg,
            capability,
            table,
            er,
            rows_tab[er, ek, :size],
            opt_valid[er, ek, :size],
            fast,
        )
    return prob[..., :width0], opt_valid[..., :width0]


def bargain_utilities(
    uown: F, u_pi: F, u_pj: F, initiator: I, receiver: I, chunk_elements: int = 1 << 20
) -> F:
    """``Σ`` over the state after each bargain of each voter's utilities, ``[r, m, s]``.

    In KTAB's order (``updateBestBrgnPositions``): the two moved positions first, then every
    other actor's position in index order. A 0.0 in place of the two skipped terms keeps that
    order exactly; the sum runs over chunks of bargains to bound memory.
    """
    r_n, n, _ = uown.shape
    n_s = initiator.shape[0]
    out = np.empty((r_n, n, n_s))
    step = max(1, chunk_elements // max(1, r_n * n * n))
    act = np.arange(n)
    u_t = np.moveaxis(uown, -1, 0)[..., None]  # [n, r, m, 1]: u^m_{m, n}
    for s0 in range(0, n_s, step):
        s1 = min(n_s, s0 + step)
        skip = (act[:, None, None] == initiator[None, None, s0:s1]) | (
            act[:, None, None] == receiver[None, :, s0:s1]
        )  # [n, r, s]
        terms = np.empty((n, r_n, n, s1 - s0))  # [n, r, m, s], C order for the ordered sum
        terms[...] = u_t
        np.copyto(terms, 0.0, where=skip[:, :, None, :])
        terms[0] += u_pi[:, :, s0:s1] + u_pj[:, :, s0:s1]
        out[:, :, s0:s1] = seq_sum0(terms)
    return out


def _dist_to_points(ideal: F, points: F, sal: F, s2sum: F) -> F:
    """``d[r, m, s]`` from voter ``m``'s ideal to point ``s`` (``SMPModel::bvDiff``)."""
    ds = (ideal[:, :, None, :] - points[:, None, :, :]) * sal[:, :, None, :]
    out: F = np.sqrt(seq_sum(ds * ds) / s2sum[:, :, None])
    return out


def new_ideals(acc: F | None, x_new: F, y_old: F) -> F:
    """Ideals after a turn (``SMPState::newIdeals``): identity accommodation copies positions.

    Examples
    --------
    >>> acc = np.array([[0.5, 0.25], [0.0, 1.0]])  # actor 0 keeps a quarter of its old ideal
    >>> new_ideals(acc, np.array([[[0.4], [0.8]]]), np.array([[[0.0], [0.0]]]))[0, :, 0]
    array([0.4, 0.8])
    """
    if acc is None:
        return x_new
    total = np.minimum(acc.sum(axis=1), 1.0)
    lag = 1.0 - total
    out: F = np.einsum("ij,rjd->rid", acc, x_new) + lag[None, :, None] * y_old
    return out


# -- the run -------------------------------------------------------------------------------------


@dataclass
class TurnRecord:
    """What one turn did, for the replicates active in it (``rows``)."""

    rows: I
    challenges: Challenges
    bargains: Bargains
    mover: I


@dataclass
class History:
    """A batch run: states, derived quantities and per-turn records.

    ``positions[t]`` / ``ideals[t]`` are ``[R, n, D]`` (a replicate that stopped keeps its last
    state); ``risk[t]``, ``flat[t]``, ``win[t]`` hold the values of state ``t``. ``turns[r]``
    is the last turn of replicate ``r``. Without ``record`` only the final values are kept
    (``positions`` then has the initial and the final state, or every state with
    ``positions=True``).
    """

    turns: I
    positions: list[F] = field(default_factory=list)
    ideals: list[F] = field(default_factory=list)
    risk: list[F] = field(default_factory=list)
    flat: list[B] = field(default_factory=list)
    win: list[F] = field(default_factory=list)
    representative: list[B] = field(default_factory=list)
    group: list[I] = field(default_factory=list)
    outcome: list[F] = field(default_factory=list)
    records: list[TurnRecord] = field(default_factory=list)
    final_win: F | None = None
    final_outcome: F | None = None
    final_group: I | None = None
    final_risk: F | None = None


def _record_win(hist: History, won: tuple[F, B, I, F], rows: I | None) -> None:
    """Append a state's win probabilities; with ``rows`` only those replicates changed."""
    stores: tuple[list[NDArray[np.generic]], ...] = (
        hist.win,  # type: ignore[assignment]
        hist.representative,
        hist.group,
        hist.outcome,
    )
    for store, new in zip(stores, won, strict=True):
        if rows is None:
            store.append(new)
        else:
            full = store[-1].copy()
            full[rows] = new
            store.append(full)


def simulate(
    inputs: Inputs,
    cfg: Config,
    generators: Sequence[np.random.Generator],
    *,
    record: bool = True,
    positions: bool = False,
    draw_ahead: int = 1,
    option_keys: Callable[[int, I], F] | None = None,
    bargain_utility: bool = False,
    uniforms: ReplicateUniforms | None = None,
) -> History:
    """Run ``len(generators)`` replicates of the SMP to KTAB's stopping rule.

    Replicate ``r`` draws its stochastic choices (one uniform per actor per turn, KTAB's
    ``PRNG::probSel``) from ``generators[r]`` only, so a batch gives the same numbers as the
    replicates run one by one. Deterministic runs draw nothing. With per-replicate inputs
    (``capability[R, n]`` etc.) replicate ``r`` runs ``inputs`` row ``r``: the same numbers as
    a single run of that row (each replicate's reductions keep KTAB's order).

    ``record=False`` keeps the final values only; ``positions=True`` then still keeps every
    state's positions (for fan charts), without the per-turn records and elections. The
    records keep each turn's challenges, bargains and elections, ``O(n)`` numbers per actor
    and turn at most; ``bargain_utility=True`` keeps each turn's ``n × n`` table of the
    voters' values of the bargains too (``Bargains.utility``, KTAB's ``BargnUtil``).

    ``draw_ahead=k`` draws the uniforms of ``k`` turns at once per replicate (the same numbers:
    a generator's stream does not depend on how it is cut), which leaves the generators (or
    ``uniforms``) up to ``k - 1`` turns further on than a run one turn at a time would: for
    callers that discard them.

    The compiled kernels give the same numbers and are used where they pay
    (:func:`detente.models.accel.choose`): without records, whole turns in
    :mod:`detente.models.smp_numba`; otherwise the ``n³`` loops in
    :mod:`detente.models.smp_fused`.

    ``uniforms`` (:class:`~detente.models.streams.ReplicateUniforms`, one per replicate) gives
    the stochastic choices' uniforms instead of ``generators``, all replicates at once: the
    same numbers when it was made from the streams the generators were, and no generator is
    then used (``generators`` may make them lazily). Not with ``cfg.thread_order``, whose
    exponentials follow the uniforms in each generator's stream.

    ``cfg.thread_order`` orders each actor's options by :func:`thread_keys`, drawn from the
    replicate's generator after its choices of the turn. ``option_keys(turn, rows)`` gives the
    keys of a turn's options instead (``[len(rows), n, n·v + 1]``, see :func:`option_lists`),
    e.g. to replay the order a ``smpc`` log shows.

    Examples
    --------
    >>> inp = Inputs(np.array([1.0, 2.0, 3.0]), np.full((3, 1), 0.5),
    ...              np.array([[0.1], [0.5], [0.9]]))
    >>> hist = simulate(inp, Config(), [np.random.default_rng(0)])
    >>> int(hist.turns[0]), hist.positions[-1].shape
    (4, (1, 3, 1))
    """
    r_n = len(generators)
    if r_n < 1:
        raise ValueError("need at least one replicate")
    if uniforms is not None and len(uniforms) != r_n:
        raise ValueError(f"{len(uniforms)} replicates of uniforms for {r_n} generators")
    if uniforms is not None and cfg.thread_order:
        raise ValueError("thread_order draws from the generators: give no uniforms")
    run = _Run(per_replicate(inputs, r_n), cfg, generators, record, positions)
    run.uniforms = uniforms
    run.ahead = 1 if cfg.thread_order else max(1, int(draw_ahead))
    run.option_keys = option_keys
    run.bargain_utility = bargain_utility
    run.start()
    while run.active.size:
        run.turn()
    return run.finish()


FUSED = "detente.models.smp_fused"
FUSED_COMPILE_SECONDS = 6.0
"""Compiling :mod:`detente.models.smp_fused` on the benchmark machine, about (CPU seconds, for
one voting rule; measured 5.8 s)."""
TURNS = "detente.models.smp_numba"
TURNS_COMPILE_SECONDS = 40.0
"""Compiling :mod:`detente.models.smp_numba` on the benchmark machine, about (CPU seconds;
measured 38 s)."""


def numpy_seconds(r_n: int, n: int, cfg: Config, turns: int = 15) -> float:
    """A rough estimate of the NumPy kernel's CPU time for ``r_n`` replicates of ``n`` actors
    over ``turns`` turns, for :func:`detente.models.accel.choose` (a wrong estimate costs time,
    never numbers)."""
    per = 2e-8 * n**3 + 1e-6 * n * n + 5e-5
    if cfg.pce != PCE_CONDITIONAL:
        per *= 4.0  # the Markov elections iterate until the batch's slowest has settled
    return turns * (r_n * per + 2e-3)


class _Run:
    """The loop of :func:`simulate`: its state between turns and the kernels it uses."""

    def __init__(
        self,
        inputs: Inputs,
        cfg: Config,
        generators: Sequence[np.random.Generator],
        record: bool,
        positions: bool,
    ) -> None:
        self.inputs, self.live, self.cfg, self.gens = inputs, inputs, cfg, generators
        self.record, self.positions = record, positions
        self.ahead, self.bargain_utility = 1, False
        self.uniforms: ReplicateUniforms | None = None
        self.option_keys: Callable[[int, I], F] | None = None
        r_n, n = inputs.position.shape[:2]
        self.hist = History(turns=np.zeros(r_n, dtype=np.intp))
        self.active = np.arange(r_n)
        self.turn_no = 0
        self.first_step = np.zeros(r_n)
        self.win_full = np.full((r_n, n), np.nan)
        self.outcome_full = np.zeros((r_n, n))
        self.group_full = np.zeros((r_n, n), dtype=np.intp)
        self.expected = numpy_seconds(r_n, n, cfg)
        self.fused: ModuleType | None = None
        self.turns: ModuleType | None = None

    def _pick(self) -> None:
        """The kernels for the next step (:func:`detente.models.accel.choose`)."""
        custom_order = self.cfg.thread_order or self.option_keys is not None
        if self.turns is None and not self.record and not custom_order:
            self.turns = accel.choose(
                TURNS, compile_seconds=TURNS_COMPILE_SECONDS, expected_seconds=self.expected
            )
        if self.fused is None and self.turns is None:
            self.fused = accel.choose(
                FUSED, compile_seconds=FUSED_COMPILE_SECONDS, expected_seconds=self.expected
            )

    def _charge(self, seconds: float) -> None:
        """NumPy time the compiled kernels not in use could have saved."""
        if self.turns is None and not self.record:
            accel.charge(TURNS, seconds)
        if self.fused is None and self.turns is None:
            accel.charge(FUSED, seconds)

    def _state(self, inp: Inputs, x: F, y: F) -> State:
        if self.turns is not None:
            return _setup_compiled(self.turns, inp, self.cfg, x, y)
        return setup(inp, self.cfg, x, y, self.fused)

    def _win(self, state: State, inp: Inputs) -> tuple[F, B, I, F]:
        if self.turns is not None:
            return _win_compiled(self.turns, state, inp, self.cfg)
        return win_probabilities(state, inp, self.cfg, self.fused)

    def start(self) -> None:
        """The initial state."""
        self._pick()
        x0 = self.inputs.position.copy()
        self.x0 = x0
        self.state = self._state(self.inputs, x0, x0.copy())
        self.x_full, self.y_full = x0.copy(), x0.copy()
        self.risk_full, self.flat_full = self.state.risk.copy(), self.state.flat.copy()
        r_n, n = x0.shape[:2]
        self.pending = np.empty(
            (r_n if self.cfg.stochastic and self.ahead > 1 else 0, self.ahead, n)
        )
        self._keep(None)

    def _keep(self, rows: I | None) -> None:
        """Append the current state to the history (as the options ask)."""
        hist = self.hist
        if self.record:
            hist.positions.append(self.x_full.copy())
            hist.ideals.append(self.y_full.copy())
            hist.risk.append(self.risk_full.copy())
            hist.flat.append(self.flat_full.copy())
            inp = self.inputs if rows is None else self.live
            _record_win(hist, self._win(self.state, inp), rows)
        elif self.positions:
            hist.positions.append(self.x_full.copy())

    def _draws(self) -> tuple[F | None, F | None]:
        """This turn's uniforms ``[active, n]`` and option keys of the active replicates."""
        active, cfg, gens, n = self.active, self.cfg, self.gens, self.x_full.shape[1]
        draws = None
        uniforms = self.uniforms
        if cfg.stochastic and self.ahead == 1:
            if uniforms is not None:
                draws = uniforms.random(n, active)
            else:
                draws = np.stack([gens[int(r)].random(n) for r in active])
        elif cfg.stochastic:
            k = (self.turn_no - 1) % self.ahead
            if k == 0:
                if uniforms is not None:
                    self.pending[active] = uniforms.random((self.ahead, n), active)
                else:
                    # each replicate's own stream: a loop over the generators every `ahead`
                    # turns
                    self.pending[active] = np.stack(
                        [gens[int(r)].random((self.ahead, n)) for r in active]
                    )
            draws = self.pending[active, k]
        keys = None
        if self.option_keys is not None:
            keys = self.option_keys(self.turn_no - 1, active)
        elif cfg.thread_order:
            versions = 2 if cfg.bargain == BM_INIT_RCVR else 1
            keys = np.stack([thread_keys(gens[int(r)], n, versions) for r in active])
        return draws, keys

    def turn(self) -> None:
        """One turn of the active replicates, and the end of those that stop."""
        self.turn_no += 1
        self._pick()
        clock = time.thread_time()
        draws, keys = self._draws()
        state, live, cfg, active = self.state, self.live, self.cfg, self.active
        if self.turns is None:
            ch = challenges(state, live, cfg, self.fused)
            brg, x_new, mover = choose_bargains(state, live, cfg, ch, draws, keys, self.fused)
            if self.record:
                if not self.bargain_utility:
                    brg.utility = None
                self.hist.records.append(TurnRecord(active, ch, brg, mover))
        else:
            x_new = _turn_compiled(self.turns, state, live, cfg, draws)
        y_new = new_ideals(self.inputs.accommodation, x_new, state.y)
        step = np.sqrt(((x_new - state.x) ** 2).sum(axis=-1)).sum(axis=-1)
        if self.turn_no == 1:
            self.first_step[active] = step
        ratio = step / (self.first_step[active] + STOP_MIN_DELTA)
        stop = (self.turn_no >= cfg.max_turns) | (
            (self.turn_no >= STOP_MIN_TURNS) & (ratio < STOP_RATIO)
        )
        self.state = self._state(live, x_new, y_new)
        self.x_full[active], self.y_full[active] = x_new, y_new
        self.risk_full[active], self.flat_full[active] = self.state.risk, self.state.flat
        self.hist.turns[active] = self.turn_no
        self._keep(active)
        if stop.any():
            self._stop(np.flatnonzero(stop))
        self._charge(time.thread_time() - clock)

    def _stop(self, done: I) -> None:
        """The final win probabilities of the replicates ``done`` (rows of the active ones)."""
        w_act, _, grp, p_out = self._win(subset(self.state, done), subset_inputs(self.live, done))
        rows = self.active[done]
        self.win_full[rows], self.outcome_full[rows], self.group_full[rows] = w_act, p_out, grp
        keep = np.setdiff1d(np.arange(self.active.size), done)
        self.active = self.active[keep]
        self.state = subset(self.state, keep)
        self.live = subset_inputs(self.live, keep)

    def finish(self) -> History:
        hist = self.hist
        if not self.record and not self.positions:
            hist.positions = [self.x0, self.x_full]
        if not self.record:
            hist.ideals = [self.x0.copy(), self.y_full]
        hist.final_win = self.win_full
        hist.final_outcome = self.outcome_full
        hist.final_group = self.group_full
        hist.final_risk = self.risk_full
        return hist
