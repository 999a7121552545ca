"""The causal map and the summit over HTTP: /api/causal, /api/summit and the /structure page."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from detente.io import load_default
from detente.sim.levers import set_levers
from detente.summit import summit


def test_causal_sets_levers(client: TestClient, scenario: dict[str, Any]) -> None:
    answer = client.post("/api/causal", json={"scenario": scenario, "levers": {"sanctions": 1}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = set_levers(load_default(), {"sanctions": 1.0})
    assert [c["target"] for c in body["result"]["changes"]] == [c.target for c in expected.changes]
    assert body["result"]["changes"][0]["after"] == pytest.approx(expected.changes[0].after)
    assert body["figure"]["data"]  # the map's traces, ready for Plotly
    assert len(body["figure"]["layout"]["annotations"]) == len(scenario["causal"]["edges"])


def test_causal_refusals(client: TestClient, scenario: dict[str, Any]) -> None:
    answer = client.post("/api/causal", json={"scenario": scenario, "levers": {"oil": 1}})
    assert answer.status_code == 422
    assert "unknown lever 'oil'" in answer.json()["detail"]
    plain = dict(scenario, causal=None)
    answer = client.post("/api/causal", json={"scenario": plain})
    assert answer.status_code == 422
    assert "has no causal map" in answer.json()["detail"]


def test_summit(client: TestClient, scenario: dict[str, Any]) -> None:
    answer = client.post(
        "/api/summit", json={"scenario": scenario, "discount": {"usa": 0.9, "russia": 0.95}}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = summit(load_default(), discount={"usa": 0.9, "russia": 0.95})
    rubinstein = expected.solutions["rubinstein"]
    assert rubinstein is not None
    assert body["result"]["solutions"]["rubinstein"]["utilities"] == pytest.approx(
        list(rubinstein.utilities), abs=1e-12
    )
    assert body["figure"]["data"][0]["name"] == "Pareto frontier"
    bad = client.post("/api/summit", json={"scenario": scenario, "between": ["usa", "china"]})
    assert bad.status_code == 422
    assert "unknown actor 'china'" in bad.json()["detail"]


def test_the_page_and_its_script(client: TestClient) -> None:
    page = client.get("/structure")
    assert page.status_code == 200
    assert '<script src="/static/structure.js" defer></script>' in page.text
    script = client.get("/static/structure.js")
    assert script.status_code == 200
    assert "/api/causal" in script.text
    assert "innerHTML" not in script.text  # text goes in as text
