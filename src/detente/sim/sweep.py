"""Sweeps: a full-factorial grid over model parameters and named shocks.

:func:`sweep` runs one model on every point of a grid such as
``{"Q": [0.5, 1.0], "shock": ["none", "summit"]}``: every key but ``shock`` is a parameter of
the model; ``shock`` names a shock of the scenario, ``none`` for the baseline, or several
joined by ``+`` (applied in that order). Points are ordered as :func:`itertools.product` over
the keys in the order given (the last key varies fastest).

Each point is one deterministic run with ``seed``, or, with ``draws > 0``, a Monte Carlo of
that many draws with the same seed at every point (common random numbers, so differences
between points are not sampling noise). Points are independent tasks run by an executor
(:mod:`detente.sim.executors`) and assembled in point order, so the results are identical
whatever the executor and its number of workers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from detente.models import get_model
from detente.scenario import Scenario
from detente.serial import floats, number
from detente.sim.executors import Executor, InlineExecutor
from detente.sim.shocks import apply_shocks, derive, run_shocked, schedule

if TYPE_CHECKING:
    import pandas as pd

F = NDArray[np.float64]

SHOCK = "shock"
"""The grid key that names shocks rather than a model parameter."""

NO_SHOCK = "none"
"""The ``shock`` value of the baseline."""


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The outcome of :func:`sweep`.

    Attributes
    ----------
    keys
        The grid's keys, in order.
    points
        Per point, its value of every key (parameters parsed as the model reads them).
    issues
        Issue ids.
    forecast
        ``forecast[point, issue]``: the deterministic forecast, or with draws the median.
    q05, q95
        With draws, the 5 % and 95 % quantiles per point and issue; else ``None``.
    """

    scenario: str
    model: str
    seed: int
    draws: int
    keys: tuple[str, ...]
    points: tuple[dict[str, Any], ...]
    issues: tuple[str, ...]
    forecast: F
    q05: F | None = None
    q95: F | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def rows(self) -> list[dict[str, Any]]:
        """One row per point and issue: ``point``, every key's value, ``issue``, ``forecast``
        (and ``q05``, ``q95`` with draws); NaN as ``None``."""
        out: list[dict[str, Any]] = []
        for p, values in enumerate(self.points):
            for j, k in enumerate(self.issues):
                row: dict[str, Any] = {"point": p, **values, "issue": k}
                row["forecast"] = number(self.forecast[p, j])
                if self.q05 is not None and self.q95 is not None:
                    row["q05"] = number(self.q05[p, j])
                    row["q95"] = number(self.q95[p, j])
                out.append(row)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: :meth:`rows` with ``model`` first (needs pandas)."""
        import pandas as pd

        frame = pd.DataFrame(self.rows())
        frame.insert(0, "model", self.model)
        return frame.fillna(value=np.nan)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepResult:
        """The result of a :meth:`to_dict` object (``from_dict(d).to_dict() == d``)."""
        try:
            points = data["points"]
            issues = tuple(points[0]["forecast"]) if points else ()
            with_q = bool(points) and "q05" in points[0]

            def table(key: str) -> F:
                return floats([[p[key][k] for k in issues] for p in points]).reshape(
                    len(points), len(issues)
                )

            return cls(
                scenario=str(data["scenario"]),
                model=str(data["model"]),
                seed=int(data["seed"]),
                draws=int(data["draws"]),
                keys=tuple(data["grid"]),
                points=tuple(dict(p["values"]) for p in points),
                issues=issues,
                forecast=table("forecast"),
                q05=table("q05") if with_q else None,
                q95=table("q95") if with_q else None,
                notes=tuple(data["notes"]),
            )
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"not a sweep result: {exc!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """Everything but timings: the same inputs and seed give identical output."""
        return {
            "scenario": self.scenario,
            "model": self.model,
            "seed": self.seed,
            "draws": self.draws,
            "grid": {k: list(dict.fromkeys(p[k] for p in self.points)) for k in self.keys},
            "points": [
                {
                    "point": p,
                    "values": values,
                    "forecast": {k: number(self.forecast[p, j]) for j, k in enumerate(self.issues)},
                    **(
                        {
                            "q05": {k: number(self.q05[p, j]) for j, k in enumerate(self.issues)},
                            "q95": {k: number(self.q95[p, j]) for j, k in enumerate(self.issues)},
                        }
                        if self.q05 is not None and self.q95 is not None
                        else {}
                    ),
                }
                for p, values in enumerate(self.points)
            ],
            "notes": list(self.notes),
        }


PointTask = tuple[Scenario, str, tuple[str, ...], dict[str, Any], int, int]
"""One point: scenario, model, shocks to apply, parameters, seed, draws."""


def run_point(task: PointTask) -> tuple[F, F | None, F | None, list[str]]:
    """Run one grid point (module-level, so process pools and Dask can ship it)."""
    scenario, model, shocks, params, seed, draws = task
    if draws <= 0:
        trace, run_notes = run_shocked(scenario, model, shocks, seed=seed, params=params)
        return np.asarray(trace.forecast, dtype=np.float64), None, None, run_notes
    notes: list[str] = []
    if shocks:
        scenario, notes = apply_shocks(scenario, shocks)
    from detente.sim.montecarlo import monte_carlo

    result = monte_carlo(scenario, model, draws, seed, params=params)
    q = result.quantiles((0.05, 0.5, 0.95))
    return q[1], q[0], q[2], notes


def _shock_names(value: Any) -> tuple[str, ...]:
    text = str(value).strip()
    if text.lower() == NO_SHOCK or not text:
        return ()
    return tuple(part.strip() for part in text.split("+") if part.strip())


def sweep(
    scenario: Scenario,
    model: str,
    grid: Mapping[str, Sequence[Any]],
    seed: int,
    executor: Executor | None = None,
    draws: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run ``model`` on every point of the full-factorial ``grid``.

    Parameters
    ----------
    scenario
        The scenario; ``shock`` values name its shocks, ``+``-joined for several at once,
        including those detente makes: ``LEVER=VALUE`` (a causal-map lever set) and
        ``summit-agreement``.
    model
        A registered model name or alias.
    grid
        Key → values; keys are parameters of the model or ``shock``. Parameter values may be
        strings (parsed as ``--param`` values are).
    seed
        The seed of every point.
    executor
        Where the points run (default in-process); the results do not depend on it.
    draws
        0 (default): one deterministic run per point; else a Monte Carlo of that many draws.
    progress
        Called as ``progress(done, total)`` as each point completes.

    Raises
    ------
    ValueError
        An empty grid or key, unknown parameters or shocks, bad values, ``draws < 0``.

    Examples
    --------
    >>> from detente.io import load_default
    >>> r = sweep(load_default(), "eu", {"Q": [0.5, 1.0], "shock": ["none", "summit"]}, seed=0)
    >>> len(r.points), r.forecast.shape
    (4, (4, 6))
    """
    spec = get_model(model)
    if draws < 0:
        raise ValueError(f"draws must be at least 0, got {draws}")
    if not grid:
        raise ValueError("the grid is empty: give at least one key with values")
    keys = tuple(grid)
    if SHOCK in grid:
        # shocks detente makes on demand: LEVER=VALUE, summit-agreement (as in compare)
        wanted = [n for v in grid[SHOCK] for n in _shock_names(v)]
        scenario = derive(scenario, wanted, seed=seed)
    base = scenario.arrays().parameters.get(spec.name, {})
    values: list[list[Any]] = []
    for key in keys:
        vals = list(grid[key])
        if not vals:
            raise ValueError(f"grid key {key!r} has no values")
        if key == SHOCK:
            for v in vals:
                names = _shock_names(v)
                late = [n for r, group in schedule(scenario, names) if r > 0 for n in group]
                if late and draws > 0:
                    raise ValueError(
                        f"shock value {v!r}: Monte Carlo sweeps take shocks before bargaining"
                        f" only, and {', '.join(map(repr, late))} strike(s) later; use"
                        " draws=0 or a round-0 shock"
                    )
            values.append([str(v).strip() for v in vals])
        else:
            # Parse (and check) each value as the model reads it.
            values.append([spec.resolve_params(base, {key: v})[key] for v in vals])
    points = tuple(dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values))
    tasks: list[PointTask] = [
        (
            scenario,
            spec.name,
            _shock_names(p.get(SHOCK, NO_SHOCK)),
            {k: v for k, v in p.items() if k != SHOCK},
            seed,
            draws,
        )
        for p in points
    ]
    done = 0

    def finished(_i: int, _result: Any) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(tasks))

    results = (executor or InlineExecutor()).map(run_point, tasks, finished)
    notes: list[str] = []
    for p, (*_, point_notes) in enumerate(results):
        notes += [f"point {p}: {n}" for n in point_notes]
    forecast = np.stack([r[0] for r in results])
    q05 = q95 = None
    if draws > 0:
        q05 = np.stack([r[1] for r in results if r[1] is not None])
        q95 = np.stack([r[2] for r in results if r[2] is not None])
    return SweepResult(
        scenario=scenario.name,
        model=spec.name,
        seed=seed,
        draws=draws,
        keys=keys,
        points=points,
        issues=tuple(i.id for i in scenario.issues),
        forecast=forecast,
        q05=q05,
        q95=q95,
        notes=tuple(dict.fromkeys(notes)),
    )
