"""Batch kernel of Bueno de Mesquita's expected-utility model (Scholz, Calbert & Smith 2011).

Pure NumPy, vectorised over a leading replicate axis ``B`` and over actor pairs. Equation
numbers are those of the ICAART 2011 version of Scholz, Calbert & Smith, *Unravelling Bueno De
Mesquita's group decision model* ([S]). ``docs/eu.md`` describes the model, the two variants and
which reading of each ambiguity (rows A1–A13 of the reference README) they follow.

The public entry point is :func:`simulate`; :func:`resolve_choices` turns a variant name and
optional overrides into the switches the kernel runs with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from detente.models import accel
from detente.models.baselines import weighted_mean, weighted_median

F = NDArray[np.float64]
I8 = NDArray[np.int8]
I64 = NDArray[np.int64]

VARIANTS = ("scholz-program", "paper")
"""``scholz-program``: the choices of the program that reproduces [S]'s published numbers;
``paper``: the printed equations."""

# Classification of an ordered pair (i, j) from i's point of view, by a = E_i(ij) and
# b = E_j(ji) as i estimates it ([S] §6.1, Fig. 6). Index = code.
CLASSES = (
    "none",  # no contest: the same position (or i == j), or both expected utilities zero
    "stalemate",  # a < 0 and b < 0: neither challenges
    "conflict-win",  # a > 0, b > 0, b <= a (or a tie): i expects j to give way fully
    "conflict-lose",  # a > 0, b > 0, b > a beyond a tie: i expects to lose, moves to x_j
    "compromise-gain",  # a > 0 > b, a > |b|: j moves part way towards i
    "compromise-yield",  # a < 0 < b, b >= |a|: i moves part way towards j (eq. 35/36)
    "compel",  # a > 0 > b, a <= |b|: j gives in fully
    "capitulate",  # a < 0 < b, b < |a|: i gives in fully ("compel" in Fig. 6)
)
NONE, STALEMATE, CONFLICT_WIN, CONFLICT_LOSE = 0, 1, 2, 3
COMPROMISE_GAIN, COMPROMISE_YIELD, COMPEL, CAPITULATE = 4, 5, 6, 7

# Offers an actor can accept, in the order of preference of [S] §6.2. Index = kind code.
KINDS = ("none", "capitulation", "compromise", "conflict")
KIND_NONE, KIND_CAPITULATION, KIND_COMPROMISE, KIND_CONFLICT = 0, 1, 2, 3

_TIE_RTOL = 1e-12
"""Offer keys within this fraction of the position range count as tied (then the proposer with
the higher expected utility wins, then the lower new position), so that the choice does not
depend on the order of the actors."""

_SAME_POSITION = 1e-9
"""Positions closer than this fraction of the range count as one position (no contest)."""

_CONFLICT_TIE = 1e-12
"""In a conflict (both expected utilities positive) i expects to lose only if ``b > a`` by
more than this; a closer call is a tie, in which i holds its position (as in Fig. 6's
diagonal, which the figure leaves to neither side)."""

_SECURITY_RTOL = 1e-12
"""Security sums whose spread is below this (relative to their size, at least 1) are equal."""

_CHUNK_CELLS = 1 << 16
"""Replicates are processed in chunks of about this many (replicate × n × n) cells, so that the
working arrays stay in the processor's cache and memory stays bounded (``docs/eu.md``)."""


