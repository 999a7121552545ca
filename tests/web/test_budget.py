"""Every request has a budget: over a limit, 413 or 422 naming the limit and the value, before
any work starts (no worker process is started, nothing is recorded)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from detente.models import get_model
from detente.store import open_store
from detente.web import create_app
from detente.web.budget import Budget, GiB, monte_carlo_memory, run_memory
from tests.web.conftest import Area, synthetic


def _refused(response: Any, limit: str, value: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["limit"] == limit
    assert body["value"] == value
    assert body["allowed"] == getattr(Budget(), limit) or isinstance(body["allowed"], int | float)
    assert Budget.option(limit) in body["detail"]
    return body


def _untouched(client: TestClient, area: Area) -> None:
    """No worker was needed and nothing was recorded."""
    assert client.app.state.services.pool.pids() == []  # type: ignore[attr-defined]
    with open_store(area.store_url) as store:
        assert store.list() == []


@pytest.fixture
def budgeted(area: Area) -> Iterator[TestClient]:
    """An app with a small budget."""
    budget = Budget(max_actors=8, max_issues=6, max_rounds=50, max_draws=500, max_shocks=2)
    with TestClient(area.make_app(budget=budget), base_url="http://127.0.0.1") as client:
        yield client


def test_rounds_are_bounded(client: TestClient, area: Area, scenario: dict[str, Any]) -> None:
    # Measured before: this grew without bound (28.6 GiB).
    body = {"scenario": scenario, "model": "eu", "params": {"rounds": 10_000_000}}
    refused = _refused(client.post("/api/run", json=body), "max_rounds", 10_000_000)
    assert refused["allowed"] == 1000
    assert refused["detail"].startswith("eu: rounds = 10,000,000; this server allows at most")
    # smp's rounds parameter is max_turns; the scenario's own parameters count too.
    scenario["parameters"] = {"smp": {"max_turns": 5000}}
    _refused(
        client.post("/api/run", json={"scenario": scenario, "model": "smp"}), "max_rounds", 5000
    )
    _untouched(client, area)


def test_actors_and_issues_are_bounded(client: TestClient, area: Area) -> None:
    # Measured before: eu on these 1,000 actors (a 0.1 MB body) peaked at 16.5 GB.
    big = synthetic(1000, 1)
    refused = _refused(
        client.post("/api/run", json={"scenario": big, "model": "eu"}), "max_actors", 1000
    )
    assert refused["detail"] == (
        "the scenario has 1,000 actors; this server allows at most 200 (--max-actors)"
    )
    wide = synthetic(2, 51)
    _refused(client.post("/api/run", json={"scenario": wide}), "max_issues", 51)
    # Every route that takes a scenario.
    _refused(client.post("/api/validate", json=big), "max_actors", 1000)
    _refused(client.post("/api/evidence", json={"scenario": big}), "max_actors", 1000)
    _refused(client.post("/api/mc", json={"scenario": big}), "max_actors", 1000)
    _refused(client.post("/api/compare", json={"scenario": big}), "max_actors", 1000)
    _untouched(client, area)


def test_memory_is_estimated_before_the_run(client: TestClient, area: Area) -> None:
    # Majority votes on 200 actors x 10 issues: [issue, voter, candidate, candidate] arrays,
    # measured at 1.2 GiB.
    sc = synthetic(200, 10)
    body = {"scenario": sc, "model": "condorcet", "params": {"voting": "majority"}}
    params = {"voting": "majority", "space": "issue"}
    estimate = run_memory(get_model("condorcet"), params, 200, 10)
    assert 1.2 * GiB < estimate < 1.5 * GiB
    refused = _refused(client.post("/api/run", json=body), "max_memory_bytes", estimate)
    assert refused["allowed"] == GiB
    assert "condorcet run of 200 actors × 10 issues" in refused["detail"]
    # eu's pair matrices grow as actors² x rounds: the refusal says how to do without them
    sc = synthetic(200, 5)
    body = {"scenario": sc, "model": "eu", "params": {"pairs": True, "rounds": 20}}
    refused = client.post("/api/run", json=body).json()
    assert refused["limit"] == "max_memory_bytes"
    assert "with pairs = false: about" in refused["detail"]
    _untouched(client, area)


def test_memory_estimates_follow_the_sizes() -> None:
    eu = get_model("eu")
    params = eu.resolve_params({"pairs": True})
    # the measured case: 1,000 actors, 1 issue, 10 rounds with pairs -> 16.5 GB
    assert run_memory(eu, params, 1000, 1) > 7 * GiB
    assert run_memory(eu, {**params, "pairs": False}, 1000, 1) < 0.5 * GiB
    small = run_memory(eu, params, 50, 2)
    assert run_memory(eu, params, 100, 2) > 3 * small  # actors²
    assert run_memory(eu, {**params, "rounds": 40}, 50, 2) > 3 * small  # rounds
    smp = get_model("smp")
    p = smp.resolve_params({})
    assert run_memory(smp, {**p, "max_turns": 200}, 100, 5) > 1.9 * run_memory(smp, p, 100, 5)
    median = get_model("median")
    mc = monte_carlo_memory(median, {}, 8, 6, 20_000, 500)
    assert monte_carlo_memory(median, {}, 8, 6, 10_000, 500) < mc < 0.5 * GiB


def test_monte_carlo_draws_and_memory(
    client: TestClient, area: Area, scenario: dict[str, Any]
) -> None:
    body = {"scenario": scenario, "draws": 20_001}
    refused = _refused(client.post("/api/mc", json=body), "max_draws", 20_001)
    assert refused["allowed"] == 20_000
    # draws x actors x issues: within the draws, over the memory
    tight = area.make_app(budget=Budget(max_memory_bytes=64 * 2**20))
    with TestClient(tight, base_url="http://127.0.0.1") as small:
        response = small.post("/api/mc", json={"scenario": synthetic(200, 20), "draws": 5000})
        assert response.json()["limit"] == "max_memory_bytes"
        assert response.json()["allowed"] == 64 * 2**20
    _untouched(client, area)


def test_comparisons_are_bounded(
    budgeted: TestClient, area: Area, scenario: dict[str, Any]
) -> None:
    # budget: 2 shocks
    body = {"scenario": scenario, "shocks": ["summit", "sanctions-tighten", "summit@2"]}
    _refused(budgeted.post("/api/compare", json=body), "max_shocks", 3)
    # A shock may change a model's parameters: the shocked run is checked too.
    shocked = copy.deepcopy(scenario)
    shocked["shocks"]["long"] = {"changes": [{"parameter": "rounds", "value": 10_000}]}
    body = {"scenario": shocked, "shocks": ["long"], "models": ["eu"]}
    _refused(budgeted.post("/api/compare", json=body), "max_rounds", 10_000)
    # ... and it may add actors (budget: 8, the scenario has 8).
    shocked["shocks"]["newcomer"] = {
        "changes": [
            {
                "add_actor": {
                    "id": "turkey",
                    "capability": 10,
                    "stances": {"aid": {"position": 50, "salience": 0.5}},
                }
            }
        ]
    }
    body = {"scenario": shocked, "shocks": ["newcomer"], "models": ["mean"]}
    refused = _refused(budgeted.post("/api/compare", json=body), "max_actors", 9)
    assert refused["detail"].startswith("the scenario with 'newcomer' has 9 actors")
    _untouched(budgeted, area)


def test_the_budget_is_configurable(budgeted: TestClient, scenario: dict[str, Any]) -> None:
    info = budgeted.get("/api/info").json()
    assert info["limits"]["max_actors"] == 8
    assert info["max_draws"] == 500
    assert set(info["limits"]) == set(Budget().limits())
    scenario["actors"].append({**scenario["actors"][0], "id": "ninth"})
    _refused(budgeted.post("/api/run", json={"scenario": scenario}), "max_actors", 9)
    _refused(budgeted.post("/api/mc", json={"scenario": scenario, "draws": 501}), "max_actors", 9)


def test_json_bodies_name_the_limit(area: Area) -> None:
    app = area.make_app(budget=Budget(max_body_bytes=10_000))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        body = b'{"scenario": ' + b" " * 20_000 + b"{}}"
        response = client.post(
            "/api/run", content=body, headers={"content-type": "application/json"}
        )
        refused = _refused(response, "max_body_bytes", len(body), status=413)
        assert refused["allowed"] == 10_000
        assert refused["detail"].startswith("request too large: at most 10,000 bytes")
        assert response.headers["connection"] == "close"
        # Without a Content-Length: refused once the bound is passed, with what had come.
        chunked = client.post(
            "/api/run",
            content=iter([b" " * 4000] * 10),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413
        assert chunked.json()["limit"] == "max_body_bytes"
        assert chunked.json()["value"] > 10_000


def test_uploads_over_the_budget_are_not_kept(area: Area, tmp_path: Path) -> None:
    from detente import io
    from detente.scenario import Scenario

    app = area.make_app(budget=Budget(max_actors=5))
    path = tmp_path / "big.yaml"
    io.save(Scenario.model_validate(synthetic(6, 2)), path)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.post("/api/upload", files={"file": ("big.yaml", path.read_bytes())})
        _refused(response, "max_actors", 6)
        assert response.json()["detail"].startswith("big.yaml has 6 actors")
    assert list(area.uploads.iterdir()) == []


def test_budget_values_are_checked() -> None:
    with pytest.raises(ValueError, match="max_actors"):
        Budget(max_actors=0)
    with pytest.raises(ValueError, match="--time-limit"):
        Budget(max_seconds=0)
    with pytest.raises(TypeError):
        Budget(max_issues="many")  # type: ignore[arg-type]
    assert Budget(upload_ttl=0).upload_ttl == 0
    assert Budget.option("max_memory_bytes") == "--max-memory"


def test_create_app_takes_a_budget(area: Area) -> None:
    app = create_app(store_url=area.store_url, upload_dir=area.uploads, max_upload_bytes=10)
    assert app.state.services.budget.max_upload_bytes == 10
    assert app.state.services.budget.max_actors == Budget().max_actors
