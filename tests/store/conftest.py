"""Run-store fixtures: every store test runs against SQLite and against a real PostgreSQL.

PostgreSQL is the server at ``$DETENTE_TEST_PG_URL`` (``bash .ci/postgres`` starts Debian's
and prints the URL). Without it the PostgreSQL cases are skipped, or fail when
``DETENTE_REQUIRE_PG=1`` (as in CI). Each test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

PG_ENV = "DETENTE_TEST_PG_URL"


def pg_base_url() -> str:
    """The test server's URL, or skip (fail when PostgreSQL is required)."""
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        reason = (
            f"{PG_ENV} is not set: no PostgreSQL server to test the run store against"
            " (`bash .ci/postgres` starts one and prints its URL)"
        )
        if os.environ.get("DETENTE_REQUIRE_PG") == "1":
            pytest.fail(f"DETENTE_REQUIRE_PG=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return url


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections work in a fresh schema of the test server (dropped after)."""
    base = make_url(pg_base_url())
    schema = f"detente_test_{secrets.token_hex(6)}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'runs.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty run store's URL, on each backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
    else:
        with pg_schema_url() as url:
            yield url
