"""KTAB's Spatial Model of Politics (SMP), turn by turn: ``smp`` (alias ``ktab``).

Actors hold positions in a space of several issues. Each turn every actor looks for the most
profitable challenge to another actor (taking third parties into account), proposes an
interpolated bargain to its target, and every actor then picks, by an election among all
actors, one of the bargains it is party to (or the status quo). All actors move at once;
the run stops when the movement has died down. The forecast is the probability-weighted
mean of the distinct final positions. See ``docs/smp.md`` for the model in detail, where it
deviates from KTAB's ``smpc`` on purpose, and the keys of ``Trace.details``.

The numerics are in :mod:`detente.models.smp_kernel`; this module prepares the inputs
(scales, saliences, parameters), builds the :class:`~detente.trace.Trace` and explains it.

>>> from detente.io import load_default
>>> from detente.models import run
>>> trace = run(load_default(), "smp")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from detente.models import smp_kernel as K
from detente.models.baselines import median_centre, weighted_median
from detente.models.registry import ModelSpec, Parameter, pad_rounds, register
from detente.models.streams import ReplicateGenerators, ReplicateStreams
from detente.scenario import Scenario, ScenarioArrays
from detente.scenario.batch import ScenarioBatch
from detente.trace import Trace

F = NDArray[np.float64]

SALIENCE_TOTAL = ("auto", "as-given", "union", "normalize")
SALIENCE_TOL = 1e-9
"""Totals up to ``1 + SALIENCE_TOL`` count as 1 (saliences divided by 100 carry round-off)."""


# -- parameters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice(Parameter):
    """A KTAB enumeration: its names (case-insensitive), aliases, or KTAB's integer code.

    Examples
    --------
    >>> VOTING_RULE.parse("prop"), VOTING_RULE.parse("3"), VOTING_RULE.parse(0)
    ('Proportional', 'PropCbc', 'Binary')
    """

    aliases: Mapping[str, str] = field(default_factory=dict)

    def parse(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value < len(self.choices):
                return self.choices[value]
        elif isinstance(value, str):
            text = value.strip()
            if text.isdigit() and int(text) < len(self.choices):
                return self.choices[int(text)]
            names = {str(c).lower(): c for c in self.choices}
            names.update({k.lower(): v for k, v in self.aliases.items()})
            if text.lower() in names:
                return names[text.lower()]
        allowed = ", ".join(map(str, self.choices))
        extra = f" (or {', '.join(self.aliases)})" if self.aliases else ""
        raise ValueError(
            f"{self.name}: expected one of {allowed}{extra}, or KTAB's code 0–"
            f"{len(self.choices) - 1}; got {value!r}"
        )


@dataclass(frozen=True)
class PairList(Parameter):
    """``IdealAdjustment``: ``[[adjusting actor, reference actor, adjust], ...]``.

    From the command line it is YAML or JSON text, e.g. ``[[eu, usa, 0.2], [eu, eu, 0.8]]``.
    """

    def parse(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = yaml.safe_load(value) if value.strip() else []
            except yaml.YAMLError:
                raise ValueError(f"{self.name}: expected a YAML/JSON list, got {value!r}") from None
        if value is None:
            value = []
        ok = isinstance(value, list | tuple) and all(
            isinstance(p, list | tuple)
            and len(p) == 3
            and isinstance(p[0], str)
            and isinstance(p[1], str)
            and isinstance(p[2], int | float)
            and not isinstance(p[2], bool)
            for p in value
        )
        if not ok:
            raise ValueError(
                f"{self.name}: expected a list of [adjusting actor, reference actor, number];"
                f" got {value!r}"
            )
        return [[str(a), str(b), float(x)] for a, b, x in value]


VICTORY_PROB_MODEL = Choice(
    "VictoryProbModel",
    str,
    "Linear",
    "probability that a coalition beats another: Linear C1/(C1+C2), Square, Quartic, Octic"
    " (powers of the strengths), Binary (sure win from a 10 % advantage)",
    choices=K.VICTORY,
)
PCE_MODEL = Choice(
    "PCEModel",
    str,
    "Conditional",
    "probabilistic Condorcet election: Conditional (product of pairwise wins), MarkovIncentive,"
    " MarkovUniform (fixed points of Markov chains of challenges)",
    choices=K.PCE,
)
STATE_TRANSITIONS = Choice(
    "StateTransitions",
    str,
    "Deterministic",
    "each actor takes its most likely bargain (Deterministic) or draws one (Stochastic)",
    choices=K.TRANSITIONS,
)
VOTING_RULE = Choice(
    "VotingRule",
    str,
    "Proportional",
    "vote on a utility difference du: Binary sign(du), PropBin 0.8du+0.2sign(du),"
    " Proportional du, PropCbc (du+du³)/2, Cubic du³, ASymProsp (gains count 2/3)",
    choices=K.VOTING,
    aliases={"Prop": "Proportional"},
)
BIG_R_ADJUST = Choice(
    "BigRAdjust",
    str,
    "OneThird",
    "how far an actor's estimate of another's risk attitude moves from its own toward the"
    " true one: No, OneThird, Half, TwoThirds, Full",
    choices=K.BIG_R_ADJUST,
    aliases={"None": "No"},
)
BIG_R_RANGE = Choice(
    "BigRRange",
    str,
    "Mid",
    "range of risk attitudes from least to most likely position: Min [0,1], Mid [-0.5,1],"
    " Max [-1,1]",
    choices=K.BIG_R_RANGE,
)
THIRD_PARTY_COMMIT = Choice(
    "ThirdPartyCommit",
    str,
    "SemiCommit",
    "how a third party values joining a challenge; with NoCommit and FullCommit KTAB's third"
    " parties cancel out (vote 0)",
    choices=K.THIRD_PARTY,
)
INTER_VEC_BRGN = Choice(
    "InterVecBrgn",
    str,
    "S2P2",
    "bargain interpolation weights: S1P1 salience×P, S2P2 salience²×P², S2PMax",
    choices=K.INTER_VEC,
)
BARGN_MODEL = Choice(
    "BargnModel",
    str,
    "InitOnlyInterp",
    "bargains offered: the initiator's interpolation (InitOnlyInterp), also the receiver's"
    " (InitRcvrInterp), or their capability×salience-weighted compromise (PWCompInterp)",
    choices=K.BARGAIN,
)
IDEAL_ADJUSTMENT = PairList(
    "IdealAdjustment",
    list,
    [],
    "accommodation: [[adjusting actor, reference actor, share], ...]; an actor's ideal moves"
    " by these shares to the reference actors' new positions each turn (KTAB's iaPair);"
    " empty = ideals follow positions",
)
BARGAIN_RULES = Choice(
    "bargain_rules",
    str,
    "ktab",
    "InitRcvrInterp/PWCompInterp as smpc codes them (ktab: the target's estimate of the"
    " initiator's gain taken as a probability, both sides weighted by the initiator's"
    " capability) or corrected (the target's win probability, each side's own capability)",
    choices=("ktab", "corrected"),
)
BARGAIN_ORDER = Choice(
    "bargain_order",
    str,
    "actor",
    "order of each actor's options, which decides ties and ASymProsp votes: actor (smpc's"
    " threads one after another, its usual order) or threads (a random model of smpc's thread"
    " timing, drawn from the seed)",
    choices=("actor", "threads"),
)
MAX_TURNS = Parameter("max_turns", int, 100, "stop after this many turns at the latest (KTAB 100)")
KTAB_COMPAT = Parameter(
    "ktab_compat",
    bool,
    False,
    "reproduce KTAB's documented quirks instead of detente's fixes (see docs/smp.md)",
)
SALIENCE_POLICY = Parameter(
    "salience_total",
    str,
    "auto",
    "SMP needs each actor's saliences to total at most 1. auto: union if any total exceeds 1,"
    " else as given; union: total 1-Π(1-s), split in proportion to s (KTAB analysts' rule);"
    " normalize: divide totals above 1 by themselves; as-given: refuse totals above 1",
    choices=SALIENCE_TOTAL,
)

PARAMETERS: tuple[Parameter, ...] = (
    VICTORY_PROB_MODEL,
    PCE_MODEL,
    STATE_TRANSITIONS,
    VOTING_RULE,
    BIG_R_ADJUST,
    BIG_R_RANGE,
    THIRD_PARTY_COMMIT,
    INTER_VEC_BRGN,
    BARGN_MODEL,
    BARGAIN_RULES,
    BARGAIN_ORDER,
    IDEAL_ADJUSTMENT,
    MAX_TURNS,
    KTAB_COMPAT,
    SALIENCE_POLICY,
)


def config(params: Mapping[str, Any]) -> K.Config:
    """The kernel's configuration from resolved parameters (defaults filled in).

    Examples
    --------
    >>> config({"VotingRule": "PropCbc"}).voting == K.VR_PROPCBC
    True
    """
    full = {p.name: p.default for p in PARAMETERS}
    full.update({k: v for k, v in params.items() if k in full})
    p = {q.name: q.parse(full[q.name]) for q in PARAMETERS}
    if p["max_turns"] < 1:
        raise ValueError(f"max_turns: expected at least 1, got {p['max_turns']}")
    return K.Config(
        victory=K.VICTORY.index(p["VictoryProbModel"]),
        pce=K.PCE.index(p["PCEModel"]),
        stochastic=p["StateTransitions"] == "Stochastic",
        voting=K.VOTING.index(p["VotingRule"]),
        big_r_adjust=K.BIG_R_ADJUST.index(p["BigRAdjust"]),
        big_r_range=K.BIG_R_RANGE.index(p["BigRRange"]),
        third_party=K.THIRD_PARTY.index(p["ThirdPartyCommit"]),
        inter_vec=K.INTER_VEC.index(p["InterVecBrgn"]),
        bargain=K.BARGAIN.index(p["BargnModel"]),
        max_turns=int(p["max_turns"]),
        ktab_compat=bool(p["ktab_compat"]),
        ktab_bargains=p["bargain_rules"] == "ktab",
        thread_order=p["bargain_order"] == "threads",
    )


# -- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A scenario ready for the kernel, and how to map positions back to the issue scales."""

    inputs: K.Inputs
    config: K.Config
    low: F
    span: F
    salience: F
    notes: tuple[str, ...]


