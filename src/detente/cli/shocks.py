"""``detente shock`` applies named shocks of the scenario together and compares with the baseline;
``detente compare`` runs each shock alone against the baseline. Both print, per model and
issue, the forecasts, the differences, and which actors' moves explain them
(:mod:`detente.sim.compare`).
"""

from __future__ import annotations

import csv
import io as _io
import json
import sys
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.options import (
    DbOpt,
    FormatOpt,
    InputFormatOpt,
    IssueOpt,
    ModelsOpt,
    NoRecordOpt,
    OutputFormat,
    ScenarioArg,
    SeedOpt,
    SheetOpt,
    ShocksFileOpt,
)
from detente.cli.program import app
from detente.models.eu import CYCLING, UNSETTLED
from detente.scenario import AddActor, Scenario
from detente.sim.compare import Comparison, IssueChange, compare, notable
from detente.sim.shocks import derive

DrawsOpt = Annotated[
    int,
    typer.Option(
        "--draws",
        "-n",
        help="Also measure each change over N Monte Carlo draws of the inputs (median and"
        " 90 % interval); changes whose interval holds 0 are marked ≈ (within noise).",
    ),
]


@app.command()
def shock(
    scenario: ScenarioArg = "ukraine-talks",
    apply: Annotated[
        list[str] | None,
        typer.Option(
            "--apply",
            "-a",
            help="Shock to apply (repeatable; applied in order). NAME@R strikes after round R.",
        ),
    ] = None,
    model: ModelsOpt = None,
    seed: SeedOpt = None,
    output_format: FormatOpt = OutputFormat.table,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    input_format: InputFormatOpt = None,
    shocks_file: ShocksFileOpt = None,
    draws: DrawsOpt = 0,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    """Apply named shocks of the scenario together and compare with the baseline."""
    with common.user_errors():
        names = common.model_names(model)
        sc = common.load(scenario, sheet, input_format, issue=issue, shocks_file=shocks_file)
        shocks = _split(apply or [])
        if not shocks:
            raise UsageError(f"--apply: name at least one shock ({_available(sc)})")
        result, payload = _recorded("shock", sc, shocks, names, seed, db, no_record, draws)
    _output(sc, result, output_format, payload)


@app.command("compare")
def compare_command(
    scenario: ScenarioArg = "ukraine-talks",
    shocks: Annotated[
        list[str] | None,
        typer.Option(
            "--shocks", "-s", help="Comma-separated shocks, each run alone. Default: all."
        ),
    ] = None,
    model: ModelsOpt = None,
    seed: SeedOpt = None,
    output_format: FormatOpt = OutputFormat.table,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    input_format: InputFormatOpt = None,
    shocks_file: ShocksFileOpt = None,
    draws: DrawsOpt = 0,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    """Run the baseline and each shock side by side: forecasts, differences, who explains them."""
    with common.user_errors():
        names = common.model_names(model)
        sc = common.load(scenario, sheet, input_format, issue=issue, shocks_file=shocks_file)
        chosen = _split(shocks or []) or list(sc.shocks)
        if not chosen:
            raise UsageError(f"scenario {sc.name!r} defines no shocks")
        result, payload = _recorded("compare", sc, chosen, names, seed, db, no_record, draws)
    _output(sc, result, output_format, payload)


def _recorded(
    kind: Literal["shock", "compare"],
    sc: Scenario,
    shocks: list[str],
    names: list[str],
    seed: int | None,
    db: str | None,
    no_record: bool,
    draws: int = 0,
) -> tuple[Comparison, dict[str, Any]]:
    """Compare (all shocks together for ``shock``), record the run, return it and its JSON."""
    if draws < 0:
        raise UsageError(f"--draws must be at least 0, got {draws}")
    store = common.run_store(db, no_record)
    try:
        # shocks detente makes (LEVER=VALUE, summit-agreement) join the recorded scenario
        sc = derive(sc, shocks, seed=common.seed_of(sc, seed))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result = _compare(sc, shocks, names, seed, combined=kind == "shock", draws=draws)
    payload = result.to_dict()
    params = _params(names, shocks)
    if draws:
        params["options"]["draws"] = draws
    common.record(store, kind, sc, names, params, result.seed, payload)
    return result, payload


def _params(names: list[str], shocks: list[str]) -> dict[str, Any]:
    # The shocks' definitions are part of the recorded scenario (with --shocks-file's added).
    return {**{n: {} for n in names}, "options": {"shocks": shocks}}


def _split(values: list[str]) -> list[str]:
    names = [part.strip() for v in values for part in v.split(",")]
    return list(dict.fromkeys(n for n in names if n))


def _available(sc: Scenario) -> str:
    return "shocks: " + (", ".join(sc.shocks) or "none defined")


def _compare(
    sc: Scenario,
    shocks: list[str],
    names: list[str],
    seed: int | None,
    *,
    combined: bool,
    draws: int = 0,
) -> Comparison:
    runs = (1 if combined else len(shocks)) * len(names)
    with common.progress("shock" if combined else "compare", runs) as progress:
        try:
            return compare(
                sc,
                shocks,
                names,
                common.seed_of(sc, seed),
                combined=combined,
                progress=progress,
                draws=draws,
            )
        except ValueError as exc:  # unknown shock names, bad model parameters
            raise UsageError(str(exc)) from None


def _output(sc: Scenario, result: Comparison, fmt: OutputFormat, payload: Any) -> None:
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(payload, indent=1, allow_nan=False) + "\n")
    elif fmt is OutputFormat.csv:
        sys.stdout.write(_csv(result))
    else:
        _table(sc, result)


def _csv(result: Comparison) -> str:
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        ["shock", "model", "issue", "baseline", "shocked", "delta", "method", "top_contributors"]
    )
    for r in result.runs:
        for c in r.issues:
            top = ";".join(f"{x.actor}:{x.value!r}" for x in c.top)
            writer.writerow(
                [
                    r.shock,
                    r.model,
                    c.issue,
                    _f(c.baseline),
                    _f(c.shocked),
                    _f(c.delta),
                    c.method,
                    top,
                ]
            )
    return buf.getvalue()


