"""``detente mc``: a model run on many draws of the scenario's uncertain inputs."""

from __future__ import annotations

import csv
import io as _io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.table import Table

from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.options import (
    DbOpt,
    ExecutorOpt,
    FormatOpt,
    InputFormatOpt,
    IssueOpt,
    NoRecordOpt,
    OutputFormat,
    ParamOpt,
    ScaleOpt,
    ScenarioArg,
    SchedulerOpt,
    SheetOpt,
    WorkersOpt,
)
from detente.cli.program import app
from detente.scenario import Scenario

if TYPE_CHECKING:
    from detente.sim.montecarlo import MCResult


@app.command("mc")
def monte_carlo_command(
    scenario: ScenarioArg = "ukraine-talks",
    model: Annotated[str, typer.Option("--model", "-m", help="Model to run on every draw.")] = (
        "median"
    ),
    draws: Annotated[
        int, typer.Option("--draws", "-n", help="Number of draws (replicates), at least 1.")
    ] = 1000,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the draws (default: the scenario file's seed, else 0)."),
    ] = None,
    param: ParamOpt = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a fan chart of positions by round (PNG).")
    ] = None,
    output_format: FormatOpt = OutputFormat.table,
    executor: ExecutorOpt = "inline",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    """Draw the scenario's uncertain inputs, run a model on every draw, summarise per issue.

    Prints per issue the median forecast and the 5–95 % band, and for each threshold of the
    scenario the probability that the forecast crosses it.
    """
    from detente.sim.montecarlo import monte_carlo

    with common.user_errors():
        if draws < 1:
            raise UsageError(f"--draws: expected a whole number of at least 1, got {draws}")
        if seed is not None and seed < 0:
            raise UsageError(f"--seed: expected a whole number of at least 0, got {seed}")
        name = common.model_or_fail(model).name
        sc = common.load(scenario, sheet, input_format, issue=issue, scale=scale)
        per_model = common.parse_params(param or [], [name])
        used_seed = common.seed_of(sc, seed)
        pool = common.make_executor(executor, workers, scheduler)
        store = common.run_store(db, no_record)
        with common.progress(f"mc {name}", draws) as progress:
            try:
                result = monte_carlo(
                    sc,
                    name,
                    draws,
                    used_seed,
                    params=per_model[name],
                    progress=progress,
                    executor=pool,
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        if plot is not None:
            _write_plot(result, sc, plot)
        payload = result.to_dict()
        options = {"draws": draws}
        params = {**per_model, "options": options}
        common.record(store, "mc", sc, [name], params, used_seed, payload)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(payload, indent=1, allow_nan=False) + "\n")
    elif output_format is OutputFormat.csv:
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["replicate", "issue", "forecast"])
        for r, row in enumerate(result.forecasts):
            for k, value in zip(result.issues, row, strict=True):
                writer.writerow([r, k, common.fmt_csv(value)])
        sys.stdout.write(buf.getvalue())
    else:
        _print_mc(sc, result)
    if plot is not None:
        common.console(stderr=True).print(f"wrote {plot}", highlight=False)


def _write_plot(result: MCResult, sc: Scenario, path: Path) -> None:
    from detente.io.common import atomic_write
    from detente.report.plots import MissingExtraError, fan_chart

    try:
        png = fan_chart(result, sc)
    except MissingExtraError as exc:
        raise UsageError(str(exc)) from None
    atomic_write(path, lambda fh: fh.write(png))


def _print_mc(sc: Scenario, result: MCResult) -> None:
    console = common.console()
    q = result.quantiles((0.05, 0.5, 0.95))
    table = Table(
        title=f"Monte Carlo — {sc.name}, {result.model}, {result.draws} draws, seed {result.seed}",
        title_justify="left",
    )
    for col, justify in (("issue", "left"), ("median", "right"), ("5–95 %", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for j, issue_id in enumerate(result.issues):
        band = "–" if np.isnan(q[0, j]) else f"{q[0, j]:.1f} – {q[2, j]:.1f}"
        med = "–" if np.isnan(q[1, j]) else f"{q[1, j]:.1f}"
        table.add_row(sc.issue(issue_id).title, med, band)
    console.print(table)
    if result.thresholds:
        probs = result.threshold_probabilities()
        thr = Table(title="Thresholds", title_justify="left")
        for col, justify in (("threshold", "left"), ("condition", "left"), ("P", "right")):
            thr.add_column(col, justify=justify)  # type: ignore[arg-type]
        for t, p in zip(result.thresholds, probs, strict=True):
            thr.add_row(t.label or "", t.condition, f"{p:.1%}")
        console.print(thr)
    for note in result.notes:
        console.print(f"[dim]note:[/] {note}", highlight=False)