def combine_saliences(
    salience: F, policy: str, actors: Sequence[str] | None = None
) -> tuple[F, str | None]:
    """Saliences with every actor's total at most 1, and a note on what was done.

    ``union``: the total becomes ``1 - Π_k (1 - s_k)`` (attention to any issue), split across
    issues in proportion to ``s_k``; KTAB's analysts made the SOE inputs this way (saliences
    30 and 60 became 24 and 48). ``normalize``: totals above 1 are divided by themselves.
    ``auto``: ``union`` if some total exceeds 1, else unchanged. ``as-given``: unchanged, and a
    total above 1 is an error.

    Examples
    --------
    >>> s, note = combine_saliences(np.array([[0.30, 0.60], [0.65, 0.60]]), "auto")
    >>> s.round(4)  # KTAB's SOE data: Xi Jinping 30, 60 and Li Keqiang 65, 60
    array([[0.24  , 0.48  ],
           [0.4472, 0.4128]])
    """
    total = salience.sum(axis=1)
    over = total > 1.0 + SALIENCE_TOL
    if policy == "as-given" or (policy == "auto" and not over.any()):
        if over.any():
            i = int(np.argmax(total))
            who = repr(actors[i]) if actors is not None else f"actor {i + 1}"
            raise ValueError(
                f"SMP needs each actor's saliences to total at most 1; {who} totals"
                f" {total[i]:.4g} (use salience_total=union or normalize)"
            )
        return salience, None
    if policy == "normalize":
        scale = np.where(over, total, 1.0)
        return salience / scale[:, None], (
            f"saliences of {int(over.sum())} actor(s) totalling more than 1 were divided by"
            " their totals (salience_total=normalize)"
        )
    union = 1.0 - np.prod(1.0 - salience, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total[:, None] > 0, salience / total[:, None], 0.0)
    why = "some actor's saliences total more than 1, so" if policy == "auto" else ""
    return share * union[:, None], (
        f"{why} each actor's saliences were combined as a union, total = 1 - Π(1 - s),"
        " split across issues in proportion to the given saliences, as KTAB's analysts did"
        f" (salience_total={policy}; largest total {total.max():.3g} became"
        f" {union[int(np.argmax(total))]:.3g})"
    ).strip()


