"""What the commands share: the console, one-line errors, loading a scenario, model names and
parameters, seeds, progress bars, executors and the run store.

Command modules import this module (``from detente.cli import common``) and never each other's,
so the CLI's modules form no import cycle.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape

from detente import io
from detente.errors import InputError
from detente.models import DEFAULT_SEED, ModelSpec, get_model, models
from detente.scenario import Scenario
from detente.store import RunKind, StoreError

if TYPE_CHECKING:
    from detente.sim.executors import Executor
    from detente.store import RunStore


def console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr)."""
    # Made per use, so that the terminal width (COLUMNS) is read when a command runs.
    return Console(stderr=stderr, soft_wrap=True)


# -- errors --------------------------------------------------------------------------------


class UsageError(Exception):
    """A bad option value: reported like bad input, one line and exit code 2."""


def die(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with code 2."""
    # Escaped: a message may hold square brackets (e.g. "detente[plot]") that are not markup.
    console(stderr=True).print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True
    )
    raise typer.Exit(code=2)


@contextmanager
def user_errors() -> Iterator[None]:
    """Bad input, bad options and run-store failures end the command with one line."""
    try:
        yield
    except (InputError, UsageError, StoreError) as exc:
        die(str(exc))


# -- the scenario --------------------------------------------------------------------------


def load(
    source: str,
    sheet: str | None,
    fmt: str | None,
    *,
    issue: str | None = None,
    scale: str | None = None,
    shocks_file: Path | None = None,
    quiet: bool = False,
) -> Scenario:
    """The scenario of a file or built-in name, with the shocks of ``--shocks-file`` added
    (and the sources they cite); the readers' notes go to stderr."""
    loaded = io.resolve(source, sheet=sheet, format=fmt, issue=issue, scale=scale)
    if not quiet:
        for note in loaded.notes:
            console(stderr=True).print(f"[dim]note:[/] {note}", highlight=False)
    if shocks_file is not None:
        return io.with_shocks(loaded.scenario, shocks_file)
    return loaded.scenario


def seed_of(sc: Scenario, seed: int | None) -> int:
    """The user's seed; else the one stored in the scenario file; else the default."""
    if seed is not None:
        return seed
    return sc.seed if sc.seed is not None else DEFAULT_SEED


# -- models and their parameters -----------------------------------------------------------


def model_or_fail(name: str) -> ModelSpec:
    """The registered model ``name`` (or alias); an unknown name is a usage error."""
    try:
        return get_model(name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None


def model_names(model: Sequence[str] | None) -> list[str]:
    """The models of repeated ``--model`` options, once each; none given: every model."""
    if not model:
        return [spec.name for spec in models()]
    return list(dict.fromkeys(model_or_fail(m).name for m in model))


def parse_params(pairs: Sequence[str], names: Sequence[str]) -> dict[str, dict[str, Any]]:
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


# -- output --------------------------------------------------------------------------------


def fmt_csv(x: float) -> str:
    """A number in a CSV cell: exact (``repr``), empty for NaN."""
    return "" if np.isnan(x) else repr(float(x))


@contextmanager
def progress(label: str, total: int) -> Iterator[Any]:
    """A transient progress bar on stderr (only on a terminal); yields ``progress(done, total)``.

    Shown only once the work has taken about a second, so quick runs print nothing extra.
    """
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    err = console(stderr=True)
    if not err.is_terminal:
        yield None
        return
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
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


# -- where the work runs -------------------------------------------------------------------


def make_executor(name: str, workers: int | None, scheduler: str | None = None) -> Executor:
    """The executor of ``--executor``/``--workers``/``--scheduler``, or a usage error."""
    from detente.sim.executors import ExecutorError
    from detente.sim.executors import make_executor as make

    if workers is not None and workers < 1:
        raise UsageError(f"--workers: expected a whole number of at least 1, got {workers}")
    if scheduler is not None and name.strip().lower() != "dask":
        raise UsageError(f"--scheduler: needs --executor dask, got --executor {name}")
    try:
        return make(name, workers, scheduler)
    except ExecutorError as exc:
        raise UsageError(f"--executor: {exc}") from None


# -- the run store -------------------------------------------------------------------------


def run_store(db: str | None, no_record: bool) -> RunStore | None:
    """The store the run will be recorded in, opened before the work so a bad --db fails fast."""
    if no_record:
        return None
    from detente.store import open_store

    return open_store(db)


def record(
    store: RunStore | None,
    kind: RunKind,
    sc: Scenario,
    models: Sequence[str],
    params: dict[str, Any],
    seed: int,
    results: Any,
) -> int | None:
    """Record a finished run (:func:`~detente.store.run_and_record`) and return its id. Called
    before anything is printed: when recording fails, the command prints no result, only the
    one-line error (exit code 2)."""
    from detente.store import RecordTooLargeError, run_and_record

    if store is None:
        return None
    try:
        done = run_and_record(store, kind, sc, models, params, seed, results)
    except RecordTooLargeError as exc:
        raise UsageError(f"{exc}; --no-record runs the command without recording it") from None
    finally:
        store.close()
    # on stderr, terminal or not: scripts need the id to reopen the run (stdout stays the result)
    console(stderr=True).print(f"[dim]recorded run {done.run_id} in {done.url}[/]", highlight=False)
    return done.run_id
