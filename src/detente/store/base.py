"""Opening a run store, and what every store does: :func:`open_store`, :class:`RunStore`.

Two implementations sit behind :class:`RunStore`. A SQLite file whose schema is current is
read and written with Python's own :mod:`sqlite3` (:mod:`detente.store.lite`): a command that
records a run does not load SQLAlchemy, which takes longer to import than most runs take. Every
other store (PostgreSQL, an in-memory SQLite, any other SQLAlchemy URL) and every schema
change (a new file, an older detente's file) goes through SQLAlchemy and Alembic
(:mod:`detente.store.db`). Both write the same rows: either reads what the other wrote.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, get_args

from detente.scenario import Scenario
from detente.store.errors import RecordTooLargeError, StoreError
from detente.store.record import RunKind, RunRecord, RunSummary

SCHEMA_REVISION = "0002"
"""The newest migration in ``migrations/versions`` (checked by the tests): a store already at
this revision is opened without loading Alembic."""

MAX_SEED = 2**63 - 1  # a BIGINT column
BUSY_TIMEOUT_MS = 60_000

SQLITE_DEFAULT_MAX_LENGTH = 1_000_000_000
"""SQLite's default ``SQLITE_MAX_LENGTH``: the largest string, and the largest whole row."""
POSTGRES_MAX_FIELD = 2**30 - 1
"""PostgreSQL's largest value of one field (1 GB), and of one allocation such as a query's."""
ROW_OVERHEAD = 1024
"""Room kept beside a row's text for its integers and SQLite's record header (tens of bytes)."""

COLUMNS = (
    "id",
    "kind",
    "created_at",
    "scenario_name",
    "scenario_hash",
    "scenario_yaml",
    "models",
    "params",
    "seed",
    "version",
    "results",
)
"""The columns of the ``runs`` table, in the order of the migrations."""
SUMMARY = (
    "id",
    "kind",
    "created_at",
    "scenario_name",
    "scenario_hash",
    "models",
    "seed",
    "version",
)
"""The columns of a :class:`RunSummary`."""


def default_url() -> str:
    """``$DETENTE_DB_URL`` if set, else the SQLite file ``runs.sqlite`` in the user's data folder
    (``platformdirs.user_data_dir("detente")``, e.g. ``~/.local/share/detente`` on Linux).

    >>> default_url().endswith("runs.sqlite") or "DETENTE_DB_URL" in os.environ
    True
    """
    env = os.environ.get("DETENTE_DB_URL", "").strip()
    if env:
        return env
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('detente')) / 'runs.sqlite'}"


def open_store(url: str | None = None) -> RunStore:
    """Open (creating or upgrading as needed) the run store at ``url``.

    ``url`` is a SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://user:pw@host/db``;
    a bare ``postgresql://`` means psycopg 3) or a plain file path, which means a SQLite file
    there; ``None`` means :func:`default_url`. The folder of a SQLite file is created if
    missing. Every problem (bad URL, unreachable server, not a database) is a
    :class:`StoreError` with a one-line message.

    >>> store = open_store("sqlite://")
    >>> store.list()
    []
    >>> store.close()
    """
    from detente.store import lite

    target = default_url() if url is None else url
    light = lite.open_current(target)
    if light is not None:
        return light
    from detente.store import db

    store = db.open_alchemy(target)
    # A SQLite file is now at the newest schema: from here on, the light store serves it.
    if lite.sqlite_file(target) is not None:
        light = lite.open_current(target)
        if light is not None:
            store.close()
            return light
    return store


def to_record(values: Mapping[str, Any]) -> RunRecord:
    """The record of one row (called inside the writing transaction, before its commit)."""
    return RunRecord.model_validate(dict(values))


def plain_json(value: Any, what: str) -> Any:
    """``value`` as stored: through JSON once, so what is read back equals what was written."""
    return _plain_sized(value, what)[0]


