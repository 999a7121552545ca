"""``detente sweep``: a full-factorial grid over model parameters and shocks
(:mod:`detente.sim.sweep`)."""

from __future__ import annotations

import csv
import io as _io
import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.options import (
    ExecutorOpt,
    FormatOpt,
    InputFormatOpt,
    IssueOpt,
    OutputFormat,
    ScenarioArg,
    SchedulerOpt,
    SheetOpt,
    ShocksFileOpt,
    WorkersOpt,
)
from detente.cli.program import app
from detente.scenario import Scenario
from detente.sim.sweep import SweepResult, sweep


@app.command("sweep")
def sweep_command(
    scenario: ScenarioArg = "ukraine-talks",
    model: Annotated[str, typer.Option("--model", "-m", help="Model to run at every point.")] = (
        "median"
    ),
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            "-g",
            help="KEY=V1,V2,... (repeatable): a model parameter, or"
            " shock=none,NAME,A+B,LEVER=VALUE.",
        ),
    ] = None,
    draws: Annotated[
        int,
        typer.Option("--draws", "-n", help="0: one run per point; else Monte Carlo draws."),
    ] = 0,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of every point (default: the scenario file's seed, else 0)."),
    ] = None,
    executor: ExecutorOpt = "inline",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    output_format: FormatOpt = OutputFormat.table,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    input_format: InputFormatOpt = None,
    shocks_file: ShocksFileOpt = None,
) -> None:
    """Run a model on every point of a grid of parameters and shocks; forecast per issue."""
    with common.user_errors():
        if draws < 0:
            raise UsageError(f"--draws: expected a whole number of at least 0, got {draws}")
        if seed is not None and seed < 0:
            raise UsageError(f"--seed: expected a whole number of at least 0, got {seed}")
        name = common.model_or_fail(model).name
        axes = _parse_grid(grid or [])
        sc = common.load(scenario, sheet, input_format, issue=issue, shocks_file=shocks_file)
        pool = common.make_executor(executor, workers, scheduler)
        total = 1
        for values in axes.values():
            total *= len(values)
        with common.progress(f"sweep {name}", total) as progress:
            try:
                result = sweep(
                    sc, name, axes, common.seed_of(sc, seed), pool, draws=draws, progress=progress
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from None
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=1, allow_nan=False) + "\n")
    elif output_format is OutputFormat.csv:
        sys.stdout.write(_csv(result))
    else:
        _table(sc, result)


def _parse_grid(pairs: list[str]) -> dict[str, list[str]]:
    axes: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, values = pair.partition("=")
        key = key.strip()
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key or not vals:
            raise UsageError(f"--grid {pair!r}: expected KEY=V1,V2,... (e.g. Q=0.5,1.0)")
        if key in axes:
            raise UsageError(f"--grid {pair!r}: key {key!r} given twice")
        axes[key] = list(dict.fromkeys(vals))
    if not axes:
        raise UsageError("--grid: give at least one KEY=V1,V2,... (e.g. --grid shock=none,summit)")
    return axes


def _fmt(x: Any) -> str:
    return "" if x is None else repr(float(x))


def _csv(result: SweepResult) -> str:
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    band = result.q05 is not None
    writer.writerow(["point", *result.keys, "issue", "forecast", *(("q05", "q95") if band else ())])
    for row in result.rows():
        cells = [row["point"], *(row[k] for k in result.keys), row["issue"], _fmt(row["forecast"])]
        if band:
            cells += [_fmt(row["q05"]), _fmt(row["q95"])]
        writer.writerow(cells)
    return buf.getvalue()


def _g(x: float) -> str:
    # one decimal, as every table of forecasts (run, mc, compare, runs show)
    return "–" if x != x else f"{x:.1f}"


def _table(sc: Scenario, result: SweepResult) -> None:  # columns: issue ids (narrow)
    console = common.console()
    what = "one run per point" if not result.draws else f"median of {result.draws} draws"
    table = Table(title=f"{sc.name}: {result.model} sweep ({what}, seed {result.seed})")
    table.add_column("#", justify="right")
    for k in result.keys:
        table.add_column(k)
    for k in result.issues:
        table.add_column(k, justify="right")
    for p, values in enumerate(result.points):
        cells = [str(p), *(str(values[k]) for k in result.keys)]
        for j in range(len(result.issues)):
            cell = _g(result.forecast[p, j])
            if result.q05 is not None and result.q95 is not None:
                cell += f" [{_g(result.q05[p, j])}–{_g(result.q95[p, j])}]"
            cells.append(cell)
        table.add_row(*cells)
    console.print(table)
    for note in result.notes:
        console.print(f"[dim]note:[/] {note}", highlight=False)
