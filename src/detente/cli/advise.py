"""``detente advise`` (an actor's levers, ranked under uncertainty) and ``detente discover``
(the input ranges under which an outcome happens, PRIM)."""

from __future__ import annotations

import csv
import io as _io
import json
import math
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
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
    SeedOpt,
    SheetOpt,
    ShocksFileOpt,
    WorkersOpt,
)
from detente.cli.program import app
from detente.scenario import Scenario

if TYPE_CHECKING:
    from detente.sim.advise import AdviceResult
    from detente.sim.discover import DiscoveryResult

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model to run on every draw.")]
DrawsOpt = Annotated[
    int,
    typer.Option("--draws", "-n", help="Monte Carlo draws (the same for every lever), at least 1."),
]
PlotOpt = Annotated[Path | None, typer.Option("--plot", help="Write a chart (PNG).")]


def _percent(bar: Callable[[int, int], None] | None) -> Callable[[int, int], None]:
    """A progress callback in percent: the number of evaluations is known only inside."""

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar(100 * done // max(total, 1), 100)

    return progress


def _write_png(path: Path, make: Callable[[], bytes]) -> None:
    from detente.io.common import atomic_write
    from detente.report.plots import MissingExtraError

    try:
        png = make()
    except MissingExtraError as exc:
        raise UsageError(str(exc)) from None
    atomic_write(path, lambda fh: fh.write(png))


def _csv(x: float) -> str:
    return "" if not math.isfinite(x) else repr(float(x))


def _fmt(x: float, digits: int = 1, *, sign: bool = False) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


# -- advise ------------------------------------------------------------------------------------


@app.command("advise")
def advise_command(
    scenario: ScenarioArg = "ukraine-talks",
    actor: Annotated[
        str, typer.Option("--actor", "-a", help="The actor advised (its id), e.g. usa.")
    ] = "",
    model: ModelOpt = "median",
    draws: DrawsOpt = 1000,
    seed: SeedOpt = None,
    param: ParamOpt = None,
    levers: Annotated[
        Path | None,
        typer.Option(
            "--levers",
            help="A YAML levers file: kinds, step sizes, targets and levers of your own"
            " (docs/discover.md).",
        ),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            help="Only this kind of lever (repeatable): position, salience, persuade-position,"
            " persuade-salience, shock, causal, custom.",
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", "-k", help="Levers shown (and plotted).")] = 15,
    plot: PlotOpt = None,
    output_format: FormatOpt = OutputFormat.table,
    executor: ExecutorOpt = "inline",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    shocks_file: ShocksFileOpt = None,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
    db: DbOpt = None,
    no_record: NoRecordOpt = False,
) -> None:
    """Rank an actor's levers by how far each moves the forecast toward its own positions.

    Levers: its own position and salience moves, persuading another actor (position or
    salience), the scenario's shocks and causal-map levers. Each runs on the same Monte Carlo
    draws; the gain is in points (0–100, weighted by the actor's saliences), median and 5–95 %
    over the draws. The other actors are held to the model's behaviour.
    """
    from detente.io.levers import load_levers
    from detente.scenario.levers import LeverPlan
    from detente.sim.advise import LEVER_KINDS, advise

    with common.user_errors():
        if not actor:
            raise UsageError("--actor: expected the id of the actor to advise, e.g. --actor usa")
        if draws < 1:
            raise UsageError(f"--draws: expected a whole number of at least 1, got {draws}")
        if top < 1:
            raise UsageError(f"--top: expected a whole number of at least 1, got {top}")
        unknown = [k for k in kind or [] if k not in LEVER_KINDS]
        if unknown:
            raise UsageError(
                f"--kind: unknown lever kind {', '.join(map(repr, unknown))}"
                f" (kinds: {', '.join(LEVER_KINDS)})"
            )
        name = common.model_or_fail(model).name
        sc = common.load(
            scenario, sheet, input_format, issue=issue, scale=scale, shocks_file=shocks_file
        )
        actors = [a.id for a in sc.actors]
        if actor not in actors:
            raise UsageError(f"--actor: unknown actor {actor!r} (actors: {', '.join(actors)})")
        plan = load_levers(levers, sc) if levers is not None else LeverPlan()
        if plan.kinds is not None:
            bad = [k for k in plan.kinds if k not in LEVER_KINDS]
            if bad:
                raise UsageError(
                    f"{levers}: kinds: unknown lever kind {', '.join(map(repr, bad))}"
                    f" (kinds: {', '.join(LEVER_KINDS)})"
                )
        if kind:
            plan = plan.model_copy(update={"kinds": tuple(dict.fromkeys(kind))})
        per_model = common.parse_params(param or [], [name])
        used_seed = common.seed_of(sc, seed)
        pool = common.make_executor(executor, workers, scheduler)
        store = common.run_store(db, no_record)
        with common.progress(f"advise {actor}, {name}", 100) as bar:
            try:
                result = advise(
                    sc,
                    actor,
                    name,
                    draws,
                    used_seed,
                    params=per_model[name],
                    plan=plan,
                    progress=_percent(bar),
                    executor=pool,
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        if plot is not None:
            from detente.report.advice_plots import advice_chart

            _write_png(plot, lambda: advice_chart(result, top=top))
        payload = result.to_dict()
        options: dict[str, Any] = {
            "actor": actor,
            "draws": draws,
            "levers": str(levers) if levers is not None else None,
            "kinds": list(plan.kinds) if plan.kinds is not None else None,
            "top": top,
        }
        params = {**per_model, "options": options}
        common.record(store, "advise", sc, [name], params, used_seed, payload)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(payload, indent=1, allow_nan=False) + "\n")
    elif output_format is OutputFormat.csv:
        sys.stdout.write(_advice_csv(result))
    else:
        _print_advice(sc, result, top)
    if plot is not None:
        common.console(stderr=True).print(f"wrote {plot}", highlight=False)


def _advice_csv(result: AdviceResult) -> str:
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    shifts = [f"shift_{k}" for k in result.issues]
    writer.writerow(
        [
            "rank",
            "lever",
            "kind",
            "target",
            "label",
            "gain_median",
            "gain_q05",
            "gain_q95",
            "gain_mean",
            "helps",
            "hurts",
            "concession",
            *shifts,
        ]
    )
    for rank, lv in enumerate(result.levers, start=1):
        writer.writerow(
            [
                rank,
                lv.name,
                lv.kind,
                lv.target or "",
                lv.label,
                *(_csv(g) for g in lv.gain),
                _csv(lv.helps),
                _csv(lv.hurts),
                _csv(lv.concession),
                *(_csv(lv.shift.get(k, math.nan)) for k in result.issues),
            ]
        )
    return buf.getvalue()


def _moves(sc: Scenario, shift: Mapping[str, float]) -> str:
    """The issues a lever moves most (median change of the forecast)."""
    moved = [(k, v) for k, v in shift.items() if math.isfinite(v) and abs(v) >= 0.05]
    moved.sort(key=lambda kv: -abs(kv[1]))
    text = ", ".join(f"{sc.issue(k).title} {v:+.1f}" for k, v in moved[:2])
    return f"moves {text}" if text else "moves no forecast (median)"


def _print_advice(sc: Scenario, result: AdviceResult, top: int) -> None:
    console = common.console()
    who = sc.actor(result.actor).title
    d = result.distance
    console.print(
        f"[bold]Levers for {who} — {sc.name}, {result.model}, {result.draws} draws, seed"
        f" {result.seed}[/]",
        highlight=False,
    )
    console.print(
        f"Without a lever the forecast lies {_fmt(d[0])} points from the positions of {who}"
        f" (5–95 %: {_fmt(d[1])}–{_fmt(d[2])}; salience-weighted, 0–100). Gain: points closer,"
        " median and 5–95 % over the draws; cost: what moving its own positions concedes.",
        highlight=False,
    )
    table = Table(title_justify="left")
    for col, justify in (
        ("#", "right"),
        ("lever", "left"),
        ("gain", "right"),
        ("5–95 %", "right"),
        ("helps", "right"),
        ("cost", "right"),
    ):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for rank, lv in enumerate(result.levers[:top], start=1):
        table.add_row(
            str(rank),
            f"{escape(lv.label)}\n[dim]{lv.kind}; {escape(_moves(sc, lv.shift))}[/]",
            _fmt(lv.gain[0], 2, sign=True),
            f"{_fmt(lv.gain[1], 1, sign=True)} – {_fmt(lv.gain[2], 1, sign=True)}",
            f"{100 * lv.helps:.0f} %",
            _fmt(lv.concession),
        )
    console.print(table)
    more = len(result.levers) - min(top, len(result.levers))
    if more:
        console.print(f"[dim]{more} more levers: --top, --format json or csv[/]", highlight=False)
    console.print(f"[dim]caveat:[/] {escape(result.caveat)}", highlight=False)
    shown = result.levers[:top]
    for note in [*result.notes, *(f"{lv.name}: {n}" for lv in shown for n in lv.notes)]:
        console.print(f"[dim]note:[/] {escape(note)}", highlight=False)


# -- discover ----------------------------------------------------------------------------------


@app.command("discover")
def discover_command(
    scenario: ScenarioArg = "ukraine-talks",
    threshold: Annotated[
        str,
        typer.Option(
            "--threshold",
            "-t",
            help="The outcome: ISSUE OP NUMBER, e.g. 'territory >= 80' (issue id or label; OP"
            " one of >=, >, <=, <).",
        ),
    ] = "",
    model: ModelOpt = "median",
    draws: DrawsOpt = 1000,
    seed: SeedOpt = None,
    param: ParamOpt = None,
    alpha: Annotated[
        float, typer.Option("--alpha", help="PRIM: share of the box peeled per step.")
    ] = 0.05,
    min_mass: Annotated[
        float, typer.Option("--min-mass", help="PRIM: smallest share of the draws in a box.")
    ] = 0.05,
    min_coverage: Annotated[
        float,
        typer.Option(
            "--min-coverage",
            help="PRIM: the densest box on the trajectory that covers at least this share.",
        ),
    ] = 0.5,
    paste: Annotated[
        bool, typer.Option("--paste/--no-paste", help="PRIM: paste the selected box.")
    ] = True,
    boxes: Annotated[int, typer.Option("--boxes", help="PRIM: most boxes (covering).")] = 3,
    plot: PlotOpt = None,
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
    """Find the ranges of the uncertain inputs under which an outcome happens (PRIM).

    Runs the Monte Carlo of `detente mc` (same seed, same draws), marks the draws whose
    forecast meets --threshold, and prints PRIM's boxes of input ranges with their coverage
    and density; --plot draws the peeling trajectory.
    """
    from detente.sim.discover import discover, parse_threshold

    with common.user_errors():
        if not threshold:
            raise UsageError("--threshold: expected ISSUE OP NUMBER, e.g. 'territory >= 80'")
        if draws < 1:
            raise UsageError(f"--draws: expected a whole number of at least 1, got {draws}")
        for flag, value, low, high, open_high in (
            ("--alpha", alpha, 0.0, 0.5, False),
            ("--min-mass", min_mass, 0.0, 1.0, True),
            ("--min-coverage", min_coverage, 0.0, 1.0, False),
        ):
            if not (low < value < high or (value == high and not open_high)):
                close = ")" if open_high else "]"
                raise UsageError(
                    f"{flag}: expected a number in ({low:g}, {high:g}{close}, got {value:g}"
                )
        if boxes < 1:
            raise UsageError(f"--boxes: expected a whole number of at least 1, got {boxes}")
        name = common.model_or_fail(model).name
        sc = common.load(scenario, sheet, input_format, issue=issue, scale=scale)
        try:
            cond = parse_threshold(threshold, sc)
        except ValueError as exc:
            raise UsageError(f"--threshold: {exc}") from None
        per_model = common.parse_params(param or [], [name])
        used_seed = common.seed_of(sc, seed)
        pool = common.make_executor(executor, workers, scheduler)
        store = common.run_store(db, no_record)
        with common.progress(f"discover {name}", draws) as progress:
            try:
                result = discover(
                    sc,
                    cond,
                    name,
                    draws,
                    used_seed,
                    params=per_model[name],
                    alpha=alpha,
                    min_mass=min_mass,
                    min_coverage=min_coverage,
                    paste=paste,
                    max_boxes=boxes,
                    progress=progress,
                    executor=pool,
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        if plot is not None:
            from detente.report.advice_plots import trajectory_chart

            _write_png(plot, lambda: trajectory_chart(result))
        payload = result.to_dict()
        options = {"threshold": threshold, "draws": draws, **result.settings}
        params = {**per_model, "options": options}
        common.record(store, "discover", sc, [name], params, used_seed, payload)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(payload, indent=1, allow_nan=False) + "\n")
    elif output_format is OutputFormat.csv:
        sys.stdout.write(_discovery_csv(result))
    else:
        _print_discovery(sc, result)
    if plot is not None:
        common.console(stderr=True).print(f"wrote {plot}", highlight=False)


def _discovery_csv(result: DiscoveryResult) -> str:
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        ["box", "coverage", "density", "mass", "input", "lower", "upper", "low", "high", "qp"]
    )
    for b, box in enumerate(result.boxes, start=1):
        for r in box.restrictions:
            writer.writerow(
                [
                    b,
                    _csv(box.coverage),
                    _csv(box.density),
                    _csv(box.mass),
                    r.input,
                    _csv(r.lower),
                    _csv(r.upper),
                    _csv(r.low),
                    _csv(r.high),
                    _csv(r.qp),
                ]
            )
    return buf.getvalue()


def _print_discovery(sc: Scenario, result: DiscoveryResult) -> None:
    console = common.console()
    cond = result.threshold.condition
    console.print(
        f"[bold]Scenario discovery — {sc.name}: {cond}[/] ({result.model}, {result.draws}"
        f" draws, seed {result.seed}, {len(result.inputs)} uncertain inputs)",
        highlight=False,
    )
    console.print(
        f"{cond} holds in {result.cases} of {result.draws} draws ({100 * result.base_rate:.0f} %)."
        " Coverage: share of those draws inside the box; density: share of the box's draws"
        " where it holds.",
        highlight=False,
    )
    for b, box in enumerate(result.boxes, start=1):
        table = Table(
            title=f"Box {b}: coverage {100 * box.coverage:.0f} %, density"
            f" {100 * box.density:.0f} % ({box.hits} of {box.cases} draws)",
            title_justify="left",
        )
        for col, justify in (
            ("input", "left"),
            ("in the box", "right"),
            ("over the draws", "right"),
            ("quasi-p", "right"),
        ):
            table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for r in box.restrictions:
            table.add_row(
                escape(("~ " if r.noisy else "") + r.input),
                f"{r.lower:.4g} – {r.upper:.4g}",
                f"{r.low:.4g} – {r.high:.4g}",
                f"{r.qp:.3g}",
            )
        if not box.restrictions:
            table.add_row("(no input restricted)", "", "", "")
        console.print(table)
    for note in result.notes:
        console.print(f"[dim]note:[/] {escape(note)}", highlight=False)
