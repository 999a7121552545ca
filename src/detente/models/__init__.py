"""Bargaining models. Each is a pure function ``(arrays, rng, params) -> Trace``."""

from detente.models import baselines as baselines
from detente.models import eu as eu
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
    "eu",
    "get_model",
    "models",
    "run",
    "smp",
]
