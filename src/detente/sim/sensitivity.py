"""Global sensitivity analysis: which uncertain inputs move each issue's forecast.

SALib (the optional ``sensitivity`` extra) samples and analyses; detente builds the problem and
evaluates the model. The **problem** has one input per uncertain estimate of the scenario,
named by its dotted path (``russia.territory.position``, ``usa.capability``), with bounds from
its ``uncertainty``:

* ``±x``: ``[value − x, value + x]``; ``uniform`` and ``triangular``: ``[low, high]``;
  ``normal``: ``value ± 2 sd``; each clipped to the valid range;
* ``beta``: the whole valid range (the issue's scale, or [0, 1] for a salience).

A capability's lower bound is at least 1 % of its value (models need capabilities > 0).
Estimates without uncertainty stay fixed. A scenario with no uncertainty at all gets a default
:class:`Spread` on every estimate (positions ±10 % of the scale, saliences ±0.1, capabilities
±20 %) and a note saying so. SALib samples uniformly within the bounds: this asks how much
each input *could* move the forecast over its plausible range, not how likely each value is.

Methods: ``sobol`` (Saltelli's scheme, ``SALib.sample.sobol``; ``N`` base samples, a power of
2, ``N·(D + 2)`` evaluations; first-order ``S1`` and total ``ST`` indices with 95 % bootstrap
confidence) and ``morris`` (``N`` trajectories on a 4-level grid, ``N·(D + 1)`` evaluations;
``mu_star``, ``sigma``). All samples become one :class:`~detente.sim.draws.Batch` evaluated by
the Monte Carlo runners of :mod:`detente.sim.montecarlo` (a batch kernel per model, in chunks
of the model's ``chunk`` samples, to bound memory; never a loop over samples).
The chunks go to an executor of :mod:`detente.sim.executors` (``run_chunk``, module-level)
and their outputs are put together in chunk order, so every executor and worker count gives
the same numbers.
The one seed goes to SALib's sampler and bootstrap (``seed=``) and to stochastic models, so the
same seed gives the same numbers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from detente.models import get_model
from detente.models.streams import ReplicateStreams
from detente.scenario import Estimate, Scenario
from detente.scenario.batch import ScenarioBatch as Batch
from detente.scenario.uncertainty import Beta, Normal, PlusMinus, Triangular, Uniform
from detente.serial import number, plain
from detente.sim.executors import Executor
from detente.sim.montecarlo import Progress, batch_function, run_chunks

if TYPE_CHECKING:
    import pandas as pd

F = NDArray[np.float64]

METHODS = ("sobol", "morris")
"""The analysis methods."""

DEFAULT_SAMPLES = {"sobol": 256, "morris": 32}
"""Default ``N``: Sobol base samples (a power of 2), Morris trajectories."""

MORRIS_LEVELS = 4
"""Grid levels of the Morris design (the same number goes to the analysis)."""

SALIB_EXTRA = (
    "sensitivity analysis needs the 'sensitivity' extra: pip install 'detente[sensitivity]'"
)

_CAPABILITY_FLOOR = 0.01
"""A capability's lower bound is at least this fraction of its value."""


class MissingSALibError(RuntimeError):
    """SALib is not installed; the message says how to install it."""


@dataclass(frozen=True)
class Spread:
    """Default bounds for a scenario without any uncertainty: positions ± ``position`` × the
    issue's scale width, saliences ± ``salience``, capabilities × (1 ± ``capability``)."""

    position: float = 0.10
    salience: float = 0.10
    capability: float = 0.20

    def __post_init__(self) -> None:
        for name in ("position", "salience", "capability"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"spread {name} must be a finite number > 0, got {v}")
        if self.capability >= 1:
            raise ValueError(f"spread capability must be < 1, got {self.capability}")


@dataclass(frozen=True)
class Input:
    """One input of the problem: its name, where it sits, its point value and bounds.

    ``col`` is its column in the flat layout ``[capability (n), position (n·m), salience
    (n·m)]`` of :func:`detente.sim.draws.draw`; ``bounds`` says where the bounds came from.
    """

    name: str
    col: int
    value: float
    low: float
    high: float
    bounds: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "col": self.col,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "bounds": self.bounds,
        }


