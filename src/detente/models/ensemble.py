"""An ensemble: a weighted average of the other models' forecasts, weights fitted on DEU III.

Registered as ``ensemble``. The weights ship with detente in
``detente/data/ensemble-weights.json``. They are fitted by stacking (Breiman 1996): the
non-negative weights, summing to one, that minimise the squared error of the combined forecast
over the issues of the shared DEU III file (``detente backtest FILE --fit-ensemble OUT``
regenerates them, :func:`detente.sim.stacking.fit_ensemble`). How far they are shrunk towards
equal weights is chosen by cross-validation over proposals; the file records the
cross-validated error too (an honest estimate, as the in-sample error on the file the weights
were fitted on is not).

A run runs every model with a positive weight on the scenario, with its own parameters from
the scenario and the same seed, and combines the forecasts issue by issue; a model without a
forecast on an issue (or that cannot run) leaves the others' weights renormalised. The
interval per issue is the range of the combined models' forecasts (``details["interval"]``),
with their weighted standard deviation (``details["spread"]``); ``detente mc --model
ensemble`` gives intervals from the inputs' uncertainty instead.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.models.baselines import input_centre
from detente.models.registry import ModelSpec, Parameter, check_finite, get_model, register
from detente.scenario import ScenarioArrays
from detente.scenario.batch import ScenarioBatch
from detente.trace import Trace

F = NDArray[np.float64]

WEIGHTS_FILE = "data/ensemble-weights.json"
"""The shipped fit, inside the ``detente`` package."""


@functools.cache
def shipped() -> dict[str, Any]:
    """The shipped fit (see the module docstring): models, weights, cross-validation."""
    text = resources.files("detente").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def weights(choice: str = "fitted") -> dict[str, float]:
    """The component models and their weights: ``fitted`` (the shipped fit) or ``equal``."""
    fit = shipped()
    if choice == "equal":
        names = list(fit["models"])
        return dict.fromkeys(names, 1.0 / len(names))
    return {k: float(v) for k, v in fit["weights"].items()}


def combine(weights: Mapping[str, float], forecasts: Mapping[str, F]) -> F:
    """``Σ β_j f_j / Σ β_j`` over the models with a forecast (per issue and replicate).

    Written as the first available forecast plus the weighted differences to it, so that models
    that agree give exactly their common number.

    Examples
    --------
    >>> combine({"a": 0.25, "b": 0.75}, {"a": np.array([0.0, 1.0]), "b": np.array([4.0, np.nan])})
    array([3., 1.])
    """
    names = [k for k in weights if k in forecasts and weights[k] > 0]
    stack = np.stack([np.asarray(forecasts[k], dtype=np.float64) for k in names])
    beta = np.array([weights[k] for k in names])
    ok = np.isfinite(stack)
    b = np.where(ok, beta.reshape((-1,) + (1,) * (stack.ndim - 1)), 0.0)
    total = b.sum(axis=0)
    first_idx = np.argmax(ok, axis=0)
    first = np.take_along_axis(stack, first_idx[None], axis=0)[0]
    diff = np.where(ok, stack - first, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: F = np.where(total > 0, first + (b * diff).sum(axis=0) / total, np.nan)
    return out


def _components(params: Mapping[str, Any]) -> dict[str, float]:
    ws = weights(params["weights"])
    for name in ws:
        try:
            get_model(name)
        except KeyError:
            raise ValueError(
                f"ensemble: the weights name model {name!r}, which is not registered"
            ) from None
    return {k: v for k, v in ws.items() if v > 0}


def _ensemble_model(
    arrays: ScenarioArrays, rng: np.random.Generator, params: Mapping[str, Any]
) -> Trace:
    ws = _components(params)
    # Every component starts from the run's seed, as a run of that model alone would.
    seed = rng.bit_generator.seed_seq
    if not isinstance(seed, np.random.SeedSequence):
        raise ValueError("ensemble: needs a generator made from a seed (numpy default_rng)")
    forecasts: dict[str, F] = {}
    notes: list[str] = []
    for name in ws:
        spec = get_model(name)
        try:
            own = spec.resolve_params(arrays.parameters.get(spec.name, {}))
            with np.errstate(over="ignore", invalid="ignore"):
                trace = spec.function(arrays, np.random.default_rng(seed), own)
            check_finite(trace)
        except ValueError as exc:
            notes.append(f"{name} could not run ({exc}); the others' weights are renormalised")
            continue
        forecasts[name] = trace.forecast
    if not forecasts:
        raise ValueError("ensemble: none of its models could run on this scenario")
    forecast = combine(ws, forecasts)
    names = list(forecasts)
    stack = np.stack([forecasts[k] for k in names])
    beta = np.array([ws[k] for k in names])[:, None]
    ok = np.isfinite(stack)
    with np.errstate(invalid="ignore", divide="ignore"):
        bw = np.where(ok, beta, 0.0)
        var = (bw * np.where(ok, stack - forecast, 0.0) ** 2).sum(axis=0) / bw.sum(axis=0)
        lo = np.where(ok, stack, np.inf).min(axis=0)
        hi = np.where(ok, stack, -np.inf).max(axis=0)
    issues = arrays.issues
    for k, v in zip(issues, forecast, strict=True):
        if np.isnan(v):
            notes.append(f"{k}: no model forecasts this issue; no forecast")
    fit = shipped()
    details = {
        "weights": {k: ws[k] for k in names},
        "forecasts": {
            k: {i: _num(v) for i, v in zip(issues, forecasts[k], strict=True)} for k in names
        },
        "interval": {
            i: [_num(a), _num(b)] if np.isfinite(a) else [None, None]
            for i, a, b in zip(issues, lo, hi, strict=True)
        },
        "spread": {i: _num(np.sqrt(v)) for i, v in zip(issues, var, strict=True)},
        "fit": {
            "source": fit["source"],
            "cv_mae": fit["cv_mae"],
            "shrinkage": fit["shrinkage"],
        },
    }
    return Trace(
        model="ensemble",
        actors=arrays.actors,
        issues=issues,
        positions=np.array(arrays.position, copy=True)[None],
        forecast=forecast,
        params=dict(params),
        notes=tuple(notes),
        details=details,
    )


def _num(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _ensemble_batch(
    b: ScenarioBatch, params: Mapping[str, Any], streams: Sequence[np.random.SeedSequence]
) -> tuple[F, F]:
    ws = _components(params)
    forecasts: dict[str, F] = {}
    for name in ws:
        spec = get_model(name)
        if spec.batch is None:
            raise ValueError(f"ensemble: model {name!r} has no batch run")
        own = spec.resolve_params(b.base.parameters.get(spec.name, {}))
        with np.errstate(over="ignore", invalid="ignore"):
            forecasts[name], _ = spec.batch(b, own, streams if spec.streams else [])
    return combine(ws, forecasts), input_centre(b)


ENSEMBLE = register(
    ModelSpec(
        name="ensemble",
        title="Ensemble (weights fitted on DEU III)",
        summary="Weighted average of the other models' forecasts; weights by stacking on the"
        " shared DEU III file, shrinkage chosen by cross-validation over proposals.",
        function=_ensemble_model,
        batch=_ensemble_batch,
        chunk=50,
        streams=True,
        aliases=("stack",),
        parameters=(
            Parameter(
                "weights",
                str,
                "fitted",
                "fitted: the weights shipped with detente (data/ensemble-weights.json);"
                " equal: the same weight for each of its models",
                choices=("fitted", "equal"),
            ),
        ),
    )
)
