"""What several routers use: refusals, the model and its parameters, the seed."""

from __future__ import annotations

import math
from typing import Any, NoReturn

from fastapi import APIRouter, HTTPException

from detente.errors import InputError
from detente.models import DEFAULT_SEED, ModelSpec, get_model
from detente.scenario import Scenario
from detente.store.errors import StoreError
from detente.web.budget import MAX_SEED
from detente.web.guard import StrictJSONRoute
from detente.web.workers import WorkError


def api_router(**options: Any) -> APIRouter:
    """A router whose routes read JSON bodies strictly (no NaN or Infinity)."""
    return APIRouter(route_class=StrictJSONRoute, **options)


def fail(status: int, message: str) -> NoReturn:
    raise HTTPException(status_code=status, detail=message)


def model(name: str) -> ModelSpec:
    """The registered model ``name`` (or alias); 422 naming the models if unknown."""
    try:
        return get_model(name)
    except KeyError as exc:
        fail(422, str(exc.args[0]))


def params(spec: ModelSpec, scenario: Scenario, given: dict[str, Any]) -> dict[str, Any]:
    """The parameters a run will use (defaults, the scenario's, the request's); 422 if bad."""
    try:
        return spec.resolve_params(scenario.parameters.get(spec.name, {}), given)
    except ValueError as exc:
        fail(422, str(exc))


def seed(scenario: Scenario, given: int | None) -> int:
    """The request's seed, else the scenario's, else the default; 422 for a scenario's seed
    the store cannot record (refused now, not after the work)."""
    if given is not None:
        return given  # the request's own seed: bounded by its schema
    if scenario.seed is None:
        return DEFAULT_SEED
    if scenario.seed > MAX_SEED:
        raise HTTPException(
            422,
            [
                {
                    "type": "less_than_equal",
                    "loc": ["body", "scenario", "seed"],
                    "msg": f"Input should be less than or equal to {MAX_SEED}",
                    "input": scenario.seed,
                }
            ],
        )
    return scenario.seed


def error_text(exc: Exception) -> str:
    """A failed job's message."""
    if isinstance(exc, WorkError):
        return exc.detail
    if isinstance(exc, StoreError):
        return f"run store: {exc}"
    if isinstance(exc, ValueError | InputError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def finite(value: Any) -> Any:
    """Validation errors as JSON: non-finite numbers (which JSON has not) as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def default_chunk(spec: ModelSpec) -> int:
    """Replicates per Monte Carlo chunk the library uses for ``spec`` (the registry's)."""
    return max(1, int(spec.chunk))
