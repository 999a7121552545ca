"""What the run store keeps about one run: shared by the store, the reports and the web app."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from detente.sim.advise import AdviceResult
    from detente.sim.compare import Comparison
    from detente.sim.discover import DiscoveryResult
    from detente.sim.montecarlo import MCResult
    from detente.sim.sensitivity import SensitivityResult
    from detente.trace import Trace

RunKind = Literal["run", "mc", "compare", "shock", "sensitivity", "advise", "discover"]
"""The command that produced a run (``shock`` = several shocks applied together)."""


class RunSummary(BaseModel):
    """One line of ``detente runs list``: the record without its scenario text and results."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: int
    kind: RunKind
    created_at: datetime = Field(description="when the run was recorded (UTC)")
    scenario_name: str
    scenario_hash: str = Field(description="SHA-256 of the scenario's canonical YAML")
    models: list[str]
    seed: int
    version: str = Field(description="detente's version")


class RunRecord(RunSummary):
    """A whole run: what ran (scenario content, models, parameters, seed) and its results.

    ``results`` is exactly what the command prints with ``--format json``; ``params`` maps
    each model to the parameters given by the user (``{}`` for defaults), plus command options
    (``draws``, ``shocks``, ``method`` ...) under the key ``"options"``.
    """

    scenario_yaml: str
    params: dict[str, Any]
    results: Any

    def result(
        self,
    ) -> list[Trace] | MCResult | Comparison | SensitivityResult | AdviceResult | DiscoveryResult:
        """The results as the objects that made them (``from_dict``): a list of traces for
        ``run``, an ``MCResult``, a ``Comparison`` (``compare``, ``shock``), a
        ``SensitivityResult``, an ``AdviceResult`` (``advise``) or a ``DiscoveryResult``
        (``discover``). Raises ``ValueError`` for results of another shape."""
        if self.kind == "run":
            from detente.trace import Trace

            items = self.results if isinstance(self.results, list) else [self.results]
            return [Trace.from_dict(t) for t in items]
        if self.kind == "mc":
            from detente.sim.montecarlo import MCResult

            return MCResult.from_dict(self.results)
        if self.kind in ("compare", "shock"):
            from detente.sim.compare import Comparison

            return Comparison.from_dict(self.results)
        if self.kind == "advise":
            from detente.sim.advise import AdviceResult

            return AdviceResult.from_dict(self.results)
        if self.kind == "discover":
            from detente.sim.discover import DiscoveryResult

            return DiscoveryResult.from_dict(self.results)
        from detente.sim.sensitivity import SensitivityResult

        return SensitivityResult.from_dict(self.results)