def accommodation(arrays: ScenarioArrays, pairs: Sequence[Sequence[Any]]) -> F | None:
    """KTAB's ideal-adjustment matrix: identity, with the given ``[i, j, a]`` entries set.

    Returns None for the identity (ideals follow positions). Each row must total at most 1.

    Examples
    --------
    >>> from detente.io import load_default
    >>> acc = accommodation(load_default().arrays(), [["eu", "eu", 0.8], ["eu", "usa", 0.2]])
    >>> acc[4, [1, 4]]
    array([0.2, 0.8])
    """
    if not pairs:
        return None
    n = len(arrays.actors)
    index = {a: i for i, a in enumerate(arrays.actors)}
    acc = np.eye(n)
    for adjusting, reference, share in pairs:
        for name in (adjusting, reference):
            if name not in index:
                raise ValueError(f"IdealAdjustment: unknown actor {name!r}")
        if not 0.0 <= share <= 1.0:
            raise ValueError(
                f"IdealAdjustment: share of {adjusting!r} toward {reference!r} must lie in"
                f" [0, 1], got {share}"
            )
        acc[index[adjusting], index[reference]] = share
    total = acc.sum(axis=1)
    if (total > 1.0 + 1e-10).any():
        i = int(np.argmax(total))
        raise ValueError(
            f"IdealAdjustment: the shares of {arrays.actors[i]!r} total {total[i]:.4g}; at most"
            " 1 (set its own share, e.g. [name, name, 0.8], so that the row sums to 1 or less)"
        )
    if np.allclose(acc, np.eye(n), rtol=0.0, atol=1e-10):
        return None
    return acc


