"""Declarative shocks: named what-ifs, applied before bargaining or at a later round.

A shock is data in the scenario (``shocks: {name: Shock}``) or in a separate YAML file::

    shocks:
      summit:
        label: The Trump-Putin summit takes place
        round: 0                     # 0 = before bargaining; r > 0 = after round r
        source: seed-summit          # a source id, or an inline source
        changes:
        - {actor: usa, issue: ceasefire, field: position, op: add, value: 15, source: seed-x}
        - {actor: usa, field: capability, op: scale, value: 0.8}
        - {actor: eu, issue: aid, field: position, op: toward, value: 0.5, toward: usa}
        - {remove_actor: poland}
        - add_actor: {id: china, capability: 40, stances: {ceasefire: {position: 80, salience: .3}}}
        - {parameter: rounds, model: eu, value: 5}
        - {lever: sanctions, value: 1}

A change is one of five kinds, told apart by its keys:

:class:`ValueChange`
    ``op`` is ``set`` (x = value), ``add`` (x + value), ``scale`` (x × value) or ``toward``
    (x + value · (y − x), y the same field of the actor ``toward``; value in [0, 1]).
    Capability is per actor (no ``issue``); position and salience need an ``issue`` on which
    the actor (and the ``toward`` actor) has a stance.
:class:`AddActor` / :class:`RemoveActor`
    A new party joins (a full actor, as in ``actors:``), or a party leaves.
:class:`ParameterChange`
    A model parameter takes a new value: for ``model`` only, or for every model that has a
    parameter of that name.
:class:`LeverChange`
    A lever of the scenario's causal map (:mod:`detente.scenario.causal`) takes a new setting
    (``op`` ``set``, the default, or ``add``); the values linked to the map move with it.

Applying shocks: :mod:`detente.sim.shocks`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from detente.scenario.sources import SourceRef

if TYPE_CHECKING:
    from detente.scenario.model import Actor

from detente.scenario.sources import Id as _Id

FIELDS = ("capability", "position", "salience")
OPS = ("set", "add", "scale", "toward")


class _Model(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", validate_assignment=True)


class ValueChange(_Model):
    """One change of one number: ``field`` of ``actor`` (on ``issue``) by ``op`` with ``value``."""

    actor: _Id
    issue: _Id | None = None
    field: Literal["capability", "position", "salience"]
    op: Literal["set", "add", "scale", "toward"]
    value: float
    toward: _Id | None = Field(default=None, description="op toward: the actor moved toward")
    source: SourceRef | None = None

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> ValueChange:
        if self.field == "capability" and self.issue is not None:
            raise ValueError("a capability change takes no issue (capability is per actor)")
        if self.field != "capability" and self.issue is None:
            raise ValueError(f"a {self.field} change needs an issue")
        if self.op == "toward":
            if self.toward is None:
                raise ValueError("op 'toward' needs the field 'toward' (an actor id)")
            if not 0.0 <= self.value <= 1.0:
                raise ValueError(f"op 'toward' takes a fraction in [0, 1], got {self.value}")
        elif self.toward is not None:
            raise ValueError(f"the field 'toward' belongs to op 'toward', not {self.op!r}")
        return self

    @property
    def target(self) -> str:
        """The changed number as a dotted path, e.g. ``usa.ceasefire.position``."""
        if self.issue is None:
            return f"{self.actor}.{self.field}"
        return f"{self.actor}.{self.issue}.{self.field}"

    @property
    def describe(self) -> str:
        extra = f" {self.toward}" if self.toward else ""
        return f"{self.target} {self.op} {self.value:g}{extra}"


class AddActor(_Model):
    """A new party joins: a full actor, as under ``actors:``."""

    add_actor: Actor
    source: SourceRef | None = None

    @property
    def describe(self) -> str:
        return f"add actor {self.add_actor.id}"


class RemoveActor(_Model):
    """A party leaves the negotiation."""

    remove_actor: _Id
    source: SourceRef | None = None

    @property
    def describe(self) -> str:
        return f"remove actor {self.remove_actor}"


class ParameterChange(_Model):
    """A model parameter takes ``value`` (for ``model``, or every model that has it)."""

    parameter: _Id
    model: _Id | None = None
    value: bool | int | float | str
    source: SourceRef | None = None

    @property
    def describe(self) -> str:
        where = f"{self.model}." if self.model else ""
        return f"parameter {where}{self.parameter} = {self.value}"


class LeverChange(_Model):
    """A lever of the causal map is set to ``value`` (``op: set``) or moved by it (``add``)."""

    lever: _Id
    op: Literal["set", "add"] = "set"
    value: float
    source: SourceRef | None = None

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return v

    @property
    def describe(self) -> str:
        return f"lever {self.lever} {self.op} {self.value:g}"


def _kind(data: Any) -> str:
    if isinstance(data, dict):
        keys = data
    elif isinstance(data, BaseModel):
        keys = type(data).model_fields
    else:
        return "value-change"
    for key in ("add_actor", "remove_actor", "parameter", "lever"):
        if key in keys:
            return key.replace("_", "-") + "-change"
    return "value-change"


Change = Annotated[
    Annotated[ValueChange, Tag("value-change")]
    | Annotated[AddActor, Tag("add-actor-change")]
    | Annotated[RemoveActor, Tag("remove-actor-change")]
    | Annotated[ParameterChange, Tag("parameter-change")]
    | Annotated[LeverChange, Tag("lever-change")],
    Discriminator(_kind),
]
"""One change of a shock; its keys say which kind (see the module docstring)."""


class Shock(_Model):
    """A named what-if: a label, a description, a source, when it strikes and its changes."""

    label: str | None = None
    description: str | None = None
    source: SourceRef | None = None
    round: int = Field(default=0, ge=0, description="0 = before bargaining; r = after round r")
    changes: list[Change] = Field(default_factory=list)


def rebuild(actor: type[Actor]) -> None:
    """Resolve the forward reference to :class:`~detente.scenario.model.Actor` (called once
    by :mod:`detente.scenario.model`, which imports this module): the name is put where
    pydantic looks when it builds the models' validators, on first use."""
    globals()["Actor"] = actor
