"""Advice over HTTP: /api/advise equals the library's result, is recorded, and refuses what
the budget does not allow; the /advise page and its script."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from detente.io import load_default
from detente.scenario.levers import LeverPlan
from detente.serial import plain
from detente.sim.advise import advise
from detente.store import open_store
from tests.web.conftest import Area


def test_advise_equals_the_library_and_is_recorded(
    client: TestClient, area: Area, scenario: dict[str, Any]
) -> None:
    body = {"scenario": scenario, "actor": "usa", "draws": 40, "seed": 3, "kinds": ["shock"]}
    answer = client.post("/api/advise", json=body)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    want = advise(load_default(), "usa", "median", 40, 3, plan=LeverPlan(kinds=("shock",)))
    assert got["result"] == plain(want.to_dict())
    with open_store(area.store_url) as store:
        record = store.get(got["run_id"])
    assert record.kind == "advise"
    assert record.results == got["result"]
    view = client.get(f"/api/runs/{got['run_id']}/view")
    assert view.status_code == 200, view.text


def test_advise_refusals(client: TestClient, scenario: dict[str, Any]) -> None:
    bad = client.post("/api/advise", json={"scenario": scenario, "actor": "usb"})
    assert bad.status_code == 422
    assert "unknown actor 'usb'" in bad.json()["detail"]
    bad = client.post("/api/advise", json={"scenario": scenario, "actor": "usa", "kinds": ["x"]})
    assert bad.status_code == 422
    assert "unknown lever kind 'x'" in bad.json()["detail"]
    # every lever on every draw: 175 levers × 1,000 draws is over the budget's draws
    big = client.post("/api/advise", json={"scenario": scenario, "actor": "usa", "draws": 1000})
    assert big.status_code == 422
    assert "model evaluations" in big.json()["detail"]
    assert "max_draws" in big.text or "--max-draws" in big.text


def test_the_page_and_its_script(client: TestClient) -> None:
    page = client.get("/advise")
    assert page.status_code == 200
    assert '<script src="/static/advise.js" defer></script>' in page.text
    script = client.get("/static/advise.js")
    assert script.status_code == 200
    assert "/api/advise" in script.text
    assert "innerHTML" not in script.text  # text goes in as text
