"""What a worker process does with a recorded run: the page's view of it, its explanation and
its HTML report.

A stored run can be large (a Monte Carlo record keeps every draw's forecast), so reading it
back, through its results' own types (:meth:`detente.store.record.RunRecord.result`), runs in
a worker of :class:`detente.web.workers.WorkerPool` under the budget's time and memory limits,
like the runs themselves. The worker reads the record from the store when it can open the
same one; with an in-memory store the server reads it and sends it along.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detente.scenario import Scenario
from detente.store.record import RunRecord
from detente.web import views
from detente.web.schemas import ExplainOut, StoredRun

Progress = Callable[[int, int], None]

_STORES: dict[str, Any] = {}
_STORES_LOCK = threading.Lock()


class RunMissing(LookupError):
    """No run with the asked-for id (answered 404)."""


@dataclass(frozen=True)
class StoredTask:
    run_id: int
    store_url: str | None
    """Where the worker reads the run; None: ``record`` is given."""
    record: RunRecord | None = None
    docs_dir: Path | None = None
    """The source documents a report quotes (None: spans are not quoted)."""


def store_for(url: str) -> Any:
    """This process's store for ``url``, opened once (a store must not cross a fork)."""
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            from detente.store import open_store

            store = _STORES[url] = open_store(url)
        return store


def _load(task: StoredTask) -> tuple[RunRecord, Scenario]:
    from detente.io.yaml_io import read_yaml
    from detente.store.errors import RunNotFoundError

    record = task.record
    if record is None:
        assert task.store_url is not None
        try:
            record = store_for(task.store_url).get(task.run_id)
        except RunNotFoundError:
            raise RunMissing(f"no run {task.run_id}") from None
    scenario = read_yaml(f"<run {record.id}>", record.scenario_yaml.encode("utf-8"))
    return record, scenario


def view(task: StoredTask, progress: Progress | None = None) -> StoredRun:
    """A recorded run for the page: ``GET /api/runs/{id}/view``."""
    record, scenario = _load(task)
    return views.stored_run(record, scenario)


def explain(task: StoredTask, progress: Progress | None = None) -> ExplainOut:
    """How each model of a recorded run reached its forecast: ``GET /api/runs/{id}/explain``."""
    record, scenario = _load(task)
    if record.kind != "run":
        raise ValueError(
            f"run {record.id} is a {record.kind} run; explanations tell how a single run of a"
            " model reached its forecast"
        )
    traces = record.result()
    assert isinstance(traces, list)
    return views.explanations(scenario, traces, record.id)


def report(task: StoredTask, progress: Progress | None = None) -> bytes:
    """The run's self-contained HTML report: ``GET /api/runs/{id}/report``."""
    from detente.evidence import DocumentStore
    from detente.report.html import render_report
    from detente.report.plots import MissingExtraError

    record, _scenario = _load(task)
    documents = DocumentStore.from_dir(task.docs_dir) if task.docs_dir is not None else None
    try:
        page = render_report(record, documents)
    except MissingExtraError as exc:
        raise ValueError(str(exc)) from None
    return page.encode("utf-8")
