"""The scenario: actors, issues, stances and where every number comes from."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from detente.scenario import causal as _causal
from detente.scenario import shocks as _shocks
from detente.scenario import uncertainty as unc
from detente.scenario.causal import CausalMap, value_range
from detente.scenario.shocks import AddActor, LeverChange, RemoveActor, Shock, ValueChange
from detente.scenario.sources import Id, Source, SourceRef
from detente.scenario.summit import SummitSpec
from detente.scenario.uncertainty import Distribution

"""An identifier: 1–80 characters, no leading or trailing white space."""


CAPABILITY_MIN = 1e-12
CAPABILITY_MAX = 1e15
"""Capabilities are relative weights. Inside these bounds every model's sums, squares and
eighth powers (KTAB's Octic victory model) of capability × salience stay finite and
normal in double precision, for thousands of actors; rescale data outside them (GDP in
billions rather than dollars)."""
SCALE_LIMIT = 1e15
"""The largest magnitude of an issue's scale ends: spans and positions stay exact enough."""


class _Model(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", validate_assignment=True)


class Estimate(_Model):
    """A number with an optional source and uncertainty.

    In YAML a bare number is an estimate with neither; ``uncertainty`` is a distribution of
    :mod:`detente.scenario.uncertainty` (or the shorthand ``"±x"``), drawn from by Monte Carlo
    runs only: single runs use ``value``.
    """

    value: float
    source: SourceRef | None = None
    uncertainty: Distribution | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError("expected a number, got a boolean")
        if isinstance(data, int | float):
            return {"value": data}
        return data

    @field_validator("uncertainty", mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return unc.coerce(v)

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return v

    @model_serializer(mode="wrap")
    def _compact(self, handler: Any) -> Any:
        if self.source is None and self.uncertainty is None:
            return self.value
        return handler(self)

    def check_uncertainty(self, low: float, high: float, what: str) -> None:
        """Check the uncertainty (if any) against ``value`` and the valid range; ``ValueError``."""
        if self.uncertainty is not None:
            unc.check(self.uncertainty, self.value, low, high, what)


class Scale(_Model):
    """The issue's axis and what its two ends mean."""

    min: float = 0.0
    max: float = 100.0
    min_label: str | None = Field(default=None, description="what the low end means")
    max_label: str | None = Field(default=None, description="what the high end means")
    unit: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if not (math.isfinite(self.min) and math.isfinite(self.max)) or self.max <= self.min:
            raise ValueError(f"scale max ({self.max}) must be greater than min ({self.min})")
        if max(abs(self.min), abs(self.max)) > SCALE_LIMIT:
            raise ValueError(
                f"scale ends must lie within ±{SCALE_LIMIT:g} (rescale the issue, e.g. to"
                f" 0–100), got [{self.min:g}, {self.max:g}]"
            )
        return self


class Issue(_Model):
    """One contested issue (a dimension of the policy space)."""

    id: Id
    label: str | None = None
    description: str | None = None
    scale: Scale = Field(default_factory=Scale)
    reference: float | None = Field(
        default=None,
        description="the reference point (status quo): where the issue stays without agreement",
    )

    @model_validator(mode="after")
    def _reference_in_scale(self) -> Issue:
        r = self.reference
        if r is not None and not (math.isfinite(r) and self.scale.min <= r <= self.scale.max):
            raise ValueError(
                f"reference point {r:g} lies outside the scale"
                f" [{self.scale.min:g}, {self.scale.max:g}]"
            )
        return self

    @property
    def title(self) -> str:
        return self.label or self.id


class Stance(_Model):
    """An actor's position on one issue and how much it cares (salience in [0, 1])."""

    position: Estimate
    salience: Estimate

    @field_validator("salience")
    @classmethod
    def _unit(cls, v: Estimate) -> Estimate:
        if not 0.0 <= v.value <= 1.0:
            raise ValueError(f"salience must lie in [0, 1], got {v.value}")
        v.check_uncertainty(0.0, 1.0, "salience")
        return v


_causal.rebuild(Estimate)


class Actor(_Model):
    """A party to the negotiation."""

    id: Id
    label: str | None = None
    description: str | None = None
    capability: Estimate
    risk: float | None = Field(default=None, ge=-1.0, le=1.0, description="risk attitude")
    stances: dict[str, Stance] = Field(default_factory=dict)

    @field_validator("capability")
    @classmethod
    def _positive(cls, v: Estimate) -> Estimate:
        if not v.value > 0.0:
            raise ValueError(f"capability must be > 0, got {v.value}")
        if not CAPABILITY_MIN <= v.value <= CAPABILITY_MAX:
            raise ValueError(
                f"capability must lie in [{CAPABILITY_MIN:g}, {CAPABILITY_MAX:g}] (capabilities"
                f" are relative weights: rescale them), got {v.value:g}"
            )
        v.check_uncertainty(0.0, math.inf, "capability")
        high = getattr(v.uncertainty, "high", None)
        if high is not None and high > CAPABILITY_MAX:
            raise ValueError(
                f"capability: the uncertainty's upper end {high:g} exceeds {CAPABILITY_MAX:g}"
            )
        return v

    @property
    def title(self) -> str:
        return self.label or self.id


_shocks.rebuild(Actor)

THRESHOLD_OPS = (">=", "<=", ">", "<")


class Threshold(_Model):
    """A question about an issue's forecast, e.g. ``territory >= 60`` ("de facto recognition").

    Monte Carlo runs report the probability that the forecast satisfies it.
    """

    issue: Id
    op: Literal[">=", "<=", ">", "<"]
    value: float
    label: str | None = None

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return v

    @property
    def title(self) -> str:
        """``label`` or the condition as text, e.g. ``territory ≥ 60``."""
        return self.label or self.condition

    @property
    def condition(self) -> str:
        """The condition as text, e.g. ``territory ≥ 60``."""
        op = {">=": "≥", "<=": "≤"}.get(self.op, self.op)
        return f"{self.issue} {op} {self.value:g}"

    def holds(self, x: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Where ``x`` satisfies the condition (False where ``x`` is NaN)."""
        with np.errstate(invalid="ignore"):
            if self.op == ">=":
                return np.greater_equal(x, self.value)
            if self.op == "<=":
                return np.less_equal(x, self.value)
            if self.op == ">":
                return np.greater(x, self.value)
            return np.less(x, self.value)


class Scenario(_Model):
    """Actors × issues, model parameters and sources. Validated once, then trusted."""

    name: Id
    description: str | None = None
    issues: list[Issue] = Field(min_length=1)
    actors: list[Actor] = Field(min_length=1)
    parameters: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per model name, its parameters"
    )
    seed: int | None = Field(default=None, ge=0, description="seed stored with the input")
    sources: dict[str, Source] = Field(
        default_factory=dict, description="sources referred to by id from any estimate"
    )
    thresholds: list[Threshold] = Field(
        default_factory=list, description="conditions on forecasts whose probability mc reports"
    )
    shocks: dict[Id, Shock] = Field(
        default_factory=dict, description="named what-ifs, applied by `detente shock`/`compare`"
    )
    causal: CausalMap | None = Field(
        default=None, description="a fuzzy cognitive map whose levers move linked values"
    )
    summit: SummitSpec | None = Field(
        default=None, description="two actors' bilateral bargain (`detente summit`)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        _unique([i.id for i in self.issues], "issue")
        _unique([a.id for a in self.actors], "actor")
        issues = {i.id: i for i in self.issues}
        for actor in self.actors:
            for issue_id, stance in actor.stances.items():
                issue = issues.get(issue_id)
                if issue is None:
                    raise ValueError(
                        f"actor {actor.id!r} has a stance on unknown issue {issue_id!r}"
                        f" (issues: {', '.join(issues)})"
                    )
                x = stance.position.value
                if not issue.scale.min <= x <= issue.scale.max:
                    raise ValueError(
                        f"actor {actor.id!r}, issue {issue_id!r}: position {x} lies outside"
                        f" the scale [{issue.scale.min}, {issue.scale.max}]"
                    )
                stance.position.check_uncertainty(
                    issue.scale.min, issue.scale.max, f"actor {actor.id!r}, issue {issue_id!r}"
                )
        for t, threshold in enumerate(self.thresholds):
            issue = issues.get(threshold.issue)
            if issue is None:
                raise ValueError(
                    f"threshold {t}: unknown issue {threshold.issue!r}"
                    f" (issues: {', '.join(issues)})"
                )
            if not issue.scale.min <= threshold.value <= issue.scale.max:
                raise ValueError(
                    f"threshold {t}: value {threshold.value:g} lies outside the scale of"
                    f" {issue.id!r} [{issue.scale.min:g}, {issue.scale.max:g}]"
                )
        for where, estimate in self.estimates():
            ref = estimate.source
            if isinstance(ref, str) and ref not in self.sources:
                raise ValueError(f"{where}: unknown source id {ref!r}")
        for extra in (self.causal_problem(), self.summit_problem()):
            if extra is not None:
                raise ValueError(extra[1])
        for name in self.shocks:
            problem = self.shock_problem(name)
            if problem is not None:
                raise ValueError(problem[2])
        return self

    def shock_problem(self, name: str) -> tuple[int | None, str, str] | None:
        """The first part of shock ``name`` that does not fit the scenario, or None:
        ``(change index or None for the shock itself, field, message)``. Each change meets
        the actors left by the changes before it."""
        shock = self.shocks[name]
        if isinstance(shock.source, str) and shock.source not in self.sources:
            return None, "source", f"shock {name!r}: unknown source id {shock.source!r}"
        actors = {a.id: a for a in self.actors}
        issues = {i.id: i for i in self.issues}
        for c, change in enumerate(shock.changes):
            where = f"shock {name!r}, change {c}"
            if isinstance(change.source, str) and change.source not in self.sources:
                return c, "source", f"{where}: unknown source id {change.source!r}"
            problem = _change_problem(change, actors, issues)
            if problem is not None:
                return c, problem[0], f"{where}: {problem[1]}"
            if isinstance(change, LeverChange):
                lever_problem = self._lever_problem(change)
                if lever_problem is not None:
                    return c, "lever", f"{where}: {lever_problem}"
            if isinstance(change, AddActor):
                actors[change.add_actor.id] = change.add_actor
            elif isinstance(change, RemoveActor):
                del actors[change.remove_actor]
        return None

    def _lever_problem(self, change: LeverChange) -> str | None:
        if self.causal is None:
            return f"lever {change.lever!r}: the scenario has no causal map (causal:)"
        levers = self.causal.levers
        if change.lever not in levers:
            return f"unknown lever {change.lever!r} (levers: {', '.join(levers) or 'none'})"
        low, high = value_range(self.causal.transfer)
        if change.op == "set" and not low <= change.value <= high:
            return (
                f"lever {change.lever!r}: setting {change.value:g} lies outside [{low:g},"
                f" {high:g}], the range of the {self.causal.transfer} transfer"
            )
        return None

    def causal_problem(self) -> tuple[tuple[int | str, ...], str] | None:
        """What of the causal map does not fit the scenario: ``(location, message)`` or None.

        The location starts with ``"causal"``; links must name known actors and issues (an
        actor's stance for a position or salience link) and sources known source ids."""
        cmap = self.causal
        if cmap is None:
            return None
        actors = {a.id: a for a in self.actors}
        issues = {i.id for i in self.issues}
        refs: list[tuple[tuple[int | str, ...], SourceRef | None]] = []
        for c, concept in enumerate(cmap.concepts):
            refs.append((("concepts", c, "source"), concept.source))
        for e, edge in enumerate(cmap.edges):
            refs.append((("edges", e, "weight", "source"), edge.weight.source))
        for k, link in enumerate(cmap.links):
            refs.append((("links", k, "source"), link.source))
            actor = actors.get(link.actor)
            if actor is None:
                return ("causal", "links", k, "actor"), (
                    f"link to {link.target}: unknown actor {link.actor!r}"
                    f" (actors: {', '.join(actors)})"
                )
            if link.issue is not None:
                if link.issue not in issues:
                    return ("causal", "links", k, "issue"), (
                        f"link to {link.target}: unknown issue {link.issue!r}"
                        f" (issues: {', '.join(issues)})"
                    )
                if link.issue not in actor.stances:
                    return ("causal", "links", k, "issue"), (
                        f"link to {link.target}: actor {link.actor!r} has no stance on"
                        f" {link.issue!r}"
                    )
        for loc, ref in refs:
            if isinstance(ref, str) and ref not in self.sources:
                return ("causal", *loc), f"causal map: unknown source id {ref!r}"
        return None

    def summit_problem(self) -> tuple[tuple[int | str, ...], str] | None:
        """What of the summit does not fit the scenario: ``(location, message)`` or None."""
        spec = self.summit
        if spec is None:
            return None
        if isinstance(spec.source, str) and spec.source not in self.sources:
            return ("summit", "source"), f"summit: unknown source id {spec.source!r}"
        stances = {a.id: a.stances for a in self.actors}
        problem = spec.problem(stances, [i.id for i in self.issues])
        if problem is None:
            return None
        return ("summit", *problem[0]), problem[1]

    # -- queries ---------------------------------------------------------------

    def issue(self, issue_id: str) -> Issue:
        for issue in self.issues:
            if issue.id == issue_id:
                return issue
        raise KeyError(issue_id)

    def actor(self, actor_id: str) -> Actor:
        for actor in self.actors:
            if actor.id == actor_id:
                return actor
        raise KeyError(actor_id)

    def estimates(self) -> Iterator[tuple[str, Estimate]]:
        """Every number of the scenario with a dotted path naming it."""
        for actor in self.actors:
            yield f"{actor.id}.capability", actor.capability
            for issue_id, stance in actor.stances.items():
                yield f"{actor.id}.{issue_id}.position", stance.position
                yield f"{actor.id}.{issue_id}.salience", stance.salience

    def resolve_source(self, ref: SourceRef | None) -> Source | None:
        """The source an estimate points to, looking ids up in ``sources``."""
        if isinstance(ref, str):
            return self.sources[ref]
        return ref

    def check(self) -> None:
        """Validate the whole scenario again, for one edited in place in Python (a field set
        on an actor or stance is checked alone, not against the scenario: a position against
        its issue's scale, say). Raises ``ValueError`` in one line naming the field.

        Examples
        --------
        >>> from detente.io import load_default
        >>> sc = load_default()
        >>> sc.actors[0].stances["territory"].position.value = 500.0
        >>> try:
        ...     sc.check()
        ... except ValueError as err:
        ...     print(str(err)[:60])
        scenario 'ukraine-talks': actor 'russia', issue 'territory':
        """
        try:
            type(self).model_validate(self.model_dump())
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            text = str(first["msg"]).removeprefix("Value error, ")
            raise ValueError(
                f"scenario {self.name!r}: {where + ': ' if where else ''}{text}"
            ) from None

    def arrays(self, *, require_complete: bool = False) -> ScenarioArrays:
        """Labelled arrays for the models, after :meth:`check` (so a scenario edited in Python
        is validated again before any model runs on it).

        Missing stances get position NaN and salience 0 and are marked in ``present``;
        with ``require_complete`` a missing stance raises ``ValueError`` instead.
        """
        self.check()
        issue_ids = tuple(i.id for i in self.issues)
        n, m = len(self.actors), len(issue_ids)
        capability = np.array([a.capability.value for a in self.actors], dtype=np.float64)
        position = np.full((n, m), np.nan)
        salience = np.zeros((n, m))
        for i, actor in enumerate(self.actors):
            for k, issue_id in enumerate(issue_ids):
                stance = actor.stances.get(issue_id)
                if stance is None:
                    if require_complete:
                        raise ValueError(f"actor {actor.id!r} has no stance on issue {issue_id!r}")
                    continue
                position[i, k] = stance.position.value
                salience[i, k] = stance.salience.value
        risk = np.array([np.nan if a.risk is None else a.risk for a in self.actors])
        return ScenarioArrays(
            actors=tuple(a.id for a in self.actors),
            issues=issue_ids,
            capability=_frozen(capability),
            position=_frozen(position),
            salience=_frozen(salience),
            scale_min=_frozen(np.array([i.scale.min for i in self.issues])),
            scale_max=_frozen(np.array([i.scale.max for i in self.issues])),
            risk=_frozen(risk),
            parameters=self.parameters,
            name=self.name,
            reference=_frozen(
                np.array([np.nan if i.reference is None else i.reference for i in self.issues])
            ),
        )


def _change_problem(
    change: _shocks.ValueChange
    | _shocks.AddActor
    | _shocks.RemoveActor
    | _shocks.ParameterChange
    | _shocks.LeverChange,
    actors: Mapping[str, Actor],
    issues: Mapping[str, Issue],
) -> tuple[str, str] | None:
    """``(field, why)`` when a shock change does not fit the actors and issues it meets."""
    known = ", ".join(actors) or "none left"
    if isinstance(change, RemoveActor):
        if change.remove_actor not in actors:
            return "remove_actor", (
                f"cannot remove unknown actor {change.remove_actor!r} (actors: {known})"
            )
        if len(actors) == 1:
            return "remove_actor", f"cannot remove {change.remove_actor!r}, the last actor"
        return None
    if isinstance(change, AddActor):
        new = change.add_actor
        if new.id in actors:
            return "add_actor", f"cannot add actor {new.id!r}: it is already present"
        for issue_id, stance in new.stances.items():
            issue = issues.get(issue_id)
            if issue is None:
                return "add_actor", (
                    f"added actor {new.id!r} has a stance on unknown issue {issue_id!r}"
                    f" (issues: {', '.join(issues)})"
                )
            x = stance.position.value
            if not issue.scale.min <= x <= issue.scale.max:
                return "add_actor", (
                    f"added actor {new.id!r}, issue {issue_id!r}: position {x:g} lies outside"
                    f" the scale [{issue.scale.min:g}, {issue.scale.max:g}]"
                )
        return None
    if not isinstance(change, ValueChange):
        # parameter changes are checked against the models when applied, lever changes
        # against the causal map by Scenario.shock_problem
        return None
    for role, ident in (("actor", change.actor), ("toward", change.toward)):
        if ident is not None and ident not in actors:
            return role, f"unknown actor {ident!r} (actors: {known})"
    if change.issue is None:
        return None
    if change.issue not in issues:
        return "issue", f"unknown issue {change.issue!r} (issues: {', '.join(issues)})"
    for role, ident in (("actor", change.actor), ("toward", change.toward)):
        if ident is not None and change.issue not in actors[ident].stances:
            return role, f"actor {ident!r} has no stance on issue {change.issue!r}"
    return None


@dataclass(frozen=True, eq=False)
class ScenarioArrays:
    """The numbers of a scenario as read-only arrays with their axis labels.

    ``capability[actor]``, ``position[actor, issue]``, ``salience[actor, issue]``,
    ``scale_min[issue]``, ``scale_max[issue]``, ``risk[actor]`` (NaN where not given),
    ``reference[issue]`` (the status quo; NaN where not given, None for arrays built without).
    """

    actors: tuple[str, ...]
    issues: tuple[str, ...]
    capability: NDArray[np.float64]
    position: NDArray[np.float64]
    salience: NDArray[np.float64]
    scale_min: NDArray[np.float64]
    scale_max: NDArray[np.float64]
    risk: NDArray[np.float64]
    parameters: Mapping[str, Mapping[str, Any]]
    name: str = "scenario"
    reference: NDArray[np.float64] | None = None

    def reference_points(self) -> NDArray[np.float64]:
        """``reference[issue]``, NaN where the scenario gives none."""
        if self.reference is None:
            return np.full(len(self.issues), np.nan)
        return self.reference

    @property
    def present(self) -> NDArray[np.bool_]:
        """``present[actor, issue]``: the actor has a stance on the issue."""
        return ~np.isnan(self.position)

    @property
    def weight(self) -> NDArray[np.float64]:
        """``capability × salience`` per actor and issue: the usual voting weight."""
        return self.capability[:, None] * self.salience


def _frozen(a: NDArray[np.float64]) -> NDArray[np.float64]:
    a.flags.writeable = False
    return a


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"duplicate {what} id {i!r}")
        seen.add(i)
