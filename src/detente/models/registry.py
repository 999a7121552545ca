"""One signature for every model: ``(arrays, rng, params) -> Trace``, and a registry by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.scenario import Scenario, ScenarioArrays
from detente.scenario.batch import ScenarioBatch
from detente.trace import Trace

ModelFunction = Callable[[ScenarioArrays, np.random.Generator, Mapping[str, Any]], Trace]
"""A model: a pure function of the scenario arrays, a random generator and its parameters."""

F = NDArray[np.float64]

BatchFunction = Callable[
    [ScenarioBatch, Mapping[str, Any], Sequence[np.random.SeedSequence]], tuple[F, F]
]
"""A model's batch run: ``(batch, params, streams) -> (forecast[r, issue], centre[r, round,
issue])`` over the ``R`` replicates of ``batch``. ``centre`` is the ``c·s``-weighted median of
the positions after each round (round 0 = the replicate's input), a replicate that stopped
early repeating its final state. Replicate ``r`` gives the forecast a single run of its inputs
gives; a model with ``streams`` draws its randomness from ``streams[r]`` only (as the single
run from ``default_rng(streams[r])``), so chunking never changes a number."""

DEFAULT_SEED = 0


@dataclass(frozen=True)
class Parameter:
    """A model parameter: name, type, default, allowed values and what it does."""

    name: str
    type: type
    default: Any
    doc: str
    choices: tuple[Any, ...] = ()

    def parse(self, value: Any) -> Any:
        """Convert a value from YAML or the command line, or raise ``ValueError``."""
        if isinstance(value, str) and self.type is not str:
            text = value.strip()
            if self.type is bool:
                if text.lower() in {"1", "true", "yes", "on"}:
                    value = True
                elif text.lower() in {"0", "false", "no", "off"}:
                    value = False
                else:
                    raise ValueError(f"{self.name}: expected true or false, got {value!r}")
            else:
                try:
                    value = self.type(text)
                except ValueError:
                    raise ValueError(
                        f"{self.name}: expected {self.type.__name__}, got {value!r}"
                    ) from None
        elif self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.type):
            raise ValueError(f"{self.name}: expected {self.type.__name__}, got {value!r}")
        if self.choices and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise ValueError(f"{self.name}: expected one of {allowed}, got {value!r}")
        return value


@dataclass(frozen=True)
class ModelSpec:
    """A registered model."""

    name: str
    title: str
    summary: str
    function: ModelFunction
    parameters: tuple[Parameter, ...] = ()
    aliases: tuple[str, ...] = field(default_factory=tuple)
    rounds_parameter: str | None = None
    """The parameter that bounds the number of rounds (None: a one-step model)."""
    batch: BatchFunction | None = None
    """Many replicates at once (Monte Carlo, sensitivity, sweeps); see :data:`BatchFunction`."""
    chunk: int = 500
    """Replicates per batch call: fixed, so results never depend on the machine."""
    streams: bool = False
    """Whether batch replicates draw from their own random streams (stochastic models)."""

    def resolve_params(self, *layers: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults, then each layer in turn (scenario file, then command line), checked."""
        known = {p.name: p for p in self.parameters}
        params = {p.name: p.default for p in self.parameters}
        for layer in layers:
            for key, value in layer.items():
                if key not in known:
                    names = ", ".join(known) or "none"
                    raise ValueError(
                        f"model {self.name!r} has no parameter {key!r} (parameters: {names})"
                    )
                params[key] = known[key].parse(value)
        return params


def pad_rounds(a: F, rounds: int) -> F:
    """``a[r, t, ...]`` extended to ``rounds`` along ``t`` by repeating its final state."""
    if a.shape[1] == rounds:
        return a
    tail = np.repeat(a[:, -1:], rounds - a.shape[1], axis=1)
    return np.concatenate([a, tail], axis=1)


_REGISTRY: dict[str, ModelSpec] = {}

BUILTIN = {
    "mean": ("compromise", "weighted-mean"),
    "median": ("weighted-median",),
    "condorcet": (),
    "eu": ("bdm", "expected-utility"),
    "exchange": ("stokman",),
    "nbs": ("nash",),
    "smp": ("ktab",),
    "ensemble": ("stack",),
}
"""detente's models in the order they are listed, with their aliases."""

_HOME = {"mean": "baselines", "median": "baselines", "condorcet": "baselines"}
"""A built-in model's module under :mod:`detente.models` where it is not the model's name."""


def _load(name: str) -> None:
    """Import the module that registers built-in model (or alias) ``name``: a model's code
    loads on first use, so a command pays only for the models it runs."""
    for model, aliases in BUILTIN.items():
        if name == model or name in aliases:
            import_module(f"detente.models.{_HOME.get(model, model)}")
            return


def register(spec: ModelSpec) -> ModelSpec:
    for key in (spec.name, *spec.aliases):
        if key in _REGISTRY:
            raise ValueError(f"model name {key!r} registered twice")
        _REGISTRY[key] = spec
    return spec


def models() -> list[ModelSpec]:
    """Every registered model once: detente's own in :data:`BUILTIN`'s order, then others in
    registration order."""
    for name in BUILTIN:
        if name not in _REGISTRY:
            _load(name)
    seen: dict[str, ModelSpec] = {name: _REGISTRY[name] for name in BUILTIN}
    for spec in _REGISTRY.values():
        seen.setdefault(spec.name, spec)
    return list(seen.values())


def get_model(name: str) -> ModelSpec:
    key = name.lower()
    if key not in _REGISTRY:
        _load(key)
    try:
        return _REGISTRY[key]
    except KeyError:
        names = ", ".join(s.name for s in models())
        raise KeyError(f"unknown model {name!r} (models: {names})") from None


def run(
    scenario: Scenario | ScenarioArrays,
    model: str,
    *,
    seed: int = DEFAULT_SEED,
    params: Mapping[str, Any] | None = None,
) -> Trace:
    """Run one model on a scenario.

    Parameters come from the model's defaults, then ``scenario.parameters[model]``, then
    ``params``. The only source of randomness is ``numpy.random.default_rng(seed)``.

    Examples
    --------
    >>> from detente.io import load_default
    >>> trace = run(load_default(), "mean")
    >>> sorted(trace.forecast_by_issue())[:2]
    ['aid', 'ceasefire']
    """
    spec = get_model(model)
    arrays = scenario.arrays() if isinstance(scenario, Scenario) else scenario
    stored = arrays.parameters.get(spec.name, {})
    resolved = spec.resolve_params(stored, params or {})
    with np.errstate(over="ignore", invalid="ignore"):
        trace = spec.function(arrays, np.random.default_rng(seed), resolved)
    check_finite(trace)
    return trace


class NonFiniteResult(ValueError):
    """A model's positions or forecast overflowed to ±inf (or NaN where every stance exists)."""


def check_finite(trace: Trace) -> None:
    """Raise :class:`NonFiniteResult` naming the model, issue and round of the first bad value.

    NaN means "no stance" in positions and "no forecast" (nobody cares) in a forecast; an
    infinity never means anything, and neither does NaN in a position that had a value.
    """
    bad_forecast = np.isinf(trace.forecast)
    input_missing = np.isnan(trace.positions[0])
    bad_pos = np.isinf(trace.positions) | (np.isnan(trace.positions) & ~input_missing)
    if not (bad_forecast.any() or bad_pos.any()):
        return
    if bad_forecast.any():
        k = int(np.flatnonzero(bad_forecast)[0])
        where = f"a forecast of {trace.forecast[k]} on issue {trace.issues[k]!r}"
    else:
        t, i, k = (int(v) for v in np.argwhere(bad_pos)[0])
        where = (
            f"a position of {trace.positions[t, i, k]} for {trace.actors[i]!r} on issue"
            f" {trace.issues[k]!r} in round {t}"
        )
    raise NonFiniteResult(
        f"model {trace.model!r} gave {where}: the inputs' magnitudes exceed what double"
        " precision holds (rescale capabilities or scales)"
    )
