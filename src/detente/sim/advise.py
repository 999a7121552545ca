"""Advice for one actor: which of its levers moves the forecast most toward its own positions.

:func:`advise` lists the actor's candidate **levers** (one function per kind, see
:data:`LEVER_KINDS`), evaluates each on the same ``N`` Monte Carlo draws of the scenario's
uncertain inputs (common random numbers: the draws of :func:`detente.sim.montecarlo.monte_carlo`
with the same seed, and for a stochastic model the same random stream per draw), and ranks the
levers by the **gain** they bring the actor, in its own terms.

Kinds of lever (:data:`LEVER_KINDS`; a new kind is one function registered with
:func:`lever_kind`):

``position``
    The actor moves its own position on an issue by ± each of ``position_steps`` (fractions of
    the issue's scale), clipped to the scale.
``salience``
    The actor cares more or less about an issue: its salience ± each of ``salience_steps``,
    clipped to [0, 1].
``persuade-position``
    Another actor is persuaded to move its position toward the actor's by
    ``persuade_position`` of the scale (never past the actor's position).
``persuade-salience``
    Another actor is persuaded to care more or less about an issue (± ``persuade_salience``).
``shock``
    Each of the scenario's shocks (:mod:`detente.scenario.shocks`), applied before bargaining.
``causal``
    Each lever of the scenario's causal map (:mod:`detente.causal`) moved ± each of
    ``causal_steps`` (fractions of the transfer's range, clipped to it): the values linked to
    the map move with it, and the map's uncertain weights are drawn for every draw.
``custom``
    The levers of a levers file (:class:`detente.scenario.levers.LeverPlan`), written as shocks.

A lever is a list of :class:`Move` (and actors joining or leaving, and model parameters) made
to every draw: ``add`` to a drawn position adds to each draw, ``toward`` moves each draw toward
the other actor's drawn value, results are clipped to the valid range (as
:func:`detente.sim.shocks.apply_shocks` does for single runs). A shock change of a kind the
search cannot make draw by draw (a causal-map lever) is applied to the scenario instead, which
is then drawn again with the same seed (as ``compare --draws`` does): the draws of the inputs
it leaves alone are then the same draws, and the map's weights are drawn after them.

**Gain.** In draw ``r`` the actor ``a`` has positions ``x_k`` and saliences ``s_k`` (as drawn,
before any lever: its own interests do not move when it moves its stated position). With
forecast ``F_k`` its distance from the outcome is ``D(F) = 100 · Σ_k s_k |F_k − x_k| / w_k /
Σ_k s_k`` (``w_k`` the width of issue ``k``'s scale): a salience-weighted mean distance in
points of a 0–100 scale. A lever's gain in that draw is ``D(F_baseline) − D(F_lever)``: how many
points closer to the actor's positions it brings the forecast. An issue without a forecast
(nobody cares) counts for neither. The result reports the median gain, its 5–95 % interval
over the draws, the mean, and the shares of draws in which the lever helps or hurts, and ranks
the levers by median gain (then mean, then share helped).

**Concession.** A lever that moves the actor's own stated position costs it in its own terms:
the concession ``100 · Σ_k s_k |x'_k − x_k| / w_k / Σ_k s_k`` is how far the actor's new stated
positions lie from its interests (median over draws). The gain already counts this cost where
it matters, at the forecast: it is measured against the actor's real positions, so a
concession shows up only as far as it drags the forecast along.

**Caveat.** The other actors are held to the model's behaviour: a lever's effect assumes they
react only as the model's rules make them (no strategic counter-move beyond the model), and a
persuaded actor really shifts by the stated amount. Every result carries this caveat.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from detente.models import get_model
from detente.scenario import Scenario, ScenarioArrays
from detente.scenario.batch import ScenarioBatch as Batch
from detente.scenario.causal import value_range
from detente.scenario.levers import LeverPlan
from detente.scenario.model import CAPABILITY_MAX
from detente.scenario.shocks import (
    AddActor,
    LeverChange,
    ParameterChange,
    RemoveActor,
    Shock,
    ValueChange,
)
from detente.serial import floats, number, plain
from detente.sim.executors import Executor, InlineExecutor
from detente.sim.montecarlo import Progress, batch_function, input_draws
from detente.sim.shocks import MIN_CAPABILITY, apply_shocks

if TYPE_CHECKING:
    import pandas as pd

F = NDArray[np.float64]

DEFAULT_DRAWS = 1000
"""Draws when none are asked for (as ``detente mc``)."""

LEVERS_PER_TASK = 8
"""Levers evaluated per executor task (on one chunk of draws): fixed, so the tasks, and the
numbers, never depend on the executor or its workers."""

HELPS = 1e-9
"""A gain above this (in points) counts as helping, below its negative as hurting; smaller
differences are rounding."""

CAVEAT = (
    "the other actors are held to the {model} model's behaviour: each lever's effect assumes"
    " they react only as the model's rules make them (no strategic counter-move beyond the"
    " model), and that a persuaded actor really shifts by the stated amount"
)


# -- levers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One change of one number in every draw.

    ``op``: ``set`` (x = value), ``add`` (x + value), ``scale`` (x × value), ``toward``
    (x + value · (y − x), ``y`` the same number of actor ``toward`` in the same draw) or
    ``approach`` (x moves ``value`` toward ``y``, never past it). Results are clipped to the
    valid range: the issue's scale for a position, [0, 1] for a salience.
    """

    actor: str
    field: str
    op: str
    value: float
    issue: str | None = None
    toward: str | None = None

    @property
    def describe(self) -> str:
        where = f"{self.actor}.{self.issue}" if self.issue else self.actor
        extra = f" {self.toward}" if self.toward else ""
        return f"{where}.{self.field} {self.op} {self.value:g}{extra}"


