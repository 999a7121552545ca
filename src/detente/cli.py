"""The ``detente`` command: parses, calls the library, prints. No modelling happens here."""

from __future__ import annotations

import csv
import io as _io
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from detente import io, report
from detente.errors import InputError
from detente.models import DEFAULT_SEED, get_model, models, run
from detente.report.explain import explain as explain_trace
from detente.scenario import Scenario
from detente.store import RunKind, StoreError
from detente.trace import Labels, Trace

if TYPE_CHECKING:
    from detente.store import RunStore

app = typer.Typer(
    name="detente",
    help="Forecast where a multi-party negotiation lands and how a shock moves it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from detente import __version__

        typer.echo(f"detente {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Forecast where a multi-party negotiation lands and how a shock moves it."""


def _console(*, stderr: bool = False) -> Console:
    # Made per use, so that the terminal width (COLUMNS) is read when a command runs.
    return Console(stderr=stderr, soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class UsageError(Exception):
    """A bad option value: reported like bad input, one line and exit code 2."""


def _die(message: str) -> NoReturn:
    # Escaped: a message may hold square brackets (e.g. "detente[plot]") that are not markup.
    _console(stderr=True).print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True
    )
    raise typer.Exit(code=2)


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except (InputError, UsageError, StoreError) as exc:
        _die(str(exc))


ScenarioArg = Annotated[
    str,
    typer.Argument(
        help="A scenario file (YAML, CSV, XLSX, KTAB CSV or XML) or a built-in scenario name.",
        show_default=True,
    ),
]
SheetOpt = Annotated[
    str | None, typer.Option("--sheet", help="XLSX: the worksheet to read (default: first table).")
]
IssueOpt = Annotated[
    str | None,
    typer.Option(
        "--sheet-issue",
        "--issue",
        help="Issue id for a one-issue CSV/XLSX sheet (default: from its name).",
    ),
]
ScaleOpt = Annotated[
    str | None,
    typer.Option(
        "--scale",
        help="CSV/XLSX: MIN:MAX, the scale of the positions (default: 0–100, or their range"
        " when some lie outside it).",
    ),
]
InputFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--input-format", help="Force the input format: yaml, csv, ktab-csv, ktab-xml, xlsx."
    ),
]


def _load(
    source: str,
    sheet: str | None,
    fmt: str | None,
    *,
    issue: str | None = None,
    scale: str | None = None,
    quiet: bool = False,
) -> Scenario:
    loaded = io.resolve(source, sheet=sheet, format=fmt, issue=issue, scale=scale)
    if not quiet:
        for note in loaded.notes:
            _console(stderr=True).print(f"[dim]note:[/] {note}", highlight=False)
    return loaded.scenario


