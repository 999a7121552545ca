"""``detente serve``: loopback unless told otherwise, with its options passed to the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from detente.cli import app

runner = CliRunner()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls of uvicorn.run, which does not start."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda web, **kw: calls.append({"app": web, **kw}))
    return calls


def test_serves_on_loopback_by_default(started: list[dict[str, Any]], tmp_path: Path) -> None:
    args = ["serve", "--db", str(tmp_path / "runs.sqlite"), "--upload-dir", str(tmp_path / "up")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "serving on http://127.0.0.1:8000/" in result.stderr
    (call,) = started
    assert (call["host"], call["port"]) == ("127.0.0.1", 8000)
    services = call["app"].state.services
    assert services.store_url == str(tmp_path / "runs.sqlite")
    assert services.upload_dir == (tmp_path / "up").resolve()


def test_other_hosts_only_when_asked(started: list[dict[str, Any]], tmp_path: Path) -> None:
    args = ["serve", "--host", "0.0.0.0", "--port", "8123", "--db", str(tmp_path / "r.sqlite")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "warning: listening on 0.0.0.0" in result.stderr
    assert (started[0]["host"], started[0]["port"]) == ("0.0.0.0", 8123)


def test_bad_docs_folder(started: list[dict[str, Any]], tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--docs", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "expected a folder of source documents" in result.stderr
    assert started == []


def test_help_lists_serve() -> None:
    from dataclasses import fields

    from detente.web.budget import Budget

    result = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--host", "--port", "--db", "--docs", "--upload-dir"):
        assert option in result.output
    for limit in fields(Budget):  # every limit has its option
        assert Budget.option(limit.name) in result.output


def test_limits_reach_the_app_and_uvicorn(started: list[dict[str, Any]], tmp_path: Path) -> None:
    args = ["serve", "--db", str(tmp_path / "r.sqlite"), "--upload-dir", str(tmp_path / "up")]
    args += ["--max-actors", "5", "--max-memory", "512", "--time-limit", "2.5", "--workers", "1"]
    args += ["--header-timeout", "3", "--keep-alive", "2", "--max-header", "4096"]
    args += ["--max-connections", "50", "--shutdown-grace", "4", "--max-upload", "1000"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (call,) = started
    budget = call["app"].state.services.budget
    assert (budget.max_actors, budget.max_memory_bytes) == (5, 512 * 2**20)
    assert (budget.max_seconds, budget.workers, budget.max_upload_bytes) == (2.5, 1, 1000)
    assert budget.max_rounds == 1000  # not given: the default
    assert call["http"].header_timeout == 3
    assert call["timeout_keep_alive"] == 2
    assert call["h11_max_incomplete_event_size"] == 4096
    assert call["limit_concurrency"] == 50
    assert call["timeout_graceful_shutdown"] == 4
    assert call["app"].state.services.pool.pids() == []  # stopped when serve returned


def test_bad_limits_are_one_line(started: list[dict[str, Any]]) -> None:
    result = runner.invoke(app, ["serve", "--workers", "0"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: workers (--workers) must be at least 1"
    assert started == []


def test_bad_store_fails_at_start(started: list[dict[str, Any]]) -> None:
    result = runner.invoke(app, ["serve", "--db", "nosuchdb://x"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert started == []