@dataclass(frozen=True)
class Choices:
    """How the kernel reads each ambiguous step (rows of the reference README's table).

    Attributes
    ----------
    normaliser
        A1. ``pair``: eq. 31, each pair's probability divided by the sum of all actors'
        absolute votes on that pair, so ``P_ij + P_ji = 1``. ``total``: one grand total of
        absolute votes over all ordered pairs of actor positions (Scholz's program).
    vote_exponent
        A2. ``none``: votes linear in distance (eq. 28). ``voter``: each voter's distances are
        raised to its own risk exponent in the second pass (Scholz's program).
    opponent_salience
        A3. Leading salience in j's expected utility of challenging i: ``target`` (``s_i``,
        eq. 25a with i and j exchanged) or ``printed`` (``s_j``, eq. 25b as printed).
    opponent_exponent
        A4. Risk exponent with which i evaluates j's expected utility: ``own`` (j's ``r_j``,
        [S] p. 23) or ``challenger`` (i's ``r_i``: i judges both sides with its own attitude,
        Scholz's program).
    compromise
        A9. New position of an actor that compromises: ``eq36`` ``x_i + (x_j - x_i)|a/b|`` or
        ``weighted`` ``(|a| x_i + |b| x_j) / (|a| + |b|)``.
    capitulation
        A9. ``move``: an actor that capitulates moves to the proposer's position; ``none``:
        the capitulation region yields no offer (Scholz's program, whose test can never hold).
    offer_order
        A10. Within the best class of offers, ``least-movement`` takes the one that moves the
        actor least; ``scholz-program`` takes, among compromises, the one with the smallest
        ``(|a| x_i + |b| x_j) / (|a| + |b|)`` (and least movement otherwise).
    zero_tolerance
        Expected utilities with ``|E|`` below this count as zero when classifying. They are
        differences of utilities of order 1, so anything below about 1e-15 is rounding; the
        default 1e-12 keeps a pair that the dynamics park on a region border (eq. 36 drives
        ``E_i(ij)`` to 0, where conflict meets compromise) from being decided by rounding.
        The eum program uses 1e-4.

    Examples
    --------
    >>> resolve_choices("paper").normaliser
    'pair'
    >>> resolve_choices("scholz-program", compromise="weighted").compromise
    'weighted'
    """

    normaliser: Literal["pair", "total"]
    vote_exponent: Literal["none", "voter"]
    opponent_salience: Literal["target", "printed"]
    opponent_exponent: Literal["own", "challenger"]
    compromise: Literal["eq36", "weighted"]
    capitulation: Literal["move", "none"]
    offer_order: Literal["least-movement", "scholz-program"]
    zero_tolerance: float = 1e-12

    def as_dict(self) -> dict[str, str | float]:
        """The switches as a plain mapping (for traces and JSON)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_VARIANT_CHOICES: dict[str, Choices] = {
    "paper": Choices(
        normaliser="pair",
        vote_exponent="none",
        opponent_salience="target",
        opponent_exponent="own",
        compromise="eq36",
        capitulation="move",
        offer_order="least-movement",
    ),
    "scholz-program": Choices(
        normaliser="total",
        vote_exponent="voter",
        opponent_salience="target",
        opponent_exponent="challenger",
        compromise="eq36",
        capitulation="none",
        offer_order="scholz-program",
    ),
}

SWITCHES: dict[str, tuple[str, ...]] = {
    "normaliser": ("pair", "total"),
    "vote_exponent": ("none", "voter"),
    "opponent_salience": ("target", "printed"),
    "opponent_exponent": ("own", "challenger"),
    "compromise": ("eq36", "weighted"),
    "capitulation": ("move", "none"),
    "offer_order": ("least-movement", "scholz-program"),
}
"""Every string switch of :class:`Choices` with its allowed values."""


def resolve_choices(variant: str, **overrides: str | float) -> Choices:
    """The switches of a variant, with individual switches overridden.

    An override equal to ``"variant"`` (or ``None``) keeps the variant's choice.

    Examples
    --------
    >>> c = resolve_choices("paper", opponent_salience="printed", compromise="variant")
    >>> (c.opponent_salience, c.compromise)
    ('printed', 'eq36')
    """
    try:
        base = _VARIANT_CHOICES[variant]
    except KeyError:
        raise ValueError(f"unknown variant {variant!r} (variants: {', '.join(VARIANTS)})") from None
    values = base.as_dict()
    for key, value in overrides.items():
        if value is None or value == "variant":
            continue
        if key == "zero_tolerance":
            if not isinstance(value, int | float) or not value >= 0:
                raise ValueError(f"zero_tolerance must be a number >= 0, got {value!r}")
            values[key] = float(value)
            continue
        allowed = SWITCHES.get(key)
        if allowed is None:
            raise ValueError(f"unknown switch {key!r} (switches: {', '.join(SWITCHES)})")
        if value not in allowed:
            raise ValueError(f"{key}: expected one of {', '.join(allowed)}, got {value!r}")
        values[key] = value
    return Choices(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class EUResult:
    """What :func:`simulate` computed, for ``B`` replicates, ``T`` rounds and ``n`` actors.

    Attributes
    ----------
    positions
        ``[B, T+1, n]``; index 0 is the input.
    median, mean
        ``[B, T+1]``: the ``c*s``-weighted median (midpoint on an exact half-weight tie) and
        mean of the positions after each round.
    range
        ``[B]``: the position range ``x_max - x_min`` of the input, fixed for the run (A12).
    risk
        ``[B, T, n]``: the risk exponents of round t's second pass (eq. 33).
    security
        ``[B, T, n]``: ``S_i``, the sum of what the others expect from challenging i in
        round t's first pass (eq. 34); larger is less secure.
    risk_degenerate
        ``[B, T]``: all security sums were equal, so every exponent was set to 1 (A6).
    proposer
        ``[B, T, n]``: whose offer each actor accepted in round t, or -1.
    kind
        ``[B, T, n]``: the accepted offer's kind, an index into :data:`KINDS`.
    offer_eu, offer_opponent_eu
        ``[B, T, n]``: for an accepted offer from j, ``E_i(ij)`` and ``E_j(ji)`` as i saw
        them (NaN where nothing was accepted).
    probability, eu, eu_opponent, classification
        ``[B, T, n, n]`` second-pass values per ordered pair (i, j), or ``None`` when run with
        ``record=False``: ``P_ij``; ``E_i(ij)`` as i computes it; ``E_j(ji)`` as i estimates
        it (the value i classifies against; j's own value is ``eu[..., j, i]``); the class,
        an index into :data:`CLASSES`.
    first_pass_probability, first_pass_eu
        ``[B, T, n, n]`` the same with every risk exponent 1 (the pass that sets the risk
        exponents), or ``None``.
    choices, q
        The switches and status-quo probability used.
    """

    positions: F
    median: F
    mean: F
    range: F
    risk: F
    security: F
    risk_degenerate: NDArray[np.bool_]
    proposer: I64
    kind: I8
    offer_eu: F
    offer_opponent_eu: F
    probability: F | None
    eu: F | None
    eu_opponent: F | None
    classification: I8 | None
    first_pass_probability: F | None
    first_pass_eu: F | None
    choices: Choices
    q: float

    @property
    def rounds(self) -> int:
        """Number of rounds simulated."""
        return int(self.positions.shape[1]) - 1


def simulate(
    capability: F,
    position: F,
    salience: F,
    *,
    rounds: int = 10,
    q: float = 1.0,
    variant: str = "scholz-program",
    choices: Choices | None = None,
    record: bool = True,
) -> EUResult:
    """Run the expected-utility model on ``B`` independent one-issue replicates.

    Parameters
    ----------
    capability, position, salience
        ``[B, n]`` (or ``[n]`` for one replicate): capabilities ``c >= 0`` (only ratios
        matter), positions on the issue axis, saliences in [0, 1]. All finite.
    rounds
        Number of rounds (fixed; there is no convergence test, A13).
    q
        Status-quo probability ``Q`` of eq. 25a. With ``Q = 1`` (the default, as in [S]'s
        replication) the median, ``T`` and the "better/worse" utilities play no part.
    variant
        ``scholz-program`` or ``paper``; ignored when ``choices`` is given.
    choices
        Explicit switches (see :func:`resolve_choices`).
    record
        Keep the per-pair arrays (``[B, T, n, n]``). Turn off for large Monte Carlo batches:
        without them, the run goes to the fused Numba kernel
        (:mod:`detente.models.eu_numba`, same results to rounding) when Numba is installed and
        the call is large enough that compiling it pays (:func:`uses_fused_kernel`).

    Returns
    -------
    EUResult
        Arrays with the replicate axis first, even for one-dimensional input.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([0.08, 0.08, 0.03, 0.16, 0.16, 0.16, 0.16, 0.05, 0.05, 0.08])
    >>> x = np.array([4.0, 7, 4, 4, 10, 10, 10, 7, 4, 7])
    >>> s = np.array([0.8, 0.4, 0.2, 0.8, 0.6, 0.6, 0.9, 0.1, 1.0, 0.7])
    >>> result = simulate(c, x, s, rounds=2)
    >>> np.round(result.median[0], 3).tolist()
    [7.0, 8.416, 9.611]
    >>> [KINDS[k] for k in result.kind[0, 0, :3]]
    ['none', 'compromise', 'conflict']
    """
    ch = choices if choices is not None else resolve_choices(variant)
    c = np.atleast_2d(np.asarray(capability, dtype=np.float64))
    x0 = np.atleast_2d(np.asarray(position, dtype=np.float64))
    s = np.atleast_2d(np.asarray(salience, dtype=np.float64))
    if not (c.shape == x0.shape == s.shape) or c.ndim != 2:
        raise ValueError(
            f"capability, position and salience must share one shape [B, n], got"
            f" {c.shape}, {x0.shape}, {s.shape}"
        )
    if not (np.isfinite(c).all() and np.isfinite(x0).all() and np.isfinite(s).all()):
        raise ValueError("capability, position and salience must be finite")
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"Q must lie in [0, 1], got {q}")
    b_total, n = x0.shape
    fused = _fused_kernel() if not record and uses_fused_kernel(b_total, n, rounds) else None
    if fused is not None:
        out = fused(c, x0, s, rounds, q, ch)
    else:
        out = _allocate(b_total, n, rounds, record)
        chunk = max(1, _CHUNK_CELLS // (n * n))
        for start in range(0, b_total, chunk):
            sl = slice(start, min(start + chunk, b_total))
            _run_chunk(c[sl], x0[sl], s[sl], rounds, q, ch, out, sl)
    return EUResult(
        positions=out["positions"],
        median=out["median"],
        mean=out["mean"],
        range=out["range"],
        risk=out["risk"],
        security=out["security"],
        risk_degenerate=out["risk_degenerate"].astype(bool, copy=False),
        proposer=out["proposer"].astype(np.int64, copy=False),
        kind=out["kind"].astype(np.int8, copy=False),
        offer_eu=out["offer_eu"],
        offer_opponent_eu=out["offer_opponent_eu"],
        probability=out.get("probability"),
        eu=out.get("eu"),
        eu_opponent=out.get("eu_opponent"),
        classification=None if not record else out["classification"].astype(np.int8, copy=False),
        first_pass_probability=out.get("first_pass_probability"),
        first_pass_eu=out.get("first_pass_eu"),
        choices=ch,
        q=float(q),
    )


NO_NUMBA_ENV = accel.NO_NUMBA_ENV
"""Set this environment variable (to anything but ``0`` or empty) to run the NumPy kernel even
where the fused Numba kernel is available."""


def _fused_kernel() -> Callable[..., dict[str, NDArray[Any]]] | None:
    """:func:`detente.models.eu_numba.simulate_fused`, or ``None`` when Numba is not installed
    or :data:`NO_NUMBA_ENV` is set (see :func:`detente.models.accel.load`). Imported on first
    use (Numba takes a while to load)."""
    module = accel.load("detente.models.eu_numba")
    if module is None:
        return None
    fused: Callable[..., dict[str, NDArray[Any]]] = module.simulate_fused
    return fused


FUSED_COMPILE_SECONDS = 11.0
"""Compiling :mod:`detente.models.eu_numba` on the benchmark machine, about (CPU seconds;
measured 10.7 s)."""


def numpy_seconds(b: int, n: int, rounds: int) -> float:
    """A rough estimate of the NumPy kernel's CPU time for ``b`` replicates of ``n`` actors
    over ``rounds`` rounds (about a microsecond per replicate, round and pair of actors on the
    benchmark machine)."""
    return 1e-6 * b * rounds * max(n, 4) ** 2


def uses_fused_kernel(b: int, n: int, rounds: int) -> bool:
    """Whether ``simulate(..., record=False)`` of ``b`` replicates, ``n`` actors and ``rounds``
    rounds runs the fused kernel: where Numba is available and
    :func:`detente.models.accel.worth` says the call pays for compiling it. The fused kernel
    agrees with this module to rounding only, so the choice depends on the call alone, never
    on Numba's cache or the clock: the same call gives the same numbers.
    ``DETENTE_NUMBA=always`` uses it for every call."""
    if b < 1 or n < 1 or not accel.worth(numpy_seconds(b, n, rounds), FUSED_COMPILE_SECONDS):
        return False
    return _fused_kernel() is not None


def fused_kernel_available() -> bool:
    """Whether ``simulate(..., record=False)`` runs the fused Numba kernel in this process."""
    return _fused_kernel() is not None


# -- internals -----------------------------------------------------------------------------------


def _allocate(b: int, n: int, t: int, record: bool) -> dict[str, NDArray[Any]]:
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
    if record:
        for key in ("probability", "eu", "eu_opponent", "first_pass_probability", "first_pass_eu"):
            out[key] = np.empty((b, t, n, n))
        out["classification"] = np.zeros((b, t, n, n), dtype=np.int8)
    return out


def _run_chunk(
    c: F,
    x0: F,
    s: F,
    rounds: int,
    q: float,
    ch: Choices,
    out: dict[str, NDArray[Any]],
    sl: slice,
) -> None:
    """All rounds for one chunk of replicates, written into ``out[...][sl]``."""
    record = "probability" in out
    bsz, n = x0.shape
    w = c * s
    lo = x0.min(axis=1)
    span = x0.max(axis=1) - lo
    out["range"][sl] = span
    # R is fixed at the initial spread (A12). A unanimous replicate has R = 0: every distance
    # is 0 and no pair is a contest, so dividing by 1 instead changes nothing and avoids 0/0.
    scale = np.where(span > 0, span, 1.0)
    # Distances are divided by R (not multiplied by 1/R): the extreme pair then has d = 1
    # exactly, which matters because (1/2 - d/2) ** r with r < 1 magnifies any rounding there.
    per = scale[:, None, None]
    inv = 1.0 / per
    x = x0.copy()
    out["positions"][sl, 0] = x
    # Saliences spread over the pair arrays once: full-size operands keep NumPy's inner loops
    # long (a broadcast operand of length n makes them n long).
    s_row = np.ascontiguousarray(np.broadcast_to(s[:, :, None], (bsz, n, n)))
    s_col = np.ascontiguousarray(np.broadcast_to(s[:, None, :], (bsz, n, n)))
    sums = _PartialSums(bsz, n)
    for t in range(rounds):
        diff = x[:, :, None] - x[:, None, :]  # x_i - x_j
        d = np.abs(diff)
        d /= per
        # Actors at one position have nothing to contest (all references). "One position"
        # includes positions closer than _SAME_POSITION of the range: their expected utilities
        # of challenging each other are O(d) differences of O(1) utilities, i.e. rounding noise,
        # and a noise-sized offer would pre-empt real ones (it moves the actor least).
        contest = d > _SAME_POSITION
        order = np.argsort(x, axis=1, kind="stable")
        xs = np.take_along_axis(x, order, axis=1)
        ws = np.take_along_axis(w, order, axis=1)
        ds = np.abs(xs[:, :, None] - x[:, None, :])  # ds[b, k, a]: sorted voter k to actor a
        ds /= per
        sums.locate(xs, x, diff > 0)
        drift = _Drift.make(c, x, s, d, per, q) if q != 1.0 else None

        # First pass: every exponent 1 (appendix step 2). It only sets the risk exponents.
        half = 0.5 * d
        p1 = _probability(sums.support(ds * ws[:, :, None]), ch.normaliser)
        # S_i: what the others expect from challenging i (eq. 34, A5), i.e. column sums of
        # E1[j, i], eq. 25a at r = 1 (U_s = 2d, U_f = -2d, U_sq = 0) with target salience
        # s_i. With r = 1, E_j(ji) from j's and from i's side coincide.
        e1 = None
        if record or drift is not None:
            e1 = _eu(half, d, s_col, p1, q, drift, None, transpose=False)
        if drift is None:
            # Q = 1: E1[j, i] = 2 d_ji - 4 s_i d_ji (1 - P_ji), so two column sums suffice.
            near = d.sum(axis=1)
            security = 2.0 * near - 4.0 * s * (near - (d * p1).sum(axis=1))
        else:
            assert e1 is not None
            e1[:, np.arange(n), np.arange(n)] = 0.0  # i does not challenge itself
            security = e1.sum(axis=1)
        risk, degenerate = _risk_exponents(security)

        # Second pass with the risk exponents (appendix steps 11, 5-7).
        if ch.vote_exponent == "voter":
            rs = np.take_along_axis(risk, order, axis=1)
            v = np.power(ds, rs[:, :, None])
            v *= ws[:, :, None]
            p2 = _probability(sums.support(v), ch.normaliser)
        else:
            p2 = p1  # linear votes do not depend on the exponents
        r_row = risk[:, :, None]
        # Eqs. 15, 16, 24 with i's exponent: U_s = 2 - 4 lo^r, U_f = 2 - 4 hi^r,
        # U_sq = 2 - 4 (1/2)^r. Eq. 25a only needs U_s - U_sq and U_s - U_f.
        win = np.power(0.5 - half, r_row)
        lose = np.power(0.5 + half, r_row)
        core = (0.5**risk)[:, :, None] - win  # (U_s - U_sq) / 4
        spread = lose - win  # (U_s - U_f) / 4
        a = _eu(core, spread, s_col, p2, q, drift, r_row, transpose=False)
        z = s_row if ch.opponent_salience == "target" else s_col
        p_ji = np.swapaxes(p2, 1, 2)
        if ch.opponent_exponent == "own":
            # j's own exponent: j's utilities are the transposes of i's (d is symmetric).
            core_t, spread_t = np.swapaxes(core, 1, 2), np.swapaxes(spread, 1, 2)
            b = _eu(core_t, spread_t, z, p_ji, q, drift, risk[:, None, :], transpose=True)
        else:
            b = _eu(core, spread, z, p_ji, q, drift, r_row, transpose=True)

        kind = _offer_kinds(a, b, contest, ch)
        proposer, chosen, new = _choose_offers(x, d, a, b, kind, ch, lo, inv)
        moved = proposer >= 0
        row = {"risk": risk, "security": security, "risk_degenerate": degenerate}
        row |= {"proposer": proposer, "kind": chosen}
        if record:
            row |= {"probability": p2, "eu": a, "eu_opponent": b, "first_pass_probability": p1}
            row |= {"first_pass_eu": e1}
            row["classification"] = _classify(a, b, contest, ch.zero_tolerance)
        _write_round(out, sl, t, row, a, b, proposer)
        # Everyone moves at once (A11).
        x = np.where(moved, new, x)
        out["positions"][sl, t + 1] = x
    _centres(c, s, out, sl)


def _write_round(
    out: dict[str, NDArray[Any]],
    sl: slice,
    t: int,
    row: dict[str, Any],
    a: F,
    b: F,
    proposer: NDArray[Any],
) -> None:
    """Round ``t``'s records of the chunk: ``row``'s arrays and the chosen offers' utilities."""
    moved = proposer >= 0
    pick = np.where(moved, proposer, 0)[:, :, None]
    out["offer_eu"][sl, t] = np.where(moved, np.take_along_axis(a, pick, 2)[:, :, 0], np.nan)
    out["offer_opponent_eu"][sl, t] = np.where(
        moved, np.take_along_axis(b, pick, 2)[:, :, 0], np.nan
    )
    for key, value in row.items():
        out[key][sl, t] = value


def _centres(c: F, s: F, out: dict[str, NDArray[Any]], sl: slice) -> None:
    """Median and mean of every state of the chunk at once (the baseline kernels take leading
    axes; per chunk, the arrays are still in cache)."""
    states = out["positions"][sl]
    cap = np.broadcast_to(c[:, None, :], states.shape)
    sal = np.broadcast_to(s[:, None, :, None], (*states.shape, 1))
    lower, upper = weighted_median(cap, states[..., None], sal)
    out["median"][sl] = ((lower + upper) / 2.0)[..., 0]
    out["mean"][sl] = weighted_mean(cap, states[..., None], sal)[..., 0]


_MATMUL_MAX_ACTORS = 32
"""Up to this many actors the partial sums of eq. 31 are a matrix product (n³ per replicate,
but fast for small n); above it, cumulative sums (n²)."""

_COUNT_DIRECT_CELLS = 1 << 22
"""Up to this many (replicate × voter × pair) cells the midpoint counts are plain comparisons;
above, a binary search per replicate (n² log n instead of n³)."""


class _PartialSums:
    """Third-party sums of eq. 31 in n² work per pass (after one n² log n count per round).

    ``N[b, i, j] = Σ_k w_k max(0, u_kj - u_ki)`` with ``u_ka = d_ka ** e_k`` are the votes of
    the actors k that side with i against j (eq. 31's numerator; A2 decides whether ``e_k`` is
    k's risk exponent or 1). As ``t -> t**e`` is increasing, k sides with i exactly when it is
    closer to i, i.e. on i's side of the midpoint of i and j. With the voters sorted by
    position those are a prefix (i left of j) or a suffix (i right of j) of the voters, so
    ``N_ij = A[o_ij, j] - A[o_ij, i]`` where ``A`` stacks the prefix and suffix sums of
    ``v_ka = w_k u_ka`` and ``o_ij`` picks the right one. A voter exactly at the midpoint adds
    ``u_kj - u_ki = 0`` on either side. Stacking both (rather than suffix = total - prefix)
    avoids cancellation.
    """

    def __init__(self, bsz: int, n: int) -> None:
        self.n = n
        # stack[l, k] = 1 for k < l (prefix of the first l sorted voters), then for k >= l.
        self.stack = np.vstack([np.tri(n + 1, n, -1), 1.0 - np.tri(n + 1, n, -1)])
        block = 2 * (n + 1) * n
        offset = (np.arange(bsz) * block)[:, None, None]
        self.base_j = offset + np.arange(n)[None, None, :]
        self.base_i = offset + np.arange(n)[None, :, None]
        self.index_j = self.index_i = self.base_j

    def locate(self, xs: F, x: F, right_of: NDArray[np.bool_]) -> None:
        """Index, for every pair, the voters on the challenger's side of its midpoint."""
        n = self.n
        # 2 x_k < x_i + x_j is exactly x_k < (x_i + x_j) / 2 (scaling by 2 is exact).
        below = _count_below(2.0 * xs, x)
        row = below + right_of * (n + 1)  # prefix row l = below, or the suffix block's row
        row *= n
        self.index_j = row + self.base_j
        self.index_i = row + self.base_i

    def support(self, v: F) -> F:
        """``N[b, i, j]`` from ``v[b, k, a] = w_k u_ka`` (voters k sorted by position)."""
        n = self.n
        if n <= _MATMUL_MAX_ACTORS:
            # For few actors one small matrix product per replicate is the fastest way to
            # get all prefix and suffix sums (cumsum along a short middle axis is not).
            sums = np.matmul(self.stack, v)
        else:  # n² work instead of the product's n³
            sums = np.empty((v.shape[0], 2 * (n + 1), n))
            sums[:, 0] = 0.0
            sums[:, 2 * n + 1] = 0.0
            np.cumsum(v, axis=1, out=sums[:, 1 : n + 1])
            sums[:, n + 1 : 2 * n + 1] = np.cumsum(v[:, ::-1], axis=1)[:, ::-1]
        flat = sums.reshape(-1)
        out: F = flat.take(self.index_j)
        out -= flat.take(self.index_i)
        return out


def _count_below(xs2: F, x: F) -> I64:
    """``count[b, i, j]``: values of ``xs2[b]`` (sorted) strictly below ``x_i + x_j``.

    The count is symmetric in i and j, so only pairs i < j are counted (the diagonal, which
    no contest uses, is left 0).
    """
    bsz, n = x.shape
    iu, ju = np.triu_indices(n, 1)
    pairs = x[:, iu] + x[:, ju]
    out = np.zeros((bsz, n, n), dtype=np.int64)
    if bsz * n * iu.size <= _COUNT_DIRECT_CELLS and n < 256:
        # Summing the comparison bytes along the voter axis adds whole rows at once.
        below = xs2[:, :, None] < pairs[:, None, :]
        counts = np.add.reduce(below.view(np.uint8), axis=1, dtype=np.uint8)
    else:
        counts = np.empty(pairs.shape, dtype=np.int64)
        for r in range(bsz):  # searchsorted has no batch axis; this loop is over replicates
            counts[r] = np.searchsorted(xs2[r], pairs[r], side="left")
    out[:, iu, ju] = counts
    out[:, ju, iu] = counts
    return out


def _probability(support: F, normaliser: str) -> F:
    """``P_ij`` from the supporting votes (eq. 31, or Scholz's program's grand total, A1)."""
    if normaliser == "pair":
        # Each voter's absolute vote on (i, j) counts once, for i or for j.
        den = support + np.swapaxes(support, 1, 2)
        p: F = np.divide(support, den, out=np.zeros_like(support), where=den > 0)
        return p
    # One total over all ordered pairs of actor positions: Σ_{a,b} Σ_k |v_ka - v_kb|.
    total = 2.0 * support.sum(axis=(1, 2))
    scale = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
    p_total: F = support * scale[:, None, None]
    return p_total


def _eu(
    core: F,
    spread: F,
    z: F,
    p: F,
    q: float,
    drift: _Drift | None,
    r: F | None,
    *,
    transpose: bool,
) -> F:
    """Eq. 25a rearranged: ``E = (U_s - Q U_sq) - z (1 - P)(U_s - U_f) - (1-Q)(T U_b + ...)``.

    ``z (P U_s + (1-P) U_f) + (1-z) U_s`` is ``U_s - z (1-P)(U_s - U_f)``; ``core`` is
    ``(U_s - U_sq) / 4`` and ``spread`` is ``(U_s - U_f) / 4``. ``z`` is the chance that the
    target resists (its salience, eq. 6). With ``transpose`` the challenger is the column
    actor j (j's expected utility of challenging i).
    """
    e = (1.0 - p) * z
    e *= spread
    np.subtract(core, e, out=e)
    e *= 4.0
    if drift is not None:
        # U_s - Q U_sq = (U_s - U_sq) + (1 - Q) U_sq, and U_sq = 2 - 4 (1/2)^r.
        half = 0.5 if r is None else 0.5**r
        e += (1.0 - q) * (2.0 - 4.0 * half)
        e -= (1.0 - q) * drift.terms(r, transpose)
    return e


@dataclass(frozen=True)
class _Drift:
    """What eq. 25a needs when ``Q < 1``: distances to the median and the T rule."""

    to_median: F  # [b, n] |x_i - mu| / R
    closer: NDArray[np.bool_]  # [b, i, j] T = 1: |x_i - mu| < |x_i - x_j| (step 5)
    d: F

    @staticmethod
    def make(c: F, x: F, s: F, d: F, per: F, q: float) -> _Drift:
        # mu: the weighted median of the current positions (A8), midpoint on a tie.
        lower, upper = weighted_median(c, x[:, :, None], s[:, :, None])
        gap = np.abs(x - (lower + upper) / 2.0) / per[:, :, 0]
        return _Drift(gap, gap[:, :, None] < d, d)

    def terms(self, r: F | None, transpose: bool) -> F:
        """``T U_b + (1 - T) U_w`` (eqs. 18, 19, 22, 23) for challenger i (or j)."""
        gap = self.to_median[:, None, :] if transpose else self.to_median[:, :, None]
        closer = np.swapaxes(self.closer, 1, 2) if transpose else self.closer
        h = 0.25 * (gap + self.d)
        better, worse = 0.5 - h, 0.5 + h
        if r is not None:
            better, worse = np.power(better, r), np.power(worse, r)
        return np.where(closer, 2.0 - 4.0 * better, 2.0 - 4.0 * worse)


def _risk_exponents(security: F) -> tuple[F, NDArray[np.bool_]]:
    """Eqs. 32-33: rescale the security sums to [-1, 1], map to exponents in [0.5, 2]."""
    hi = security.max(axis=1, keepdims=True)
    lo = security.min(axis=1, keepdims=True)
    spread = hi - lo
    size = np.maximum(1.0, np.maximum(np.abs(hi), np.abs(lo)))
    # A6: with equal sums eq. 32 is 0/0. Every actor is then as secure as every other, i.e.
    # at the middle of the scale, R_i = 0, r_i = 1 (risk neutral).
    degenerate = spread <= _SECURITY_RTOL * size
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(degenerate, 0.0, (2.0 * security - hi - lo) / spread)
    return (1.0 - rel / 3.0) / (1.0 + rel / 3.0), degenerate[:, 0]


def _signs(a: F, tol: float) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """``(a > 0, a < 0)`` with values within ``tol`` of zero counting as zero."""
    if tol > 0:
        return a >= tol, a <= -tol
    return a > 0, a < 0


def _classify(a: F, b: F, contest: NDArray[np.bool_], tol: float) -> I8:
    """Fig. 6 regions of each ordered pair from the row actor's point of view (see CLASSES)."""
    pa, na = _signs(a, tol)
    pb, nb = _signs(b, tol)
    za, zb = ~(pa | na), ~(pb | nb)
    cls = np.full(a.shape, NONE, dtype=np.int8)
    cls[(na & nb) | (za & nb) | (zb & na)] = STALEMATE
    # On an axis: i's own expected utility zero while j gains is the border of the compromise
    # region (the move is then nil with eq. 36), and mirror-wise for j.
    cls[za & pb] = COMPROMISE_YIELD
    cls[zb & pa] = COMPROMISE_GAIN
    both = pa & pb
    loses = b - a > _CONFLICT_TIE
    cls[both & loses] = CONFLICT_LOSE
    cls[both & ~loses] = CONFLICT_WIN
    mixed = pa & nb
    cls[mixed & (a > -b)] = COMPROMISE_GAIN
    cls[mixed & (a <= -b)] = COMPEL
    mixed = na & pb
    cls[mixed & (-a > b)] = CAPITULATE
    cls[mixed & (-a <= b)] = COMPROMISE_YIELD
    cls[~contest] = NONE
    return cls


def _offer_kinds(a: F, b: F, contest: NDArray[np.bool_], ch: Choices) -> I8:
    """The offer each pair makes to its row actor, as a :data:`KINDS` code.

    The regions of :func:`_classify` in which the row actor moves (conflict-lose,
    compromise-yield, capitulate), computed with fewer array passes: with ``b > 0``,
    ``b >= -a`` is ``a + b >= 0``.
    """
    pa, na = _signs(a, ch.zero_tolerance)
    pb, _ = _signs(b, ch.zero_tolerance)
    pb &= contest
    total = a + b
    conflict = pa & (b - a > _CONFLICT_TIE)
    conflict &= pb
    yields = total >= 0
    yields &= pb
    yields &= ~pa
    kind = conflict.view(np.int8) * np.int8(KIND_CONFLICT)
    kind += yields.view(np.int8) * np.int8(KIND_COMPROMISE)
    if ch.capitulation == "move":
        gives = total < 0
        gives &= pb
        gives &= na
        kind += gives.view(np.int8)  # KIND_CAPITULATION == 1
    return kind


_NO_OFFER = 1e300


def _choose_offers(
    x: F, d: F, a: F, b: F, kind: I8, ch: Choices, lo: F, inv: F
) -> tuple[I64, I8, F]:
    """Each actor's accepted offer ([S] §6.2): proposer (or -1), kind and new position.

    Conflict before compromise before capitulation; within the class the least movement (or,
    with ``offer_order="scholz-program"``, the compromise with the smallest
    ``(|a| x_i + |b| x_j)/(|a| + |b|)``). Keys within ``_TIE_RTOL`` of the range tie; a tie
    between different new positions goes to the proposer with the higher expected utility,
    then to the lower position, so the choice never depends on the order of the actors.
    """
    bsz, n = x.shape
    xf = x.reshape(-1)
    # One score per cell: the class rank (conflict 0, compromise 2, capitulation 4, none
    # huge) plus the key in [0, 1]. Conflicts and capitulations move i by d_ij of the range;
    # only compromises need more arithmetic, and they are few, so they get it on their own.
    score = kind * -2.0
    score += 6.0
    score += d
    score[kind == KIND_NONE] = _NO_OFFER
    flat_score = score.reshape(-1)
    cells = np.flatnonzero(kind == KIND_COMPROMISE)
    # New positions of compromises, scattered into an uninitialised cell array: only the
    # compromise cells are ever read from it.
    moved = np.empty(kind.size)
    if cells.size:
        row = cells // n
        xi, xj = xf[row], xf[row - row % n + cells % n]
        abs_a, abs_b = np.abs(a.reshape(-1)[cells]), np.abs(b.reshape(-1)[cells])
        scale = inv.reshape(-1)[row // n]
        if ch.compromise == "eq36":
            to = xi + (xj - xi) * (abs_a / abs_b)
        else:
            to = xi + (xj - xi) * (abs_b / (abs_a + abs_b))
        moved[cells] = to
        if ch.offer_order == "scholz-program":
            key = ((abs_a * xi + abs_b * xj) / (abs_a + abs_b) - lo[row // n]) * scale
        else:
            key = np.abs(to - xi) * scale
        flat_score[cells] = 2.0 + key
    flat_kind = kind.reshape(-1)

    def new_at(at: I64) -> F:
        """New position of the offers in flat cells ``at``."""
        new: F = np.where(
            flat_kind[at] == KIND_COMPROMISE, moved[at], xf[at // (n * n) * n + at % n]
        )
        return new

    rows_all = np.arange(bsz * n)
    pick = np.argmin(score, axis=2).reshape(-1)
    at = rows_all * n + pick
    best = flat_score[at]
    has = best < _NO_OFFER
    chosen = new_at(at)
    # Other offers as good as the best (within the tolerance) that lead elsewhere.
    limit = np.where(has, best + 2 * _TIE_RTOL, -1.0)  # rows without offers match nothing
    near = np.flatnonzero(flat_score <= np.repeat(limit, n))
    near = near[new_at(near) != chosen[near // n]]
    if near.size:  # rare: equally good offers that lead to different positions
        rows = np.unique(near // n)
        cand_at = rows[:, None] * n + np.arange(n)[None, :]
        cand = flat_score[cand_at] <= best[rows, None] + 2 * _TIE_RTOL
        strength = np.where(cand, b.reshape(-1)[cand_at], -np.inf)
        cand &= strength >= strength.max(axis=1, keepdims=True) - _TIE_RTOL
        new = new_at(cand_at.reshape(-1)).reshape(cand_at.shape)
        pick[rows] = np.argmin(np.where(cand, new, np.inf), axis=1)
        at = rows_all * n + pick
        chosen = new_at(at)
    proposer = np.where(has, pick, -1).astype(np.int64).reshape(bsz, n)
    kinds = np.where(has, flat_kind[at], KIND_NONE).astype(np.int8).reshape(bsz, n)
    return proposer, kinds, np.where(has, chosen, xf).reshape(bsz, n)
