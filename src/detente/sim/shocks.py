"""Applying the scenario's declarative shocks (:mod:`detente.scenario.shocks`).

:func:`apply_shocks` is a pure function: it returns a new :class:`Scenario` with every change
of the named shocks made, and plain-language notes, and leaves its argument unchanged. Shocks
apply in the order given, and the changes of each in the order listed, each to the value left
by the previous one. Results are clipped to the valid range (position to the issue's scale,
salience to [0, 1], capability to at least :data:`MIN_CAPABILITY`), with a note whenever that
happens. A changed number keeps its source; its uncertainty is kept when it still fits the new
value, else dropped with a note. The shocked scenario carries no shocks of its own.

:func:`run_shocked` also honours *when* a shock strikes. A shock at round ``r > 0`` (its
``round``, or ``name@r`` in a list of names) changes the state after round ``r`` of a
multi-round model (``eu``, ``smp``): the model runs ``r`` rounds, the positions it reached
become the scenario's positions, the shock applies, and the model runs the remaining rounds
from there. So the shocked run equals the baseline up to round ``r``. One-step models (the
baselines) have no rounds: every shock applies before their single step, with a note.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from detente.models import get_model, models, run
from detente.scenario import Actor, Estimate, Scenario
from detente.scenario.model import CAPABILITY_MAX
from detente.scenario.shocks import (
    AddActor,
    Change,
    LeverChange,
    ParameterChange,
    RemoveActor,
    Shock,
    ValueChange,
)
from detente.trace import Trace

MIN_CAPABILITY = 1e-6
"""The smallest capability a shock can leave (capability must stay > 0; only ratios matter)."""

_NAME_AT = re.compile(r"^(?P<name>.+?)@(?P<round>\d+)$")
_LEVER_SETTING = re.compile(
    r"^(?P<lever>[^=\s]+)=(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$"
)


class ShockError(ValueError):
    """A shock that cannot be applied (unknown name, or a change that does not fit)."""


class UnknownShockError(ShockError):
    """A shock name the scenario does not define."""


def parse_name(text: str) -> tuple[str, int | None]:
    """``"summit@3"`` → ``("summit", 3)``; ``"summit"`` → ``("summit", None)``."""
    match = _NAME_AT.match(text.strip())
    if match is None:
        return text.strip(), None
    return match["name"], int(match["round"])


def derive(scenario: Scenario, names: Sequence[str], *, seed: int = 0) -> Scenario:
    """``scenario`` with the shocks ``names`` ask for that it does not define but detente can
    make: ``LEVER=VALUE`` (set a lever of the causal map, e.g. ``sanctions=1``) and
    ``summit-agreement`` (the agreement of the scenario's summit, :mod:`detente.summit`; its
    no-deal forecast runs with ``seed``). Other names are left for :func:`check_names`.

    Examples
    --------
    >>> from detente.io import load_default
    >>> sc = derive(load_default(), ["sanctions=1"])
    >>> sc.shocks["sanctions=1"].changes[0].describe
    'lever sanctions set 1'
    """
    added: dict[str, Shock] = {}
    for text in names:
        name = parse_name(text)[0]
        if name in scenario.shocks or name in added:
            continue
        match = _LEVER_SETTING.match(name)
        if match is not None and scenario.causal is not None:
            lever = match["lever"]
            added[name] = Shock(
                label=f"lever {lever} set to {float(match['value']):g}",
                changes=[LeverChange(lever=lever, value=float(match["value"]))],
            )
    if added:
        scenario = scenario.model_copy(update={"shocks": {**scenario.shocks, **added}})
        for name in added:
            problem = scenario.shock_problem(name)
            if problem is not None:
                raise ShockError(problem[2])
    from detente.summit import with_summit_agreement

    return with_summit_agreement(scenario, names, seed=seed)


def check_names(scenario: Scenario, names: Sequence[str]) -> None:
    """Raise :class:`UnknownShockError` naming the available shocks if any name is unknown."""
    unknown = [n for n in names if parse_name(n)[0] not in scenario.shocks]
    if unknown:
        available = ", ".join(scenario.shocks) or "none defined"
        plural = "s" if len(unknown) > 1 else ""
        raise UnknownShockError(
            f"unknown shock{plural} {', '.join(map(repr, unknown))} in scenario"
            f" {scenario.name!r} (shocks: {available})"
        )


def schedule(scenario: Scenario, names: Sequence[str]) -> list[tuple[int, list[str]]]:
    """``[(round, [shock names])]`` in round order; the order given is kept within a round."""
    check_names(scenario, names)
    rounds: dict[int, list[str]] = {}
    for text in names:
        name, at = parse_name(text)
        r = scenario.shocks[name].round if at is None else at
        rounds.setdefault(r, []).append(name)
    return sorted(rounds.items())


def apply_shocks(scenario: Scenario, names: Sequence[str]) -> tuple[Scenario, list[str]]:
    """The scenario with every change of the named shocks made (whatever their round)."""
    check_names(scenario, names)
    return _apply_named(scenario, scenario.shocks, [parse_name(n)[0] for n in names])


def _apply_named(
    scenario: Scenario, shocks: Mapping[str, Shock], names: Iterable[str]
) -> tuple[Scenario, list[str]]:
    shocked = scenario.model_copy(deep=True)
    shocked.shocks = {}
    notes: list[str] = []
    for name in names:
        for c, change in enumerate(shocks[name].changes):
            try:
                _apply(shocked, change, name, notes)
            except (KeyError, ValueError) as exc:
                detail = exc.args[0] if exc.args else exc
                where = f"shock {name!r}, change {c} ({change.describe})"
                raise ShockError(f"{where}: {detail}") from None
    # Re-validate the whole: the per-field validators ran on assignment, this runs the rest.
    try:
        return Scenario.model_validate(shocked.model_dump()), notes
    except ValueError as exc:
        raise ShockError(f"shocks {', '.join(names)}: {exc}") from None


def _apply(sc: Scenario, change: Change, shock: str, notes: list[str]) -> None:
    if isinstance(change, AddActor):
        if any(a.id == change.add_actor.id for a in sc.actors):
            raise ValueError(f"actor {change.add_actor.id!r} is already present")
        sc.actors = [*sc.actors, change.add_actor.model_copy(deep=True)]
    elif isinstance(change, RemoveActor):
        kept = [a for a in sc.actors if a.id != change.remove_actor]
        if len(kept) == len(sc.actors):
            raise ValueError(f"no actor {change.remove_actor!r} to remove")
        if not kept:
            raise ValueError("cannot remove the last actor")
        sc.actors = kept
    elif isinstance(change, ParameterChange):
        _set_parameter(sc, change)
    elif isinstance(change, LeverChange):
        _move_lever(sc, change, shock, notes)
    else:
        _change_value(sc, change, shock, notes)


def _move_lever(sc: Scenario, change: LeverChange, shock: str, notes: list[str]) -> None:
    """Set a lever of the causal map and move every linked value by what the map implies
    (:func:`detente.causal.lever_moves`); the lever remembers its first setting."""
    from detente.causal import lever_moves

    assert sc.causal is not None  # checked by Scenario.shock_problem
    moves = lever_moves(sc, {change.lever: change.value}, op=change.op)
    notes.extend(f"shock {shock!r}: {n}" for n in moves.notes)
    for move in moves.moves:
        link = move.link
        value = ValueChange(
            actor=link.actor, issue=link.issue, field=link.field, op=link.op, value=move.amount
        )
        _change_value(sc, value, shock, notes)
    concepts = [c.model_copy() for c in sc.causal.concepts]
    for concept in concepts:
        if concept.id == change.lever:
            if concept.moved_from is None:
                concept.moved_from = moves.before_levers[change.lever]
            concept.value = moves.after_levers[change.lever]
    sc.causal = sc.causal.model_copy(update={"concepts": concepts})


def _set_parameter(sc: Scenario, change: ParameterChange) -> None:
    specs = [get_model(change.model)] if change.model else models()
    targets = [s for s in specs if any(p.name == change.parameter for p in s.parameters)]
    if not targets:
        if change.model:
            raise ValueError(f"model {specs[0].name!r} has no parameter {change.parameter!r}")
        raise ValueError(f"no model has parameter {change.parameter!r}")
    parameters = {k: dict(v) for k, v in sc.parameters.items()}
    for spec in targets:
        parameter = next(p for p in spec.parameters if p.name == change.parameter)
        parameters.setdefault(spec.name, {})[change.parameter] = parameter.parse(change.value)
    sc.parameters = parameters


def _actor(sc: Scenario, actor_id: str) -> Actor:
    for actor in sc.actors:
        if actor.id == actor_id:
            return actor
    raise ValueError(f"no actor {actor_id!r} (actors: {', '.join(a.id for a in sc.actors)})")


def _change_value(sc: Scenario, change: ValueChange, shock: str, notes: list[str]) -> None:
    actor = _actor(sc, change.actor)
    if change.field == "capability":
        old = actor.capability
        target = _actor(sc, change.toward).capability.value if change.toward else math.nan
        low, high = MIN_CAPABILITY, CAPABILITY_MAX
    else:
        assert change.issue is not None  # checked by ValueChange
        if change.issue not in actor.stances:
            raise ValueError(f"actor {change.actor!r} has no stance on issue {change.issue!r}")
        stance = actor.stances[change.issue]
        old = getattr(stance, change.field)
        other = _actor(sc, change.toward).stances.get(change.issue) if change.toward else None
        if change.toward and other is None:
            raise ValueError(f"actor {change.toward!r} has no stance on issue {change.issue!r}")
        target = getattr(other, change.field).value if other is not None else math.nan
        if change.field == "position":
            scale = sc.issue(change.issue).scale
            low, high = scale.min, scale.max
        else:
            low, high = 0.0, 1.0
    x = old.value
    if change.op == "set":
        new = change.value
    elif change.op == "add":
        new = x + change.value
    elif change.op == "scale":
        new = x * change.value
    else:
        new = x + change.value * (target - x)
    clipped = min(max(new, low), high)
    if clipped != new:
        notes.append(
            f"shock {shock!r}: {change.target} {change.op} {change.value:g} gives {new:g},"
            f" clipped to {clipped:g} (valid range [{low:g}, {high:g}])"
        )
    uncertainty = old.uncertainty
    if uncertainty is not None:
        try:
            if change.field == "capability":  # (0, inf): the uncertainty's own convention
                Estimate(value=clipped, uncertainty=uncertainty).check_uncertainty(
                    0.0, math.inf, change.field
                )
            else:
                Estimate(value=clipped, uncertainty=uncertainty).check_uncertainty(
                    low, high, change.field
                )
        except ValueError:
            uncertainty = None
            notes.append(
                f"shock {shock!r}: {change.target}'s uncertainty no longer fits the new value"
                f" {clipped:g} and was dropped"
            )
    estimate = Estimate(value=clipped, source=old.source, uncertainty=uncertainty)
    if change.field == "capability":
        actor.capability = estimate
    else:
        assert change.issue is not None
        setattr(actor.stances[change.issue], change.field, estimate)


# -- shocks during bargaining ---------------------------------------------------------------


def run_shocked(
    scenario: Scenario,
    model: str,
    names: Sequence[str],
    *,
    seed: int,
    params: Mapping[str, Any] | None = None,
) -> tuple[Trace, list[str]]:
    """Run ``model`` with the named shocks, each at its round; the trace and the notes.

    Shocks at round 0 give exactly the run on the hand-edited scenario. Later shocks split the
    run into segments (see the module docstring); the stitched trace has every actor that took
    part (NaN before it joined or after it left), its state at round ``r`` is the one the
    shock left, and ``details["segments"]`` keeps each segment's own details. The first
    segment uses ``seed``; segment ``k`` a seed derived from ``(seed, k)``.
    """
    spec = get_model(model)
    plan = schedule(scenario, names)
    later = [(r, shocks) for r, shocks in plan if r > 0]
    first = [n for r, shocks in plan if r == 0 for n in shocks]
    if later and spec.rounds_parameter is None:
        first = [n for _, shocks in plan for n in shocks]
        struck = ", ".join(f"{n!r} (round {r})" for r, shocks in later for n in shocks)
        notes = [f"{spec.name} takes one step, so {struck} applied before it"]
        later = []
    else:
        notes = []
    current, applied = _apply_named(scenario, scenario.shocks, first)
    notes.extend(applied)
    if not later:
        trace = run(current, spec.name, seed=seed, params=params)
        return trace, notes
    assert spec.rounds_parameter is not None
    key = spec.rounds_parameter
    segments: list[tuple[int, Trace, list[str]]] = []
    done = 0
    for r, shocks in later:
        total = _rounds(spec.name, current, params, key)
        if r >= total:
            plural = len(shocks) > 1
            notes.append(
                f"shock{'s' if plural else ''} {', '.join(map(repr, shocks))} at round {r}"
                f" come{'' if plural else 's'} after the last round ({total}) and change nothing"
            )
            continue
        trace = _segment(current, spec.name, seed, len(segments), params, key, r - done)
        segments.append((done, _pad(trace, r - done), shocks))
        done = r
        current = _with_positions(current, trace)
        current, applied = _apply_named(current, scenario.shocks, shocks)
        notes.append(f"shock{'s' if len(shocks) > 1 else ''} {', '.join(shocks)} after round {r}")
        notes.extend(applied)
    # A parameter shock may have changed the number of rounds: never fewer than already run.
    total = max(_rounds(spec.name, current, params, key), done)
    trace = _segment(current, spec.name, seed, len(segments), params, key, total - done)
    segments.append((done, trace, []))
    stitched = _stitch(segments, {**segments[0][1].params, key: total})
    return stitched, notes


def _rounds(model: str, scenario: Scenario, params: Mapping[str, Any] | None, key: str) -> int:
    """The number of rounds ``model`` runs on ``scenario`` (its parameters, then ``params``)."""
    spec = get_model(model)
    return int(spec.resolve_params(scenario.parameters.get(spec.name, {}), params or {})[key])


def _segment(
    scenario: Scenario,
    model: str,
    seed: int,
    k: int,
    params: Mapping[str, Any] | None,
    key: str,
    steps: int,
) -> Trace:
    """Segment ``k`` of a shocked run: ``steps`` rounds from the scenario's positions."""
    segment_seed = (
        seed if k == 0 else int(np.random.SeedSequence([seed, k]).generate_state(1, np.uint32)[0])
    )
    return run(scenario, model, seed=segment_seed, params={**(params or {}), key: steps})


