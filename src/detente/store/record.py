"""What the run store keeps about one run: shared by the store, the reports and the web app."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunKind = Literal["run", "mc", "compare", "shock", "sensitivity"]
"""The command that produced a run (``shock`` = several shocks applied together)."""


class RunSummary(BaseModel):
    """One line of ``detente runs list``: the record without its scenario text and results."""

    model_config = ConfigDict(frozen=True)

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
