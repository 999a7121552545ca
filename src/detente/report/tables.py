"""Rich tables of scenarios and traces."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.table import Table

from detente.models.baselines import weighted_mean, weighted_median
from detente.scenario import Scenario
from detente.trace import Trace


def _fmt(x: float, digits: int = 1) -> str:
    return "–" if np.isnan(x) else f"{x:.{digits}f}"


def _weighted_sd(x: NDArray[np.float64], w: NDArray[np.float64]) -> float:
    ok = ~np.isnan(x) & (w > 0)
    if not ok.any():
        return float("nan")
    mean = np.average(x[ok], weights=w[ok])
    return float(np.sqrt(np.average((x[ok] - mean) ** 2, weights=w[ok])))


COMBINED_MODELS = frozenset({"ensemble"})
"""Models that combine the others' forecasts, left out of the consensus and models' range."""


def forecast_table(sc: Scenario, traces: Sequence[Trace], width: int = 200) -> list[Table]:
    """One row per issue: every model's forecast (with several, their consensus and range),
    the range and spread of the positions.

    At least every model column keeps its full header and numbers: below ``width`` for all
    columns the issue titles wrap, and the issue's context (scale, models' range, positions,
    spread) moves to a second table; when the model columns alone are wider, they are dealt
    into as many forecast tables as needed (consensus last).
    """
    arrays = sc.arrays()
    several = len(traces) > 1
    rows: list[dict[str, Any]] = []
    for k, issue in enumerate(sc.issues):
        x = arrays.position[:, k]
        ok = ~np.isnan(x)
        # The ensemble is a mix of the other models: counting it too would weigh them twice.
        consensus, low, high = model_consensus(
            [t.forecast[k] for t in traces if t.model not in COMBINED_MODELS]
            or [t.forecast[k] for t in traces]
        )
        rows.append(
            {
                "issue": issue.title,
                "scale": f"{issue.scale.min:g}–{issue.scale.max:g}",
                "models": [_fmt(t.forecast[k]) for t in traces],
                "consensus": _fmt(consensus),
                "range": f"{_fmt(low)}–{_fmt(high)}" if low == low else "–",
                "positions": f"{np.min(x[ok]):g}–{np.max(x[ok]):g}" if ok.any() else "–",
                "spread": _fmt(_weighted_sd(x, arrays.weight[:, k])),
            }
        )
    names = [t.model for t in traces] + (["consensus"] if several else [])
    numbers = sum(max(len(n), 5) + 3 for n in names)
    context = ["scale", "positions", "spread (sd)"] + (["models' range"] if several else [])
    widest_issue = max((len(r["issue"]) for r in rows), default=5)
    full = numbers + widest_issue + 4 + sum(len(c) + 3 for c in context)
    split = full > width
    if split:
        tables = _model_tables(sc, rows, names, several, width, widest_issue)
    else:
        table = Table(title=f"Forecast — {sc.name}", title_justify="left")
        table.add_column("issue", overflow="fold", min_width=min(widest_issue, 12))
        table.add_column("scale", style="dim", no_wrap=True)
        for name in names:
            style = "bold cyan" if name == "consensus" else "bold"
            table.add_column(name, justify="right", style=style, no_wrap=True, min_width=len(name))
        if several:
            table.add_column("models' range", justify="right", no_wrap=True)
        table.add_column("positions", justify="right", no_wrap=True)
        table.add_column("spread (sd)", justify="right", no_wrap=True)
        for r in rows:
            cells: list[str] = [r["issue"], r["scale"]]
            cells += r["models"] + ([r["consensus"]] if several else [])
            cells += ([r["range"]] if several else []) + [r["positions"], r["spread"]]
            table.add_row(*cells)
        return [table]
    ctx = Table(title="Issues: scale, models' range, positions", title_justify="left")
    ctx.add_column("issue", overflow="fold", min_width=min(widest_issue, 12))
    for c in context:
        ctx.add_column(c, justify="right" if c != "scale" else "left", no_wrap=True)
    for r in rows:
        extra = [r["range"]] if several else []
        ctx.add_row(r["issue"], r["scale"], r["positions"], r["spread"], *extra)
    return [*tables, ctx]


def _model_tables(
    sc: Scenario,
    rows: Sequence[dict[str, Any]],
    names: Sequence[str],
    several: bool,
    width: int,
    widest_issue: int,
) -> list[Table]:
    """The forecast columns dealt into tables of at most ``width`` (issue column in each)."""
    room = width - (min(widest_issue, 12) + 4)
    groups: list[list[int]] = [[]]
    used = 0
    for j, name in enumerate(names):
        need = max(len(name), 5) + 3
        if groups[-1] and used + need > room:
            groups.append([])
            used = 0
        groups[-1].append(j)
        used += need
    tables = []
    for g, group in enumerate(groups):
        title = f"Forecast — {sc.name}" + (f" ({g + 1}/{len(groups)})" if len(groups) > 1 else "")
        table = Table(title=title, title_justify="left")
        table.add_column("issue", overflow="fold", min_width=min(widest_issue, 12))
        for j in group:
            name = names[j]
            style = "bold cyan" if name == "consensus" else "bold"
            table.add_column(name, justify="right", style=style, no_wrap=True, min_width=len(name))
        for r in rows:
            values = r["models"] + ([r["consensus"]] if several else [])
            table.add_row(r["issue"], *[values[j] for j in group])
        tables.append(table)
    return tables


def model_consensus(forecasts: Sequence[float]) -> tuple[float, float, float]:
    """``(median, lowest, highest)`` of the models' forecasts of one issue (NaN ignored).

    Examples
    --------
    >>> model_consensus([10.0, 30.0, float("nan"), 80.0])
    (30.0, 10.0, 80.0)
    """
    f = [float(v) for v in forecasts if not math.isnan(v)]
    if not f:
        return (math.nan, math.nan, math.nan)
    # statistics, not NumPy: np.median's NaN check imports numpy.ma (10 ms of every `run`)
    return (statistics.median(f), min(f), max(f))


def backtest_record() -> str | None:
    """One line naming the model with the best record on the shipped DEU III backtest."""
    import json
    from importlib import resources

    try:
        text = resources.files("detente").joinpath("data/backtest-deu3.json").read_text()
    except FileNotFoundError:  # pragma: no cover - shipped with the package
        return None
    data = json.loads(text)
    scores = sorted(
        (s for s in data["scores"] if s["mae"] is not None), key=lambda s: float(s["mae"])
    )
    # The ensemble's weights were fitted on this file: its score there is in-sample.
    scores = [s for s in scores if s["model"] != "ensemble"] + [
        s for s in scores if s["model"] == "ensemble"
    ]
    best, rest = scores[0], scores[1:]
    others = ", ".join(
        f"{s['model']} {s['mae']:.1f}" + (" in-sample" if s["model"] == "ensemble" else "")
        for s in rest
    )
    return (
        f"best backtest record: {best['model']} (mean absolute error {best['mae']:.1f} points on"
        f" {best['issues']} EU decisions of DEU III; {others}; `detente backtest`)"
    )


def positions_table(sc: Scenario) -> Table:
    """Actors × issues: position (salience) and capability, as given."""
    arrays = sc.arrays()
    table = Table(title="Positions (salience in brackets) and capability", title_justify="left")
    # headers fold rather than end in "…" when the terminal is narrow
    table.add_column("actor", overflow="fold")
    table.add_column("capability", justify="right", overflow="fold")
    for issue in sc.issues:
        table.add_column(issue.id, justify="right", overflow="fold")
    for i, actor in enumerate(sc.actors):
        cells = [
            "–"
            if np.isnan(arrays.position[i, k])
            else f"{arrays.position[i, k]:g} ({arrays.salience[i, k]:.2f})"
            for k in range(len(sc.issues))
        ]
        table.add_row(actor.title, f"{arrays.capability[i]:g}", *cells)
    return table


def rounds_table(sc: Scenario, trace: Trace) -> Table:
    """Round by round, per issue: the c·s-weighted median and mean of the positions."""
    arrays = sc.arrays()
    lower, upper = weighted_median(arrays.capability, trace.positions, arrays.salience)
    median = (lower + upper) / 2.0
    mean = weighted_mean(arrays.capability, trace.positions, arrays.salience)
    table = Table(title=f"{trace.model}: weighted median / mean by round", title_justify="left")
    table.add_column("round", justify="right", overflow="fold")
    for issue in sc.issues:
        table.add_column(issue.id, justify="right", overflow="fold")
    for r in range(trace.rounds):
        table.add_row(
            str(r),
            *[f"{_fmt(median[r, k])} / {_fmt(mean[r, k])}" for k in range(len(sc.issues))],
        )
    return table


def final_positions_table(sc: Scenario, trace: Trace) -> Table:
    """Actors × issues: final position and its change; win probability where the model has it."""
    first, last = trace.positions[0], trace.positions[-1]
    win = trace.details.get("final_win_probability")
    table = Table(
        title=f"{trace.model}: final positions (change since round 0)", title_justify="left"
    )
    table.add_column("actor", overflow="fold")
    for issue in sc.issues:
        table.add_column(issue.id, justify="right", overflow="fold")
    if isinstance(win, dict):
        table.add_column("win prob.", justify="right", overflow="fold")
    for i, actor in enumerate(sc.actors):
        cells = [
            "–" if np.isnan(last[i, k]) else f"{last[i, k]:.1f} ({last[i, k] - first[i, k]:+.1f})"
            for k in range(len(sc.issues))
        ]
        if isinstance(win, dict):
            p = win.get(actor.id)
            cells.append("–" if p is None else f"{float(p):.3f}")
        table.add_row(actor.title, *cells)
    return table