def prepare(arrays: ScenarioArrays, params: Mapping[str, Any]) -> Prepared:
    """Check a scenario for SMP and put it on KTAB's 0–1 scale.

    A missing stance is taken as salience 0 at the ``c·s``-weighted median of the other
    actors' positions on that issue (the midpoint of the scale if nobody has one), with a note.
    Raises ``ValueError`` (one line) for a non-positive capability or fewer than two actors.

    Examples
    --------
    >>> from detente.io import load_default
    >>> prep = prepare(load_default().arrays(), {})
    >>> bool(prep.inputs.salience.sum(axis=1).max() <= 1), prep.config.voting == K.VR_PROP
    (True, True)
    """
    cfg = config(params)
    n = arrays.position.shape[0]
    if n < 2:
        raise ValueError("SMP needs at least two actors")
    missing = [
        f"{arrays.actors[i]} on {arrays.issues[k]}"
        for i, k in zip(*np.nonzero(~arrays.present), strict=True)
    ]
    if not (arrays.capability > 0).all():
        raise ValueError("SMP needs every capability to be > 0")
    policy = SALIENCE_POLICY.parse(params.get("salience_total", "auto"))
    salience, note = combine_saliences(
        np.where(arrays.present, np.asarray(arrays.salience, dtype=np.float64), 0.0),
        policy,
        arrays.actors,
    )
    low = np.asarray(arrays.scale_min, dtype=np.float64)
    span = np.asarray(arrays.scale_max, dtype=np.float64) - low
    x01 = (stand_in_positions(arrays) - low) / span
    pairs = params.get("IdealAdjustment") or []
    acc = accommodation(arrays, IDEAL_ADJUSTMENT.parse(pairs))
    inputs = K.Inputs(
        capability=np.asarray(arrays.capability, dtype=np.float64),
        salience=salience,
        position=x01,
        accommodation=acc,
    )
    notes = [note] if note else []
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        notes.append(
            "no stance for "
            + ", ".join(missing[:5])
            + more
            + ": taken as salience 0 at the weighted median of the others' positions (SMP needs"
            " a position on every issue; shown as no stance)"
        )
    silent = [arrays.actors[i] for i in np.flatnonzero(salience.sum(axis=1) <= 0)]
    if silent:
        notes.append(
            f"{', '.join(silent)} {'has' if len(silent) == 1 else 'have'} salience 0 on every"
            " issue: indifferent among all positions, it never resists a challenge (KTAB"
            " refuses such an actor)"
        )
    if cfg.big_r_adjust == K.RA_FULL:
        notes.append(
            "BigRAdjust=Full: every actor knows the others' risk attitudes exactly; smpc refuses"
            " this value (its check that estimated utilities differ from the true ones always"
            " fails), detente runs it"
        )
    if cfg.voting == K.VR_ASYM and not cfg.thread_order:
        notes.append(
            "VotingRule=ASymProsp: smpc's result depends on the order of each actor's options,"
            " which its threads decide; detente uses the order of threads run one after another"
            " (bargain_order=threads draws other orders)"
        )
    if not (np.all(low == 0.0) and np.all(span == 100.0)):
        notes.append(
            "positions were mapped from each issue's scale to KTAB's 0–1 scale and back;"
            " bargains are rounded to 1/10000 of each scale, as KTAB rounds to 0.01 of 0–100"
        )
    return Prepared(inputs, cfg, low, span, salience, tuple(notes))


def stand_in_positions(arrays: ScenarioArrays) -> F:
    """``position[actor, issue]`` with each missing stance replaced by the ``c·s``-weighted
    median of the others' positions on the issue (midpoint on a tie; the scale's midpoint if
    nobody has a stance there)."""
    x = np.asarray(arrays.position, dtype=np.float64)
    if arrays.present.all():
        return x
    lower, upper = weighted_median(arrays.capability, x, arrays.salience)
    centre = (lower + upper) / 2.0
    middle = (np.asarray(arrays.scale_min) + np.asarray(arrays.scale_max)) / 2.0
    centre = np.where(np.isnan(centre), middle, centre)
    out: F = np.where(arrays.present, x, centre[None, :])
    return out


