"""Scenario discovery: under which of the uncertain inputs does an outcome happen?

:func:`discover` runs the Monte Carlo of :func:`detente.sim.montecarlo.monte_carlo` (the same
draws for the same seed), marks the draws whose forecast meets a threshold such as
``territory >= 80`` (:func:`parse_threshold`), and runs PRIM (:mod:`detente.sim.prim`,
Friedman & Fisher 1999) over the drawn inputs: every capability, position and salience that
carries an ``uncertainty``, named by its dotted path (``usa.ceasefire.position``). The result
is a few boxes of input ranges with their coverage (the share of the draws with the outcome
that lie in the box) and density (the share of the box's draws with the outcome), and the
peeling trajectory each box came from. See ``docs/discover.md``.

A draw without a forecast on the issue (nobody weighs it) does not meet the threshold. With a
stochastic model (``smp`` under its stochastic settings) the outcome also depends on the
model's own randomness, which is no input: the boxes explain what the inputs can.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from detente.models import get_model
from detente.scenario import Scenario, Threshold
from detente.serial import number, plain
from detente.sim.executors import Executor
from detente.sim.montecarlo import Progress, input_draws, monte_carlo
from detente.sim.prim import PrimResult, prim

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_DRAWS = 1000
"""Draws when none are asked for (as ``detente mc``)."""

NOISY = 0.05
"""A restriction whose quasi-p-value exceeds this is flagged as possibly noise."""

_THRESHOLD = re.compile(
    r"^\s*(?P<lhs>.*?)\s*(?P<op>>=|<=|=>|=<|≥|≤|>|<)\s*"
    r"(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*$"
)
_OPS = {">=": ">=", "=>": ">=", "≥": ">=", "<=": "<=", "=<": "<=", "≤": "<=", ">": ">", "<": "<"}


def parse_threshold(text: str, scenario: Scenario) -> Threshold:
    """``"territory >= 80"`` as a :class:`~detente.scenario.Threshold` of ``scenario``.

    The left side is an issue id or an issue's label (any case); the operator one of ``>=``,
    ``>``, ``<=``, ``<`` (or ``≥``, ``≤``); the right side a number. Anything else raises
    ``ValueError`` saying what was expected.

    Examples
    --------
    >>> from detente.io import load_default
    >>> parse_threshold("Territory >= 80", load_default()).condition
    'territory ≥ 80'
    """
    if len(text) > 200:
        raise ValueError("expected a threshold such as 'territory >= 80', got a long text")
    match = _THRESHOLD.match(text)
    if match is None or not match["lhs"]:
        raise ValueError(
            f"expected ISSUE OP NUMBER such as 'territory >= 80' (OP one of >=, >, <=, <),"
            f" got {text!r}"
        )
    lhs = match["lhs"].strip().strip("'\"")
    issue = next((i for i in scenario.issues if i.id == lhs), None)
    if issue is None:
        folded = lhs.casefold()
        found = [i for i in scenario.issues if folded in (i.id.casefold(), i.title.casefold())]
        if len(found) != 1:
            names = ", ".join(i.id for i in scenario.issues)
            raise ValueError(f"unknown issue {lhs!r} in {text!r} (issues: {names})")
        issue = found[0]
    value = float(match["num"])
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number in {text!r}, got {match['num']!r}")
    scale = issue.scale
    if not scale.min <= value <= scale.max:
        raise ValueError(
            f"{match['num']} lies outside the scale of {issue.id} [{scale.min:g}, {scale.max:g}]"
        )
    return Threshold(issue=issue.id, op=_OPS[match["op"]], value=value)


@dataclass(frozen=True)
class Restriction:
    """One input a box restricts: its range in the box, its range over the draws, and the
    quasi-p-value of the restriction."""

    input: str
    lower: float
    upper: float
    low: float
    high: float
    qp: float

    @property
    def noisy(self) -> bool:
        """Whether the restriction may be noise (quasi-p-value above :data:`NOISY`)."""
        return not self.qp <= NOISY

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "lower": number(self.lower),
            "upper": number(self.upper),
            "low": number(self.low),
            "high": number(self.high),
            "qp": number(self.qp),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Restriction:
        return cls(
            str(d["input"]),
            _f(d["lower"]),
            _f(d["upper"]),
            _f(d["low"]),
            _f(d["high"]),
            _f(d["qp"]),
        )


@dataclass(frozen=True)
class TrajectoryPoint:
    """One peeled box: coverage, density, mass and the inputs it restricts (with ranges)."""

    coverage: float
    density: float
    mass: float
    limits: Mapping[str, tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "coverage": number(self.coverage),
            "density": number(self.density),
            "mass": number(self.mass),
            "limits": {k: [number(a), number(b)] for k, (a, b) in self.limits.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrajectoryPoint:
        return cls(
            _f(d["coverage"]),
            _f(d["density"]),
            _f(d["mass"]),
            {str(k): (_f(v[0]), _f(v[1])) for k, v in d["limits"].items()},
        )


@dataclass(frozen=True)
class DiscoveredBox:
    """A box of input ranges: how much of the outcome it covers, how dense it is, which inputs
    it restricts, and the trajectory it was picked from (``selected``, then ``pasted`` steps).
    """

    coverage: float
    density: float
    mass: float
    cases: int
    hits: int
    restrictions: tuple[Restriction, ...]
    trajectory: tuple[TrajectoryPoint, ...]
    selected: int
    pasted: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "coverage": number(self.coverage),
            "density": number(self.density),
            "mass": number(self.mass),
            "cases": self.cases,
            "hits": self.hits,
            "restrictions": [r.to_dict() for r in self.restrictions],
            "selected": self.selected,
            "pasted": self.pasted,
            "trajectory": [t.to_dict() for t in self.trajectory],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DiscoveredBox:
        return cls(
            coverage=_f(d["coverage"]),
            density=_f(d["density"]),
            mass=_f(d["mass"]),
            cases=int(d["cases"]),
            hits=int(d["hits"]),
            restrictions=tuple(Restriction.from_dict(r) for r in d["restrictions"]),
            trajectory=tuple(TrajectoryPoint.from_dict(t) for t in d["trajectory"]),
            selected=int(d["selected"]),
            pasted=int(d["pasted"]),
        )


def _f(x: Any) -> float:
    return math.nan if x is None else float(x)


@dataclass(frozen=True, eq=False)
class DiscoveryResult:
    """The outcome of :func:`discover`.

    Attributes
    ----------
    scenario, model, seed, draws, params
        What ran.
    threshold
        The outcome looked for.
    inputs
        The uncertain inputs PRIM searched, by dotted path.
    cases
        Draws with the outcome (``base_rate = cases / draws``).
    boxes
        The boxes found, in the order found (covering).
    settings
        PRIM's ``alpha``, ``min_mass``, ``min_coverage``, ``paste`` and ``max_boxes``.
    """

    scenario: str
    model: str
    seed: int
    draws: int
    params: Mapping[str, Any]
    threshold: Threshold
    inputs: tuple[str, ...]
    cases: int
    boxes: tuple[DiscoveredBox, ...]
    settings: Mapping[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def base_rate(self) -> float:
        """The share of draws with the outcome."""
        return self.cases / self.draws if self.draws else math.nan

    def to_frame(self) -> pd.DataFrame:
        """Tidy table, one row per restricted input of each box: ``model, box, coverage,
        density, mass, input, lower, upper, low, high, qp`` (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "model": self.model,
                    "box": b,
                    "coverage": box.coverage,
                    "density": box.density,
                    "mass": box.mass,
                    "input": r.input,
                    "lower": r.lower,
                    "upper": r.upper,
                    "low": r.low,
                    "high": r.high,
                    "qp": r.qp,
                }
                for b, box in enumerate(self.boxes, start=1)
                for r in box.restrictions
            ],
            columns=[
                "model",
                "box",
                "coverage",
                "density",
                "mass",
                "input",
                "lower",
                "upper",
                "low",
                "high",
                "qp",
            ],
        )

    def trajectory_frame(self) -> pd.DataFrame:
        """Tidy table ``box, step, coverage, density, mass, restricted, selected``."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "box": b,
                    "step": t,
                    "coverage": p.coverage,
                    "density": p.density,
                    "mass": p.mass,
                    "restricted": len(p.limits),
                    "selected": t == box.selected,
                }
                for b, box in enumerate(self.boxes, start=1)
                for t, p in enumerate(box.trajectory)
            ],
            columns=["box", "step", "coverage", "density", "mass", "restricted", "selected"],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; no timings, so the same inputs and seed give the same bytes."""
        return {
            "scenario": self.scenario,
            "model": self.model,
            "seed": self.seed,
            "draws": self.draws,
            "params": plain(dict(self.params)),
            "threshold": self.threshold.model_dump(mode="json", exclude_none=True),
            "inputs": list(self.inputs),
            "cases": self.cases,
            "base_rate": number(self.base_rate),
            "settings": plain(dict(self.settings)),
            "boxes": [b.to_dict() for b in self.boxes],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DiscoveryResult:
        """The result of a :meth:`to_dict` object (``from_dict(d).to_dict() == d``). Raises
        ``ValueError`` for an object of another shape."""
        try:
            return cls(
                scenario=str(data["scenario"]),
                model=str(data["model"]),
                seed=int(data["seed"]),
                draws=int(data["draws"]),
                params=dict(data["params"]),
                threshold=Threshold.model_validate(data["threshold"]),
                inputs=tuple(str(x) for x in data["inputs"]),
                cases=int(data["cases"]),
                boxes=tuple(DiscoveredBox.from_dict(b) for b in data["boxes"]),
                settings=dict(data["settings"]),
                notes=tuple(str(n) for n in data["notes"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a discovery result: {exc!r}") from None


def uncertain_inputs(scenario: Scenario) -> list[tuple[str, int]]:
    """Every estimate with an uncertainty: its dotted path and its column in the flat layout
    ``[capability (n), position (n·m), salience (n·m)]`` of the draws, in that order."""
    n, m = len(scenario.actors), len(scenario.issues)
    out: list[tuple[str, int]] = []
    for i, actor in enumerate(scenario.actors):
        if actor.capability.uncertainty is not None:
            out.append((f"{actor.id}.capability", i))
    for kind, offset in (("position", n), ("salience", n + n * m)):
        for i, actor in enumerate(scenario.actors):
            for k, issue in enumerate(scenario.issues):
                stance = actor.stances.get(issue.id)
                if stance is not None and getattr(stance, kind).uncertainty is not None:
                    out.append((f"{actor.id}.{issue.id}.{kind}", offset + i * m + k))
    out.sort(key=lambda t: t[1])
    return out


def discover(
    scenario: Scenario,
    threshold: Threshold | str,
    model: str = "median",
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    *,
    params: Mapping[str, Any] | None = None,
    alpha: float = 0.05,
    min_mass: float = 0.05,
    min_coverage: float = 0.5,
    paste: bool = True,
    max_boxes: int = 3,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> DiscoveryResult:
    """Find the ranges of the uncertain inputs under which the forecast meets ``threshold``.

    Parameters
    ----------
    scenario
        The scenario; the estimates with an ``uncertainty`` are PRIM's inputs.
    threshold
        The outcome: a :class:`~detente.scenario.Threshold` or text for
        :func:`parse_threshold` (``"territory >= 80"``).
    model, draws, seed, params, progress, executor
        The Monte Carlo run, as for :func:`~detente.sim.montecarlo.monte_carlo` (the same
        seed gives the same draws, and every executor the same numbers).
    alpha, min_mass, min_coverage, paste, max_boxes
        PRIM's settings (:func:`detente.sim.prim.prim`).

    Returns
    -------
    DiscoveryResult

    Raises
    ------
    ValueError
        A threshold that cannot be read, a scenario without uncertain inputs, bad settings.

    Examples
    --------
    >>> from detente.io import load_default
    >>> res = discover(load_default(), "territory >= 60", "median", draws=300, seed=1)
    >>> 0.0 <= res.base_rate <= 1.0
    True
    """
    cond = parse_threshold(threshold, scenario) if isinstance(threshold, str) else threshold
    if cond.issue not in {i.id for i in scenario.issues}:
        known = ", ".join(i.id for i in scenario.issues)
        raise ValueError(f"unknown issue {cond.issue!r} (issues: {known})")
    found = uncertain_inputs(scenario)
    if not found:
        raise ValueError(
            f"scenario {scenario.name!r} gives no input an uncertainty: there is nothing to"
            " discover (add an `uncertainty` to the estimates you are unsure of)"
        )
    spec = get_model(model)
    settings = {
        "alpha": alpha,
        "min_mass": min_mass,
        "min_coverage": min_coverage,
        "paste": paste,
        "max_boxes": max_boxes,
    }
    mc = monte_carlo(
        scenario, spec.name, draws, seed, params=params, progress=progress, executor=executor
    )
    batch, _ = input_draws(scenario, draws, seed, streams=False)
    flat = np.concatenate(
        [
            batch.capability,
            batch.position.reshape(draws, -1),
            batch.salience.reshape(draws, -1),
        ],
        axis=1,
    )
    names = [name for name, _ in found]
    x = flat[:, [col for _, col in found]]
    k = mc.issues.index(cond.issue)
    y = cond.holds(mc.forecasts[:, k])
    notes = list(mc.notes)
    if spec.streams:
        notes.append(
            f"{spec.name} draws on its own randomness too, which is no input: the boxes explain"
            " what the inputs can"
        )
    missing = int(np.isnan(mc.forecasts[:, k]).sum())
    if missing:
        notes.append(f"{missing} draws have no forecast on {cond.issue}: counted as not meeting it")
    hits = int(y.sum())
    boxes: tuple[DiscoveredBox, ...] = ()
    if hits in (0, draws):
        notes.append(
            f"{cond.condition} holds in {'none' if hits == 0 else 'all'} of the {draws} draws:"
            " there is no box to find"
        )
    else:
        res = prim(
            x,
            y,
            alpha=alpha,
            min_mass=min_mass,
            min_coverage=min_coverage,
            paste=paste,
            max_boxes=max_boxes,
        )
        boxes = _boxes(res, names)
        if any(r.noisy for b in boxes for r in b.restrictions):
            notes.append(
                f"restrictions with a quasi-p-value above {NOISY:g} may be noise (marked ~)"
            )
    return DiscoveryResult(
        scenario=scenario.name,
        model=spec.name,
        seed=seed,
        draws=draws,
        params=mc.params,
        threshold=cond,
        inputs=tuple(names),
        cases=hits,
        boxes=boxes,
        settings=settings,
        notes=tuple(notes),
    )


def _boxes(res: PrimResult, names: Sequence[str]) -> tuple[DiscoveredBox, ...]:
    out: list[DiscoveredBox] = []
    low, high = res.low, res.high
    for box in res.boxes:
        restrictions = tuple(
            Restriction(
                names[j],
                float(box.lower[j]),
                float(box.upper[j]),
                float(low[j]),
                float(high[j]),
                float(q),
            )
            for j, q in zip(box.restricted, box.qp, strict=True)
        )
        trajectory = tuple(
            TrajectoryPoint(
                s.coverage,
                s.density,
                s.mass,
                {
                    names[int(j)]: (float(s.lower[j]), float(s.upper[j]))
                    for j in np.flatnonzero((s.lower > low) | (s.upper < high))
                },
            )
            for s in box.trajectory
        )
        out.append(
            DiscoveredBox(
                box.coverage,
                box.density,
                box.mass,
                box.cases,
                box.hits,
                restrictions,
                trajectory,
                box.selected,
                box.pasted,
            )
        )
    return tuple(out)
