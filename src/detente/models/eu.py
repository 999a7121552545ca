"""Bueno de Mesquita's expected-utility model as formalised by Scholz, Calbert & Smith (2011).

Registered as ``eu`` (aliases ``bdm``, ``expected-utility``). Each issue is its own game among
the actors with a stance on it; issues with the same participants run together in one batch
call of the kernel (:func:`detente.models.eu_kernel.simulate`). The forecast is the weighted
(``c*s``) median position after the last round. ``docs/eu.md`` describes the model, the two
variants, the details keys and the comparison with the reference programs.

Examples
--------
>>> from detente.models import run
>>> from detente.scenario import Scenario
>>> rows = [("NL", 0.08, 4, 0.8), ("B", 0.08, 7, 0.4), ("L", 0.03, 4, 0.2), ("D", 0.16, 4, 0.8),
...         ("F", 0.16, 10, 0.6), ("I", 0.16, 10, 0.6), ("UK", 0.16, 10, 0.9),
...         ("IRL", 0.05, 7, 0.1), ("DK", 0.05, 4, 1.0), ("GR", 0.08, 7, 0.7)]
>>> sc = Scenario.model_validate({"name": "emission", "issues": [{"id": "years"}], "actors": [
...     {"id": a, "capability": c, "stances": {"years": {"position": x, "salience": s}}}
...     for a, c, x, s in rows]})
>>> trace = run(sc, "eu", params={"rounds": 2})
>>> round(float(trace.forecast[0]), 3)  # Scholz et al., Table 2, round 2 prints 9.9
9.611
>>> [m["actor"] for m in trace.details["issues"]["years"]["rounds"][0]["accepted"]]
['B', 'L', 'IRL']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.models.eu_kernel import (
    CLASSES,
    KINDS,
    SWITCHES,
    VARIANTS,
    Choices,
    EUResult,
    resolve_choices,
    simulate,
)
from detente.models.registry import ModelSpec, Parameter, register
from detente.scenario import ScenarioArrays
from detente.scenario.batch import ScenarioBatch
from detente.trace import Trace

__all__ = [
    "CLASSES",
    "EU",
    "KINDS",
    "VARIANTS",
    "Choices",
    "EUResult",
    "kernel_settings",
    "resolve_choices",
    "simulate",
]

F = NDArray[np.float64]

_SWITCH_DOCS = {
    "normaliser": "A1, probability P_ij: pair = eq. 31 (votes on the pair, P_ij + P_ji = 1);"
    " total = one grand total over all pairs (Scholz's program)",
    "vote_exponent": "A2, third-party votes: none = linear in distance (eq. 28); voter = each"
    " voter's distances raised to its own risk exponent (Scholz's program)",
    "opponent_salience": "A3, leading salience of j's expected utility of challenging i:"
    " target = s_i (eq. 25a with i and j exchanged); printed = s_j (eq. 25b as printed)",
    "opponent_exponent": "A4, exponent with which i evaluates j's expected utility: own = r_j"
    " (p. 23); challenger = r_i, i judges both sides (Scholz's program)",
    "compromise": "A9, compromise position: eq36 = x_i + (x_j - x_i)|a/b|;"
    " weighted = (|a| x_i + |b| x_j)/(|a| + |b|)",
    "capitulation": "A9, move = a capitulating actor moves to the proposer; none = no offer"
    " (Scholz's program)",
    "offer_order": "A10, least-movement = the offer that moves the actor least within the best"
    " class; scholz-program = compromises ordered by (|a| x_i + |b| x_j)/(|a| + |b|)",
}


def kernel_settings(params: Mapping[str, Any]) -> tuple[int, float, Choices]:
    """``(rounds, Q, choices)`` for :func:`simulate` from resolved parameters; ``ValueError``.

    Examples
    --------
    >>> rounds, q, choices = kernel_settings(EU.resolve_params())
    >>> rounds, q, choices.normaliser
    (10, 1.0, 'total')
    """
    rounds = int(params["rounds"])
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    q = float(params["Q"])
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"Q must lie in [0, 1], got {q}")
    switches: dict[str, str | float] = {key: params[key] for key in SWITCHES}
    switches["zero_tolerance"] = float(params["zero_tolerance"])
    return rounds, q, resolve_choices(str(params["variant"]), **switches)


def _eu_model(arrays: ScenarioArrays, rng: np.random.Generator, params: Mapping[str, Any]) -> Trace:
    """Run the model on every issue of a scenario (the registry's model signature)."""
    rounds, q, choices = kernel_settings(params)
    record = bool(params["pairs"])

    n, m = len(arrays.actors), len(arrays.issues)
    present = arrays.present
    positions = np.full((rounds + 1, n, m), np.nan)
    forecast = np.full(m, np.nan)
    notes: dict[int, list[str]] = {k: [] for k in range(m)}
    issues: dict[int, Any] = {}
    # Issues are independent games; those with the same participants share one batch call.
    groups: dict[bytes, list[int]] = {}
    for k in range(m):
        groups.setdefault(present[:, k].tobytes(), []).append(k)
    for ks in groups.values():
        members = np.flatnonzero(present[:, ks[0]])
        if members.size == 0:
            for k in ks:
                notes[k].append(f"{arrays.issues[k]}: no actor has a stance; no forecast")
            continue
        absent = [arrays.actors[i] for i in np.flatnonzero(~present[:, ks[0]])]
        cap = np.broadcast_to(arrays.capability[members], (len(ks), members.size))
        cols = np.array(ks, dtype=np.intp)
        pos = arrays.position[np.ix_(members, cols)].T
        sal = arrays.salience[np.ix_(members, cols)].T
        result = simulate(cap, pos, sal, rounds=rounds, q=q, choices=choices, record=record)
        ids = [arrays.actors[i] for i in members]
        for g, k in enumerate(ks):
            issue = arrays.issues[k]
            positions[:, members, k] = result.positions[g]
            span = float(arrays.scale_max[k] - arrays.scale_min[k])
            state = settlement(result.median[g], span)
            forecast[k] = (
                state.forecast if params["forecast"] == "settled" else result.median[g, -1]
            )
            if state.state != "settled" and rounds >= 2:
                notes[k].append(state.note(issue, str(params["forecast"])))
            if absent:
                notes[k].append(
                    f"{issue}: {', '.join(absent)} without a stance, left out of this issue's game"
                )
            notes[k].extend(_issue_notes(issue, result, g))
            issues[k] = _issue_details(result, g, ids, record)
            issues[k]["settlement"] = state.to_dict()
    details = {
        "variant": params["variant"],
        "choices": choices.as_dict(),
        "Q": q,
        "issues": {arrays.issues[k]: issues[k] for k in sorted(issues)},  # scenario order
    }
    return Trace(
        model="eu",
        actors=arrays.actors,
        issues=arrays.issues,
        positions=positions,
        forecast=forecast,
        params=dict(params),
        notes=tuple(note for k in range(m) for note in notes[k]),
        details=details,
    )


UNSETTLED = "medians have not settled"
CYCLING = "medians cycle with period"
"""Texts of the notes an unsettled or cycling issue gets (other commands look for them)."""

SETTLE_TOLERANCE = 0.005
"""Medians closer than this share of the issue's scale count as equal when deciding whether
the rounds have settled or cycle."""


@dataclass(frozen=True)
class Settlement:
    """Whether an issue's median has settled over the rounds, and the settled forecast.

    ``state``: ``settled`` (the last three medians agree), ``cycle`` (the medians repeat with
    ``period`` rounds) or ``unsettled``. ``forecast``: the last median when settled, the
    median of the last cycle's medians when cycling, else the median of the medians of the
    second half of the rounds, which does not jump with the number of rounds as the last one
    does. ``last`` holds the last three medians.
    """

    state: str
    period: int | None
    forecast: float
    rounds: int
    last: tuple[float, ...]

    def note(self, issue: str, choice: str) -> str:
        tail = ", ".join(f"{v:.4g}" for v in self.last)
        what = f"{CYCLING} {self.period}" if self.state == "cycle" else UNSETTLED
        where = "last cycle" if self.state == "cycle" else "second half of the rounds"
        if choice == "settled":
            return (
                f"{issue}: the {what} after {self.rounds} rounds (last: {tail}); the"
                f" forecast {self.forecast:.4g} is the median over the {where} (forecast=settled)"
            )
        return (
            f"{issue}: the {what} after {self.rounds} rounds (last: {tail}), so the"
            f" forecast depends on the number of rounds; forecast=settled gives"
            f" {self.forecast:.4g}, the median over the {where}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "period": self.period,
            "settled_forecast": self.forecast,
            "last_medians": list(self.last),
        }


def settlement(median: F, span: float) -> Settlement:
    """How the per-round medians ``median[0..R]`` of one issue end (see :class:`Settlement`).

    Examples
    --------
    >>> settlement(np.array([10.0, 40.0, 50.0, 50.0, 50.0]), 100.0).state
    'settled'
    >>> s = settlement(np.array([0.0, 20.0, 80.0, 20.0, 80.0, 20.0, 80.0]), 100.0)
    >>> s.state, s.period, s.forecast
    ('cycle', 2, 50.0)
    """
    m = np.asarray(median, dtype=np.float64)
    rounds = m.shape[0] - 1
    last = tuple(float(v) for v in m[-3:])
    if rounds < 2 or np.isnan(m[-1]):
        return Settlement("settled", None, float(m[-1]), rounds, last)
    tol = SETTLE_TOLERANCE * span
    if np.all(np.abs(m[-3:] - m[-1]) <= tol):
        return Settlement("settled", None, float(m[-1]), rounds, last)
    for period in range(2, rounds // 2 + 1):
        if np.all(np.abs(m[-period:] - m[-2 * period : -period]) <= tol):
            return Settlement("cycle", period, float(np.median(m[-period:])), rounds, last)
    half = m[(rounds + 1) // 2 :]
    return Settlement("unsettled", None, float(np.median(half)), rounds, last)


def _issue_notes(issue: str, result: EUResult, g: int) -> list[str]:
    """Plain remarks about degenerate cases of one issue's game."""
    notes = []
    x = result.positions[g]
    if np.isnan(result.median[g, 0]):
        notes.append(f"{issue}: no actor has weight (capability × salience) here; no forecast")
    if x.shape[1] < 2:
        notes.append(f"{issue}: a single actor has a stance; nothing to bargain over")
    elif result.range[g] == 0:
        notes.append(f"{issue}: all actors start at {x[0, 0]:g}; nothing moves")
    else:
        together = np.flatnonzero(np.ptp(x, axis=1) == 0)
        if together.size:
            t = int(together[0])
            notes.append(
                f"{issue}: every actor is at {x[t, 0]:g} after round {t}; nothing moves after that"
            )
        else:
            t = x.shape[0]
        # Equal security sums while actors still disagree: eq. 32 is 0/0 (A6).
        degenerate = [i + 1 for i in np.flatnonzero(result.risk_degenerate[g][: max(t, 0)])]
        if degenerate:
            rounds = ", ".join(map(str, degenerate))
            notes.append(
                f"{issue}: all security sums equal in round(s) {rounds}; every risk exponent set"
                " to 1 there"
            )
    return notes


def _labelled(ids: Sequence[str], values: F) -> dict[str, float]:
    return {a: float(v) for a, v in zip(ids, values, strict=True)}


def _pair_matrix(values: F) -> F:
    """A pair matrix with the diagonal (no pair) as NaN, i.e. ``null`` in JSON."""
    out = np.array(values, dtype=np.float64, copy=True)
    np.fill_diagonal(out, np.nan)
    return out


def _issue_details(result: EUResult, g: int, ids: list[str], record: bool) -> dict[str, Any]:
    """The JSON-ready account of one issue's game (keys documented in ``docs/eu.md``)."""
    rounds = []
    x = result.positions[g]
    for t in range(result.rounds):
        accepted = []
        for i in np.flatnonzero(result.proposer[g, t] >= 0):
            accepted.append(
                {
                    "actor": ids[i],
                    "from": ids[int(result.proposer[g, t, i])],
                    "kind": KINDS[int(result.kind[g, t, i])],
                    "old": float(x[t, i]),
                    "new": float(x[t + 1, i]),
                    "eu_challenge": float(result.offer_eu[g, t, i]),
                    "eu_opponent": float(result.offer_opponent_eu[g, t, i]),
                }
            )
        entry: dict[str, Any] = {
            "round": t + 1,
            "risk_exponents": _labelled(ids, result.risk[g, t]),
            "security": _labelled(ids, result.security[g, t]),
            "risk_degenerate": bool(result.risk_degenerate[g, t]),
            "accepted": accepted,
        }
        if (
            record
            and result.probability is not None
            and result.eu is not None
            and result.eu_opponent is not None
            and result.classification is not None
        ):
            eu = result.eu[g, t]
            names = np.asarray(CLASSES, dtype=object)[result.classification[g, t]]
            entry["pairs"] = {
                "probability": _pair_matrix(result.probability[g, t]),
                "eu_challenge": _pair_matrix(eu),
                "eu_opponent_seen_by_challenger": _pair_matrix(result.eu_opponent[g, t]),
                "eu_opponent_own": _pair_matrix(eu.T),
                "classification": names.tolist(),
            }
        rounds.append(entry)
    return {
        "actors": ids,
        "range": float(result.range[g]),
        "median_by_round": result.median[g].copy(),
        "mean_by_round": result.mean[g].copy(),
        "rounds": rounds,
    }


def _eu_batch(
    b: ScenarioBatch, params: Mapping[str, Any], _: Sequence[np.random.SeedSequence]
) -> tuple[F, F]:
    """The batch run: every replicate's games in one kernel call per participant group."""
    rounds, q, choices = kernel_settings(params)
    r, (_n, m) = b.replicates, b.base.position.shape
    forecast = np.full((r, m), np.nan)
    centre = np.full((r, rounds + 1, m), np.nan)
    present = b.base.present
    # As in the single run: issues with the same participants are one batch of games.
    groups: dict[bytes, list[int]] = {}
    for k in range(m):
        groups.setdefault(present[:, k].tobytes(), []).append(k)
    for ks in groups.values():
        members = np.flatnonzero(present[:, ks[0]])
        if members.size == 0:
            continue
        g, nm = len(ks), members.size
        cols = np.array(ks, dtype=np.intp)
        cap = np.broadcast_to(b.capability[:, None, members], (r, g, nm)).reshape(r * g, nm)
        pos = np.moveaxis(b.position[:, members][:, :, cols], 1, 2).reshape(r * g, nm)
        sal = np.moveaxis(b.salience[:, members][:, :, cols], 1, 2).reshape(r * g, nm)
        res = simulate(
            np.ascontiguousarray(cap),
            np.ascontiguousarray(pos),
            np.ascontiguousarray(sal),
            rounds=rounds,
            q=q,
            choices=choices,
            record=False,
        )
        med = res.median.reshape(r, g, rounds + 1)
        forecast[:, cols] = med[:, :, -1]
        centre[:, :, cols] = np.moveaxis(med, 1, 2)
    return forecast, centre


EU = register(
    ModelSpec(
        name="eu",
        title="Expected utility (Bueno de Mesquita / Scholz et al.)",
        summary="Bueno de Mesquita's expected-utility bargaining rounds as formalised by Scholz,"
        " Calbert & Smith (2011); forecast = weighted median after the last round.",
        function=_eu_model,
        batch=_eu_batch,
        chunk=500,
        aliases=("bdm", "expected-utility"),
        rounds_parameter="rounds",
        parameters=(
            Parameter(
                "variant",
                str,
                "scholz-program",
                "scholz-program: the choices of the program that reproduces Scholz et al.'s"
                " published numbers; paper: the printed equations (docs/eu.md)",
                choices=VARIANTS,
            ),
            Parameter(
                "rounds", int, 10, "number of bargaining rounds (fixed, no convergence test)"
            ),
            Parameter(
                "Q",
                float,
                1.0,
                "status-quo probability of eq. 25a; 1 (Scholz et al.'s replication) removes the"
                " median, T and the better/worse utilities from the model",
            ),
            *(
                Parameter(
                    key,
                    str,
                    "variant",
                    f"{_SWITCH_DOCS[key]}; variant = the variant's choice",
                    choices=("variant", *allowed),
                )
                for key, allowed in SWITCHES.items()
            ),
            Parameter(
                "zero_tolerance",
                float,
                1e-12,
                "expected utilities with |E| below this count as zero when classifying pairs"
                " (rounding guard; the eum program uses 1e-4)",
            ),
            Parameter(
                "forecast",
                str,
                "last",
                "the forecast: last = the weighted median after the last round (as the Scholz"
                " program); settled = the same when the medians have settled, else the median"
                " of the medians over the last cycle or the second half of the rounds",
                choices=("last", "settled"),
            ),
            Parameter(
                "pairs",
                bool,
                False,
                "also record every pair's probability, expected utilities and class per round"
                " in the trace details (n² numbers per round: 184 MB of JSON for 300 actors)",
            ),
        ),
    )
)