def _combine_batch(salience: F, policy: str, actors: Sequence[str]) -> F:
    """:func:`combine_saliences` of each replicate of ``salience[R, n, D]`` at once.

    Row by row the same operations (so the same numbers) as one call per replicate; ``auto``
    decides per replicate.
    """
    total = salience.sum(axis=-1)
    over = total > 1.0 + SALIENCE_TOL
    if policy == "as-given":
        if over.any():
            r = int(np.argmax(over.any(axis=-1)))
            combine_saliences(salience[r], policy, actors)  # raises, naming the actor
        return salience
    if policy == "normalize":
        scale = np.where(over, total, 1.0)
        out: F = salience / scale[..., None]
        return out
    union = 1.0 - np.prod(1.0 - salience, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total[..., None] > 0, salience / total[..., None], 0.0)
    combined: F = share * union[..., None]
    if policy == "auto":
        combined = np.where(over.any(axis=-1)[:, None, None], combined, salience)
    return combined


def prepare_batch(
    arrays: ScenarioArrays,
    capability: F,
    position: F,
    salience: F,
    params: Mapping[str, Any],
) -> Prepared:
    """:func:`prepare` for ``R`` replicates of one scenario's inputs at once.

    ``capability[R, n]``, ``position[R, n, D]`` and ``salience[R, n, D]`` replace those of
    ``arrays`` (which gives labels, scales, stances present and parameters); the kernel
    inputs carry the replicate axis, and replicate ``r`` gets the numbers :func:`prepare`
    gives for that replicate alone. ``notes`` are those of ``arrays`` itself.

    Examples
    --------
    >>> from detente.io import load_default
    >>> a = load_default().arrays()
    >>> cap = np.stack([a.capability, 2 * a.capability])
    >>> pos, sal = np.stack([a.position] * 2), np.stack([a.salience] * 2)
    >>> prepare_batch(a, cap, pos, sal, {}).inputs.salience.shape
    (2, 8, 6)
    """
    base = prepare(arrays, params)
    cap = np.asarray(capability, dtype=np.float64)
    if not (cap > 0).all():
        raise ValueError("SMP needs every capability to be > 0")
    policy = SALIENCE_POLICY.parse(params.get("salience_total", "auto"))
    sal = _combine_batch(np.asarray(salience, dtype=np.float64), policy, arrays.actors)
    x01 = (np.asarray(position, dtype=np.float64) - base.low) / base.span
    x01 = np.where(arrays.present, x01, base.inputs.position)  # missing stances: stand-ins
    inputs = K.Inputs(
        capability=np.ascontiguousarray(cap),
        salience=np.ascontiguousarray(sal),
        position=np.ascontiguousarray(x01),
        accommodation=base.inputs.accommodation,
    )
    return Prepared(inputs, base.config, base.low, base.span, sal, base.notes)


# -- running -------------------------------------------------------------------------------------


def _resolve(arrays: ScenarioArrays, params: Mapping[str, Any] | None) -> dict[str, Any]:
    stored = arrays.parameters.get("smp", {})
    return SPEC.resolve_params(stored, params or {})


@dataclass(frozen=True)
class Batch:
    """Final states of replicated SMP runs (see :func:`run_batch`).

    ``turns[r]``, ``final_positions[r, actor, issue]`` (issue scales), ``forecast[r, issue]``,
    ``final_win_probability[r, actor]``.
    """

    actors: tuple[str, ...]
    issues: tuple[str, ...]
    turns: NDArray[np.intp]
    final_positions: F
    forecast: F
    final_win_probability: F


def run_batch(
    scenario: Scenario | ScenarioArrays,
    replicates: int,
    *,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    generators: Sequence[np.random.Generator] | None = None,
) -> Batch:
    """Run ``replicates`` independent SMP runs as one vectorised batch.

    Replicate ``r`` draws from ``np.random.default_rng(seed).spawn(replicates)[r]`` (or from
    ``generators[r]``), so it equals a single run given that generator. Deterministic
    parameters give identical replicates.

    Examples
    --------
    >>> from detente.io import load_default
    >>> b = run_batch(load_default(), 3, params={"StateTransitions": "Stochastic",
    ...                                          "max_turns": 3})
    >>> b.final_positions.shape
    (3, 8, 6)
    """
    arrays = scenario.arrays() if isinstance(scenario, Scenario) else scenario
    resolved = _resolve(arrays, params)
    prep = prepare(arrays, resolved)
    if generators is None:
        generators = np.random.default_rng(seed).spawn(replicates)
    if len(generators) != replicates:
        raise ValueError("need one generator per replicate")
    hist = K.simulate(prep.inputs, prep.config, generators, record=False)
    assert hist.final_outcome is not None
    assert hist.final_win is not None
    x = hist.positions[-1]
    forecast = K.outcome_mean(x, hist.final_outcome)
    return Batch(
        actors=arrays.actors,
        issues=arrays.issues,
        turns=hist.turns,
        final_positions=x * prep.span + prep.low,
        forecast=forecast * prep.span + prep.low,
        final_win_probability=hist.final_win,
    )


