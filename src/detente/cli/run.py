"""``detente run`` and ``detente explain``: every chosen model on one scenario, its forecast
printed as tables (or JSON, CSV), or told in sentences."""

from __future__ import annotations

import csv
import io as _io
import json
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.markup import escape

from detente import report
from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.options import (
    CompatOpt,
    DbOpt,
    FormatOpt,
    InputFormatOpt,
    IssueOpt,
    ModelsOpt,
    NoRecordOpt,
    OutputFormat,
    ParamOpt,
    RoundsOpt,
    ScaleOpt,
    ScenarioArg,
    SeedOpt,
    SheetOpt,
    VariantOpt,
)
from detente.cli.program import app
from detente.models import get_model, run
from detente.report.explain import explain as explain_trace
from detente.scenario import Scenario
from detente.trace import Labels, Trace


@app.command("run")
def run_command(
    scenario: ScenarioArg = "ukraine-talks",
    model: ModelsOpt = None,
    output_format: FormatOpt = OutputFormat.table,
    seed: SeedOpt = None,
    param: ParamOpt = None,
    rounds: RoundsOpt = None,
    variant: VariantOpt = None,
    ktab_compat: CompatOpt = False,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    """Run models on a scenario and print each issue's forecast."""
    with common.user_errors():
        names = common.model_names(model)
        sc = common.load(scenario, sheet, input_format, issue=issue, scale=scale)
        store = common.run_store(db, no_record)
        traces = _traces(sc, names, seed, param or [], rounds, variant, ktab_compat)
        used_seed = common.seed_of(sc, seed)
        objs = [t.to_dict(scenario=sc.name, seed=used_seed) for t in traces]
        payload: Any = objs[0] if len(objs) == 1 else objs
        params = _user_params(names, param or [], rounds, variant, ktab_compat)
        common.record(store, "run", sc, names, {**params, "options": {}}, used_seed, payload)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    elif output_format is OutputFormat.csv:
        sys.stdout.write(_traces_csv(traces))
    else:
        _print_forecast(sc, traces, rounds_tables=bool(model))


@app.command()
def explain(
    scenario: ScenarioArg = "ukraine-talks",
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model to explain (repeatable). Default: every model."),
    ] = None,
    seed: SeedOpt = None,
    param: ParamOpt = None,
    rounds: RoundsOpt = None,
    variant: VariantOpt = None,
    ktab_compat: CompatOpt = False,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Tell in sentences how each model reached its forecast."""
    with common.user_errors():
        names = common.model_names(model)
        sc = common.load(scenario, sheet, input_format, issue=issue, scale=scale)
        traces = _traces(sc, names, seed, param or [], rounds, variant, ktab_compat)
    labels = Labels({a.id: a.title for a in sc.actors}, {i.id: i.title for i in sc.issues})
    console = common.console()
    for t in traces:
        spec = get_model(t.model)
        console.print(f"[bold]{spec.title}[/] ({spec.name})", highlight=False)
        lines = explain_trace(t, labels)
        for line in lines or ["(this model gives no explanation)"]:
            console.print(f"  {line}", highlight=False)
        for note in t.notes:
            console.print(f"  [dim]note: {note}[/]", highlight=False)


def _traces(
    sc: Scenario,
    names: Sequence[str],
    seed: int | None,
    params: Sequence[str],
    rounds: int | None,
    variant: str | None,
    ktab_compat: bool = False,
) -> list[Trace]:
    per_model = _user_params(names, params, rounds, variant, ktab_compat)
    arrays = sc.arrays()
    traces: list[Trace] = []
    failed: list[str] = []
    for n in names:
        try:
            traces.append(run(arrays, n, seed=common.seed_of(sc, seed), params=per_model[n]))
        except ValueError as exc:
            if len(names) == 1:
                raise UsageError(str(exc)) from None
            failed.append(f"{n} skipped: {exc}")
    if not traces:
        raise UsageError("no model could run: " + "; ".join(failed))
    for line in failed:  # run what can run, say what could not
        common.console(stderr=True).print(f"[dim]note:[/] {escape(line)}", highlight=False)
    return traces


def _user_params(
    names: Sequence[str],
    params: Sequence[str],
    rounds: int | None,
    variant: str | None,
    ktab_compat: bool,
) -> dict[str, dict[str, Any]]:
    pairs = list(params)
    if ktab_compat:
        pairs.append("ktab_compat=true")
    if rounds is not None:
        pairs.append(f"rounds={rounds}")
    if variant is not None:
        pairs.append(f"variant={variant}")
    return common.parse_params(pairs, names)


def _traces_csv(traces: Sequence[Trace]) -> str:
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["model", "kind", "round", "actor", "issue", "value"])
    for t in traces:
        for k, issue in enumerate(t.issues):
            writer.writerow([t.model, "forecast", "", "", issue, common.fmt_csv(t.forecast[k])])
        for r, state in enumerate(t.positions):
            for i, actor in enumerate(t.actors):
                for k, issue in enumerate(t.issues):
                    cell = common.fmt_csv(state[i, k])
                    writer.writerow([t.model, "position", r, actor, issue, cell])
    return buf.getvalue()


def _print_forecast(sc: Scenario, traces: Sequence[Trace], *, rounds_tables: bool) -> None:
    """The forecast table; with models chosen by name, also each one's rounds and finals."""
    console = common.console()
    for table in report.forecast_table(sc, traces, width=console.width):
        console.print(table)
    console.print(report.positions_table(sc))
    for t in traces:
        if t.rounds > 1 and rounds_tables:
            console.print(report.rounds_table(sc, t))
            console.print(report.final_positions_table(sc, t))
    consensus = (
        " consensus: the median of the models' forecasts (the ensemble, a mix of the"
        " others, left out); models' range: lowest–highest."
        if len(traces) > 1
        else ""
    )
    console.print(
        "[dim]"
        + "; ".join(f"{t.model}: {get_model(t.model).title}" for t in traces)
        + f".{consensus} spread: c·s-weighted standard deviation of the positions."
        " `detente show` explains each scale's ends.[/]"
    )
    record = report.tables.backtest_record() if len(traces) > 1 else None
    if record:
        console.print(f"[dim]{record}[/]", highlight=False)
    for t in traces:
        if t.rounds > 1:
            n = t.rounds - 1
            console.print(f"{t.model}: {n} round{'s' if n != 1 else ''}", highlight=False)
        for note in t.notes:
            console.print(f"[dim]{t.model}:[/] {note}", highlight=False)
