"""Scenarios: actors, issues, stances and their sources. No I/O, no models."""

from detente.scenario.model import (
    Actor,
    Estimate,
    Issue,
    Scale,
    Scenario,
    ScenarioArrays,
    Stance,
    Threshold,
)
from detente.scenario.shocks import (
    AddActor,
    Change,
    ParameterChange,
    RemoveActor,
    Shock,
    ValueChange,
)
from detente.scenario.sources import Anchor, Citation, Judgement, Source, SourceRef
from detente.scenario.uncertainty import Beta, Distribution, Normal, PlusMinus, Triangular, Uniform

__all__ = [
    "Actor",
    "AddActor",
    "Anchor",
    "Beta",
    "Change",
    "Citation",
    "Distribution",
    "Estimate",
    "Issue",
    "Judgement",
    "Normal",
    "ParameterChange",
    "PlusMinus",
    "RemoveActor",
    "Scale",
    "Scenario",
    "ScenarioArrays",
    "Shock",
    "Source",
    "SourceRef",
    "Stance",
    "Threshold",
    "Triangular",
    "Uniform",
    "ValueChange",
]