def _issue_map(values: F | list[float], issues: Sequence[str]) -> dict[str, float]:
    if isinstance(values, np.ndarray):
        values = values.tolist()
    return {k: float(v) for k, v in zip(issues, values, strict=True)}


def _outcomes(
    p_actor: F, rep: NDArray[np.bool_], group: NDArray[np.intp], actors: Sequence[str]
) -> list[dict[str, Any]]:
    """The distinct positions: representative actor (its position is the outcome's), members
    and probability."""
    members: dict[int, list[str]] = {}
    for i, g in enumerate(group.tolist()):
        members.setdefault(g, []).append(actors[i])
    p = p_actor.tolist()
    return [
        {"representative": actors[g], "actors": members.get(g, []), "probability": p[g]}
        for g in np.flatnonzero(rep).tolist()
    ]


def _build_trace(
    arrays: ScenarioArrays, params: Mapping[str, Any], prep: Prepared, hist: K.History
) -> Trace:
    actors, issues = arrays.actors, arrays.issues
    low, span = prep.low, prep.span

    def scale(v: F) -> F:
        out: F = v * span + low
        return out

    positions = np.stack([scale(x[0]) for x in hist.positions])
    turns = int(hist.turns[0])
    cfg = prep.config
    per_turn: list[dict[str, Any]] = []
    notes = list(prep.notes)
    w = prep.inputs.capability[:, None] * prep.salience
    for t in range(turns + 1):
        state_x = hist.positions[t][:1]
        p_act, rep, group = hist.win[t][:1], hist.representative[t][:1], hist.group[t][:1]
        fc = K.outcome_mean(state_x, hist.outcome[t][:1])[0]
        cs = (w * state_x[0]).sum(axis=0) / w.sum(axis=0)
        entry: dict[str, Any] = {
            "turn": t,
            "risk_attitudes": dict(zip(actors, hist.risk[t][0].tolist(), strict=True)),
            "win_probability": dict(zip(actors, p_act[0].tolist(), strict=True)),
            "outcomes": _outcomes(p_act[0], rep[0], group[0], actors),
            "forecast": _issue_map(scale(fc), issues),
            "weighted_mean": _issue_map(scale(cs), issues),
            "challenges": [],
            "bargains": [],
            "moves": [],
        }
        if hist.flat[t][0]:
            notes.append(
                f"turn {t}: every position was equally likely in the risk-attitude election;"
                + (
                    " risk attitudes are undefined (NaN) as in KTAB (ktab_compat)"
                    if cfg.ktab_compat
                    else " all actors were treated as risk neutral (KTAB divides by zero here)"
                )
            )
        if t < turns:
            rec = hist.records[t]
            entry["challenges"] = _challenge_list(rec.challenges, actors)
            entry["bargains"], entry["moves"] = _bargain_list(
                t, rec, positions[t], scale, actors, issues
            )
        per_turn.append(entry)
    final = per_turn[-1]
    if turns >= cfg.max_turns:
        notes.append(f"the run reached max_turns={cfg.max_turns} before movement died down")
    if cfg.stochastic:
        notes.append(
            "stochastic transitions: each actor drew its bargain with one uniform number per turn"
            " from the run's seed (KTAB's own stochastic runs are not reproducible)"
        )
    details: dict[str, Any] = {
        "turns": turns,
        "final_win_probability": final["win_probability"],
        "final_outcomes": [
            {**o, "position": _outcome_position(o, positions[-1], actors, issues)}
            for o in final["outcomes"]
        ],
        "saliences_used": {a: _issue_map(prep.salience[i], issues) for i, a in enumerate(actors)},
        "per_turn": per_turn,
    }
    # missing stances ran at stand-in positions (prepare); the trace shows them as none
    shown = np.where(arrays.present[None], positions, np.nan)
    forecast = np.array([final["forecast"][k] for k in issues])
    forecast[~arrays.present.any(axis=0)] = np.nan  # nobody has a stance: no forecast
    return Trace(
        model="smp",
        actors=actors,
        issues=issues,
        positions=shown,
        forecast=forecast,
        params=dict(params),
        notes=tuple(notes),
        details=details,
    )


