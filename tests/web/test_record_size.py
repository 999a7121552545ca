"""A run whose record the store can never hold is refused with 413 naming the store's limit and
the record's size; a store that is unreachable or fails while writing is still a 503."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from detente.store import open_store
from detente.store.errors import StoreError
from detente.web import create_app, work
from detente.web.stored import store_for
from tests.web.conftest import Area

SMALL = 2_000
"""A store limit (bytes) that any run's record exceeds: the default scenario's YAML alone is
larger."""


def run_in_a_small_store(task: work.RunTask, progress: Any = None) -> work.Outcome:
    """``work.run_model`` in a worker whose store holds at most :data:`SMALL` bytes a record
    (module-level: the worker process imports it from here)."""
    assert task.store_url is not None
    store = store_for(task.store_url)
    store.max_record_bytes = lambda: SMALL
    return work.run_model(task, progress)


def _check_413(response: Any, url_part: str) -> None:
    assert response.status_code == 413, response.text
    body = response.json()
    assert (body["limit"], body["allowed"]) == ("max_record_bytes", SMALL)
    assert body["value"] > SMALL
    assert body["detail"].startswith(f"run store: cannot record the run in {url_part}")
    assert f"{body['value']:,} bytes" in body["detail"]
    assert f"at most {SMALL:,}" in body["detail"]


def _wait(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_a_worker_recording_a_record_too_large_answers_413(
    area: Area, scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker records in a file store: the refusal crosses the process boundary.
    monkeypatch.setattr(work, "run_model", run_in_a_small_store)
    with TestClient(area.make_app(), base_url="http://127.0.0.1") as client:
        response = client.post("/api/run", json={"scenario": scenario, "model": "mean"})
        _check_413(response, "sqlite:///")
        assert response.headers.get("retry-after") is None
    with open_store(area.store_url) as store:
        assert store.list() == []  # nothing was written


def test_the_server_recording_a_record_too_large_answers_413(
    area: Area, scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An in-memory store: the worker hands the run over and the server records it.
    app = create_app(store_url="sqlite://", upload_dir=area.uploads)
    services = app.state.services
    with TestClient(app, base_url="http://127.0.0.1") as client:
        monkeypatch.setattr(services.store(), "max_record_bytes", lambda: SMALL)
        _check_413(client.post("/api/run", json={"scenario": scenario}), "sqlite://")
        # a background job: failed, with the same message
        started = client.post("/api/mc", json={"scenario": scenario, "draws": 50})
        assert started.status_code == 202, started.text
        job = _wait(client, started.json()["id"])
        assert job["status"] == "failed"
        assert job["error"].startswith("run store: cannot record the run in sqlite://")
        assert f"at most {SMALL:,}" in job["error"]
        assert client.get("/api/runs").json() == []


def test_a_store_failing_while_writing_is_still_503(
    area: Area, scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(store_url="sqlite://", upload_dir=area.uploads)
    store = app.state.services.store()

    def broken(_row: dict[str, Any]) -> Any:
        raise StoreError("run store sqlite://: database is locked")

    with TestClient(app, base_url="http://127.0.0.1") as client:
        monkeypatch.setattr(store, "_insert", broken)
        response = client.post("/api/run", json={"scenario": scenario})
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["detail"] == "run store: run store sqlite://: database is locked"
        assert "limit" not in body
