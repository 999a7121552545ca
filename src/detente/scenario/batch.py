"""A scenario's inputs for many replicates at once: what batch runs of the models take."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from detente.scenario.model import ScenarioArrays

F = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ScenarioBatch:
    """A scenario's inputs for ``R`` replicates.

    ``capability[R, actor]``, ``position[R, actor, issue]`` (NaN where an actor has no stance),
    ``salience[R, actor, issue]`` (0 there); ``base`` holds the labels, scales, risk
    attitudes and parameters shared by all replicates (and the point estimates).
    """

    base: ScenarioArrays
    capability: F
    position: F
    salience: F
    notes: tuple[str, ...] = ()
    """Remarks on the draws (e.g. draws of a causal map's weights under which it did not
    settle)."""

    @property
    def replicates(self) -> int:
        """Number of replicates ``R``."""
        return int(self.capability.shape[0])

    def slice(self, start: int, stop: int) -> ScenarioBatch:
        """Replicates ``start`` to ``stop`` (exclusive)."""
        return ScenarioBatch(
            self.base,
            self.capability[start:stop],
            self.position[start:stop],
            self.salience[start:stop],
            self.notes,
        )

    def replicate(self, r: int) -> ScenarioArrays:
        """Replicate ``r`` as the arrays of a single run (for the models' own functions)."""
        return dataclasses.replace(
            self.base,
            capability=_frozen(self.capability[r].copy()),
            position=_frozen(self.position[r].copy()),
            salience=_frozen(self.salience[r].copy()),
        )


def _frozen(a: F) -> F:
    a.flags.writeable = False
    return a
