"""Stokman's exchange model: actors trade voting positions on pairs of issues for equal gains.

Registered as ``exchange`` (alias ``stokman``). Stokman & Van Oosten (1994) model collective
decisions in which the expected outcome of an issue is the compromise
``O = Σ c·s·x / Σ c·s`` of the actors' voting positions. Two actors who stand on opposite
sides of the outcome on two issues, and who care about the two issues in different
proportions, can both gain if each shifts its voting position towards the other on the issue
it cares about less. The exchange rate is the one at which both gain equally (the equal-gain
rule). Exchanges are executed best first; after each one the remaining exchanges are
recalculated on the new voting positions. Following the dynamic version of Stokman, Van Assen,
Van der Knoop & Van Oosten (2000), rounds repeat: after a round each actor that traded moves
its preferred position part of the way towards its voting position, and the next round starts
from there, until a round without any exchange (settled) or ``rounds`` rounds.

``docs/exchange.md`` states every rule (who can trade, the shifts, the cap at the demander's
position, recalculation, ties, the position update between rounds) and the comparison with the
public decide-exchange-model program.

Positions are compared on each issue's scale mapped to 0–100 (so gains on issues with
different scales add up); the forecast is the compromise of the voting positions after the
last round, on the issue's own scale.

Examples
--------
>>> from detente.models import run
>>> from detente.scenario import Scenario
>>> rows = [("a", 1.0, (0.0, 0.8), (0.0, 0.2)), ("b", 1.0, (100.0, 0.2), (100.0, 0.8))]
>>> sc = Scenario.model_validate({"name": "two", "issues": [{"id": "p"}, {"id": "q"}],
...     "actors": [{"id": a, "capability": c, "stances": {
...         "p": {"position": p[0], "salience": p[1]},
...         "q": {"position": q[0], "salience": q[1]}}} for a, c, p, q in rows]})
>>> trace = run(sc, "exchange", params={"rounds": 1})
>>> [(e["supplier"], e["issue"], round(e["to"], 6)) for e in trace.details["exchanges"]]
[('b', 'p', 0.0), ('a', 'q', 100.0)]
>>> [round(float(v), 6) for v in trace.forecast]  # a gets p, b gets q
[0.0, 100.0]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.models import accel, exchange_lockstep
from detente.models.baselines import median_centre, weighted_mean
from detente.models.exchange_shifts import TIE_RTOL, shifts
from detente.models.registry import ModelSpec, Parameter, pad_rounds, register
from detente.models.streams import ReplicateGenerators
from detente.scenario import ScenarioArrays
from detente.scenario.batch import ScenarioBatch
from detente.trace import Trace

F = NDArray[np.float64]
I64 = NDArray[np.int64]

SPAN = 100.0
"""Every issue is compared on 0–100 (as in the decide program), so gains add up across issues."""
MAX_CANDIDATES = 1_000_000
"""The most possible exchanges a round may hold (about 150 bytes each, and each executed
exchange looks at them): pairs of actors × pairs of issues grow as n²m²."""


@dataclass
class _Candidates:
    """Every possible exchange of a round: actor ``I`` demands issue ``p`` and supplies ``q``;
    actor ``J`` demands ``q`` and supplies ``p`` (``I`` cares relatively more about ``p``).

    The per-candidate constants are gathered once: weights ``w = c·s`` of the suppliers on
    the issues they supply, the issues' totals, the demanders' preferred positions (the
    targets) and ``ratio = (s_Ip + s_Jp) / (s_Iq + s_Jq)``, the shift of the outcome on ``q``
    per unit shift on ``p`` at which both gain equally.
    """

    act_i: I64
    act_j: I64
    p: I64
    q: I64
    ratio: F
    w_iq: F
    w_jp: F
    tot_p: F
    tot_q: F
    s_ip: F
    s_iq: F
    target_i: F
    target_j: F
    alive: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.act_i)


@dataclass(frozen=True)
class _Step:
    """Candidates ``idx`` evaluated on the current voting positions."""

    idx: I64
    move_I: F
    move_J: F
    dp: F
    dq: F
    gain: F
    sign_I: F
    sign_J: F
    capped: NDArray[np.bool_]
    valid: NDArray[np.bool_]


def _candidates(x: F, s: F, w: F, total: F) -> _Candidates:
    """Pairs of actors on opposite sides of the outcome on both issues of a pair of issues.

    ``x[actor, issue]`` (0–100, NaN: no stance), ``s`` saliences, ``w = c·s``, ``total = Σ w``.
    An actor at the outcome counts as left of it (the program's ``x <= O``).
    """
    n, m = x.shape
    present = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        outcome = np.where(total > 0, (w * np.nan_to_num(x)).sum(axis=0) / total, np.nan)
    left = x <= outcome  # False where no stance or no outcome
    iu, ju = np.triu_indices(n, 1)
    parts: list[tuple[I64, I64, I64, I64]] = []
    count = 0
    for p in range(m - 1):
        if not total[p] > 0:
            continue
        for q in range(p + 1, m):
            if not total[q] > 0:
                continue
            ok = present[:, p] & present[:, q]
            opposite = ok[iu] & ok[ju] & (left[iu, p] != left[ju, p]) & (left[iu, q] != left[ju, q])
            a, b = iu[opposite], ju[opposite]
            count += len(a)
            if count > MAX_CANDIDATES:
                raise ValueError(
                    f"exchange: {n} actors × {m} issues give more than {MAX_CANDIDATES:,}"
                    " possible exchanges in a round (pairs of actors on opposite sides of pairs"
                    " of issues); run it on fewer actors or issues"
                )
            # I demands p: the one whose salience on p relative to q is larger (cross-multiplied
            # so that a salience of 0 needs no division); equal proportions give no gain.
            a_first = s[a, p] * s[b, q] >= s[b, p] * s[a, q]
            k = len(a)
            parts.append(
                (
                    np.where(a_first, a, b),
                    np.where(a_first, b, a),
                    np.full(k, p, dtype=np.int64),
                    np.full(k, q, dtype=np.int64),
                )
            )
    if parts:
        i, j, pp, qq = (np.concatenate(c).astype(np.int64) for c in zip(*parts, strict=True))
    else:
        i = j = pp = qq = np.zeros(0, dtype=np.int64)
    num = s[i, pp] + s[j, pp]
    den = s[i, qq] + s[j, qq]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where((num > 0) & (den > 0), num / den, np.nan)
    return _Candidates(
        act_i=i,
        act_j=j,
        p=pp,
        q=qq,
        ratio=ratio,
        w_iq=w[i, qq],
        w_jp=w[j, pp],
        tot_p=total[pp],
        tot_q=total[qq],
        s_ip=s[i, pp],
        s_iq=s[i, qq],
        target_i=x[i, pp],
        target_j=x[j, qq],
        alive=np.isfinite(ratio) & (s[i, pp] * s[j, qq] > s[j, pp] * s[i, qq]),
    )


def _evaluate(c: _Candidates, idx: I64, y: F, outcome: F | None, direction: F) -> _Step:
    """Candidates ``idx``'s equal-gain exchanges: suppliers shift from their voting positions
    ``y`` towards the demanders' preferred positions (what each demander wants the outcome to
    move towards; its own voting position may have moved in another exchange).

    ``J`` first shifts all the way to ``I``'s position on ``p``; if ``I``'s matching shift on
    ``q`` would pass ``J``'s position, ``I`` shifts all the way instead and ``J`` less. With
    ``outcome`` (else the shifts are upper bounds), neither shift may carry an outcome past
    the demander's position (Stokman & Van Oosten's condition that an exchange does not
    overshoot): the shift on ``q`` is cut so that the outcome reaches ``J``'s position
    exactly, then likewise on ``p``. Cutting only shrinks shifts and gains.
    """
    i, j, p, q = c.act_i[idx], c.act_j[idx], c.p[idx], c.q[idx]
    terms = [c.ratio, c.w_iq, c.w_jp, c.tot_p, c.tot_q, c.s_ip, c.s_iq, c.target_i, c.target_j]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        sh = shifts(
            [t[idx] for t in terms],
            y[i, q],  # each supplier's current voting position
            y[j, p],
            direction[i, q],
            direction[j, p],
            c.alive[idx],
            None if outcome is None else (outcome[q], outcome[p]),
        )
    return _Step(idx, *sh)


def _supplier_index(c: _Candidates, m: int) -> tuple[I64, I64]:
    """Candidates grouped by the actor-issue each of their two suppliers shifts on:
    ``order[start[a*m + k]:start[a*m + k + 1]]`` are those in which actor ``a`` supplies ``k``."""
    keys = np.concatenate([c.act_i * m + c.q, c.act_j * m + c.p])
    ids = np.concatenate([np.arange(len(c)), np.arange(len(c))])
    order = np.argsort(keys, kind="stable")
    return ids[order], np.searchsorted(keys[order], np.arange(int(keys.max(initial=0)) + 2))


@dataclass(frozen=True)
class ExchangeResult:
    """One run on 0–100 positions.

    ``voting[t]`` are the voting positions after round ``t`` (``voting[0]`` the input),
    ``preferred[t]`` the preferred positions the round started from, ``exchanges`` the executed
    exchanges in order, ``settled`` whether the last round found no exchange.
    """

    voting: F
    preferred: F
    exchanges: list[dict[str, Any]]
    settled: bool
    ties: int


Chooser = Callable[[int, int, list[tuple[int, int, int, int]]], int]


def _best(c: _Candidates, upper: F, y: F, outcome: F, direction: F) -> tuple[_Step, I64] | None:
    """The candidates with the highest gain on the current state (ties included), or None.

    Exact gains (with the cut at the demander's position) are computed for the candidates with
    the highest upper bounds only, widening the pool until no candidate outside it could
    reach the best exact gain: the same choice as evaluating every candidate, at a fraction
    of the cost.
    """
    live = np.flatnonzero(c.alive)
    if len(live) == 0:
        return None
    bound = upper[live]
    size = 4
    while True:
        if size >= len(live):
            pool, rest = live, -np.inf
        else:
            part = np.argpartition(-bound, size)
            pool, rest = live[part[:size]], float(bound[part[size]])
        step = _evaluate(c, pool, y, outcome, direction)
        gains = np.where(step.valid, step.gain, -np.inf)
        best = float(gains.max())
        if best > -np.inf and rest < best - TIE_RTOL * abs(best):
            tied = np.flatnonzero(gains >= best - TIE_RTOL * abs(best))
            return step, tied
        if size >= len(live):
            return (
                None
                if best == -np.inf
                else (step, np.flatnonzero(gains >= best - TIE_RTOL * abs(best)))
            )
        size *= 4


def simulate(
    capability: F,
    position: F,
    salience: F,
    *,
    rounds: int,
    rng: np.random.Generator,
    fixed: float = 0.1,
    salience_weight: float = 0.4,
    choose: Chooser | None = None,
) -> ExchangeResult:
    """Run the exchange model on positions already on 0–100.

    ``capability[actor]``, ``position[actor, issue]`` (NaN: no stance), ``salience``.
    Between rounds an actor that traded on an issue moves its preferred position from ``x``
    towards its voting position ``y`` by the share ``fixed + salience_weight·(1 − s)``. Exact
    ties between the best gains are broken by ``rng`` among the tied exchanges in a fixed order
    (actor, then issue, indices), so a permutation of the actors keeps the result only when no
    tie arises. ``choose(round, executed, tied)``, if given, picks among the tied exchanges
    instead (``executed`` exchanges of the round done so far; ``tied`` as ``(I, J, p, q)`` in
    that fixed order): to replay another program's choices.
    """
    n, m = position.shape
    w = np.where(np.isnan(position), 0.0, capability[:, None] * salience)
    total = w.sum(axis=0)
    x = np.array(position, dtype=np.float64, copy=True)
    voting = [x.copy()]
    preferred = [x.copy()]
    exchanges: list[dict[str, Any]] = []
    settled = False
    ties = 0
    share = fixed + salience_weight * (1.0 - salience)
    for t in range(1, rounds + 1):
        y = x.copy()
        cand = _candidates(x, salience, w, total)
        direction = np.zeros((n, m))
        every = np.arange(len(cand))
        first = _evaluate(cand, every, y, None, direction)
        cand.alive &= first.valid
        upper = np.where(first.valid, first.gain, -np.inf)
        order, start = _supplier_index(cand, m)
        with np.errstate(invalid="ignore", divide="ignore"):
            outcome = np.where(total > 0, (w * np.nan_to_num(y)).sum(axis=0) / total, np.nan)
        executed = 0
        moved = np.zeros((n, m), dtype=bool)
        while True:
            found = _best(cand, upper, y, outcome, direction)
            if found is None:
                break
            step, tied = found
            pick = int(tied[0])
            if len(tied) > 1:
                ties += 1
                keys = [
                    (int(cand.act_i[o]), int(cand.act_j[o]), int(cand.p[o]), int(cand.q[o]))
                    for o in step.idx[tied]
                ]
                ranked = sorted(range(len(keys)), key=keys.__getitem__)
                if choose is None:
                    pick = int(tied[ranked[int(rng.integers(len(ranked)))]])
                else:
                    pick = int(tied[ranked[choose(t, executed, [keys[r] for r in ranked])]])
            k = int(step.idx[pick])
            i, j, p, q = int(cand.act_i[k]), int(cand.act_j[k]), int(cand.p[k]), int(cand.q[k])
            yi_from, yj_from = y[i, q], y[j, p]
            # Round-off must not carry a shift past the demander it moves towards.
            y[i, q] = _clamp_towards(yi_from, yi_from + step.sign_I[pick] * step.move_I[pick],
                                     x[j, q])  # fmt: skip
            y[j, p] = _clamp_towards(yj_from, yj_from + step.sign_J[pick] * step.move_J[pick],
                                     x[i, p])  # fmt: skip
            direction[i, q], direction[j, p] = step.sign_I[pick], step.sign_J[pick]
            moved[i, q] = moved[j, p] = True
            before = outcome.copy()
            outcome[p] = (w[:, p] * np.nan_to_num(y[:, p])).sum() / total[p]
            outcome[q] = (w[:, q] * np.nan_to_num(y[:, q])).sum() / total[q]
            cand.alive[k] = False
            executed += 1
            exchanges.append(
                {
                    "round": t,
                    "I": i,
                    "J": j,
                    "p": p,
                    "q": q,
                    "gain": float(step.gain[pick]),
                    "I_from": float(yi_from),
                    "I_to": float(y[i, q]),
                    "J_from": float(yj_from),
                    "J_to": float(y[j, p]),
                    "outcome_p": (float(before[p]), float(outcome[p])),
                    "outcome_q": (float(before[q]), float(outcome[q])),
                    "capped": bool(step.capped[pick]),
                }
            )
            # Only the exchanges in which one of the two actor-issues that moved is supplied
            # change their (uncut) shifts; the cut is applied when a candidate is a contender.
            touched = np.concatenate(
                [order[start[a * m + e] : start[a * m + e + 1]] for a, e in ((i, q), (j, p))]
            )
            touched = touched[cand.alive[touched]]
            if len(touched):
                again = _evaluate(cand, touched, y, None, direction)
                cand.alive[touched] &= again.valid
                upper[touched] = np.where(again.valid, again.gain, -np.inf)
        voting.append(y.copy())
        if executed == 0:
            preferred.append(x.copy())
            settled = True
            break
        x = np.where(moved, x + share * (y - x), x)
        preferred.append(x.copy())
    return ExchangeResult(np.array(voting), np.array(preferred), exchanges, settled, ties)


def _clamp_towards(start: float, end: float, target: float) -> float:
    lo, hi = min(start, target), max(start, target)
    return float(min(max(end, lo), hi))


# -- the registered model ---------------------------------------------------------------------


def _to_span(arrays: ScenarioArrays, position: F) -> F:
    lo, hi = arrays.scale_min, arrays.scale_max
    out: F = (position - lo) / (hi - lo) * SPAN
    return out


def _from_span(arrays: ScenarioArrays, original: F, spanned: F, moved: NDArray[np.bool_]) -> F:
    """Back to each issue's scale; an unmoved position keeps its input value exactly."""
    lo, hi = arrays.scale_min, arrays.scale_max
    back = np.clip(lo + spanned / SPAN * (hi - lo), lo, hi)
    out: F = np.where(moved, back, original)
    return out


def _run(
    arrays: ScenarioArrays, capability: F, position: F, salience: F, rng: np.random.Generator,
    params: Mapping[str, Any],
) -> tuple[ExchangeResult, F]:  # fmt: skip
    res = simulate(
        capability,
        _to_span(arrays, position),
        salience,
        rounds=int(params["rounds"]),
        rng=rng,
        fixed=float(params["adjust_fixed"]),
        salience_weight=float(params["adjust_salience"]),
    )
    moved = res.voting != res.voting[0]
    positions = _from_span(arrays, position[None], res.voting, moved)
    return res, positions


def _check(params: Mapping[str, Any]) -> None:
    if params["rounds"] < 1:
        raise ValueError(f"rounds: expected at least 1, got {params['rounds']}")
    for key in ("adjust_fixed", "adjust_salience"):
        if not 0.0 <= params[key] <= 1.0:
            raise ValueError(f"{key}: expected a share in [0, 1], got {params[key]}")
    if params["adjust_fixed"] + params["adjust_salience"] > 1.0:
        raise ValueError("adjust_fixed + adjust_salience: expected at most 1 (a share)")


def _exchange_model(
    arrays: ScenarioArrays, rng: np.random.Generator, params: Mapping[str, Any]
) -> Trace:
    _check(params)
    res, positions = _run(arrays, arrays.capability, arrays.position, arrays.salience, rng, params)
    forecast = weighted_mean(arrays.capability, positions[-1], arrays.salience)
    actors, issues = arrays.actors, arrays.issues
    lo, hi = arrays.scale_min, arrays.scale_max

    def back(k: int, v: float) -> float:
        return float(lo[k] + v / SPAN * (hi[k] - lo[k]))

    events = []
    for e in res.exchanges:
        i, j, p, q = e["I"], e["J"], e["p"], e["q"]
        for supplier, demander, issue, start, end, o in (
            (j, i, p, e["J_from"], e["J_to"], e["outcome_p"]),
            (i, j, q, e["I_from"], e["I_to"], e["outcome_q"]),
        ):
            events.append(
                {
                    "round": e["round"],
                    "supplier": actors[supplier],
                    "demander": actors[demander],
                    "issue": issues[issue],
                    "from": back(issue, start),
                    "to": back(issue, end),
                    "outcome_from": back(issue, o[0]),
                    "outcome_to": back(issue, o[1]),
                    "gain": e["gain"],
                    "capped": e["capped"],
                }
            )
    notes = [
        f"{k}: no actor has weight on this issue; no forecast"
        for k, v in zip(issues, forecast, strict=True)
        if np.isnan(v)
    ]
    rounds_run = res.voting.shape[0] - 1
    if res.settled:
        notes.append(f"settled: round {rounds_run} found no exchange")
    if res.ties:
        notes.append(f"{res.ties} exact tie(s) between the best exchanges, broken by the seed")
    preferred = _from_span(
        arrays, arrays.position[None], res.preferred, res.preferred != res.preferred[0]
    )
    details = {
        "exchanges": events,
        "settled": res.settled,
        "ties": res.ties,
        "preferred": [
            {a: {k: _num(preferred[t, i, k_]) for k_, k in enumerate(issues)} for i, a in
             enumerate(actors)}
            for t in range(preferred.shape[0])
        ],
        "outcome": [
            dict(zip(issues, map(_num, weighted_mean(arrays.capability, state, arrays.salience)),
                     strict=True))
            for state in positions
        ],
    }  # fmt: skip
    return Trace(
        model="exchange",
        actors=actors,
        issues=issues,
        positions=positions,
        forecast=forecast,
        params=dict(params),
        notes=tuple(notes),
        details=details,
    )


def _num(v: float) -> float | None:
    return None if np.isnan(v) else float(v)


def _exchange_batch(
    b: ScenarioBatch, params: Mapping[str, Any], streams: Sequence[np.random.SeedSequence]
) -> tuple[F, F]:
    """Forecasts ``[R, issue]`` and per-round centres ``[R, rounds + 1, issue]`` of a batch:
    for replicate ``r`` what a single run of its draw with ``default_rng(streams[r])`` gives.

    The voting positions of every replicate come from the compiled kernel
    (:mod:`detente.models.exchange_numba`) where it pays (:func:`detente.models.accel.choose`),
    else from NumPy running the chunk's replicates in lockstep
    (:mod:`detente.models.exchange_lockstep`); both give :func:`simulate`'s numbers.
    """
    _check(params)
    rounds = int(params["rounds"])
    r_n, n, m = b.position.shape
    span = _to_span(b.base, b.position)
    kernel = _kernel(r_n, n, m, rounds)
    if kernel is None:
        t0 = time.process_time()
        if n * (n - 1) // 2 * (m * (m - 1) // 2) > MAX_CANDIDATES:
            voting = _voting_numpy(b, span, params, streams)  # raises simulate's clear error
        else:
            voting = _voting_lockstep(b, span, params, streams)
        accel.charge(KERNEL, time.process_time() - t0)
    else:
        voting = _voting_compiled(kernel, b, span, params, streams)
    moved = voting != voting[:, :1]
    positions = _from_span(b.base, b.position[:, None], voting, moved)
    forecast = weighted_mean(b.capability, positions[:, -1], b.salience)
    centre = median_centre(b.capability[:, None], positions, b.salience[:, None])
    return forecast, centre


KERNEL = "detente.models.exchange_numba"
KERNEL_COMPILE_SECONDS = 12.0
"""Compiling :mod:`detente.models.exchange_numba` on the benchmark machine, about (CPU
seconds)."""


def numpy_seconds(r_n: int, n: int, m: int, rounds: int) -> float:
    """A rough estimate of the NumPy path's CPU time (:mod:`detente.models.exchange_lockstep`)
    for ``r_n`` replicates of ``n`` actors × ``m`` issues, for
    :func:`detente.models.accel.choose` (a wrong estimate costs time, never numbers): about
    0.5 ms per round of 8 × 6 and 40 ms of 30 × 10 on the benchmark machine."""
    return float(r_n * min(rounds, 4) * 5e-4 * (n * m / 48.0) ** 2.4)


def _kernel(r_n: int, n: int, m: int, rounds: int) -> ModuleType | None:
    """The compiled kernel if it is worth using for this batch (and can hold its candidates)."""
    if n * (n - 1) // 2 * (m * (m - 1) // 2) > MAX_CANDIDATES:
        return None  # simulate says which round has too many, with its clear error
    return accel.choose(
        KERNEL,
        compile_seconds=KERNEL_COMPILE_SECONDS,
        expected_seconds=numpy_seconds(r_n, n, m, rounds),
    )


def _voting_numpy(
    b: ScenarioBatch, span: F, params: Mapping[str, Any], streams: Sequence[np.random.SeedSequence]
) -> F:
    """``voting[r, t]`` on 0–100 from :func:`simulate`, replicate by replicate, the final state
    repeated after a settled run's last round."""
    rounds = int(params["rounds"])
    voting = np.empty((b.replicates, rounds + 1, *b.position.shape[1:]))
    for r in range(b.replicates):
        with np.errstate(over="ignore", invalid="ignore"):
            res = simulate(
                b.capability[r],
                span[r],
                b.salience[r],
                rounds=rounds,
                rng=np.random.default_rng(streams[r]),
                fixed=float(params["adjust_fixed"]),
                salience_weight=float(params["adjust_salience"]),
            )
        t = res.voting.shape[0]
        voting[r, :t] = res.voting
        voting[r, t:] = res.voting[-1]
    return voting


def _voting_lockstep(
    b: ScenarioBatch, span: F, params: Mapping[str, Any], streams: Sequence[np.random.SeedSequence]
) -> F:
    """:func:`_voting_numpy` with the replicates in lockstep (a generator made only for a
    replicate that ties)."""
    share = float(params["adjust_fixed"]) + float(params["adjust_salience"]) * (1.0 - b.salience)
    return exchange_lockstep.voting(
        np.asarray(b.capability, dtype=np.float64),
        np.asarray(span, dtype=np.float64),
        np.asarray(b.salience, dtype=np.float64),
        share,
        int(params["rounds"]),
        streams,
    )


def _voting_compiled(
    kernel: ModuleType,
    b: ScenarioBatch,
    span: F,
    params: Mapping[str, Any],
    streams: Sequence[np.random.SeedSequence],
) -> F:
    """:func:`_voting_numpy` by the compiled kernel: a replicate's generator is made only when
    it meets a tie, and draws what :func:`simulate` would."""
    rounds = int(params["rounds"])
    r_n, n, m = span.shape
    share = float(params["adjust_fixed"]) + float(params["adjust_salience"]) * (1.0 - b.salience)
    size = max(1, n * (n - 1) // 2 * (m * (m - 1) // 2))
    voting = np.empty((r_n, rounds + 1, n, m))
    rounds_run = np.zeros(r_n, dtype=np.int64)
    fw, fv = np.zeros((5, n, m)), np.zeros((3, max(n, m)))
    cf, ci = np.zeros((11, size)), np.zeros((6, size), dtype=np.int64)
    alive, state = np.zeros(size, dtype=np.bool_), np.zeros(5, dtype=np.int64)
    tree = np.full(2 << max(0, (size - 1).bit_length()), -np.inf)  # a max-tree over `size` leaves
    index = np.zeros(n * m + 1 + 2 * size, dtype=np.int64)
    generators = ReplicateGenerators(streams)
    args = (
        np.ascontiguousarray(b.capability, dtype=np.float64),
        np.ascontiguousarray(span, dtype=np.float64),
        np.ascontiguousarray(b.salience, dtype=np.float64),
        np.ascontiguousarray(share, dtype=np.float64),
        rounds, voting, rounds_run, fw, fv, cf, ci, alive, tree, index, state,
    )  # fmt: skip
    tied = kernel.run(*args, -1)
    while tied:
        tied = kernel.run(*args, int(generators[int(state[0])].integers(tied)))
    for r in range(r_n):
        voting[r, rounds_run[r] + 1 :] = voting[r, rounds_run[r]]
    return voting


def _exchange_batch_loop(
    b: ScenarioBatch, params: Mapping[str, Any], streams: Sequence[np.random.SeedSequence]
) -> tuple[F, F]:
    """The batch run as it was before the compiled kernel (one :func:`_run` per replicate): the
    reference of the tests and the benchmark's "before"."""
    _check(params)
    rounds = int(params["rounds"]) + 1
    forecast = np.empty((b.replicates, len(b.base.issues)))
    centre = np.empty((b.replicates, rounds, len(b.base.issues)))
    for r in range(b.replicates):
        c, x, s = b.capability[r], b.position[r], b.salience[r]
        with np.errstate(over="ignore", invalid="ignore"):
            _res, positions = _run(b.base, c, x, s, np.random.default_rng(streams[r]), params)
        forecast[r] = weighted_mean(c, positions[-1], s)
        centre[r] = pad_rounds(median_centre(c, positions, s)[None], rounds)[0]
    return forecast, centre


EXCHANGE = register(
    ModelSpec(
        name="exchange",
        title="Exchange (Stokman & Van Oosten)",
        summary="Actors on opposite sides of the compromise on two issues trade voting"
        " positions for equal gains, best first; forecast = compromise after the exchanges.",
        function=_exchange_model,
        batch=_exchange_batch,
        chunk=50,
        streams=True,
        aliases=("stokman",),
        rounds_parameter="rounds",
        parameters=(
            Parameter(
                "rounds",
                int,
                1,
                "rounds of exchanges (1: Stokman & Van Oosten's model; more: the dynamic"
                " model, until a round finds no exchange)",
            ),
            Parameter(
                "adjust_fixed",
                float,
                0.1,
                "between rounds, share of the way from the preferred to the voting position"
                " an actor that traded moves regardless of salience",
            ),
            Parameter(
                "adjust_salience",
                float,
                0.4,
                "between rounds, further share times (1 − salience): actors move more on"
                " issues they care less about",
            ),
        ),
    )
)