def _f(x: float) -> str:
    return "" if x != x else repr(float(x))


def _g(x: float) -> str:
    # one decimal, as every table of forecasts (run, mc, sweep, runs show)
    return "–" if x != x else f"{x:.1f}"


def _d(x: float) -> str:
    return "–" if x != x else f"{x:+.1f}".replace("-", "−")


def _table(sc: Scenario, result: Comparison) -> None:
    console = common.console()
    changes = [c for x in sc.shocks.values() for c in x.changes]
    joining = [c.add_actor for c in changes if isinstance(c, AddActor)]
    actor_title = {a.id: a.title for a in [*joining, *sc.actors]}
    issue_title = {i.id: i.title for i in sc.issues}
    ranges = {i.id: i.scale.max - i.scale.min for i in sc.issues}
    table = Table(title=f"{sc.name}: baseline and shocks (seed {result.seed})")
    table.add_column("model")
    table.add_column("issue")
    table.add_column("baseline", justify="right")
    for s in result.shocks:
        table.add_column(s, justify="right", overflow="fold")
        table.add_column("Δ", justify="right")
        if result.draws:
            table.add_column(f"Δ over {result.draws} draws [90 %]", justify="right")
    for m in result.models:
        for k in result.issues:
            row = [m, issue_title.get(k, k), _g(result.baseline[m][k])]
            for s in result.shocks:
                c = _change(result, s, m, k)
                row += [_g(c.shocked), _d(c.delta)]
                if result.draws:
                    med, lo, hi = result.intervals[s][m][k]
                    moved = (lo, hi) != (0.0, 0.0)  # an exact zero everywhere is no change
                    noise = " ≈" if moved and result.within_noise(s, m, k) else ""
                    row.append(f"{_d(med)} [{_d(lo)}, {_d(hi)}]{noise}")
            table.add_row(*row)
        table.add_section()
    console.print(table)
    if result.draws:
        console.print(
            f"[dim]≈: within noise — over {result.draws} draws of the uncertain inputs (the same"
            " draws before and after the shock) the change's 90 % interval holds 0, so a"
            " single run's Δ may be noise.[/]",
            highlight=False,
        )
    lines: list[str] = []
    for r in result.runs:
        for c in r.issues:
            if not notable(c, ranges[c.issue]):
                continue
            top = ", ".join(
                f"{actor_title.get(x.actor, x.actor)} {_d(x.value)} ({_g(x.before)}→{_g(x.after)})"
                for x in c.top
            )
            how = {
                "exact": "exact split",
                "counterfactual": "undone by restoring each actor alone",
                "final positions": "c·s share × change of final position",
            }[c.method]
            line = (
                f"{r.shock} · {r.model} · {issue_title[c.issue]}: {_g(c.baseline)} → "
                f"{_g(c.shocked)} ({_d(c.delta)}); {top or 'no actor moved'} [{how}]"
            )
            if c.method == "counterfactual" and c.pivot_before != c.pivot_after:
                before = actor_title.get(c.pivot_before or "", c.pivot_before or "none")
                after = actor_title.get(c.pivot_after or "", c.pivot_after or "none")
                line += f"; pivotal actor {before} → {after}"
            lines.append(line)
    if lines:
        console.print("[bold]Notable changes[/] (top contributors: contribution, final position)")
        for line in lines:
            console.print(f"  {line}", highlight=False, markup=False)
    for s in result.shocks:
        for note in result.notes.get(s, ()):
            console.print(f"[dim]note:[/] {note}", highlight=False)
    for note in dict.fromkeys(n for r in result.runs for n in r.timing):
        console.print(f"[dim]note:[/] {note}", highlight=False)
    # a model whose rounds have not settled: its Δ may reflect where the rounds stopped
    unsettled = dict.fromkeys(
        (r.model, n) for r in result.runs for n in r.notes if UNSETTLED in n or CYCLING in n
    )
    for model, note in unsettled:
        console.print(f"[dim]note ({model}, shocked run):[/] {note}", highlight=False)


def _change(result: Comparison, shock: str, model: str, issue: str) -> IssueChange:
    for c in result.get(shock, model).issues:
        if c.issue == issue:
            return c
    raise KeyError(issue)
