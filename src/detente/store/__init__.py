"""The run store: every recorded ``detente run|mc|compare|shock|sensitivity``, in a database.

SQLite by default (a file in the user's data folder, see :func:`default_url`), PostgreSQL when
given a ``postgresql+psycopg://`` URL. Example::

    >>> from detente import io
    >>> from detente.store import open_store
    >>> store = open_store("sqlite://")  # an in-memory store
    >>> rec = store.record("run", io.load_default(), ["median"], {}, 0, {"forecast": {}})
    >>> store.get(rec.id).models
    ['median']
    >>> store.close()

Commands and the web app record through :func:`run_and_record`
(:mod:`detente.store.recording`), which returns the results with the new run's id.

The errors and records load without SQLAlchemy, and so does a SQLite file at the current schema
(:mod:`detente.store.lite`): SQLAlchemy loads only to create or upgrade a store and for other
databases (:mod:`detente.store.base` says which serves what).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from detente.store.errors import RecordTooLargeError, RunNotFoundError, StoreError
from detente.store.record import RunKind, RunRecord, RunSummary
from detente.store.recording import Recorded, RunJob, run_and_record

if TYPE_CHECKING:
    from detente.store.base import RunStore, default_url, open_store

__all__ = [
    "RecordTooLargeError",
    "Recorded",
    "RunJob",
    "RunKind",
    "RunNotFoundError",
    "RunRecord",
    "RunStore",
    "RunSummary",
    "StoreError",
    "default_url",
    "open_store",
    "run_and_record",
]

_LAZY = {"RunStore", "default_url", "open_store"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from detente.store import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