def _outcome_position(
    outcome: Mapping[str, Any], final: F, actors: Sequence[str], issues: Sequence[str]
) -> dict[str, float]:
    """The position of an outcome: its representative's (the first actor found there)."""
    i = list(actors).index(outcome["representative"])
    return _issue_map(final[i], issues)


def _challenge_list(ch: K.Challenges, actors: Sequence[str]) -> list[dict[str, Any]]:
    target = ch.target[0].tolist()
    # Python lists: converting whole rows is much faster than taking NumPy scalars one by one
    cols = [
        a[0].tolist()
        for a in (
            ch.gain_init_by_init,
            ch.p_by_init,
            ch.gain_target_by_init,
            ch.p_by_target,
            ch.gain_init_by_target,
            ch.gain_target_by_target,
        )
    ]
    keys = (
        "gain_by_initiator",
        "p_win_by_initiator",
        "gain_target_by_initiator",
        "p_win_by_target",
        "gain_init_by_target",
        "gain_target_by_target",
    )
    out = []
    for i, t in enumerate(target):
        if t < 0:
            continue
        entry: dict[str, Any] = {"initiator": actors[i], "target": actors[t]}
        for key, col in zip(keys, cols, strict=True):
            v = col[i]
            entry[key] = v if math.isfinite(v) else None
        out.append(entry)
    return out