def _pad(trace: Trace, steps: int) -> Trace:
    """The trace with its final state repeated up to ``steps`` rounds (a model that stopped
    early, e.g. SMP once nobody moves, stays where it stopped)."""
    missing = steps + 1 - trace.rounds
    if missing <= 0:
        return trace
    tail = np.repeat(trace.positions[-1:], missing, axis=0)
    return Trace(
        model=trace.model,
        actors=trace.actors,
        issues=trace.issues,
        positions=np.concatenate([trace.positions, tail]),
        forecast=trace.forecast,
        params=trace.params,
        notes=trace.notes,
        details=trace.details,
    )


def _with_positions(scenario: Scenario, trace: Trace) -> Scenario:
    """The scenario with every stance's position set to the trace's final state."""
    out = scenario.model_copy(deep=True)
    index = {a: i for i, a in enumerate(trace.actors)}
    for actor in out.actors:
        i = index[actor.id]
        for k, issue in enumerate(trace.issues):
            stance = actor.stances.get(issue)
            x = float(trace.final[i, k])
            if stance is not None and math.isfinite(x):
                scale = out.issue(issue).scale
                value = min(max(x, scale.min), scale.max)
                stance.position = Estimate(value=value, source=stance.position.source)
    return out


def _stitch(segments: list[tuple[int, Trace, list[str]]], params: Mapping[str, Any]) -> Trace:
    """One trace from consecutive segments; the union of their actors, in order of arrival."""
    actors: list[str] = []
    for _, trace, _ in segments:
        actors.extend(a for a in trace.actors if a not in actors)
    last = segments[-1][1]
    rounds = segments[-1][0] + last.rounds
    positions = np.full((rounds, len(actors), len(last.issues)), np.nan)
    details: list[dict[str, Any]] = []
    notes: list[str] = []
    for s, (start, trace, shocks) in enumerate(segments):
        rows = [actors.index(a) for a in trace.actors]
        positions[start : start + trace.rounds, rows] = trace.positions
        end = start + trace.rounds - 1
        if s + 1 < len(segments):
            positions[end] = np.nan  # the state the shock left comes from the next segment
        details.append(
            {"from_round": start, "to_round": end, "shocks_after": shocks, "details": trace.details}
        )
        notes.extend(f"rounds {start}–{end}: {n}" for n in trace.notes)
    return Trace(
        model=last.model,
        actors=tuple(actors),
        issues=last.issues,
        positions=positions,
        forecast=last.forecast,
        params=params,
        notes=tuple(notes),
        details={"segments": details},
    )
