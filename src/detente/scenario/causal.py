"""A scenario's causal map (a fuzzy cognitive map): levers -> indicators -> outcomes.

Plain data, validated here; the inference runs in :mod:`detente.causal`. In YAML::

    causal:
      inference: kosko              # kosko | modified-kosko | rescaled
      transfer: sigmoid             # sigmoid | tanh | bivalent | trivalent
      lambda: 1                     # steepness of sigmoid and tanh
      tolerance: 0.001              # settled when no concept moves more than this in a step
      max_steps: 50
      concepts:
      - {id: sanctions, kind: lever, value: 0.5}        # a driver, clamped at its setting
      - {id: mil_expenditure, kind: indicator}          # starts at the transfer's midpoint
      - {id: leverage, kind: outcome}
      edges:
      - {cause: sanctions, effect: mil_expenditure, weight: {value: -0.6, source: seed-a-x}}
      - {cause: mil_expenditure, effect: leverage, weight: 0.4}
      links:                                            # concepts -> scenario values
      - {concept: leverage, actor: russia, field: capability, op: scale, gain: 1}
      - {concept: sentiment, actor: russia, issue: ceasefire, field: salience, op: add, gain: -0.3}

Links act on *changes* of the settled map: the scenario's numbers are those of the levers'
settings as written, and moving a lever (a lever shock, ``detente causal --lever``) moves each
linked value by the change of its concept's settled value ``c -> c'``:

``op: add``
    ``x' = x + gain * (c' - c)`` (in the value's own units: scale points, salience, capability).
``op: scale``
    ``x' = x * (1 + gain * c') / (1 + gain * c)``, i.e. the value is proportional to
    ``1 + gain * c``; ``gain`` must keep ``1 + gain * c > 0`` over the transfer's range.

Both compose exactly: moving a lever twice equals moving it once to the final setting. A lever
shock records the setting it moved the lever from (``moved_from``), so that Monte Carlo can
re-derive the move's effect under each draw of the weights' uncertainties.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from detente.scenario.sources import SourceRef

if TYPE_CHECKING:
    from detente.scenario.model import Estimate

from detente.scenario.sources import Id as _Id

INFERENCES = ("kosko", "modified-kosko", "rescaled")
TRANSFERS = ("sigmoid", "tanh", "bivalent", "trivalent")
KINDS = ("lever", "indicator", "outcome")

MAX_CONCEPTS = 200
"""A map has at most this many concepts (a reader's map has tens; the bound keeps the
``draws × concepts²`` weight arrays of Monte Carlo small)."""


def value_range(transfer: str) -> tuple[float, float]:
    """The range of concept values under ``transfer``: [0, 1] or [-1, 1].

    Examples
    --------
    >>> value_range("sigmoid"), value_range("tanh")
    ((0.0, 1.0), (-1.0, 1.0))
    """
    return (0.0, 1.0) if transfer in ("sigmoid", "bivalent") else (-1.0, 1.0)


def located_error(title: str, loc: tuple[int | str, ...], message: str) -> ValidationError:
    """A validation error at ``loc`` inside a model. Raised from a model validator it keeps its
    location (e.g. ``edges[3].effect``), so the YAML reader can point at the line."""
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", "{message}", {"message": message}),
                loc=loc,
                input=None,
            )
        ],
    )


class _Model(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", validate_assignment=True)


class Concept(_Model):
    """A node of the map: a lever (set from outside), an indicator or an outcome.

    ``value`` is a lever's setting, or any other concept's starting activation (default: the
    transfer's midpoint, 0.5 for sigmoid and bivalent, 0 for tanh and trivalent; a lever's
    default is 0, off).
    """

    id: _Id
    kind: Literal["lever", "indicator", "outcome"] = "indicator"
    label: str | None = None
    description: str | None = None
    value: float | None = None
    source: SourceRef | None = None
    moved_from: float | None = Field(
        default=None,
        description="a lever's setting before a lever shock moved it (set by the shock)",
    )

    @field_validator("value", "moved_from")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return v

    @model_validator(mode="after")
    def _lever_only(self) -> Concept:
        if self.moved_from is not None and self.kind != "lever":
            raise ValueError(f"concept {self.id!r}: only a lever has 'moved_from'")
        return self

    @property
    def title(self) -> str:
        return self.label or self.id


class Edge(_Model):
    """A signed causal weight in [-1, 1] from ``cause`` to ``effect``, with its source."""

    cause: _Id
    effect: _Id
    weight: Estimate

    @field_validator("weight")
    @classmethod
    def _signed_unit(cls, v: Estimate) -> Estimate:
        if not -1.0 <= v.value <= 1.0:
            raise ValueError(f"weight must lie in [-1, 1], got {v.value}")
        v.check_uncertainty(-1.0, 1.0, "weight")
        return v

    @property
    def name(self) -> str:
        """``cause->effect``."""
        return f"{self.cause}->{self.effect}"


class Link(_Model):
    """How a concept's settled value moves one number of the scenario (see the module doc)."""

    concept: _Id
    actor: _Id
    issue: _Id | None = None
    field: Literal["capability", "position", "salience"]
    op: Literal["scale", "add"]
    gain: float
    source: SourceRef | None = None

    @field_validator("gain")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> Link:
        if self.field == "capability" and self.issue is not None:
            raise ValueError("a capability link takes no issue (capability is per actor)")
        if self.field != "capability" and self.issue is None:
            raise ValueError(f"a {self.field} link needs an issue")
        return self

    @property
    def target(self) -> str:
        """The linked number as a dotted path, e.g. ``russia.capability``."""
        if self.issue is None:
            return f"{self.actor}.{self.field}"
        return f"{self.actor}.{self.issue}.{self.field}"

    @property
    def describe(self) -> str:
        return f"{self.target} {self.op} {self.gain:g} × {self.concept}"


