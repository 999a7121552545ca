"""Shared test helpers: where the reference data lives; a throwaway run store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()


def shared_path(*parts: str) -> Path:
    """A path under ``../shared``; fails the test with a clear message when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"reference data not found at {path}: detente's tests read ../shared/ beside the"
            " repository (clone the project next to its shared/ folder)",
            pytrace=False,
        )
    return path


@pytest.fixture
def shared() -> Path:
    return shared_path()


@pytest.fixture(autouse=True, scope="session")
def _throwaway_run_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Commands record their runs: into a store of the test session, never the user's."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("store") / "runs.sqlite"
        mp.setenv("DETENTE_DB_URL", f"sqlite:///{path}")
        yield
