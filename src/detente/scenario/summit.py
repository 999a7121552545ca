"""A scenario's bilateral summit: which two actors meet, over which issues, on what terms.

Plain data, validated here; the bargaining runs in :mod:`detente.summit`. In YAML::

    summit:
      label: Trump-Putin meeting
      between: [usa, russia]
      issues: [ceasefire, sanctions, aid]   # default: every issue both have a stance on
      solution: nash            # nash | kalai-smorodinsky | asymmetric-nash | rubinstein
      no_deal: median           # a model whose forecast is the no-deal outcome, or the
                                # stated no-deal utilities {usa: 0.4, russia: 0.3}
      discount: {usa: 0.95, russia: 0.9}    # per-round discount factors (rubinstein)
      first: usa                # who proposes first (rubinstein; default the first named)
      source: judgement-summit

The agreement it reaches is the derived shock ``summit-agreement`` (both actors' positions on
the summit issues set to the agreement), which ``detente compare``/``shock`` accept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from detente.scenario.causal import located_error
from detente.scenario.sources import Id as _Id
from detente.scenario.sources import SourceRef

SOLUTIONS = ("nash", "kalai-smorodinsky", "asymmetric-nash", "rubinstein")
DEFAULT_DISCOUNT = 0.95
"""A party's per-round discount factor when none is stated."""


class SummitSpec(BaseModel):
    """Two actors' bilateral bargain (see the module docstring)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", validate_assignment=True)

    label: str | None = None
    description: str | None = None
    between: list[_Id] = Field(min_length=2, max_length=2)
    issues: list[_Id] | None = None
    solution: Literal["nash", "kalai-smorodinsky", "asymmetric-nash", "rubinstein"] = "nash"
    no_deal: _Id | dict[_Id, float] = "median"
    discount: dict[_Id, float] = Field(default_factory=dict)
    first: _Id | None = None
    source: SourceRef | None = None

    @field_validator("discount")
    @classmethod
    def _factors(cls, v: dict[str, float]) -> dict[str, float]:
        for actor, d in v.items():
            if not (math.isfinite(d) and 0.0 < d < 1.0):
                raise ValueError(f"discount of {actor!r} must lie in (0, 1), got {d}")
        return v

    @field_validator("no_deal")
    @classmethod
    def _utilities(cls, v: str | dict[str, float]) -> str | dict[str, float]:
        if isinstance(v, dict):
            for actor, u in v.items():
                if not (math.isfinite(u) and 0.0 <= u <= 1.0):
                    raise ValueError(f"no-deal utility of {actor!r} must lie in [0, 1], got {u}")
        return v

    @model_validator(mode="after")
    def _pair(self) -> SummitSpec:
        problem = self._own_problem()
        if problem is not None:
            raise located_error("SummitSpec", *problem)
        return self

    def _own_problem(self) -> tuple[tuple[int | str, ...], str] | None:
        a, b = self.between
        if a == b:
            return ("between", 1), f"a summit needs two different actors, got {a!r} twice"
        for key, names in (("discount", self.discount), ("no_deal", self.no_deal)):
            if isinstance(names, dict):
                strangers = [n for n in names if n not in self.between]
                if strangers:
                    return (key, strangers[0]), f"{strangers[0]!r} is not one of {a!r}, {b!r}"
        if isinstance(self.no_deal, dict) and set(self.no_deal) != {a, b}:
            return ("no_deal",), f"give the no-deal utility of both {a!r} and {b!r}"
        if self.first is not None and self.first not in self.between:
            return ("first",), f"{self.first!r} is not one of {a!r}, {b!r}"
        if self.issues is not None:
            if not self.issues:
                return ("issues",), "name at least one issue (or leave it out for all)"
            if len(set(self.issues)) != len(self.issues):
                return ("issues",), "an issue is named twice"
        return None

    def problem(
        self, actors: Mapping[str, Mapping[str, object]], issues: Sequence[str]
    ) -> tuple[tuple[int | str, ...], str] | None:
        """What does not fit the scenario, as ``(location, message)``; ``actors`` maps each actor
        id to its stances."""
        for i, name in enumerate(self.between):
            if name not in actors:
                return ("between", i), (
                    f"summit: unknown actor {name!r} (actors: {', '.join(actors)})"
                )
        for k, issue in enumerate(self.issues or []):
            if issue not in issues:
                return ("issues", k), (
                    f"summit: unknown issue {issue!r} (issues: {', '.join(issues)})"
                )
            for name in self.between:
                if issue not in actors[name]:
                    return ("issues", k), f"summit: actor {name!r} has no stance on {issue!r}"
        if self.issues is None and not self.common(actors, issues):
            a, b = self.between
            return ("between",), f"summit: {a!r} and {b!r} share no issue with a stance"
        return None

    def common(
        self, actors: Mapping[str, Mapping[str, object]], issues: Sequence[str]
    ) -> list[str]:
        """The summit's issues: those named, or every issue both actors have a stance on."""
        if self.issues is not None:
            return list(self.issues)
        a, b = self.between
        return [k for k in issues if k in actors[a] and k in actors[b]]

    def discount_of(self, actor: str) -> float:
        return self.discount.get(actor, DEFAULT_DISCOUNT)
