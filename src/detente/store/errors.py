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
