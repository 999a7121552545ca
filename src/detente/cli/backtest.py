"""``detente backtest``: the models against decisions with known outcomes
(:mod:`detente.sim.backtest`)."""

from __future__ import annotations

import csv
import io as _io
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.options import OutputFormat
from detente.cli.program import app
from detente.io.deu import read_deu
from detente.models import models
from detente.serial import dumps
from detente.sim.backtest import CAPABILITIES, REFERENCE_MODEL, BacktestResult, backtest
from detente.sim.council import INSTITUTIONS


@app.command("backtest")
def backtest_command(
    file: Annotated[Path, typer.Argument(help="A DEU file (tab-separated; see README).")],
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model to score (repeatable; default: all)."),
    ] = None,
    capability: Annotated[
        str, typer.Option(help=f"Capabilities: {', '.join(CAPABILITIES)}.")
    ] = "gdp",
    institutions: Annotated[
        str,
        typer.Option(
            help=f"With council-votes, the Commission and Parliament: {', '.join(INSTITUTIONS)}."
        ),
    ] = "average",
    draws: Annotated[
        int, typer.Option("--draws", "-n", help="Monte Carlo draws per issue (interval coverage).")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the runs and of the bootstrap.")] = 0,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="KEY=VALUE or MODEL.KEY=VALUE, e.g. eu.forecast=settled."
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, json or csv (per issue).")
    ] = OutputFormat.table,
    plot: Annotated[
        Path | None, typer.Option(help="Write a PNG of the error distributions per model.")
    ] = None,
    fit_ensemble: Annotated[
        Path | None,
        typer.Option(
            "--fit-ensemble",
            help="Fit the ensemble's weights on this file (its models: every model but the"
            " ensemble, or --model) and write them to this JSON file.",
        ),
    ] = None,
) -> None:
    """Score the models on decisions with known outcomes (e.g. DEU III)."""
    with common.user_errors():
        names = [common.model_or_fail(m).name for m in model] if model else None
        if fit_ensemble is not None:
            from detente.sim.stacking import components

            if names and "ensemble" in names:
                raise UsageError("--fit-ensemble fits the ensemble's models, not the ensemble")
            names = names or components()
        names = names or [s.name for s in models()]
        if draws < 0:
            raise UsageError(f"--draws must be at least 0, got {draws}")
        data = read_deu(file)
        per_model = common.parse_params(param or [], names)
        with common.progress("backtest", len(data.with_outcome)) as progress:
            try:
                result = backtest(
                    data,
                    names,
                    capability=capability,
                    institutions=institutions,
                    draws=draws,
                    seed=seed,
                    params={m: p for m, p in per_model.items() if p},
                    progress=progress,
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        if plot is not None:
            _write_error_plot(result, plot)
        if fit_ensemble is not None:
            _write_weights(result, names, seed, file, fit_ensemble)
    if output_format is OutputFormat.json:
        sys.stdout.write(dumps(result.to_dict(), indent=1) + "\n")
    elif output_format is OutputFormat.csv:
        sys.stdout.write(_csv(result))
    else:
        _print(result)


def _write_weights(
    result: BacktestResult, names: list[str], seed: int, source: Path, path: Path
) -> None:
    """Fit the ensemble on ``result`` and write the weights file (detente.sim.stacking)."""
    from detente.io.common import atomic_write
    from detente.sim.stacking import fit_ensemble, weights_json

    try:
        fit = fit_ensemble(result, names, seed=seed, source=source)
    except ValueError as exc:
        raise UsageError(f"--fit-ensemble: {exc}") from None
    text = weights_json(fit).encode("utf-8")
    atomic_write(path, lambda fh: fh.write(text))
    shares = ", ".join(f"{m} {w:.3f}" for m, w in fit["weights"].items())
    diff, low, high = fit["cv_diff_to_compromise"]
    common.console(stderr=True).print(
        f"wrote {path}: weights {shares}; shrinkage {fit['shrinkage']} chosen by"
        f" {fit['folds']}-fold cross-validation over proposals, cross-validated MAE"
        f" {fit['cv_mae']} ({diff:+.2f} [{low:+.2f}, {high:+.2f}] against the compromise model)",
        highlight=False,
    )


def _write_error_plot(result: BacktestResult, path: Path) -> None:
    from detente.io.common import atomic_write
    from detente.report.plots import MissingExtraError, error_boxplot

    try:
        png = error_boxplot(result)
    except MissingExtraError as exc:
        raise UsageError(str(exc)) from None
    atomic_write(path, lambda fh: fh.write(png))


def _csv(result: BacktestResult) -> str:
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["model", "proposal", "issue", "procedure", "council_vote", "outcome", "forecast"])
    for r in result.issues:
        for m in result.models:
            f = r.forecasts.get(m, float("nan"))
            w.writerow(
                [m, r.proposal, r.issue, r.procedure, r.council_vote, f"{r.outcome:g}",
                 "" if f != f else f"{f:.6g}"]
            )  # fmt: skip
    return buf.getvalue()


def _print(result: BacktestResult) -> None:
    console = common.console()
    scores = sorted(result.scores, key=lambda s: (s.issues == 0, s.mae))
    table = Table(
        title=f"Backtest — {len(result.issues)} issues of {Path(result.source).name},"
        f" {result.capability} capabilities",
        title_justify="left",
    )
    cols = ["model", "issues", "MAE", "median", "RMSE", "≤10", f"Δ vs {REFERENCE_MODEL} [95 %]"]
    if result.draws:
        cols += ["cover 50 %", "cover 90 %"]
    for c in cols:
        table.add_column(c, justify="left" if c == "model" else "right")
    for s in scores:
        if not s.issues:
            table.add_row(s.model, "0", *["–"] * (len(cols) - 2))
            continue
        diff = "—" if s.model == REFERENCE_MODEL else (
            f"{s.diff:+.1f} [{s.diff_low:+.1f}, {s.diff_high:+.1f}]"
        )  # fmt: skip
        row = [s.model, str(s.issues), f"{s.mae:.1f}", f"{s.median_ae:.1f}", f"{s.rmse:.1f}",
               f"{s.within:.0%}", diff]  # fmt: skip
        if result.draws:
            row += [_pct(s.coverage50), _pct(s.coverage90)]
        table.add_row(*row)
    console.print(table)
    groups = sorted({g for s in scores for g in s.by_group})
    by = Table(title="MAE by procedure and Council vote", title_justify="left")
    by.add_column("model")
    for g in groups:
        by.add_column(g.split("=", 1)[1], justify="right")
    for s in scores:
        by.add_row(s.model, *[f"{s.by_group[g]:.1f}" if g in s.by_group else "–" for g in groups])
    console.print(by)
    best = result.best()
    console.print(
        f"best: {best.model} (MAE {best.mae:.1f}); Δ is the mean of |error| − |error of the"
        " compromise model| over the same issues, its interval from 2,000 resamples of"
        " proposals",
        highlight=False,
    )
    for note in result.notes:
        console.print(f"[dim]note:[/] {note}", highlight=False)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"