@dataclass(frozen=True)
class Leave:
    """An actor leaves the negotiation."""

    actor: str

    @property
    def describe(self) -> str:
        return f"remove actor {self.actor}"


@dataclass(frozen=True)
class Join:
    """An actor joins with its point values (positions NaN and salience 0 where it has no
    stance); its uncertainties, if any, are not drawn."""

    actor: str
    capability: float
    position: tuple[float, ...]
    salience: tuple[float, ...]
    risk: float

    @property
    def describe(self) -> str:
        return f"add actor {self.actor}"


Step = Move | Leave | Join


@dataclass(frozen=True)
class Lever:
    """One candidate: a name (unique), its kind, a label for people and what it changes.

    ``steps`` are made to every draw in order; ``parameters`` are model parameters it sets;
    ``redraw`` (a scenario), when given, replaces the steps: the scenario with the lever's
    changes made, drawn again with the same seed. ``target`` is the actor it acts on.
    """

    name: str
    kind: str
    label: str
    steps: tuple[Step, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    target: str | None = None
    notes: tuple[str, ...] = ()
    redraw: Scenario | None = None
    described: tuple[str, ...] = ()
    """What a redrawn lever changes (its steps say it otherwise)."""

    @property
    def changes(self) -> tuple[str, ...]:
        """What the lever changes, one line per change."""
        out = [s.describe for s in self.steps]
        out += [f"parameter {k} = {v}" for k, v in self.parameters.items()]
        return (*out, *self.described)


@dataclass(frozen=True)
class LeverContext:
    """What a lever kind may look at: the scenario, its arrays, the acting actor, the model
    and the plan (step sizes, targets, levers of one's own)."""

    scenario: Scenario
    arrays: ScenarioArrays
    actor: str
    model: str
    plan: LeverPlan

    @property
    def index(self) -> int:
        """The acting actor's row."""
        return self.arrays.actors.index(self.actor)

    def width(self, k: int) -> float:
        """Width of issue ``k``'s scale."""
        return float(self.arrays.scale_max[k] - self.arrays.scale_min[k])

    def uncertain(self, actor: str, issue: str | None, what: str) -> bool:
        """Whether that number carries an uncertainty (so draws may differ from its value)."""
        a = self.scenario.actor(actor)
        if issue is None:
            return a.capability.uncertainty is not None
        stance = a.stances.get(issue)
        return stance is not None and getattr(stance, what).uncertainty is not None


LeverKind = Callable[[LeverContext], list[Lever]]
"""A lever kind: the candidates of that kind for the context's actor."""

LEVER_KINDS: dict[str, LeverKind] = {}
"""Every lever kind by name, in the order the search lists them."""


def lever_kind(name: str) -> Callable[[LeverKind], LeverKind]:
    """Register a lever kind under ``name`` (a decorator)."""

    def register(fn: LeverKind) -> LeverKind:
        if name in LEVER_KINDS:
            raise ValueError(f"lever kind {name!r} registered twice")
        LEVER_KINDS[name] = fn
        return fn

    return register


def _points(x: float) -> str:
    return f"{x:+.3g}"


def _stuck(ctx: LeverContext, actor: str, k: int, what: str, delta: float) -> bool:
    """Whether moving that number by ``delta`` changes nothing in any draw: it sits at the end
    of its range in that direction and carries no uncertainty."""
    a = ctx.arrays
    i = a.actors.index(actor)
    issue = a.issues[k]
    if what == "position":
        value, low, high = float(a.position[i, k]), float(a.scale_min[k]), float(a.scale_max[k])
    else:
        value, low, high = float(a.salience[i, k]), 0.0, 1.0
    at_end = (delta > 0 and value >= high) or (delta < 0 and value <= low)
    return at_end and not ctx.uncertain(actor, issue, what)


@lever_kind("position")
def own_position_levers(ctx: LeverContext) -> list[Lever]:
    """The actor moves its own position on each issue by ± each step (fraction of the scale)."""
    a, i = ctx.arrays, ctx.index
    out: list[Lever] = []
    for k, issue in enumerate(a.issues):
        if not a.present[i, k]:
            continue
        for step in ctx.plan.position_steps:
            for sign in (1.0, -1.0):
                delta = sign * step * ctx.width(k)
                if _stuck(ctx, ctx.actor, k, "position", delta):
                    continue
                out.append(
                    Lever(
                        name=f"position:{issue}:{_points(delta)}",
                        kind="position",
                        label=f"{ctx.actor} moves its {issue} position by {_points(delta)}",
                        steps=(Move(ctx.actor, "position", "add", delta, issue),),
                    )
                )
    return out


@lever_kind("salience")
def own_salience_levers(ctx: LeverContext) -> list[Lever]:
    """The actor cares more or less about each issue: salience ± each step."""
    a, i = ctx.arrays, ctx.index
    out: list[Lever] = []
    for k, issue in enumerate(a.issues):
        if not a.present[i, k]:
            continue
        for step in ctx.plan.salience_steps:
            for sign in (1.0, -1.0):
                delta = sign * step
                if _stuck(ctx, ctx.actor, k, "salience", delta):
                    continue
                out.append(
                    Lever(
                        name=f"salience:{issue}:{_points(delta)}",
                        kind="salience",
                        label=f"{ctx.actor} {'raises' if delta > 0 else 'lowers'} its"
                        f" salience on {issue} by {abs(delta):g}",
                        steps=(Move(ctx.actor, "salience", "add", delta, issue),),
                    )
                )
    return out


def _targets(ctx: LeverContext) -> list[str]:
    chosen = ctx.plan.targets
    return [b for b in ctx.arrays.actors if b != ctx.actor and (chosen is None or b in chosen)]


@lever_kind("persuade-position")
def persuade_position_levers(ctx: LeverContext) -> list[Lever]:
    """Each other actor moves its position toward the actor's on each issue both hold."""
    a, i = ctx.arrays, ctx.index
    out: list[Lever] = []
    for target in _targets(ctx):
        j = a.actors.index(target)
        for k, issue in enumerate(a.issues):
            if not (a.present[i, k] and a.present[j, k]):
                continue
            same = a.position[i, k] == a.position[j, k]
            if same and not (
                ctx.uncertain(target, issue, "position")
                or ctx.uncertain(ctx.actor, issue, "position")
            ):
                continue
            amount = ctx.plan.persuade_position * ctx.width(k)
            out.append(
                Lever(
                    name=f"persuade:{target}:{issue}:position",
                    kind="persuade-position",
                    label=f"persuade {target} to move {amount:g} toward {ctx.actor} on {issue}",
                    steps=(Move(target, "position", "approach", amount, issue, ctx.actor),),
                    target=target,
                )
            )
    return out


@lever_kind("persuade-salience")
def persuade_salience_levers(ctx: LeverContext) -> list[Lever]:
    """Each other actor cares more, or less, about each issue it holds a stance on."""
    a = ctx.arrays
    step = ctx.plan.persuade_salience
    out: list[Lever] = []
    for target in _targets(ctx):
        j = a.actors.index(target)
        for k, issue in enumerate(a.issues):
            if not (a.present[ctx.index, k] and a.present[j, k]):
                continue
            for delta in (step, -step):
                if _stuck(ctx, target, k, "salience", delta):
                    continue
                out.append(
                    Lever(
                        name=f"persuade:{target}:{issue}:salience:{_points(delta)}",
                        kind="persuade-salience",
                        label=f"persuade {target} to care {'more' if delta > 0 else 'less'}"
                        f" about {issue} ({_points(delta)} salience)",
                        steps=(Move(target, "salience", "add", delta, issue),),
                        target=target,
                    )
                )
    return out


@lever_kind("shock")
def shock_levers(ctx: LeverContext) -> list[Lever]:
    """Each of the scenario's shocks, applied before bargaining."""
    return [
        shock_lever(ctx, f"shock:{name}", "shock", name, shock)
        for name, shock in ctx.scenario.shocks.items()
    ]


def shock_lever(ctx: LeverContext, name: str, kind: str, shock_name: str, shock: Shock) -> Lever:
    """A shock as a lever: its changes as steps made to every draw; a change of another kind
    (e.g. of a causal map) makes the lever a scenario drawn again with the same seed."""
    spec = get_model(ctx.model)
    label = f"{shock_name}: {shock.label}" if shock.label else shock_name
    notes: list[str] = []
    if shock.round > 0:
        notes.append(
            f"{shock_name} strikes after round {shock.round} in the scenario; advice applies every"
            " lever before bargaining"
        )
    steps: list[Step] = []
    parameters: dict[str, Any] = {}
    issues = list(ctx.arrays.issues)
    for change in shock.changes:
        if isinstance(change, ValueChange):
            steps.append(
                Move(
                    change.actor, change.field, change.op, change.value, change.issue, change.toward
                )
            )
        elif isinstance(change, RemoveActor):
            steps.append(Leave(change.remove_actor))
        elif isinstance(change, AddActor):
            actor = change.add_actor
            stances = [actor.stances.get(k) for k in issues]
            steps.append(
                Join(
                    actor.id,
                    actor.capability.value,
                    tuple(math.nan if s is None else s.position.value for s in stances),
                    tuple(0.0 if s is None else s.salience.value for s in stances),
                    math.nan if actor.risk is None else actor.risk,
                )
            )
            if any(
                e.uncertainty is not None
                for e in [actor.capability]
                + [x for s in stances if s is not None for x in (s.position, s.salience)]
            ):
                notes.append(
                    f"{actor.id} joins with its point values (its uncertainty is not drawn)"
                )
        elif isinstance(change, ParameterChange):
            if change.model is not None and get_model(change.model).name != spec.name:
                notes.append(f"{change.describe} is for model {change.model}, not {spec.name}")
            elif not any(p.name == change.parameter for p in spec.parameters):
                notes.append(f"{spec.name} has no parameter {change.parameter!r}")
            else:
                parameters[change.parameter] = change.value
        else:
            return _redrawn_lever(ctx, name, kind, label, shock_name, shock, notes)
    return Lever(name, kind, label, tuple(steps), parameters, notes=tuple(notes))


def _redrawn_lever(
    ctx: LeverContext,
    name: str,
    kind: str,
    label: str,
    shock_name: str,
    shock: Shock,
    notes: list[str],
    described: Sequence[str] = (),
) -> Lever:
    with_it = ctx.scenario.model_copy(update={"shocks": {**ctx.scenario.shocks, shock_name: shock}})
    shocked, applied = apply_shocks(with_it, [shock_name])
    notes = [
        *notes,
        f"{shock_name} is applied to the scenario, which is drawn again with the same seed",
        *applied,
    ]
    return Lever(
        name,
        kind,
        label,
        notes=tuple(notes),
        redraw=shocked,
        described=(*(c.describe for c in shock.changes), *described),
    )


@lever_kind("causal")
def causal_levers(ctx: LeverContext) -> list[Lever]:
    """Each lever of the scenario's causal map, moved ± each step of its range."""
    cmap = ctx.scenario.causal
    if cmap is None:
        return []
    from detente.causal import lever_moves, settings

    low, high = value_range(cmap.transfer)
    current = settings(cmap)
    titles = {c.id: c.label or c.id for c in cmap.concepts}
    out: list[Lever] = []
    for lever in cmap.levers:
        now = current[lever]
        for step in ctx.plan.causal_steps:
            for sign in (1.0, -1.0):
                delta = sign * step * (high - low)
                target = min(max(now + delta, low), high)
                if target == now:
                    continue  # at the end of its range already
                moves = lever_moves(ctx.scenario, {lever: target})
                linked = [
                    f"{m.link.target} {m.op} {m.amount:.3g}"
                    for m in moves.moves
                    if (m.amount != 0.0 if m.op == "add" else m.amount != 1.0)
                ]
                shock = Shock(
                    label=f"{lever} from {now:g} to {target:g}",
                    changes=[LeverChange(lever=lever, value=target)],
                )
                out.append(
                    _redrawn_lever(
                        ctx,
                        f"causal:{lever}:{_points(delta)}",
                        "causal",
                        f"move {titles[lever]} ({lever}) from {now:g} to {target:g}",
                        f"{lever}={target:g}",
                        shock,
                        list(moves.notes),
                        linked,
                    )
                )
    return out


@lever_kind("custom")
def custom_levers(ctx: LeverContext) -> list[Lever]:
    """The levers of the plan's own (``levers:`` of a levers file), written as shocks."""
    return [
        shock_lever(ctx, f"custom:{name}", "custom", name, shock)
        for name, shock in ctx.plan.levers.items()
    ]


def candidates(ctx: LeverContext) -> list[Lever]:
    """Every candidate lever of the plan's kinds (all kinds by default), in kind order.

    Raises ``ValueError`` for an unknown kind, or two levers of the same name.
    """
    kinds = ctx.plan.kinds if ctx.plan.kinds is not None else tuple(LEVER_KINDS)
    unknown = [k for k in kinds if k not in LEVER_KINDS]
    if unknown:
        raise ValueError(
            f"unknown lever kind {', '.join(map(repr, unknown))} (kinds: {', '.join(LEVER_KINDS)})"
        )
    out: list[Lever] = []
    seen: set[str] = set()
    for kind in LEVER_KINDS:
        if kind not in kinds:
            continue
        for lever in LEVER_KINDS[kind](ctx):
            if lever.name in seen:
                raise ValueError(f"two levers named {lever.name!r}")
            seen.add(lever.name)
            out.append(lever)
    return out


# -- making a lever's changes to the draws -------------------------------------------------------


def apply_steps(batch: Batch, steps: Sequence[Step]) -> Batch:
    """``batch`` with every step made to every replicate, in order (a new batch).

    Raises ``ValueError`` for a step naming an actor or issue the batch does not have.
    """
    base = batch.base
    actors = list(base.actors)
    c = batch.capability.copy()
    x = batch.position.copy()
    s = batch.salience.copy()
    risk = np.array(base.risk, dtype=np.float64)
    for step in steps:
        if isinstance(step, Move):
            _move(step, actors, base, c, x, s)
        elif isinstance(step, Leave):
            i = _row(actors, step.actor)
            del actors[i]
            c, x, s = np.delete(c, i, axis=1), np.delete(x, i, axis=1), np.delete(s, i, axis=1)
            risk = np.delete(risk, i)
        else:
            if step.actor in actors:
                raise ValueError(f"actor {step.actor!r} is already present")
            r = c.shape[0]
            actors.append(step.actor)
            c = np.concatenate([c, np.full((r, 1), step.capability)], axis=1)
            x = np.concatenate([x, np.broadcast_to(np.array(step.position), (r, 1, x.shape[2]))], 1)
            s = np.concatenate([s, np.broadcast_to(np.array(step.salience), (r, 1, s.shape[2]))], 1)
            risk = np.append(risk, step.risk)
    if tuple(actors) != base.actors:
        if not actors:
            raise ValueError("cannot remove the last actor")
        base = dataclasses.replace(
            base,
            actors=tuple(actors),
            capability=_frozen(c[0].copy()),
            position=_frozen(x[0].copy()),
            salience=_frozen(s[0].copy()),
            risk=_frozen(risk),
        )
    return Batch(base, c, x, s)


def _frozen(a: F) -> F:
    a.flags.writeable = False
    return a


def _row(actors: Sequence[str], actor: str) -> int:
    try:
        return list(actors).index(actor)
    except ValueError:
        raise ValueError(f"no actor {actor!r} (actors: {', '.join(actors)})") from None


def _move(step: Move, actors: list[str], base: ScenarioArrays, c: F, x: F, s: F) -> None:
    """Make one move to every replicate, in place."""
    i = _row(actors, step.actor)
    j = _row(actors, step.toward) if step.toward is not None else None
    if step.field == "capability":
        cur = c[:, i]
        other = c[:, j] if j is not None else None
        low, high = MIN_CAPABILITY, CAPABILITY_MAX
        c[:, i] = np.clip(_op(step, cur, other), low, high)
        return
    if step.issue not in base.issues:
        raise ValueError(f"no issue {step.issue!r} (issues: {', '.join(base.issues)})")
    k = base.issues.index(step.issue)
    arr = x if step.field == "position" else s
    present = ~np.isnan(x[:, i, k])
    if step.field == "position":
        low, high = float(base.scale_min[k]), float(base.scale_max[k])
    else:
        low, high = 0.0, 1.0
    other = arr[:, j, k] if j is not None else None
    new = np.clip(_op(step, arr[:, i, k], other), low, high)
    # a number the actor has no stance on stays absent (position NaN, salience 0)
    arr[:, i, k] = np.where(present, new, arr[:, i, k])


def _op(step: Move, cur: F, other: F | None) -> F:
    v = step.value
    if step.op == "set":
        return np.full_like(cur, v)
    if step.op == "add":
        return cur + v
    if step.op == "scale":
        return cur * v
    if other is None:
        raise ValueError(f"op {step.op!r} needs an actor to move toward")
    gap = other - cur
    if step.op == "toward":
        out: F = cur + v * gap
        return out
    if step.op == "approach":
        moved: F = cur + np.sign(gap) * np.minimum(v, np.abs(gap))
        # toward an actor without a stance there: nothing to approach
        return np.where(np.isnan(gap), cur, moved)
    raise ValueError(f"unknown op {step.op!r}")


# -- running the levers through the executors -----------------------------------------------------

LeverItem = tuple[Batch, tuple[Step, ...], Mapping[str, Any]]
"""One lever on one chunk: the chunk's draws, the steps to make, the model parameters."""

LeverTask = tuple[str, str, tuple[LeverItem, ...], Sequence[np.random.SeedSequence]]
"""Model name, acting actor, the levers of one task on one chunk, the chunk's streams."""


def run_levers(task: LeverTask) -> list[tuple[F, F]]:
    """Each lever of one task on its chunk: ``(forecast[r, issue], own[r, issue])``, ``own``
    the acting actor's positions after the lever (NaN if it left). Module-level, so process
    pools and Dask can ship it."""
    model, actor, items, seqs = task
    run = batch_function(model)
    out: list[tuple[F, F]] = []
    for batch, steps, params in items:
        b = apply_steps(batch, steps) if steps else batch
        with np.errstate(over="ignore", invalid="ignore"):
            forecast, _centre = run(b, params, seqs)
        if actor in b.base.actors:
            own = b.position[:, b.base.actors.index(actor)].copy()
        else:
            own = np.full(forecast.shape, np.nan)
        out.append((forecast, own))
    return out


# -- the result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeverScore:
    """One lever's outcome over the draws.

    ``gain`` is ``(median, 5 %, 95 %, mean)`` in points (see the module docstring);
    ``helps``/``hurts`` the shares of draws with a gain above/below zero; ``concession`` the
    median cost of moving the actor's own stated positions; ``shift[issue]`` the median change
    of each issue's forecast.
    """

    name: str
    kind: str
    label: str
    target: str | None
    changes: tuple[str, ...]
    gain: tuple[float, float, float, float]
    helps: float
    hurts: float
    concession: float
    shift: Mapping[str, float]
    notes: tuple[str, ...] = ()

    @property
    def median(self) -> float:
        return self.gain[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "label": self.label,
            "target": self.target,
            "changes": list(self.changes),
            "gain": {
                "median": number(self.gain[0]),
                "q05": number(self.gain[1]),
                "q95": number(self.gain[2]),
                "mean": number(self.gain[3]),
            },
            "helps": number(self.helps),
            "hurts": number(self.hurts),
            "concession": number(self.concession),
            "shift": {k: number(v) for k, v in self.shift.items()},
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LeverScore:
        g = d["gain"]
        return cls(
            name=str(d["name"]),
            kind=str(d["kind"]),
            label=str(d["label"]),
            target=None if d.get("target") is None else str(d["target"]),
            changes=tuple(str(c) for c in d["changes"]),
            gain=(_f(g["median"]), _f(g["q05"]), _f(g["q95"]), _f(g["mean"])),
            helps=_f(d["helps"]),
            hurts=_f(d["hurts"]),
            concession=_f(d["concession"]),
            shift={str(k): _f(v) for k, v in d["shift"].items()},
            notes=tuple(str(n) for n in d["notes"]),
        )


def _f(x: Any) -> float:
    return math.nan if x is None else float(x)


@dataclass(frozen=True, eq=False)
class AdviceResult:
    """The outcome of :func:`advise`: the actor's levers, best first.

    Attributes
    ----------
    scenario, model, actor, seed, draws, params
        What ran: scenario name, registered model, acting actor, seed, number of draws and
        the model's resolved parameters.
    issues
        Issue ids (the order of every per-issue value).
    plan
        The lever plan searched (:class:`~detente.scenario.levers.LeverPlan`), as plain data.
    positions, saliences
        The actor's point positions and saliences per issue (NaN / 0 without a stance).
    baseline
        Median forecast per issue over the draws, without any lever.
    distance
        ``(median, 5 %, 95 %)`` of the actor's distance from the baseline forecast, in points.
    levers
        Every lever's :class:`LeverScore`, best first.
    gains
        ``gains[lever, draw]`` in the order of :attr:`levers`; kept in the process, not written
        by :meth:`to_dict` (``None`` after :meth:`from_dict`).
    """

    scenario: str
    model: str
    actor: str
    seed: int
    draws: int
    params: Mapping[str, Any]
    issues: tuple[str, ...]
    plan: Mapping[str, Any]
    positions: tuple[float, ...]
    saliences: tuple[float, ...]
    baseline: tuple[float, ...]
    distance: tuple[float, float, float]
    levers: tuple[LeverScore, ...]
    notes: tuple[str, ...] = ()
    gains: F | None = None

    @property
    def caveat(self) -> str:
        """What every lever's effect assumes of the other actors."""
        return CAVEAT.format(model=self.model)

    @property
    def best(self) -> LeverScore | None:
        """The top lever (None without any)."""
        return self.levers[0] if self.levers else None

    def get(self, name: str) -> LeverScore:
        """The lever called ``name``; ``KeyError`` if there is none."""
        for lever in self.levers:
            if lever.name == name:
                return lever
        raise KeyError(name)

    def rank(self, name: str) -> int:
        """1-based rank of the lever called ``name``."""
        return [lv.name for lv in self.levers].index(name) + 1

    def to_frame(self) -> pd.DataFrame:
        """Tidy table, one row per lever, best first: ``model, actor, rank, lever, kind, label,
        target, gain_median, gain_q05, gain_q95, gain_mean, helps, hurts, concession``."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "model": self.model,
                    "actor": self.actor,
                    "rank": n,
                    "lever": lv.name,
                    "kind": lv.kind,
                    "label": lv.label,
                    "target": lv.target,
                    "gain_median": lv.gain[0],
                    "gain_q05": lv.gain[1],
                    "gain_q95": lv.gain[2],
                    "gain_mean": lv.gain[3],
                    "helps": lv.helps,
                    "hurts": lv.hurts,
                    "concession": lv.concession,
                }
                for n, lv in enumerate(self.levers, start=1)
            ]
        )

    def shift_frame(self) -> pd.DataFrame:
        """Tidy table ``lever, issue, shift``: each lever's median change of each forecast."""
        import pandas as pd

        return pd.DataFrame(
            [
                {"lever": lv.name, "issue": k, "shift": lv.shift.get(k, math.nan)}
                for lv in self.levers
                for k in self.issues
            ],
            columns=["lever", "issue", "shift"],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; no timings, so the same inputs and seed give the same bytes."""
        return {
            "scenario": self.scenario,
            "model": self.model,
            "actor": self.actor,
            "seed": self.seed,
            "draws": self.draws,
            "params": plain(dict(self.params)),
            "issues": list(self.issues),
            "plan": plain(dict(self.plan)),
            "actor_positions": {
                k: number(v) for k, v in zip(self.issues, self.positions, strict=True)
            },
            "actor_saliences": {
                k: number(v) for k, v in zip(self.issues, self.saliences, strict=True)
            },
            "baseline": {k: number(v) for k, v in zip(self.issues, self.baseline, strict=True)},
            "distance": {
                "median": number(self.distance[0]),
                "q05": number(self.distance[1]),
                "q95": number(self.distance[2]),
            },
            "caveat": self.caveat,
            "levers": [lv.to_dict() for lv in self.levers],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdviceResult:
        """The result of a :meth:`to_dict` object (``from_dict(d).to_dict() == d``); the gains
        per draw are not part of it. Raises ``ValueError`` for an object of another shape."""
        try:
            issues = tuple(str(k) for k in data["issues"])
            d = data["distance"]
            return cls(
                scenario=str(data["scenario"]),
                model=str(data["model"]),
                actor=str(data["actor"]),
                seed=int(data["seed"]),
                draws=int(data["draws"]),
                params=dict(data["params"]),
                issues=issues,
                plan=dict(data["plan"]),
                positions=tuple(floats([data["actor_positions"][k] for k in issues]).tolist()),
                saliences=tuple(floats([data["actor_saliences"][k] for k in issues]).tolist()),
                baseline=tuple(floats([data["baseline"][k] for k in issues]).tolist()),
                distance=(_f(d["median"]), _f(d["q05"]), _f(d["q95"])),
                levers=tuple(LeverScore.from_dict(lv) for lv in data["levers"]),
                notes=tuple(str(n) for n in data["notes"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not an advice result: {exc!r}") from None


# -- the search --------------------------------------------------------------------------------


def advise(
    scenario: Scenario,
    actor: str,
    model: str = "median",
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    *,
    params: Mapping[str, Any] | None = None,
    plan: LeverPlan | None = None,
    chunk: int | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> AdviceResult:
    """Rank ``actor``'s levers by how far each moves the forecast toward its own positions.

    Parameters
    ----------
    scenario
        The scenario; its estimates' ``uncertainty`` is drawn from, its shocks are levers.
    actor
        The actor advised (an actor id).
    model
        A registered model name or alias (it needs a batch run).
    draws
        Monte Carlo draws, the same for every lever (at least 1).
    seed
        The one seed: the draws are those of ``detente mc`` with the same seed.
    params
        Model parameters over those of the scenario file.
    plan
        The levers to try (default :class:`~detente.scenario.levers.LeverPlan`).
    chunk
        Draws per task (default: the model's ``chunk``); the results do not depend on it.
    progress
        Called as ``progress(done, total)`` (model evaluations) as each task completes.
    executor
        Where the tasks run (:mod:`detente.sim.executors`; default in-process). The tasks,
        their draws and random streams are the same whatever the executor, so the results are
        identical bit for bit.

    Returns
    -------
    AdviceResult

    Raises
    ------
    ValueError
        Unknown actor or lever kind, an actor without any stance, bad parameters, ``draws <
        1``, a lever that does not fit the scenario.

    Examples
    --------
    >>> from detente.io import load_default
    >>> result = advise(load_default(), "usa", "median", draws=50, seed=1)
    >>> result.best is not None and result.best.gain[0] >= 0
    True
    """
    spec = get_model(model)
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    size = spec.chunk if chunk is None else int(chunk)
    if size < 1:
        raise ValueError(f"chunk must be at least 1, got {size}")
    arrays = scenario.arrays()
    if actor not in arrays.actors:
        raise ValueError(f"unknown actor {actor!r} (actors: {', '.join(arrays.actors)})")
    a = arrays.actors.index(actor)
    if not arrays.present[a].any():
        raise ValueError(f"actor {actor!r} has no stance on any issue: nothing to advise")
    plan = plan or LeverPlan()
    if plan.targets is not None:
        unknown = [t for t in plan.targets if t not in arrays.actors]
        if unknown:
            raise ValueError(
                f"unknown target {', '.join(map(repr, unknown))}"
                f" (actors: {', '.join(arrays.actors)})"
            )
    stored = arrays.parameters.get(spec.name, {})
    resolved = spec.resolve_params(stored, params or {})
    batch_function(spec.name)  # fails early for a model without a batch run
    ctx = LeverContext(scenario, arrays, actor, spec.name, plan)
    levers = candidates(ctx)
    lever_params = [
        spec.resolve_params(stored, params or {}, lv.parameters) if lv.parameters else resolved
        for lv in levers
    ]
    base, seqs = input_draws(scenario, draws, seed, streams=spec.streams)
    redrawn = {
        n: input_draws(lv.redraw, draws, seed, streams=spec.streams)[0]
        for n, lv in enumerate(levers)
        if lv.redraw is not None
    }
    # Lever 0 is the baseline (no change); every lever runs on every chunk of the same draws.
    items: list[tuple[Batch, tuple[Step, ...], Mapping[str, Any]]] = [(base, (), resolved)]
    items += [
        (redrawn.get(n, base), lv.steps if lv.redraw is None else (), p)
        for n, (lv, p) in enumerate(zip(levers, lever_params, strict=True))
    ]
    forecasts, own = _evaluate(spec.name, actor, items, seqs, size, progress, executor)
    return _score(scenario, spec.name, actor, seed, resolved, plan, base, levers, forecasts, own)


def _evaluate(
    model: str,
    actor: str,
    items: Sequence[tuple[Batch, tuple[Step, ...], Mapping[str, Any]]],
    seqs: Sequence[np.random.SeedSequence],
    size: int,
    progress: Progress | None,
    executor: Executor | None,
) -> tuple[F, F]:
    """``forecast[lever, draw, issue]`` and ``own[lever, draw, issue]`` of every item, run as
    fixed tasks (:data:`LEVERS_PER_TASK` levers on one chunk of ``size`` draws)."""
    draws = items[0][0].replicates
    bounds = [(lo, min(lo + size, draws)) for lo in range(0, draws, size)]
    groups = [
        range(g, min(g + LEVERS_PER_TASK, len(items)))
        for g in range(0, len(items), LEVERS_PER_TASK)
    ]
    tasks: list[LeverTask] = []
    where: list[tuple[range, int, int]] = []
    for lo, hi in bounds:
        chunk_seqs = seqs[lo:hi]  # ReplicateStreams slices lazily and pickles small
        slices: dict[int, Batch] = {}
        for group in groups:
            chunk_items: list[LeverItem] = []
            for n in group:
                batch, steps, p = items[n]
                # one slice per distinct batch, so a task pickles the shared draws once
                part = slices.setdefault(id(batch), batch.slice(lo, hi))
                chunk_items.append((part, steps, p))
            tasks.append((model, actor, tuple(chunk_items), chunk_seqs))
            where.append((group, lo, hi))
    total = len(items) * draws
    done = 0

    def finished(t: int, _result: Any) -> None:
        nonlocal done
        group, lo, hi = where[t]
        done += len(group) * (hi - lo)
        if progress is not None:
            progress(done, total)

    results = (executor or InlineExecutor()).map(run_levers, tasks, finished)
    m = len(items[0][0].base.issues)
    forecasts = np.empty((len(items), draws, m))
    own = np.empty((len(items), draws, m))
    for (group, lo, hi), result in zip(where, results, strict=True):
        for n, (f, o) in zip(group, result, strict=True):
            forecasts[n, lo:hi] = f
            own[n, lo:hi] = o
    return forecasts, own


def _score(
    scenario: Scenario,
    model: str,
    actor: str,
    seed: int,
    params: Mapping[str, Any],
    plan: LeverPlan,
    base: Batch,
    levers: Sequence[Lever],
    forecasts: F,
    own: F,
) -> AdviceResult:
    arrays = base.base
    a = arrays.actors.index(actor)
    width = arrays.scale_max - arrays.scale_min
    x = base.position[:, a, :]  # [R, m]: the actor's interests in each draw
    s = np.where(np.isnan(x), 0.0, base.salience[:, a, :])
    total = s.sum(axis=1)  # [R]
    notes: list[str] = []
    indifferent = total <= 0.0
    if indifferent.any():
        notes.append(
            f"in {int(indifferent.sum())} of {base.replicates} draws {actor} has salience 0 on"
            " every issue; those draws count as no gain"
        )
    weight = np.divide(s, width * np.where(indifferent, 1.0, total)[:, None])  # [R, m]
    gap = np.abs(forecasts - x[None])  # [L+1, R, m]
    baseline_gap = gap[0]
    # an issue without a forecast in either run counts for neither
    usable = ~(np.isnan(gap) | np.isnan(baseline_gap)[None])
    closer = np.where(usable, baseline_gap[None] - gap, 0.0)
    gains = 100.0 * np.einsum("lrm,rm->lr", closer, weight)
    gains[:, indifferent] = 0.0
    conceded = np.abs(own - x[None])
    concession = 100.0 * np.einsum(
        "lrm,rm->lr", np.where(np.isnan(conceded), 0.0, conceded), weight
    )
    distance = 100.0 * np.einsum(
        "rm,rm->r", np.where(np.isnan(baseline_gap), 0.0, baseline_gap), weight
    )
    # the actor left in every draw (its own positions all NaN where it had a stance)
    left = [bool(np.isnan(own[n]).all()) for n in range(own.shape[0])]
    shift = _nanmedian(forecasts[1:] - forecasts[0][None])  # [L, m]
    scores: list[LeverScore] = []
    for n, lever in enumerate(levers, start=1):
        g = gains[n]
        q = np.quantile(g, [0.5, 0.05, 0.95])
        lever_notes = list(lever.notes)
        if left[n]:
            lever_notes.append(f"{actor} leaves: no concession is counted")
        scores.append(
            LeverScore(
                name=lever.name,
                kind=lever.kind,
                label=lever.label,
                target=lever.target,
                changes=lever.changes,
                gain=(float(q[0]), float(q[1]), float(q[2]), float(g.mean())),
                helps=float(np.mean(g > HELPS)),
                hurts=float(np.mean(g < -HELPS)),
                concession=float(np.median(concession[n])),
                shift={k: float(shift[n - 1, j]) for j, k in enumerate(arrays.issues)},
                notes=tuple(lever_notes),
            )
        )
    order = sorted(
        range(len(scores)),
        key=lambda n: (
            -_key(scores[n].gain[0]),
            -_key(scores[n].gain[3]),
            -scores[n].helps,
            n,
        ),
    )
    if not any(e.uncertainty is not None for _, e in scenario.estimates()):
        notes.append(
            "the scenario gives no input an uncertainty, so every draw has the same inputs and"
            " the intervals only show the model's own randomness (if any)"
        )
    if not levers:
        notes.append("no lever to try: check the plan's kinds and targets")
    point = scenario.arrays()
    return AdviceResult(
        scenario=scenario.name,
        model=model,
        actor=actor,
        seed=seed,
        draws=base.replicates,
        params=params,
        issues=arrays.issues,
        plan=plan.model_dump(mode="json"),
        positions=tuple(float(v) for v in point.position[a]),
        saliences=tuple(float(v) for v in point.salience[a]),
        baseline=tuple(float(v) for v in _nanmedian(forecasts[0][None])[0]),
        distance=tuple(float(v) for v in np.quantile(distance, [0.5, 0.05, 0.95])),  # type: ignore[arg-type]
        levers=tuple(scores[n] for n in order),
        notes=tuple(notes),
        gains=gains[1:][order],
    )


def _key(x: float) -> float:
    return -math.inf if math.isnan(x) else x


def _nanmedian(a: F) -> F:
    """Median over axis 1 of ``a[l, r, m]``, NaN (without a warning) where all are NaN."""
    out = np.full((a.shape[0], a.shape[2]), np.nan)
    ok = ~np.all(np.isnan(a), axis=1)
    if ok.any():
        med = np.nanmedian(np.where(ok[:, None, :], a, 0.0), axis=1)
        out[ok] = med[ok]
    return out
