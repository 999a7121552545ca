"""Scenarios: actors, issues, stances and their sources. No I/O, no models."""

from detente.scenario.causal import CausalMap, Concept, Edge, Link
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
    LeverChange,
    ParameterChange,
    RemoveActor,
    Shock,
    ValueChange,
)
from detente.scenario.sources import Anchor, Citation, Judgement, Source, SourceRef
from detente.scenario.summit import SummitSpec
from detente.scenario.uncertainty import Beta, Distribution, Normal, PlusMinus, Triangular, Uniform

__all__ = [
    "Actor",
    "AddActor",
    "Anchor",
    "Beta",
    "CausalMap",
    "Change",
    "Citation",
    "Concept",
    "Distribution",
    "Edge",
    "Estimate",
    "Issue",
    "Judgement",
    "LeverChange",
    "Link",
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
    "SummitSpec",
    "Threshold",
    "Triangular",
    "Uniform",
    "ValueChange",
]