def _parse_params(pairs: Sequence[str], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``KEY=VALUE`` or ``MODEL.KEY=VALUE``; a bare key goes to every selected model that has it."""
    per_model: dict[str, dict[str, Any]] = {name: {} for name in names}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {pair!r}: expected KEY=VALUE or MODEL.KEY=VALUE")
        key = key.strip()
        model_name, dot, bare = key.rpartition(".")
        targets = [model_name] if dot else list(names)
        takers = [m for m in targets if m in per_model and _has_param(m, bare)]
        if not takers:
            raise UsageError(
                f"--param {pair!r}: no selected model has a parameter {bare!r}"
                f" (selected: {', '.join(names)}; see `detente models`)"
            )
        for m in takers:
            per_model[m][bare] = value
    return per_model


def _has_param(model: str, name: str) -> bool:
    return any(p.name == name for p in get_model(model).parameters)


RoundsOpt = Annotated[
    int | None, typer.Option("--rounds", help="Rounds to run (models with a `rounds` parameter).")
]
CompatOpt = Annotated[
    bool,
    typer.Option("--ktab-compat", help="SMP: reproduce KTAB's documented quirks exactly."),
]
VariantOpt = Annotated[
    str | None,
    typer.Option("--variant", help="Model variant (models with a `variant` parameter)."),
]


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
            traces.append(run(arrays, n, seed=_seed(sc, seed), params=per_model[n]))
        except ValueError as exc:
            if len(names) == 1:
                raise UsageError(str(exc)) from None
            failed.append(f"{n} skipped: {exc}")
    if not traces:
        raise UsageError("no model could run: " + "; ".join(failed))
    for line in failed:  # run what can run, say what could not
        _console(stderr=True).print(f"[dim]note:[/] {escape(line)}", highlight=False)
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
    return _parse_params(pairs, names)


DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Run store to record the run in: a SQLite file or a database URL"
        " (default: $DETENTE_DB_URL, else detente's own SQLite file; `detente runs --help`).",
    ),
]
NoRecordOpt = Annotated[
    bool, typer.Option("--no-record", help="Do not record this run in the run store.")
]


def _run_store(db: str | None, no_record: bool) -> RunStore | None:
    """The store the run will be recorded in, opened before the work so a bad --db fails fast."""
    if no_record:
        return None
    from detente.store import open_store

    return open_store(db)


def _record(
    store: RunStore | None,
    kind: RunKind,
    sc: Scenario,
    models: Sequence[str],
    params: dict[str, Any],
    seed: int,
    results: Any,
) -> None:
    """Record a finished run. Called before anything is printed: when recording fails, the
    command prints no result, only the one-line error (exit code 2)."""
    if store is None:
        return
    try:
        rec = store.record(kind, sc, models, params, seed, results)
    finally:
        store.close()
    # on stderr, terminal or not: scripts need the id to reopen the run (stdout stays the result)
    _console(stderr=True).print(f"[dim]recorded run {rec.id} in {store.url}[/]", highlight=False)


def _seed(sc: Scenario, seed: int | None) -> int:
    """The user's seed; else the one stored in the scenario file; else the default."""
    if seed is not None:
        return seed
    return sc.seed if sc.seed is not None else DEFAULT_SEED


def _model_names(model: Sequence[str] | None) -> list[str]:
    if not model:
        return [spec.name for spec in models()]
    return list(dict.fromkeys(get_model_or_fail(m).name for m in model))


@app.command("run")
def run_command(
    scenario: ScenarioArg = "ukraine-talks",
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model to run (repeatable). Default: every model."),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of every random choice (default: the scenario file's seed, else 0).", min=0
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Model parameter KEY=VALUE or MODEL.KEY=VALUE."),
    ] = None,
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
    with _user_errors():
        names = _model_names(model)
        sc = _load(scenario, sheet, input_format, issue=issue, scale=scale)
        store = _run_store(db, no_record)
        traces = _traces(sc, names, seed, param or [], rounds, variant, ktab_compat)
        used_seed = _seed(sc, seed)
        objs = [t.to_dict(scenario=sc.name, seed=used_seed) for t in traces]
        payload: Any = objs[0] if len(objs) == 1 else objs
        params = _user_params(names, param or [], rounds, variant, ktab_compat)
        _record(store, "run", sc, names, {**params, "options": {}}, used_seed, payload)
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
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of every random choice (default: the scenario file's seed, else 0).", min=0
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Model parameter KEY=VALUE or MODEL.KEY=VALUE."),
    ] = None,
    rounds: RoundsOpt = None,
    variant: VariantOpt = None,
    ktab_compat: CompatOpt = False,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Tell in sentences how each model reached its forecast."""
    with _user_errors():
        names = _model_names(model)
        sc = _load(scenario, sheet, input_format, issue=issue, scale=scale)
        traces = _traces(sc, names, seed, param or [], rounds, variant, ktab_compat)
    labels = Labels({a.id: a.title for a in sc.actors}, {i.id: i.title for i in sc.issues})
    console = _console()
    for t in traces:
        spec = get_model(t.model)
        console.print(f"[bold]{spec.title}[/] ({spec.name})", highlight=False)
        lines = explain_trace(t, labels)
        for line in lines or ["(this model gives no explanation)"]:
            console.print(f"  {line}", highlight=False)
        for note in t.notes:
            console.print(f"  [dim]note: {note}[/]", highlight=False)


def get_model_or_fail(name: str) -> Any:
    try:
        return get_model(name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None


def _traces_csv(traces: Sequence[Trace]) -> str:
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["model", "kind", "round", "actor", "issue", "value"])
    for t in traces:
        for k, issue in enumerate(t.issues):
            writer.writerow([t.model, "forecast", "", "", issue, _fmt_csv(t.forecast[k])])
        for r, state in enumerate(t.positions):
            for i, actor in enumerate(t.actors):
                for k, issue in enumerate(t.issues):
                    writer.writerow([t.model, "position", r, actor, issue, _fmt_csv(state[i, k])])
    return buf.getvalue()


def _fmt_csv(x: float) -> str:
    return "" if np.isnan(x) else repr(float(x))


def _print_forecast(sc: Scenario, traces: Sequence[Trace], *, rounds_tables: bool) -> None:
    """The forecast table; with models chosen by name, also each one's rounds and finals."""
    console = _console()
    for table in report.forecast_table(sc, traces, width=console.width):
        console.print(table)
    console.print(report.positions_table(sc))
    for t in traces:
        if t.rounds > 1 and rounds_tables:
            console.print(report.rounds_table(sc, t))
            console.print(report.final_positions_table(sc, t))
    consensus = (
        " consensus: the median of the models' forecasts; models' range: lowest–highest."
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
            console.print(f"{t.model}: {t.rounds - 1} rounds", highlight=False)
        for note in t.notes:
            console.print(f"[dim]{t.model}:[/] {note}", highlight=False)


ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where chunks run: inline, process or dask (same numbers on every executor).",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", help="Workers of the process pool or Dask cluster (default: CPUs)."),
]

SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="With --executor dask: a Dask scheduler address (default: a local cluster).",
    ),
]


def _executor(name: str, workers: int | None, scheduler: str | None = None) -> Any:
    """The executor of ``--executor``/``--workers``/``--scheduler``, or a usage error."""
    from detente.sim.executors import ExecutorError, make_executor

    if workers is not None and workers < 1:
        raise UsageError(f"--workers: expected a whole number of at least 1, got {workers}")
    if scheduler is not None and name.strip().lower() != "dask":
        raise UsageError(f"--scheduler: needs --executor dask, got --executor {name}")
    try:
        return make_executor(name, workers, scheduler)
    except ExecutorError as exc:
        raise UsageError(f"--executor: {exc}") from None


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
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Model parameter KEY=VALUE or MODEL.KEY=VALUE."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a fan chart of positions by round (PNG).")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
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

    with _user_errors():
        if draws < 1:
            raise UsageError(f"--draws: expected a whole number of at least 1, got {draws}")
        if seed is not None and seed < 0:
            raise UsageError(f"--seed: expected a whole number of at least 0, got {seed}")
        name = get_model_or_fail(model).name
        sc = _load(scenario, sheet, input_format, issue=issue, scale=scale)
        per_model = _parse_params(param or [], [name])
        used_seed = _seed(sc, seed)
        pool = _executor(executor, workers, scheduler)
        store = _run_store(db, no_record)
        with _progress(f"mc {name}", draws) as progress:
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
        _record(store, "mc", sc, [name], {**per_model, "options": options}, used_seed, payload)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(payload, indent=1, allow_nan=False) + "\n")
    elif output_format is OutputFormat.csv:
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["replicate", "issue", "forecast"])
        for r, row in enumerate(result.forecasts):
            for k, value in zip(result.issues, row, strict=True):
                writer.writerow([r, k, _fmt_csv(value)])
        sys.stdout.write(buf.getvalue())
    else:
        _print_mc(sc, result)
    if plot is not None:
        _console(stderr=True).print(f"wrote {plot}", highlight=False)


@contextmanager
def _progress(label: str, total: int) -> Iterator[Any]:
    """A transient progress bar on stderr (only on a terminal); yields ``progress(done, total)``.

    Shown only once the work has taken about a second, so quick runs print nothing extra.
    """
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = _console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task(label, total=total)
    start = time.monotonic()
    started = False

    def update(done: int, _total: int) -> None:
        nonlocal started
        if not started and time.monotonic() - start > 1.0:
            bar.start()
            started = True
        bar.update(task, completed=done)

    try:
        yield update
    finally:
        if started:
            bar.stop()


def _write_plot(result: Any, sc: Scenario, path: Path) -> None:
    from detente.io.common import atomic_write
    from detente.report.plots import MissingExtraError, fan_chart

    try:
        png = fan_chart(result, sc)
    except MissingExtraError as exc:
        raise UsageError(str(exc)) from None
    atomic_write(path, lambda fh: fh.write(png))


def _print_mc(sc: Scenario, result: Any) -> None:
    console = _console()
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


