"""Which levers ``detente advise`` tries for an actor: plain data, from a levers file or defaults.

A levers file (YAML) sets any of these fields and may add levers of its own, written as
shocks are (:mod:`detente.scenario.shocks`)::

    kinds: [position, salience, persuade-position, shock, causal, custom]
    position_steps: [0.05, 0.1]     # own position moves, ± these fractions of the scale
    salience_steps: [0.1]           # own salience moves, ± these amounts
    persuade_position: 0.1          # another actor moves this fraction of the scale toward us
    persuade_salience: 0.1          # another actor cares this much more, or less
    causal_steps: [0.25, 0.5]       # causal-map levers, ± these fractions of their range
    targets: [eu, germany]          # the actors that may be persuaded (default: all others)
    levers:
      sanctions-coalition:
        label: A coalition for tighter sanctions
        changes:
        - {actor: eu, issue: sanctions, field: position, op: add, value: 10}

The kinds themselves (what each generates) live with the search, in
:mod:`detente.sim.advise`.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from detente.scenario.shocks import Shock
from detente.scenario.sources import Id as _Id

MAX_STEPS = 20
"""At most this many step sizes per list: each one is a lever per issue (and sign)."""


class LeverPlan(BaseModel):
    """The lever candidates of an advice search (every field has a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: tuple[_Id, ...] | None = Field(
        default=None, description="lever kinds to try (default: every kind)"
    )
    position_steps: tuple[float, ...] = Field(
        default=(0.1, 0.2),
        max_length=MAX_STEPS,
        description="own position moves, ± these fractions of each issue's scale",
    )
    salience_steps: tuple[float, ...] = Field(
        default=(0.1,), max_length=MAX_STEPS, description="own salience moves, ± these amounts"
    )
    persuade_position: float = Field(
        default=0.1, description="a persuaded actor moves this fraction of the scale toward us"
    )
    persuade_salience: float = Field(
        default=0.1, description="a persuaded actor's salience moves up or down by this much"
    )
    causal_steps: tuple[float, ...] = Field(
        default=(0.5,),
        max_length=MAX_STEPS,
        description="causal-map levers move ± these fractions of the transfer's range",
    )
    targets: tuple[_Id, ...] | None = Field(
        default=None, description="actors that may be persuaded (default: every other actor)"
    )
    levers: dict[_Id, Shock] = Field(
        default_factory=dict, description="levers of one's own, written as shocks"
    )

    @field_validator("position_steps", "salience_steps", "causal_steps")
    @classmethod
    def _steps(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        for x in v:
            if not (math.isfinite(x) and 0.0 < x <= 1.0):
                raise ValueError(f"expected steps in (0, 1], got {x:g}")
        return v

    @field_validator("persuade_position", "persuade_salience")
    @classmethod
    def _amount(cls, v: float) -> float:
        if not (math.isfinite(v) and 0.0 < v <= 1.0):
            raise ValueError(f"expected a number in (0, 1], got {v:g}")
        return v