def _bargain_list(
    turn: int,
    rec: K.TurnRecord,
    x: F,
    scale: Any,
    actors: Sequence[str],
    issues: Sequence[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every option of the turn (KTAB's ``bargains.csv``) and the moves; ``x`` are the
    positions of the turn's state on the issues' scales."""
    brg = rec.bargains
    versions = brg.versions
    opts, prob, chosen = brg.options[0], brg.prob[0], brg.chosen[0]
    n, n_s = opts.shape[0], brg.valid.shape[1]
    # where each slot sits in its two parties' option lists, and each status quo in its own
    kk, oo = np.nonzero(opts >= 0)
    where = np.zeros((n, n_s), dtype=np.intp)
    where[kk, opts[kk, oo]] = oo
    sq_o = np.argmax(opts == -1, axis=1)
    slots = np.arange(n_s)
    k_of = slots // versions
    rcv = np.where(brg.valid[0], brg.receiver[0], k_of)
    oi, oj = where[k_of, slots], where[rcv, slots]
    # only the numbers shown become Python objects (a list of every election is slower)
    sq_prob, sq_sel = prob[np.arange(n), sq_o].tolist(), (chosen == sq_o).tolist()
    init_prob, init_sel = prob[k_of, oi].tolist(), (chosen[k_of] == oi).tolist()
    recd_prob, recd_sel = prob[rcv, oj].tolist(), (chosen[rcv] == oj).tolist()
    valid, receiver, value = brg.valid[0].tolist(), rcv.tolist(), brg.value[0].tolist()
    at_x, pos_i, pos_j = (
        x.tolist(),
        scale(brg.pos_init[0]).tolist(),
        scale(brg.pos_rcvr[0]).tolist(),
    )
    listing: list[dict[str, Any]] = []
    index_of_slot: dict[int, int] = {}
    for k, name in enumerate(actors):
        listing.append(
            {
                "turn": turn,
                "initiator": name,
                "receiver": None,
                "status_quo": True,
                "value": 0.0,
                "position": dict(zip(issues, at_x[k], strict=True)),
                "init_prob": sq_prob[k],
                "init_selected": sq_sel[k],
                "recd_prob": None,
                "recd_selected": None,
            }
        )
        for s in range(k * versions, (k + 1) * versions):
            if not valid[s]:
                continue
            index_of_slot[s] = len(listing)
            listing.append(
                {
                    "turn": turn,
                    "initiator": name,
                    "receiver": actors[receiver[s]],
                    "status_quo": False,
                    "value": value[s],
                    "position": dict(zip(issues, pos_i[s], strict=True)),
                    "receiver_position": dict(zip(issues, pos_j[s], strict=True)),
                    "init_prob": init_prob[s],
                    "init_selected": init_sel[s],
                    "recd_prob": recd_prob[s],
                    "recd_selected": recd_sel[s],
                }
            )
    moves = [
        {
            "actor": actors[k],
            "bargain": index_of_slot[s],
            "initiator": actors[s // versions],
            "receiver": actors[receiver[s]],
        }
        for k, s in enumerate(rec.mover[0].tolist())
        if s >= 0
    ]
    return listing, moves


def simulate(arrays: ScenarioArrays, rng: np.random.Generator, params: Mapping[str, Any]) -> Trace:
    """The registered model: one SMP run, every turn recorded (see the module docstring).

    Examples
    --------
    >>> from detente.io import load_default
    >>> trace = simulate(load_default().arrays(), np.random.default_rng(0), {"max_turns": 3})
    >>> trace.positions.shape, trace.details["turns"]
    ((4, 8, 6), 3)
    """
    prep = prepare(arrays, params)
    hist = K.simulate(prep.inputs, prep.config, [rng], record=True)
    return _build_trace(arrays, params, prep, hist)


BATCH_CHUNK = 1000
"""Chunk of SMP replicates, one kernel call each: fixed, and the results do not depend on it.
Each turn of a batch costs some fixed Python work, and the compiled turns share a batch among
threads only from 256 replicates on; the working set grows as replicates × actors² (the batch
run splits chunks of many actors). With the compiled kernel, 10,000 draws of KTAB's smpExample
take about 2.5 s in chunks of 200 and 1.8 s of 1,000 on two idle cores; 1,000 draws of
ukraine-talks 1.1 s in chunks of 25, 0.7 s of 200."""


def _smp_batch(
    b: ScenarioBatch, params: Mapping[str, Any], seqs: Sequence[np.random.SeedSequence]
) -> tuple[F, F]:
    """SMP on a chunk: batch calls of ``smp_kernel.simulate`` with per-replicate inputs;
    replicate ``r`` draws from ``seqs[r]`` and gives what a single run of its draw gives.

    A replicate's generator is made only if it draws (never in deterministic runs); given
    :class:`~detente.models.streams.ReplicateStreams`, the stochastic choices' uniforms are
    drawn for all replicates at once (:class:`~detente.models.streams.ReplicateUniforms`, the
    same numbers), generators remaining for ``thread_order``'s exponentials only."""
    prep = prepare_batch(b.base, b.capability, b.position, b.salience, params)
    cfg = prep.config
    r_n, n = b.capability.shape
    # memory: at most K.MAX_BATCH_ELEMENTS elements in each [r, n, n] array of a call
    step = max(1, K.MAX_BATCH_ELEMENTS // (n * n))
    forecasts: list[F] = []
    centres: list[F] = []
    for lo in range(0, r_n, step):
        hi = min(r_n, lo + step)
        inp = prep.inputs
        sub = K.Inputs(
            inp.capability[lo:hi], inp.salience[lo:hi], inp.position[lo:hi], inp.accommodation
        )
        part = seqs[lo:hi]
        uniforms = None
        if isinstance(part, ReplicateStreams) and cfg.stochastic and not cfg.thread_order:
            uniforms = part.uniforms()
        # the streams are discarded here: drawing 8 turns ahead changes no number
        hist = K.simulate(
            sub,
            cfg,
            ReplicateGenerators(part),
            record=False,
            positions=True,
            draw_ahead=8,
            uniforms=uniforms,
        )
        assert hist.final_outcome is not None
        x_end = hist.positions[-1]
        forecasts.append(K.outcome_mean(x_end, hist.final_outcome) * prep.span + prep.low)
        # a replicate's state stays put after its last turn: medians of the distinct states
        # only (each row's median is computed alone), then repeated
        rounds = len(hist.positions)
        last = hist.turns
        rr, tt = np.nonzero(np.arange(rounds)[None, :] <= last[:, None])
        xs = np.stack(hist.positions, axis=1)[rr, tt] * prep.span + prep.low  # [k, n, m]
        cap, sal = b.capability[lo:hi], b.salience[lo:hi]
        med = np.empty((hi - lo, rounds, b.position.shape[-1]))
        med[rr, tt] = median_centre(cap[rr], xs, sal[rr])
        upto = np.minimum(np.arange(rounds)[None, :], last[:, None])
        centres.append(med[np.arange(hi - lo)[:, None], upto])
    width = max(c.shape[1] for c in centres)
    return np.concatenate(forecasts), np.concatenate([pad_rounds(c, width) for c in centres])


SPEC = register(
    ModelSpec(
        name="smp",
        title="Spatial model of politics (KTAB)",
        summary="KTAB's SMP: actors challenge, bargain and vote on bargains turn by turn in a"
        " multi-issue space; forecast = probability-weighted mean of the final positions.",
        function=simulate,
        batch=_smp_batch,
        chunk=BATCH_CHUNK,
        streams=True,
        parameters=PARAMETERS,
        aliases=("ktab",),
        rounds_parameter="max_turns",
    )
)
