"""``POST /api/sensitivity``: ``detente sensitivity`` as a background job in a worker, its
evaluations and memory checked against the budget before it starts, recorded as the CLI
records it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from detente.scenario import Scenario
from detente.sim.sensitivity import analyse, inputs
from detente.store import open_store
from detente.web import create_app
from detente.web.budget import Budget, MiB, sensitivity_evaluations
from tests.web.conftest import Area

pytest.importorskip("SALib", reason="sensitivity needs the sensitivity extra (SALib)")


def _wait(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("the sensitivity job did not finish")


def test_sensitivity_job_matches_the_library(
    client: TestClient, area: Area, scenario: dict[str, Any]
) -> None:
    body = {"scenario": scenario, "model": "median", "method": "morris", "samples": 6, "seed": 5}
    started = client.post("/api/sensitivity", json=body)
    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "sensitivity"
    sc = Scenario.model_validate(scenario)
    expected = analyse(sc, "median", "morris", samples=6, seed=5)
    assert started.json()["total"] == expected.evaluations == 6 * (len(expected.inputs) + 1)
    job = _wait(client, started.json()["id"])
    assert job["status"] == "done", job
    assert job["done"] == job["total"]
    result = job["result"]
    assert (result["method"], result["ranked_by"], result["evaluations"]) == (
        "morris",
        "mu_star",
        expected.evaluations,
    )
    want = expected.to_dict()
    for issue in sc.issues:
        got = [{"input": r["input"], **r["values"]} for r in result["ranking"][issue.id]]
        assert got == want["issues"][issue.id]
    assert [x["name"] for x in result["inputs"]] == [x.name for x in expected.inputs]
    with open_store(area.store_url) as store:
        record = store.get(job["run_id"])
    assert (record.kind, record.models, record.seed) == ("sensitivity", ["median"], 5)
    assert record.results == want
    assert record.params["options"] == {
        "method": "morris",
        "samples": 6,
        "spread": [],
        "issue": None,
    }
    view = client.get(f"/api/runs/{job['run_id']}/view").json()
    assert view["sensitivity"] == result


def test_sobol_evaluations_are_counted_before_the_work(
    client: TestClient, scenario: dict[str, Any]
) -> None:
    d = len(inputs(Scenario.model_validate(scenario))[0])
    # 3 is rounded up to 4 base samples, as analyse does.
    assert sensitivity_evaluations("sobol", 3, d) == 4 * (d + 2)
    over = client.post("/api/sensitivity", json={"scenario": scenario, "samples": 1024})
    assert over.status_code == 422
    body = over.json()
    assert (body["limit"], body["value"], body["allowed"]) == ("max_draws", 1024 * (d + 2), 20_000)
    assert "--max-draws" in body["detail"]
    assert client.get("/api/runs").json() == []  # nothing ran, nothing recorded


def test_sensitivity_memory_budget(area: Area, scenario: dict[str, Any]) -> None:
    app = create_app(
        store_url=area.store_url, upload_dir=area.uploads, budget=Budget(max_memory_bytes=20 * MiB)
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        refused = client.post("/api/sensitivity", json={"scenario": scenario, "model": "eu"})
        assert refused.status_code == 422
        assert refused.json()["limit"] == "max_memory_bytes"
        assert "evaluations" in refused.json()["detail"]
        assert app.state.services.pool.pids() == []  # refused before any worker started


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"method": "morris", "samples": 1}, "samples must be at least 2 for morris, got 1"),
        ({"spread": {"capability": 2}}, "spread capability must be < 1, got 2.0"),
        ({"model": "oracle"}, "unknown model 'oracle'"),
        ({"params": {"nope": 1}}, "model 'median' has no parameter 'nope'"),
    ],
)
def test_bad_requests_are_422(
    client: TestClient, scenario: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    response = client.post("/api/sensitivity", json={"scenario": scenario, **change})
    assert response.status_code == 422
    assert response.json()["detail"].startswith(message)


def test_sensitivity_with_an_in_memory_store(area: Area, scenario: dict[str, Any]) -> None:
    app = create_app(store_url="sqlite://", upload_dir=area.uploads)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        body = {"scenario": scenario, "method": "morris", "samples": 2}
        job = _wait(client, client.post("/api/sensitivity", json=body).json()["id"])
        assert job["status"] == "done", job
        assert client.get(f"/api/runs/{job['run_id']}").json()["kind"] == "sensitivity"
