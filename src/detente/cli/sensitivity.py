"""``detente sensitivity``: which uncertain inputs move each issue's forecast (SALib)."""

from __future__ import annotations

import csv
import io as _io
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.options import (
    DbOpt,
    ExecutorOpt,
    FormatOpt,
    InputFormatOpt,
    NoRecordOpt,
    OutputFormat,
    ParamOpt,
    ScenarioArg,
    SchedulerOpt,
    SheetOpt,
    WorkersOpt,
)
from detente.cli.program import app
from detente.scenario import Scenario

if TYPE_CHECKING:
    from detente.sim.sensitivity import SensitivityResult, Spread


def _spread(pairs: Sequence[str]) -> Spread | None:
    from detente.sim.sensitivity import Spread

    if not pairs:
        return None
    values: dict[str, float] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or key not in ("position", "salience", "capability"):
            raise UsageError(f"--spread {pair!r}: expected position=F, salience=F or capability=F")
        try:
            values[key] = float(text)
        except ValueError:
            raise UsageError(f"--spread {pair!r}: expected a number, got {text!r}") from None
    try:
        return Spread(**values)
    except ValueError as exc:
        raise UsageError(f"--spread: {exc}") from None


@app.command("sensitivity")
def sensitivity_command(
    scenario: ScenarioArg = "ukraine-talks",
    model: Annotated[str, typer.Option("--model", "-m", help="Model to analyse.")] = "median",
    method: Annotated[
        str, typer.Option("--method", help="sobol (S1, ST) or morris (mu*, sigma).")
    ] = "sobol",
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            "-n",
            help="Sobol: base samples N, a power of 2 (default 256); Morris: trajectories"
            " (default 32).",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the sampling (default: the scenario file's seed, else 0)."),
    ] = None,
    param: ParamOpt = None,
    spread: Annotated[
        list[str] | None,
        typer.Option(
            "--spread",
            help="Bounds when the scenario gives no uncertainty: position=F (fraction of the"
            " scale, default 0.1), salience=F (default 0.1), capability=F (default 0.2).",
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", "-k", help="Inputs shown per issue.")] = 10,
    report_issue: Annotated[
        str | None, typer.Option("--issue", help="Show (and plot) this issue only.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a tornado chart (PNG).")
    ] = None,
    output_format: FormatOpt = OutputFormat.table,
    executor: ExecutorOpt = "inline",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    sheet: SheetOpt = None,
    sheet_issue: Annotated[
        str | None,
        typer.Option("--sheet-issue", help="Issue id for a one-issue CSV/XLSX sheet."),
    ] = None,
    input_format: InputFormatOpt = None,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    """Rank which uncertain inputs move each issue's forecast (global sensitivity, SALib).

    Inputs are the scenario's estimates with an uncertainty, varied over its range; sobol ranks
    them by total-order index ST, morris by mu* (mean absolute elementary effect).
    """
    from detente.sim.sensitivity import MissingSALibError, analyse

    with common.user_errors():
        if method not in ("sobol", "morris"):
            raise UsageError(f"--method: expected sobol or morris, got {method!r}")
        if samples is not None and samples < (2 if method == "morris" else 1):
            raise UsageError(
                f"--samples: expected a whole number of at least"
                f" {2 if method == 'morris' else 1} for {method}, got {samples}"
            )
        if seed is not None and seed < 0:
            raise UsageError(f"--seed: expected a whole number of at least 0, got {seed}")
        if top < 1:
            raise UsageError(f"--top: expected a whole number of at least 1, got {top}")
        name = common.model_or_fail(model).name
        sc = common.load(scenario, sheet, input_format, issue=sheet_issue)
        if report_issue is not None and report_issue not in {i.id for i in sc.issues}:
            raise UsageError(
                f"--issue: unknown issue {report_issue!r}"
                f" (issues: {', '.join(i.id for i in sc.issues)})"
            )
        per_model = common.parse_params(param or [], [name])
        sp = _spread(spread or [])
        used_seed = common.seed_of(sc, seed)
        pool = common.make_executor(executor, workers, scheduler)
        store = common.run_store(db, no_record)
        with common.progress(f"sensitivity {name}", 100) as bar:
            # The number of evaluations is known once SALib has sampled: show percent done.
            def progress(done: int, total: int) -> None:
                if bar is not None:
                    bar(100 * done // total, 100)

            try:
                result = analyse(
                    sc,
                    name,
                    method,
                    samples=samples,
                    seed=used_seed,
                    params=per_model[name],
                    spread=sp,
                    progress=progress,
                    executor=pool,
                )
            except (ValueError, MissingSALibError) as exc:
                raise UsageError(str(exc)) from None
        chosen = [report_issue] if report_issue else list(result.issues)
        if plot is not None:
            _write_tornado(result, sc, plot, chosen, top)
        payload = result.to_dict()
        payload["issues"] = {k: payload["issues"][k] for k in chosen}
        options = {
            "method": method,
            "samples": samples,
            "spread": spread or [],
            "issue": report_issue,
        }
        common.record(
            store, "sensitivity", sc, [name], {**per_model, "options": options}, used_seed, payload
        )
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(payload, indent=1, allow_nan=False) + "\n")
    elif output_format is OutputFormat.csv:
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["issue", "rank", "input", *result.metrics])
        for k in chosen:
            for rank, r in enumerate(result.ranking[k], start=1):
                writer.writerow([k, rank, r.input, *(_csv(r.values[m]) for m in result.metrics)])
        sys.stdout.write(buf.getvalue())
    else:
        _print(sc, result, chosen, top)
    if plot is not None:
        common.console(stderr=True).print(f"wrote {plot}", highlight=False)


def _csv(x: float) -> str:
    return "" if math.isnan(x) else repr(float(x))


def _write_tornado(
    result: SensitivityResult, sc: Scenario, path: Path, issues: Sequence[str], top: int
) -> None:
    from detente.io.common import atomic_write
    from detente.report.plots import MissingExtraError

    try:
        from detente.report.tornado import tornado_chart

        png = tornado_chart(result, sc, issues, top=top)
    except MissingExtraError as exc:
        raise UsageError(str(exc)) from None
    atomic_write(path, lambda fh: fh.write(png))


def _fmt(x: float, digits: int = 3) -> str:
    return "–" if math.isnan(x) else f"{x:.{digits}f}"


def _print(sc: Scenario, result: SensitivityResult, issues: Sequence[str], top: int) -> None:
    console = common.console()
    by_name = {x.name: x for x in result.inputs}
    console.print(
        f"[bold]Sensitivity — {sc.name}, {result.model}, {result.method}[/]"
        f" ({len(result.inputs)} inputs, {result.evaluations} evaluations, seed {result.seed};"
        f" ranked by {'ST' if result.method == 'sobol' else 'mu*'})",
        highlight=False,
    )
    for issue_id in issues:
        table = Table(title=sc.issue(issue_id).title, title_justify="left")
        heads = ["#", "input", "value", "range"]
        if result.method == "sobol":
            heads += ["ST", "± 95 %", "S1", "± 95 %"]
        else:
            heads += ["mu*", "± 95 %", "sigma"]
        for h in heads:
            table.add_column(
                h, justify="left" if h in ("input", "range") else "right", no_wrap=True
            )
        for rank, r in enumerate(result.ranking[issue_id][:top], start=1):
            inp = by_name[r.input]
            v = r.values
            cells = [str(rank), r.input, f"{inp.value:g}", f"{inp.low:g} – {inp.high:g}"]
            if result.method == "sobol":
                cells += [_fmt(v["ST"]), _fmt(v["ST_conf"]), _fmt(v["S1"]), _fmt(v["S1_conf"])]
            else:
                cells += [_fmt(v["mu_star"], 2), _fmt(v["mu_star_conf"], 2), _fmt(v["sigma"], 2)]
            table.add_row(*cells)
        console.print(table)
    for note in result.notes:
        console.print(f"[dim]note:[/] {note}", highlight=False)
