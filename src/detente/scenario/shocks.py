"""Declarative shocks: named what-ifs that change actors' capabilities, positions or saliences.

A shock is data in the scenario (``shocks: {name: Shock}``)::

    shocks:
      summit:
        label: The Trump-Putin summit takes place
        source: {kind: judgement, rationale: "..."}
        changes:
        - {actor: usa, issue: ceasefire, field: position, op: add, value: 15}
        - {actor: usa, field: capability, op: scale, value: 0.8}
        - {actor: eu, issue: aid, field: position, op: toward, value: 0.5, toward: usa}

``op`` is ``set`` (x = value), ``add`` (x + value), ``scale`` (x × value) or ``toward``
(x + value · (y − x), y the same field of the actor ``toward``; value in [0, 1]).
Capability is per actor (no ``issue``); position and salience need an ``issue`` on which the
actor (and the ``toward`` actor) has a stance. Applying shocks: :mod:`detente.sim.shocks`.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from detente.scenario.sources import SourceRef

_Id = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^\S(.*\S)?$")]

FIELDS = ("capability", "position", "salience")
OPS = ("set", "add", "scale", "toward")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Change(_Model):
    """One change of one number: ``field`` of ``actor`` (on ``issue``) by ``op`` with ``value``."""

    actor: _Id
    issue: _Id | None = None
    field: Literal["capability", "position", "salience"]
    op: Literal["set", "add", "scale", "toward"]
    value: float
    toward: _Id | None = Field(default=None, description="op toward: the actor moved toward")

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v}")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> Change:
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


class Shock(_Model):
    """A named what-if: a label, a description, a source and the changes it makes."""

    label: str | None = None
    description: str | None = None
    source: SourceRef | None = None
    changes: list[Change] = Field(default_factory=list)
