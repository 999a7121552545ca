"""Run and record: the one way a command or a web request keeps a run in the run store.

:func:`run_and_record` takes what ran (kind, scenario, models, parameters, seed) and its results,
computed already or by a callable it calls, records them in the given store (or in none) and
returns the results with the new run's id. The CLI's commands and the web app's workers
(:mod:`detente.web.work`) both record through it, so a run is recorded the same way wherever it
was made. It lives beside the store, not in ``sim``: it knows the store and nothing of how
results are computed.

A record that the store cannot hold in one row (SQLite's 1 GB length limit, PostgreSQL's 1 GB
field) is refused before anything is written, with a
:class:`~detente.store.errors.RecordTooLargeError`; a store that fails during the write rolls
its one transaction back, so no half-written record is ever left. Both are
:class:`~detente.store.errors.StoreError`, one line each.

Example::

    >>> from detente import io
    >>> from detente.store import open_store, run_and_record
    >>> sc = io.load_default()
    >>> store = open_store("sqlite://")
    >>> done = run_and_record(store, "run", sc, ["median"], {}, 0, compute=lambda: {"n": 1})
    >>> done.results, done.run_id
    ({'n': 1}, 1)
    >>> run_and_record(None, "run", sc, ["median"], {}, 0, {"n": 1}).run_id is None
    True
    >>> store.close()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from detente.store.record import RunKind

if TYPE_CHECKING:
    from detente.scenario import Scenario
    from detente.store.base import RunStore

_NOT_GIVEN: Any = object()


@dataclass(frozen=True)
class Recorded:
    """A run's results and where they were recorded."""

    results: Any
    """What was recorded: plain JSON, what the commands print with ``--format json``."""
    run_id: int | None
    """The new run's id; None when no store was given."""
    url: str | None
    """The store's URL (password masked); None when no store was given."""


@dataclass(frozen=True)
class RunJob:
    """A finished run waiting to be recorded elsewhere: the web app's workers hand it to the
    server when their store cannot be shared between processes (in-memory SQLite)."""

    kind: RunKind
    scenario: Scenario
    models: list[str]
    params: dict[str, Any]
    seed: int
    results: Any

    def record_in(self, store: RunStore | None) -> Recorded:
        """Record this run in ``store`` (see :func:`run_and_record`)."""
        return run_and_record(
            store, self.kind, self.scenario, self.models, self.params, self.seed, self.results
        )


def run_and_record(
    store: RunStore | None,
    kind: RunKind,
    scenario: Scenario,
    models: Sequence[str],
    params: Mapping[str, Any],
    seed: int,
    results: Any = _NOT_GIVEN,
    *,
    compute: Callable[[], Any] | None = None,
) -> Recorded:
    """Record one run in ``store`` and return its results with the new run's id.

    Parameters
    ----------
    store
        An open run store (:func:`~detente.store.open_store`; opened before the work, so that
        a bad store fails before it), or None to record nothing. It is not closed here.
    kind
        The command that made the run: ``run``, ``mc``, ``compare``, ``shock``,
        ``sensitivity``, ``advise`` or ``discover``.
    scenario, models, params, seed
        What ran: the scenario as run, the models' names, each model's user-given parameters
        plus the command's options under ``"options"``, and the seed used.
    results
        The results as plain JSON (no NaN or infinities), e.g. ``trace.to_dict()``.
    compute
        Instead of ``results``: a callable without arguments that returns them.

    Returns
    -------
    Recorded
        ``results``, the new ``run_id`` and the store's ``url`` (both None without a store).

    Raises
    ------
    RecordTooLargeError
        The record is larger than one row of the store can hold; nothing was written.
    StoreError
        The store could not write the record (unreachable, locked, results not plain JSON);
        nothing was written.
    """
    if (results is _NOT_GIVEN) == (compute is None):
        raise TypeError("run_and_record: give either results or compute, not both or neither")
    if compute is not None:
        results = compute()
    if store is None:
        return Recorded(results, None, None)
    saved = store.record(kind, scenario, models, params, seed, results)
    return Recorded(results, int(saved.id), store.url)
