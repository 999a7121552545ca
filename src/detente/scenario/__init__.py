"""Scenarios: actors, issues, stances and their sources. No I/O, no models."""

from detente.scenario.model import (
    Actor,
    Estimate,
    Issue,
    Scale,
    Scenario,
    ScenarioArrays,
    Stance,
)
from detente.scenario.sources import Anchor, Citation, Judgement, Source, SourceRef

__all__ = [
    "Actor",
    "Anchor",
    "Citation",
    "Estimate",
    "Issue",
    "Judgement",
    "Scale",
    "Scenario",
    "ScenarioArrays",
    "Source",
    "SourceRef",
    "Stance",
]