def _bounds(e: Estimate, low: float, high: float) -> tuple[float, float, str]:
    v, u = e.value, e.uncertainty
    if isinstance(u, PlusMinus):
        lo, hi, text = v - u.width, v + u.width, f"±{u.width:g}"
    elif isinstance(u, Uniform | Triangular):
        lo, hi, text = u.low, u.high, f"{u.dist} [{u.low:g}, {u.high:g}]"
    elif isinstance(u, Normal):
        lo, hi, text = v - 2 * u.sd, v + 2 * u.sd, f"normal sd {u.sd:g} (±2 sd)"
    elif isinstance(u, Beta):
        lo, hi, text = low, high, f"beta({u.a:g}, {u.b:g}) (valid range)"
    else:  # pragma: no cover - every distribution is handled above
        raise TypeError(f"unknown uncertainty {u!r}")
    return max(lo, low), min(hi, high), text


def inputs(scenario: Scenario, spread: Spread | None = None) -> tuple[list[Input], list[str]]:
    """The problem's inputs (scenario order: capabilities, then per actor positions and
    saliences issue by issue) and notes (e.g. that the default spread was used).

    Examples
    --------
    >>> from detente.io import load_default
    >>> found, notes = inputs(load_default())
    >>> found[0].name, notes
    ('nato.capability', [])
    """
    n, m = len(scenario.actors), len(scenario.issues)
    use_spread = not any(e.uncertainty is not None for _, e in scenario.estimates())
    sp = spread or Spread()
    out: list[Input] = []

    def add(name: str, col: int, e: Estimate, low: float, high: float, kind: str) -> None:
        if use_spread:
            v = e.value
            if kind == "capability":
                lo, hi = v * (1 - sp.capability), v * (1 + sp.capability)
                text = f"spread ±{sp.capability:.0%}"
            elif kind == "salience":
                lo, hi, text = v - sp.salience, v + sp.salience, f"spread ±{sp.salience:g}"
            else:
                w = sp.position * (high - low)
                lo, hi, text = v - w, v + w, f"spread ±{sp.position:.0%} of scale"
            lo, hi = max(lo, low), min(hi, high)
        elif e.uncertainty is None:
            return
        else:
            lo, hi, text = _bounds(e, low, high)
        if kind == "capability":
            lo = max(lo, _CAPABILITY_FLOOR * e.value)
        out.append(Input(name, col, e.value, float(lo), float(hi), text))

    for i, actor in enumerate(scenario.actors):
        add(f"{actor.id}.capability", i, actor.capability, 0.0, math.inf, "capability")
    for i, actor in enumerate(scenario.actors):
        for k, issue in enumerate(scenario.issues):
            stance = actor.stances.get(issue.id)
            if stance is None:
                continue
            s = issue.scale
            add(
                f"{actor.id}.{issue.id}.position",
                n + i * m + k,
                stance.position,
                s.min,
                s.max,
                "position",
            )
            add(
                f"{actor.id}.{issue.id}.salience",
                n + n * m + i * m + k,
                stance.salience,
                0.0,
                1.0,
                "salience",
            )
    # Capabilities first (as in the draws): sort by flat column, which orders exactly so.
    out.sort(key=lambda x: x.col)
    notes: list[str] = []
    if use_spread:
        notes.append(
            f"the scenario gives no uncertainty: every estimate varies by the default spread"
            f" (positions ±{sp.position:.0%} of the scale, saliences ±{sp.salience:g},"
            f" capabilities ±{sp.capability:.0%})"
        )
    return out, notes


def problem(found: Sequence[Input]) -> dict[str, Any]:
    """The SALib problem dictionary of the inputs."""
    return {
        "num_vars": len(found),
        "names": [x.name for x in found],
        "bounds": [[x.low, x.high] for x in found],
    }


