"""What a worker process does for one request: read an upload, run a model, a Monte Carlo or a
comparison, record the run and build the answer.

These functions run in the processes of :class:`detente.web.workers.WorkerPool`, never in the
server's own: a run that outgrows its time or memory is stopped by killing its process, and
the server's event loop and other requests go on meanwhile, on other CPUs. Each takes one
picklable task and returns an :class:`Outcome` (or the loaded scenario); a ``progress(done,
total)`` callback reports Monte Carlo chunks back to the server.

When the run store can be shared between processes (a file or a database server), the worker
records the run itself, through :func:`detente.store.run_and_record` as the CLI does, and
returns the finished JSON answer; with an in-memory SQLite store (``sqlite://``, one per
process) it returns the run as a :class:`~detente.store.RunJob` for the server to record.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from detente import io
from detente.errors import InputError
from detente.models import get_model, run
from detente.scenario import Scenario
from detente.store.record import RunKind
from detente.store.recording import RunJob
from detente.web import views
from detente.web.schemas import ComparisonOut, LoadedScenario
from detente.web.stored import store_for

Progress = Callable[[int, int], None]

Record = RunJob
"""A finished run for the server to record (:meth:`RunJob.record_in`)."""


@dataclass(frozen=True)
class Outcome:
    """A finished request: ``body`` (JSON, ``run_id`` included) if the worker recorded the run,
    else ``answer`` without ``run_id`` and the ``record`` the server is to write first."""

    body: bytes | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    record: Record | None = None


@dataclass(frozen=True)
class RunTask:
    scenario: Scenario
    model: str
    params: dict[str, Any]
    seed: int
    store_url: str | None
    """Where the worker records the run; None: the server records it."""


@dataclass(frozen=True)
class MonteCarloTask:
    scenario: Scenario
    model: str
    params: dict[str, Any]
    seed: int
    draws: int
    chunk: int
    store_url: str | None


@dataclass(frozen=True)
class CompareTask:
    scenario: Scenario
    shocks: list[str]
    models: list[str]
    seed: int
    combined: bool
    store_url: str | None


@dataclass(frozen=True)
class UploadTask:
    path: Path
    shown: str
    """The client's file name, put in messages instead of where the file was saved."""


def _finish(
    store_url: str | None,
    record: RunJob,
    answer: Callable[[int], BaseModel],
    exclude_unset: bool = False,
) -> Outcome:
    """Record (here, or leave it to the server) and give the answer with its run id."""
    run_id = _record(store_url, record)
    if run_id is None:
        out = answer(0).model_dump(mode="json", exclude_unset=exclude_unset)
        return Outcome(answer=out, record=record)
    body = answer(run_id).model_dump_json(exclude_unset=exclude_unset)
    return Outcome(body=body.encode("utf-8"))


def _record(store_url: str | None, job: RunJob) -> int | None:
    """The new run's id, recorded in this process; None: the server is to record it."""
    if store_url is None:
        return None
    return job.record_in(store_for(store_url)).run_id


def run_model(task: RunTask, progress: Progress | None = None) -> Outcome:
    """One model run, recorded: ``POST /api/run``."""
    sc, name = task.scenario, get_model(task.model).name
    trace = run(sc, name, seed=task.seed, params=task.params)
    results = trace.to_dict(scenario=sc.name, seed=task.seed)
    params = {name: task.params, "options": {}}
    record = RunJob("run", sc, [name], params, task.seed, results)
    return _finish(task.store_url, record, lambda run_id: views.run_result(trace, results, run_id))


def monte_carlo(task: MonteCarloTask, progress: Progress | None = None) -> Outcome:
    """A Monte Carlo run, recorded: the job of ``POST /api/mc``; ``answer`` is the summary."""
    from detente.sim import montecarlo

    sc, name = task.scenario, get_model(task.model).name
    result = montecarlo.monte_carlo(
        sc, name, task.draws, task.seed, params=task.params, chunk=task.chunk, progress=progress
    )
    results = result.to_dict()
    options = {name: task.params, "options": {"draws": task.draws}}
    record = RunJob("mc", sc, [name], options, task.seed, results)
    summary = views.mc_summary(result, results)
    run_id = _record(task.store_url, record)
    if run_id is None:
        return Outcome(answer=summary.model_dump(mode="json"), record=record)
    return Outcome(answer={**summary.model_dump(mode="json"), "run_id": run_id})


def compare_shocks(task: CompareTask, progress: Progress | None = None) -> Outcome:
    """The baseline against each shock under each model, recorded: ``POST /api/compare``."""
    from detente.sim.compare import compare

    sc, names = task.scenario, task.models
    result = compare(sc, task.shocks, names, task.seed, combined=task.combined)
    results = result.to_dict()
    params: dict[str, Any] = {m: {} for m in names}
    params["options"] = {"shocks": task.shocks, "combined": task.combined}
    kind: RunKind = "shock" if task.combined else "compare"
    record = RunJob(kind, sc, list(names), params, task.seed, results)
    return _finish(
        task.store_url,
        record,
        lambda run_id: ComparisonOut(run_id=run_id, **results),
        exclude_unset=True,  # pivots only where the method gives them
    )


def read_upload(task: UploadTask, progress: Progress | None = None) -> LoadedScenario:
    """An uploaded file read by detente's readers; ``ValueError``: the reader's one line,
    naming the client's file rather than where it was saved."""
    path, shown = task.path, task.shown
    try:
        loaded = io.load(path)
    except InputError as exc:
        exc.file = shown
        raise ValueError(exc.message.replace(str(path), shown)) from None
    except Exception as exc:  # a reader bug must still answer with one line
        raise ValueError(
            f"{shown}: cannot be read as a scenario ({type(exc).__name__}: {exc})"
        ) from None
    return LoadedScenario(
        scenario=loaded.scenario,
        format=loaded.format,
        notes=[note.replace(str(path), shown) for note in loaded.notes],
        origin=shown,
    )


# -- for tests: work that takes a given time or memory -------------------------------------


@dataclass(frozen=True)
class ProbeTask:
    """Sleep ``seconds``, then hold ``megabytes`` of touched memory for ``hold`` seconds."""

    seconds: float = 0.0
    megabytes: int = 0
    hold: float = 0.0


def probe(task: ProbeTask, progress: Progress | None = None) -> dict[str, Any]:
    """Used by the tests of the worker pool's limits (time, memory, cancellation)."""
    time.sleep(task.seconds)
    block = bytearray(task.megabytes * 2**20)
    for offset in range(0, len(block), 4096):  # touch every page: resident, not just reserved
        block[offset] = 1
    time.sleep(task.hold)
    return {"pid": os.getpid(), "size": len(block)}