class CausalMap(_Model):
    """Concepts, signed weights, links to the scenario and the inference settings."""

    model_config = ConfigDict(
        defer_build=True, extra="forbid", validate_assignment=True, populate_by_name=True
    )

    inference: Literal["kosko", "modified-kosko", "rescaled"] = "kosko"
    transfer: Literal["sigmoid", "tanh", "bivalent", "trivalent"] = "sigmoid"
    lambda_: float = Field(default=1.0, alias="lambda", description="sigmoid/tanh steepness")
    tolerance: float = Field(default=0.001, gt=0.0, le=1.0)
    max_steps: int = Field(default=50, ge=1, le=10_000)
    concepts: list[Concept] = Field(min_length=1, max_length=MAX_CONCEPTS)
    edges: list[Edge] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)

    @field_validator("lambda_")
    @classmethod
    def _steepness(cls, v: float) -> float:
        if not (math.isfinite(v) and 0.0 < v <= 100.0):
            raise ValueError(f"lambda must be a number in (0, 100], got {v}")
        return v

    @model_serializer(mode="wrap")
    def _alias(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict) and "lambda_" in data:
            data = {("lambda" if k == "lambda_" else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> CausalMap:
        problem = self.problem()
        if problem is not None:
            raise located_error("CausalMap", *problem)
        return self

    def problem(self) -> tuple[tuple[int | str, ...], str] | None:
        """The first inconsistency as ``(location inside the map, message)``, or None."""
        low, high = value_range(self.transfer)
        ids: dict[str, int] = {}
        for c, concept in enumerate(self.concepts):
            if concept.id in ids:
                return ("concepts", c, "id"), (
                    f"duplicate concept id {concept.id!r} (also concepts[{ids[concept.id]}])"
                )
            ids[concept.id] = c
            for key in ("value", "moved_from"):
                v = getattr(concept, key)
                if v is not None and not low <= v <= high:
                    return ("concepts", c, key), (
                        f"concept {concept.id!r}: {key} {v:g} lies outside [{low:g}, {high:g}],"
                        f" the range of the {self.transfer} transfer"
                    )
        kinds = {c.id: c.kind for c in self.concepts}
        seen: dict[tuple[str, str], int] = {}
        for e, edge in enumerate(self.edges):
            for role in ("cause", "effect"):
                ident: str = getattr(edge, role)
                if ident not in kinds:
                    return ("edges", e, role), (
                        f"edge {edge.name}: unknown concept {ident!r}"
                        f" (concepts: {', '.join(kinds)})"
                    )
            if edge.cause == edge.effect:
                return ("edges", e, "effect"), f"edge {edge.name}: a concept cannot cause itself"
            if kinds[edge.effect] == "lever":
                return ("edges", e, "effect"), (
                    f"edge {edge.name}: {edge.effect!r} is a lever, set from outside the map;"
                    " make it an indicator to let other concepts drive it"
                )
            pair = (edge.cause, edge.effect)
            if pair in seen:
                return ("edges", e), f"edge {edge.name} is also edges[{seen[pair]}]"
            seen[pair] = e
        for k, link in enumerate(self.links):
            if link.concept not in kinds:
                return ("links", k, "concept"), (
                    f"link to {link.target}: unknown concept {link.concept!r}"
                    f" (concepts: {', '.join(kinds)})"
                )
            if link.op == "scale":
                worst = min(1.0 + link.gain * low, 1.0 + link.gain * high)
                if not worst > 0.0:
                    return ("links", k, "gain"), (
                        f"link to {link.target}: a scale link needs 1 + gain × value > 0 over"
                        f" [{low:g}, {high:g}]; gain {link.gain:g} reaches {worst:g}"
                    )
        return None

    # -- queries -------------------------------------------------------------------

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.concepts)

    @property
    def levers(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.concepts if c.kind == "lever")

    def concept(self, concept_id: str) -> Concept:
        for concept in self.concepts:
            if concept.id == concept_id:
                return concept
        raise KeyError(concept_id)

    def initial(self) -> list[float]:
        """Every concept's starting value (defaults filled in), in concept order."""
        low, high = value_range(self.transfer)
        mid = (low + high) / 2.0
        return [
            c.value if c.value is not None else (0.0 if c.kind == "lever" else mid)
            for c in self.concepts
        ]

    def estimates(self) -> list[tuple[str, Estimate]]:
        """Every weight with a dotted name, ``causal.cause->effect``."""
        return [(f"causal.{e.name}", e.weight) for e in self.edges]


def rebuild(estimate: type[Estimate]) -> None:
    """Resolve the forward reference to :class:`~detente.scenario.model.Estimate` (called once
    by :mod:`detente.scenario.model`, which imports this module): the name is put where
    pydantic looks when it builds the models' validators, on first use."""
    globals()["Estimate"] = estimate
