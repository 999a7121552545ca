"""Bargaining models. Each is a pure function ``(arrays, rng, params) -> Trace``."""

from detente.models import baselines as baselines
from detente.models import eu as eu
from detente.models import exchange as exchange
from detente.models import nbs as nbs
from detente.models import smp as smp
from detente.models.registry import (
    DEFAULT_SEED,
    ModelSpec,
    Parameter,
    get_model,
    models,
    run,
)

__all__ = [
    "DEFAULT_SEED",
    "ModelSpec",
    "Parameter",
    "baselines",
    "ensemble",
    "eu",
    "exchange",
    "get_model",
    "models",
    "nbs",
    "run",
    "smp",
]

# The ensemble combines the models above: registered (and listed) after them.
from detente.models import ensemble as ensemble