def _plain_sized(value: Any, what: str) -> tuple[Any, int]:
    """:func:`plain_json`, and the bytes of its column's text (:func:`dump_json`)."""
    try:
        text = dump_json(value)
        return json.loads(text), _utf8_size(text)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot record the run: its {what} are not plain JSON ({exc})") from None


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def dump_json(value: Any) -> str:
    """The text of a JSON column (SQLAlchemy's ``json_serializer`` writes the same)."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False)


class RunStore:
    """The recorded runs of one database. Open with :func:`open_store`.

    ``url`` is the store's URL with any password masked (for messages).
    """

    url: str

    def __repr__(self) -> str:
        return f"RunStore({self.url!r})"

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def record(
        self,
        kind: RunKind,
        scenario: Scenario,
        models: Sequence[str],
        params: Mapping[str, Any],
        seed: int,
        results: Any,
    ) -> RunRecord:
        """Record one run in one transaction and return it with its new id.

        ``results`` and ``params`` must be plain JSON without NaN or infinities (what the
        commands print with ``--format json``); otherwise :class:`StoreError`.
        """
        from detente import __version__
        from detente.io.yaml_io import write_yaml

        if isinstance(models, str):
            raise TypeError("models must be a sequence of model names, not one string")
        if kind not in get_args(RunKind):
            raise ValueError(f"unknown run kind {kind!r} (known: {', '.join(get_args(RunKind))})")
        if not 0 <= seed <= MAX_SEED:
            raise StoreError(f"cannot record the run: seed {seed} is outside [0, 2**63 - 1]")
        yaml = write_yaml(scenario, "scenario.yaml")
        params_plain, params_size = _plain_sized(dict(params), "parameters")
        results_plain, results_size = _plain_sized(results, "results")
        row: dict[str, Any] = {
            "kind": kind,
            "created_at": datetime.now(UTC),
            "scenario_name": scenario.name,
            "scenario_hash": hashlib.sha256(yaml).hexdigest(),
            "scenario_yaml": yaml.decode("utf-8"),
            "models": [str(m) for m in models],
            "params": params_plain,
            "seed": int(seed),
            "version": __version__,
            "results": results_plain,
        }
        # Measured before the write, so that a record too large for the database is refused
        # in one line rather than by the driver part-way through its transaction.
        size = ROW_OVERHEAD + params_size + results_size + len(yaml)
        size += sum(_utf8_size(row[c]) for c in ("kind", "scenario_name", "scenario_hash"))
        size += _utf8_size(dump_json(row["models"])) + len(__version__)
        limit = self.max_record_bytes()
        if limit is not None and size > limit:
            raise RecordTooLargeError(size, limit, self.url)
        return self._insert(row)

    def list(self, limit: int | None = None) -> builtins.list[RunSummary]:
        """The runs, newest first (at most ``limit``), without scenario text and results."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be at least 0, got {limit}")
        return self._list(limit)

    def get(self, run_id: int) -> RunRecord:
        """The whole run ``run_id``; :class:`RunNotFoundError` if there is none."""
        raise NotImplementedError

    def delete(self, run_id: int) -> None:
        """Delete run ``run_id``; :class:`RunNotFoundError` if there is none."""
        raise NotImplementedError

    def export(self, run_id: int, fmt: Literal["csv", "json", "xlsx"]) -> bytes:
        """Run ``run_id`` as a file's bytes (see :mod:`detente.store.export` for the layouts)."""
        from detente.store.export import export_record

        return export_record(self.get(run_id), fmt)

    def close(self) -> None:
        """Close the store's connections (it may still be used: it reconnects)."""

    def max_record_bytes(self) -> int | None:
        """The most bytes one run's record may take in this store (its scenario, parameters
        and results as text, with room for the rest of the row): SQLite's length limit
        (1,000,000,000 unless the library was built otherwise), PostgreSQL's 1 GB; None where
        unknown. :meth:`record` refuses a larger record with
        :class:`~detente.store.errors.RecordTooLargeError` before writing anything."""
        return None

    # -- what each implementation provides ---------------------------------------------

    def _insert(self, row: dict[str, Any]) -> RunRecord:
        """Insert ``row`` (all columns but the id) in one transaction and return its record,
        made by :func:`to_record` before the commit."""
        raise NotImplementedError

    def _list(self, limit: int | None) -> builtins.list[RunSummary]:
        raise NotImplementedError
