"""``detente causal``: the scenario's causal map settled, and what setting levers changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.options import (
    FormatOpt,
    InputFormatOpt,
    OutputFormat,
    ScenarioArg,
    SheetOpt,
)
from detente.cli.program import app
from detente.scenario import Scenario
from detente.sim.levers import LeverResult, parse_levers, set_levers

LeverOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--lever",
        "-l",
        help="Set a lever of the map: LEVER=VALUE (repeatable, or comma-separated).",
    ),
]
PlotOpt = Annotated[
    Path | None,
    typer.Option("--plot", help="Also draw the map (settled with the levers set) as a PNG."),
]


@app.command("causal")
def causal_command(
    scenario: ScenarioArg = "ukraine-talks",
    lever: LeverOpt = None,
    plot: PlotOpt = None,
    output_format: FormatOpt = OutputFormat.table,
    sheet: SheetOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Settle the scenario's causal map; with --lever, what the move changes in the scenario."""
    with common.user_errors():
        sc = common.load(scenario, sheet, input_format)
        if sc.causal is None:
            raise UsageError(
                f"scenario {sc.name!r} has no causal map (add a causal: section; docs/causal.md)"
            )
        try:
            result = set_levers(sc, parse_levers(lever or []))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if plot is not None:
            _write_plot(sc, result, plot)
    if output_format == OutputFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=1, ensure_ascii=False))
    elif output_format == OutputFormat.csv:
        typer.echo(_csv(result), nl=False)
    else:
        _table(sc, result, moved=bool(lever))


def _write_plot(sc: Scenario, result: LeverResult, path: Path) -> None:
    from detente.io.common import atomic_write
    from detente.report.plots import MissingExtraError
    from detente.report.structure import causal_map_png

    assert sc.causal is not None
    try:
        png = causal_map_png(result.shocked.causal or sc.causal, result.after, title=sc.name)
    except MissingExtraError as exc:
        raise UsageError(str(exc)) from None
    atomic_write(path, lambda fh: fh.write(png))
    common.console(stderr=True).print(f"[dim]wrote {path}[/]", highlight=False)


def _csv(result: LeverResult) -> str:
    rows = ["kind,name,before,after"]
    for c in result.to_dict()["concepts"]:
        rows.append(f"concept,{c['id']},{c['before']!r},{c['after']!r}")
    for change in result.changes:
        rows.append(
            f"value,{change.target},{common.fmt_csv(change.before)},{common.fmt_csv(change.after)}"
        )
    return "\n".join(rows) + "\n"


def _table(sc: Scenario, result: LeverResult, *, moved: bool) -> None:
    cmap = result.shocked.causal
    assert cmap is not None
    out = common.console()
    set_to = ", ".join(
        f"{k} {result.levers_before[k]:g} → {v:g}"
        for k, v in result.levers_after.items()
        if v != result.levers_before[k]
    )
    title = f"{sc.name}: causal map ({cmap.inference}, {cmap.transfer})"
    if set_to:
        title += f", levers set: {set_to}"
    table = Table(title=title, title_justify="left")
    table.add_column("concept")
    table.add_column("kind")
    if moved:
        table.add_column("before", justify="right")
        table.add_column("after", justify="right")
        table.add_column("Δ", justify="right")
    else:
        table.add_column("settled", justify="right")
    for i, concept in enumerate(cmap.concepts):
        b, a = float(result.before.final[0, i]), float(result.after.final[0, i])
        cells = [concept.title, concept.kind]
        if moved:
            cells += [f"{b:.3f}", f"{a:.3f}", _delta(a - b, ".3f")]
        else:
            cells.append(f"{b:.3f}")
        table.add_row(*cells)
    out.print(table)
    steps = int(result.after.steps[0])
    if result.after.converged[0]:
        out.print(f"settled after {steps} steps (tolerance {cmap.tolerance:g})", highlight=False)
    if moved:
        changes = Table(title="What the move changes in the scenario", title_justify="left")
        changes.add_column("value")
        changes.add_column("before", justify="right")
        changes.add_column("after", justify="right")
        changes.add_column("Δ", justify="right")
        for change in result.changes:
            changes.add_row(
                change.target,
                f"{change.before:.4g}",
                f"{change.after:.4g}",
                _delta(change.after - change.before, ".4g"),
            )
        if result.changes:
            out.print(changes)
        else:
            out.print("The move changes no value of the scenario.", highlight=False)
        shocks = ",".join(
            f"{k}={v:g}" for k, v in result.levers_after.items() if v != result.levers_before[k]
        )
        if shocks:
            out.print(
                f"[dim]Forecasts with these values: detente compare {sc.name} --shocks {shocks}[/]",
                highlight=False,
            )
    else:
        levers = ", ".join(cmap.levers)
        out.print(
            f"[dim]Set a lever with --lever NAME=VALUE (levers: {levers}).[/]", highlight=False
        )
    for note in result.notes:
        out.print(f"[yellow]note:[/] {note}", highlight=False)


def _delta(x: float, spec: str) -> str:
    """A signed change (with a real minus sign), ``0`` when it rounds to nothing."""
    text = format(x, "+" + spec)
    if float(text) == 0.0:
        return "0"
    return text.replace("-", "−")