@app.command()
def validate(
    scenario: ScenarioArg,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Check a scenario file; print what was read and how it was interpreted."""
    with _user_errors():
        loaded = io.resolve(scenario, sheet=sheet, format=input_format, issue=issue, scale=scale)
    sc = loaded.scenario
    missing = sum(len(sc.issues) - len(a.stances) for a in sc.actors)
    unsourced = sum(1 for _, e in sc.estimates() if e.source is None)
    _console().print(
        f"[green]ok[/] {scenario}: {loaded.format}, scenario {sc.name!r}, {len(sc.actors)} actors"
        f" × {len(sc.issues)} issues, {missing} missing stances,"
        f" {unsourced} of {sum(1 for _ in sc.estimates())} values without a source",
        highlight=False,
    )
    for note in loaded.notes:
        _console().print(f"note: {note}", highlight=False)


@app.command()
def show(
    scenario: ScenarioArg,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Print a scenario's issues (with what their scale ends mean) and its actors."""
    with _user_errors():
        sc = _load(scenario, sheet, input_format, issue=issue, scale=scale)
    _console().print(f"[bold]{sc.name}[/]" + (f" — {sc.description}" if sc.description else ""))
    issues = Table(title="Issues", title_justify="left")
    for col in ("id", "label", "scale", "low end", "high end"):
        issues.add_column(col)
    for item in sc.issues:
        s = item.scale
        issues.add_row(
            item.id,
            item.label or "",
            f"{s.min:g}–{s.max:g}",
            s.min_label or "",
            s.max_label or "",
        )
    _console().print(issues)
    _console().print(report.positions_table(sc))
    if sc.parameters:
        _console().print("parameters: " + json.dumps(sc.parameters), highlight=False)


@app.command()
def convert(
    source: Annotated[str, typer.Argument(help="Input file or built-in scenario name.")],
    target: Annotated[Path, typer.Argument(help="Output file; format from its extension.")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Output format: yaml, csv, ktab-csv, ktab-xml, xlsx."),
    ] = None,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Convert a scenario between YAML, CSV, XLSX and KTAB's CSV and XML."""
    with _user_errors():
        sc = _load(source, sheet, input_format, issue=issue, scale=scale)
        io.save(sc, target, format=to)
        lost = io.losses(sc, io.target_format(target, to))
    _console(stderr=True).print(f"wrote {target}", highlight=False)
    if lost:
        _console(stderr=True).print(
            f"[dim]note:[/] {target.name} cannot hold {', '.join(lost)}; they were left out"
            " (YAML keeps everything)",
            highlight=False,
        )


@app.command()
def evidence(
    docs: Annotated[
        Path, typer.Option("--docs", help="Folder holding the source documents (required).")
    ],
    scenario: ScenarioArg = "ukraine-talks",
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
) -> None:
    """Print, for each sourced value, the span of the document that justifies it."""
    from detente.evidence import DocumentStore, evidence_table

    with _user_errors():
        sc = _load(scenario, None, None, quiet=True)
        if not docs.is_dir():
            raise InputError(docs, "expected a folder of source documents (--docs)")
        rows = evidence_table(sc, DocumentStore.from_dir(docs))
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps([r.to_dict() for r in rows], indent=2) + "\n")
        return
    if output_format is OutputFormat.csv:
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        dicts = [r.to_dict() for r in rows]
        if dicts:
            writer.writerow(list(dicts[0]))
            writer.writerows([list(d.values()) for d in dicts])
        sys.stdout.write(buf.getvalue())
        return
    table = Table(title=f"Evidence — {sc.name}", title_justify="left", show_lines=True)
    for col in ("value", "", "kind", "source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        where = f" [dim]({r.file} {r.start}–{r.end})[/]" if r.kind == "anchor" else ""
        note = f"\n[dim]{r.note}[/]" if r.note else ""
        value = "" if r.value is None else f"{r.value:g}"
        table.add_row(r.path, value, r.kind, f"{r.text}{where}{note}")
    _console().print(table)


@app.command("models")
def list_models() -> None:
    """List the models and their parameters."""
    console = _console()
    for spec in models():
        # every text is escaped: docs hold brackets ([[a, b, share], ...], [0,1]) that rich
        # would otherwise take for markup and drop
        aliases = f" [dim](also: {escape(', '.join(spec.aliases))})[/]" if spec.aliases else ""
        console.print(
            f"[bold]{escape(spec.name)}[/]{aliases} — {escape(spec.title)}", highlight=False
        )
        console.print(f"    {escape(spec.summary)}", highlight=False)
        for p in spec.parameters:
            choices = (
                f"  [dim]{escape('{' + ', '.join(map(str, p.choices)) + '}')}[/]"
                if p.choices
                else ""
            )
            console.print(
                f"    [cyan]{escape(p.name)}[/] = {escape(repr(p.default))}{choices}",
                highlight=False,
            )
            console.print(f"        {escape(p.doc)}", highlight=False)
        console.print()


def main() -> None:
    """Entry point of the ``detente`` script."""
    app()


# Commands defined in their own modules register themselves on ``app`` when imported.
from detente import cli_backtest as _cli_backtest  # noqa: E402, F401
from detente import cli_report as _cli_report  # noqa: E402, F401
from detente import cli_runs as _cli_runs  # noqa: E402, F401
from detente import cli_sensitivity as _cli_sensitivity  # noqa: E402, F401
from detente import cli_serve as _cli_serve  # noqa: E402, F401
from detente import cli_shocks as _cli_shocks  # noqa: E402, F401
from detente import cli_sweep as _cli_sweep  # noqa: E402, F401

if __name__ == "__main__":
    main()
