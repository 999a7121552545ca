"""Bargaining models. Each is a pure function ``(arrays, rng, params) -> Trace``.

A model's module loads when the model is first asked for (:func:`get_model`, :func:`models`),
so a command pays only for the models it runs.
"""

from detente.models.registry import (
    BUILTIN,
    DEFAULT_SEED,
    ModelSpec,
    Parameter,
    get_model,
    models,
    run,
)

__all__ = [
    "BUILTIN",
    "DEFAULT_SEED",
    "ModelSpec",
    "Parameter",
    "get_model",
    "models",
    "run",
]