@dataclass(frozen=True)
class Ranked:
    """One input's indices for one issue (``sobol``: S1, S1_conf, ST, ST_conf; ``morris``:
    mu, mu_star, mu_star_conf, sigma)."""

    input: str
    values: Mapping[str, float]


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """The outcome of :func:`analyse`.

    ``ranking[issue]`` lists every input, most influential first (by ``ST`` for sobol,
    ``mu_star`` for morris; ties in scenario order); it is empty for an issue that could not
    be analysed (a note says why). ``outputs[sample, issue]`` holds the model's forecasts.
    """

    scenario: str
    model: str
    method: str
    seed: int
    samples: int
    params: Mapping[str, Any]
    inputs: tuple[Input, ...]
    issues: tuple[str, ...]
    ranking: Mapping[str, tuple[Ranked, ...]]
    outputs: F | None
    """``outputs[sample, issue]``, kept in the process; ``None`` after :meth:`from_dict`."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    n_evaluations: int | None = None

    @property
    def key(self) -> str:
        """The index that ranks the inputs."""
        return "ST" if self.method == "sobol" else "mu_star"

    @property
    def metrics(self) -> tuple[str, ...]:
        """The indices each :class:`Ranked` holds, in display order."""
        if self.method == "sobol":
            return ("S1", "S1_conf", "ST", "ST_conf")
        return ("mu_star", "mu_star_conf", "sigma", "mu")

    @property
    def evaluations(self) -> int:
        """Number of model evaluations."""
        if self.outputs is not None:
            return int(self.outputs.shape[0])
        return int(self.n_evaluations or 0)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SensitivityResult:
        """The result of a :meth:`to_dict` object (``from_dict(d).to_dict() == d``); the raw
        outputs are not part of it."""
        try:
            issues = tuple(data["issues"])
            return cls(
                scenario=str(data["scenario"]),
                model=str(data["model"]),
                method=str(data["method"]),
                seed=int(data["seed"]),
                samples=int(data["samples"]),
                params=dict(data["params"]),
                inputs=tuple(
                    Input(
                        str(x["name"]),
                        int(x["col"]),
                        float(x["value"]),
                        float(x["low"]),
                        float(x["high"]),
                        str(x["bounds"]),
                    )
                    for x in data["inputs"]
                ),
                issues=issues,
                ranking={
                    k: tuple(
                        Ranked(
                            str(r["input"]),
                            {
                                m: math.nan if v is None else float(v)
                                for m, v in r.items()
                                if m != "input"
                            },
                        )
                        for r in data["issues"][k]
                    )
                    for k in issues
                },
                outputs=None,
                notes=tuple(data["notes"]),
                n_evaluations=int(data["evaluations"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a sensitivity result: {exc!r}") from None

    def to_frame(self) -> pd.DataFrame:
        """Tidy table ``model, issue, input, metric, value`` (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {"model": self.model, "issue": k, "input": r.input, "metric": m, "value": v}
                for k in self.issues
                for r in self.ranking[k]
                for m, v in r.values.items()
            ],
            columns=["model", "issue", "input", "metric", "value"],
        )

    def index(self, issue: str, metric: str) -> dict[str, float]:
        """``{input: value}`` of one metric for one issue."""
        return {r.input: r.values[metric] for r in self.ranking[issue]}

    def to_dict(self) -> dict[str, Any]:
        """Everything but the raw outputs; no timings (the same seed gives identical output)."""
        return {
            "scenario": self.scenario,
            "model": self.model,
            "method": self.method,
            "seed": self.seed,
            "samples": self.samples,
            "evaluations": self.evaluations,
            "params": plain(dict(self.params)),
            "ranked_by": self.key,
            "inputs": [x.to_dict() for x in self.inputs],
            "issues": {
                k: [
                    {"input": r.input, **{m: number(r.values[m]) for m in self.metrics}}
                    for r in self.ranking[k]
                ]
                for k in self.issues
            },
            "notes": list(self.notes),
        }


def _salib() -> tuple[Any, Any, Any, Any]:
    try:
        from SALib.analyze import morris as analyze_morris
        from SALib.analyze import sobol as analyze_sobol
        from SALib.sample import morris as sample_morris
        from SALib.sample import sobol as sample_sobol
    except ImportError:
        raise MissingSALibError(SALIB_EXTRA) from None
    return sample_sobol, analyze_sobol, sample_morris, analyze_morris


def batch(scenario: Scenario, found: Sequence[Input], x: F) -> Batch:
    """The scenario's inputs with the columns of ``found`` set from ``x[sample, input]``."""
    base = scenario.arrays()
    n, m = base.position.shape
    flat = np.concatenate([base.capability, base.position.ravel(), base.salience.ravel()])
    s = x.shape[0]
    out = np.broadcast_to(flat, (s, flat.size)).copy()
    out[:, np.array([i.col for i in found], dtype=np.intp)] = x
    return Batch(
        base,
        out[:, :n],
        out[:, n : n + n * m].reshape(s, n, m),
        out[:, n + n * m :].reshape(s, n, m),
    )


