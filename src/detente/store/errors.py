"""The run store's errors: one line each, printed by the CLI like bad input (exit code 2).

Kept apart from :mod:`detente.store.db` so that catching them does not import SQLAlchemy.
"""

from __future__ import annotations


class StoreError(Exception):
    """The run store cannot be opened, read or written (bad URL, unreachable server ...)."""


class RunNotFoundError(StoreError, LookupError):
    """No run with the given id; ``str(error)`` is e.g. ``no run 42 in sqlite:///…/runs.sqlite``."""

    def __init__(self, run_id: int, url: str) -> None:
        self.run_id = run_id
        self.url = url
        super().__init__(f"no run {run_id} in {url}")


class RecordTooLargeError(StoreError):
    """A run's record is larger than its store can hold in one row; found before anything is
    written. ``size`` and ``limit`` are in bytes."""

    def __init__(self, size: int, limit: int, url: str) -> None:
        self.size = size
        self.limit = limit
        self.url = url
        super().__init__(
            f"cannot record the run in {url}: its record would take {size:,} bytes, and a"
            f" record there holds at most {limit:,} (fewer draws, rounds, actors or issues"
            " make it smaller)"
        )

    def __reduce__(self) -> tuple[type[RecordTooLargeError], tuple[int, int, str]]:
        return type(self), (self.size, self.limit, self.url)
