"""The result of one model run: positions by round × actor × issue, the forecast, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from detente.serial import floats, number, plain

if TYPE_CHECKING:
    import pandas as pd

AXES = ("round", "actor", "issue")


@dataclass(frozen=True, eq=False)
class Trace:
    """What a model did.

    Attributes
    ----------
    model
        Registered model name.
    actors, issues
        Axis labels.
    positions
        ``positions[round, actor, issue]``; round 0 is the input. Baselines have one round.
        NaN where an actor has no stance on an issue.
    forecast
        ``forecast[issue]``: the model's predicted outcome on each issue's own scale.
    params
        The parameters the model ran with, defaults filled in.
    notes
        Plain-language remarks about this run (ties, fallbacks, degenerate cases).
    details
        Model-specific, JSON-serialisable extras (per-issue lists keyed by issue id, per-round
        events, ...). Later models add keys here; the fields above never change meaning.
    """

    model: str
    actors: tuple[str, ...]
    issues: tuple[str, ...]
    positions: NDArray[np.float64]
    forecast: NDArray[np.float64]
    params: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _, n, m = self.positions.shape
        if (n, m) != (len(self.actors), len(self.issues)) or self.forecast.shape != (m,):
            raise ValueError("trace arrays do not match their labels")

    @property
    def rounds(self) -> int:
        """Number of stored states (round 0 included)."""
        return int(self.positions.shape[0])

    @property
    def final(self) -> NDArray[np.float64]:
        """``final[actor, issue]``: positions after the last round."""
        final: NDArray[np.float64] = self.positions[-1]
        return final

    def forecast_by_issue(self) -> dict[str, float]:
        return {k: float(v) for k, v in zip(self.issues, self.forecast, strict=True)}

    def to_frame(self) -> pd.DataFrame:
        """Tidy table with columns ``model, round, actor, issue, position`` (needs pandas)."""
        import pandas as pd

        r, n, m = self.positions.shape
        idx = np.indices((r, n, m)).reshape(3, -1)
        return pd.DataFrame(
            {
                "model": self.model,
                "round": idx[0],
                "actor": np.asarray(self.actors, dtype=object)[idx[1]],
                "issue": np.asarray(self.issues, dtype=object)[idx[2]],
                "position": self.positions.reshape(-1),
            }
        )

    def forecast_frame(self) -> pd.DataFrame:
        """Tidy table ``model, issue, forecast`` (needs pandas)."""
        import pandas as pd

        return pd.DataFrame({"model": self.model, "issue": self.issues, "forecast": self.forecast})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trace:
        """The trace of a :meth:`to_dict` object: ``Trace.from_dict(d).to_dict(scenario=...,
        seed=...) == d``. Raises ``ValueError`` for an object of another shape."""
        try:
            first = data["rounds"][0]
            actors = tuple(dict.fromkeys(str(e["actor"]) for e in first))
            issues = tuple(dict.fromkeys(str(e["issue"]) for e in first))
            n, m = len(actors), len(issues)
            positions = floats(
                [[e["position"] for e in state] for state in data["rounds"]]
            ).reshape(len(data["rounds"]), n, m)
            forecast = floats([data["forecast"][k] for k in issues])
            return cls(
                model=str(data["model"]),
                actors=actors,
                issues=issues,
                positions=positions,
                forecast=forecast,
                params=dict(data.get("params", {})),
                notes=tuple(data.get("notes", ())),
                details=dict(data.get("details", {})),
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"not a trace object: {exc!r}") from None

    def to_dict(self, *, scenario: str, seed: int) -> dict[str, Any]:
        """The documented JSON object (see the README, "JSON output")."""
        pairs = [(a, k) for a in self.actors for k in self.issues]
        # one conversion of the whole array, then Python floats (None where not finite)
        positions = np.asarray(self.positions, dtype=np.float64)
        flat = plain(positions.reshape(len(positions), len(pairs)))
        rounds = [
            [
                {"actor": a, "issue": k, "position": x}
                for (a, k), x in zip(pairs, state, strict=True)
            ]
            for state in flat
        ]
        return {
            "scenario": scenario,
            "model": self.model,
            "seed": seed,
            "forecast": {k: number(v) for k, v in zip(self.issues, self.forecast, strict=True)},
            "rounds": rounds,
            "params": plain(dict(self.params)),
            "notes": list(self.notes),
            "details": plain(dict(self.details)),
        }


@dataclass(frozen=True)
class Labels:
    """Display names for actor and issue ids (the ids themselves where none is given)."""

    actors: Mapping[str, str] = field(default_factory=dict)
    issues: Mapping[str, str] = field(default_factory=dict)

    def actor(self, actor_id: str) -> str:
        return self.actors.get(actor_id, actor_id)

    def issue(self, issue_id: str) -> str:
        return self.issues.get(issue_id, issue_id)