def analyse(
    scenario: Scenario,
    model: str,
    method: str = "sobol",
    samples: int | None = None,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    spread: Spread | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> SensitivityResult:
    """Rank the scenario's uncertain inputs by how much they move each issue's forecast.

    Parameters
    ----------
    scenario
        The scenario; its estimates' ``uncertainty`` gives the inputs and their bounds.
    model
        A registered model name or alias.
    method
        ``"sobol"`` or ``"morris"``.
    samples
        Sobol: base samples ``N`` (rounded up to a power of 2, with a note); Morris:
        trajectories. Default :data:`DEFAULT_SAMPLES`.
    seed
        Seed of SALib's sampling and bootstrap and of stochastic models.
    params
        Model parameters over those of the scenario file.
    spread
        Bounds used when the scenario has no uncertainty at all (default :class:`Spread`).
    progress
        Called as ``progress(done, total)`` as each chunk of evaluations completes (in order
        of completion).
    executor
        Where the chunks run (:mod:`detente.sim.executors`; default in-process). The chunks
        and their random streams are the same whatever the executor and its number of
        workers, and the outputs are assembled in chunk order, so the results are identical
        bit for bit.

    Raises
    ------
    ValueError
        Unknown method, bad ``samples`` or parameters, inputs the model cannot run.
    MissingSALibError
        SALib is not installed.

    Examples
    --------
    >>> from detente.io import load_default
    >>> res = analyse(load_default(), "mean", "morris", samples=4, seed=1)
    >>> res.ranking["territory"][0].input
    'usa.territory.position'
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (methods: {', '.join(METHODS)})")
    spec = get_model(model)
    n_base = DEFAULT_SAMPLES[method] if samples is None else int(samples)
    minimum = 2 if method == "morris" else 1
    if n_base < minimum:
        raise ValueError(f"samples must be at least {minimum} for {method}, got {n_base}")
    notes: list[str] = []
    if method == "sobol" and n_base & (n_base - 1):
        rounded = 1 << (n_base - 1).bit_length()
        notes.append(f"sobol needs a power of 2 base samples: {n_base} rounded up to {rounded}")
        n_base = rounded
    sample_sobol, analyze_sobol, sample_morris, analyze_morris = _salib()
    base = scenario.arrays()
    resolved = spec.resolve_params(base.parameters.get(spec.name, {}), params or {})
    batch_function(spec.name)  # fails early for a model without a batch run
    found, input_notes = inputs(scenario, spread)
    notes[:0] = input_notes
    prob = problem(found)
    if method == "sobol":
        x = sample_sobol.sample(prob, n_base, calc_second_order=False, seed=seed)
    else:
        x = sample_morris.sample(prob, n_base, num_levels=MORRIS_LEVELS, seed=seed)
    x = np.asarray(x, dtype=np.float64)
    b = batch(scenario, found, x)
    total = b.replicates
    # SeedSequence(seed).spawn(total), each child made only if its evaluation draws
    seqs = ReplicateStreams(np.random.SeedSequence(seed), 0, total) if spec.streams else []
    size = spec.chunk
    results = run_chunks(spec.name, b, resolved, seqs, size, executor, progress)
    y = np.concatenate([f for f, _centre in results], axis=0).reshape(total, len(base.issues))
    ranking: dict[str, tuple[Ranked, ...]] = {}
    for j, issue_id in enumerate(base.issues):
        col = y[:, j]
        if np.isnan(col).any():
            bad = int(np.isnan(col).sum())
            notes.append(f"{issue_id}: no forecast in {bad} of {total} evaluations; not analysed")
            ranking[issue_id] = ()
            continue
        if np.ptp(col) == 0.0:
            notes.append(f"{issue_id}: the forecast is the same in every evaluation")
            zero = dict.fromkeys(
                ("S1", "S1_conf", "ST", "ST_conf", "mu", "mu_star", "mu_star_conf", "sigma"), 0.0
            )
            ranking[issue_id] = tuple(Ranked(i.name, zero) for i in found)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "sobol":
                # SALib seeds its bootstrap only ``if seed:``, so seed 0 would draw from
                # NumPy's global state; a SeedSequence gives default_rng(seed)'s exact stream.
                res = analyze_sobol.analyze(
                    prob,
                    col,
                    calc_second_order=False,
                    conf_level=0.95,
                    seed=np.random.SeedSequence(seed),
                )
                keys = ("S1", "S1_conf", "ST", "ST_conf")
            else:
                res = analyze_morris.analyze(
                    prob, x, col, conf_level=0.95, num_levels=MORRIS_LEVELS, seed=seed
                )
                keys = ("mu", "mu_star", "mu_star_conf", "sigma")
        rows = [
            Ranked(inp.name, {k: float(np.asarray(res[k])[d]) for k in keys})
            for d, inp in enumerate(found)
        ]
        key = "ST" if method == "sobol" else "mu_star"
        order = sorted(
            range(len(rows)),
            key=lambda d: (math.isnan(rows[d].values[key]), -np.nan_to_num(rows[d].values[key])),
        )
        ranking[issue_id] = tuple(rows[d] for d in order)
    return SensitivityResult(
        scenario=scenario.name,
        model=spec.name,
        method=method,
        seed=seed,
        samples=n_base,
        params=resolved,
        inputs=tuple(found),
        issues=base.issues,
        ranking=ranking,
        outputs=y,
        notes=tuple(notes),
    )
