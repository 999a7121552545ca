"""The HTTP API through FastAPI's test client: what each endpoint answers and records."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from detente import io
from detente.models import models, run
from detente.scenario import Scenario
from detente.sim.compare import compare
from detente.store import open_store
from detente.web import create_app
from tests.web.conftest import Area

ENDPOINTS = {
    ("get", "/api/info"),
    ("get", "/api/scenarios"),
    ("get", "/api/scenarios/{name}"),
    ("post", "/api/upload"),
    ("post", "/api/validate"),
    ("get", "/api/models"),
    ("post", "/api/run"),
    ("post", "/api/mc"),
    ("get", "/api/jobs/{job_id}"),
    ("post", "/api/compare"),
    ("post", "/api/advise"),
    ("post", "/api/causal"),
    ("post", "/api/summit"),
    ("post", "/api/evidence"),
    ("get", "/api/documents/{doc_id}"),
    ("get", "/api/runs"),
    ("get", "/api/runs/{run_id}"),
    ("get", "/api/runs/{run_id}/view"),
    ("get", "/api/runs/{run_id}/explain"),
    ("post", "/api/sensitivity"),
    ("get", "/api/runs/{run_id}/report"),
}


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    found = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    assert found == ENDPOINTS
    components = schema["components"]["schemas"]
    # The library's own models are the API's types.
    assert {"Scenario-Input", "Scenario-Output", "Anchor", "RunRecord", "RunSummary"} <= set(
        components
    )
    run_body = schema["paths"]["/api/run"]["post"]["requestBody"]["content"]
    assert run_body["application/json"]["schema"]["$ref"].endswith("/RunRequest")
    upload = schema["paths"]["/api/upload"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


def test_home_page_and_static_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="scenario-table"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "style.css", "plotly.js"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "cdn" not in page.text.lower()


def test_builtin_scenarios(client: TestClient, scenario_json: dict[str, Any]) -> None:
    names = [s["name"] for s in client.get("/api/scenarios").json()]
    assert names == io.builtin_names()
    loaded = client.get("/api/scenarios/ukraine-talks").json()
    assert loaded["scenario"] == scenario_json
    assert (loaded["origin"], loaded["format"]) == ("ukraine-talks", "yaml")
    assert client.get("/api/scenarios/nope").status_code == 404


def test_models_list_parameters(client: TestClient) -> None:
    listed = client.get("/api/models").json()
    assert [m["name"] for m in listed] == [spec.name for spec in models()]
    eu = next(m for m in listed if m["name"] == "eu")
    assert eu["multi_round"] is True
    rounds = next(p for p in eu["parameters"] if p["name"] == "rounds")
    assert (rounds["type"], rounds["default"]) == ("int", 10)


def test_validate_places_problems_at_cells(client: TestClient, scenario: dict[str, Any]) -> None:
    assert client.post("/api/validate", json=scenario).json() == {"ok": True, "problems": []}
    russia, usa = scenario["actors"][0], scenario["actors"][1]
    russia["capability"]["value"] = "abc"
    usa["stances"]["nato"]["salience"]["value"] = 1.5
    usa["stances"]["territory"]["position"]["value"] = 150
    report = client.post("/api/validate", json=scenario).json()
    assert report["ok"] is False
    cells = {(p["actor"], p["issue"], p["field"]): p["message"] for p in report["problems"]}
    assert cells == {
        ("russia", None, "capability"): "expected a number, got 'abc'",
        ("usa", "nato", "salience"): "salience must lie in [0, 1], got 1.5",
        ("usa", "territory", "position"): "position 150 lies outside the scale [0, 100]",
    }


def test_validate_scenario_level_check(client: TestClient, scenario: dict[str, Any]) -> None:
    # Only a consistency check fails: its message names the cell.
    scenario["actors"][2]["stances"]["aid"]["position"]["value"] = -5
    problems = client.post("/api/validate", json=scenario).json()["problems"]
    assert [(p["actor"], p["issue"], p["field"]) for p in problems] == [
        ("ukraine", "aid", "position")
    ]
    scenario["actors"][2]["stances"]["aid"]["position"]["value"] = 5
    scenario["actors"].append(dict(scenario["actors"][0]))
    problems = client.post("/api/validate", json=scenario).json()["problems"]
    assert [p["message"] for p in problems] == ["duplicate actor id 'russia'"]


def test_run_records_and_matches_the_library(
    client: TestClient, area: Area, scenario: dict[str, Any]
) -> None:
    out = client.post("/api/run", json={"scenario": scenario, "model": "eu", "seed": 3}).json()
    trace = run(Scenario.model_validate(scenario), "eu", seed=3)
    assert out["forecast"] == pytest.approx(trace.forecast_by_issue())
    assert len(out["positions"]) == trace.rounds
    assert out["positions"][-1][0] == pytest.approx(trace.final[0].tolist())
    assert (out["model"], out["seed"], out["scenario"]) == ("eu", 3, "ukraine-talks")
    with open_store(area.store_url) as store:
        record = store.get(out["run_id"])
    assert (record.kind, record.models, record.seed) == ("run", ["eu"], 3)
    assert record.results == trace.to_dict(scenario="ukraine-talks", seed=3)
    assert client.get(f"/api/runs/{out['run_id']}").json()["results"] == record.results
    assert [r["id"] for r in client.get("/api/runs").json()] == [out["run_id"]]


def test_run_seed_and_params(client: TestClient, scenario: dict[str, Any]) -> None:
    scenario["seed"] = 11
    out = client.post("/api/run", json={"scenario": scenario, "model": "eu"}).json()
    assert out["seed"] == 11
    body = {"scenario": scenario, "model": "eu", "params": {"rounds": "2"}}
    out = client.post("/api/run", json=body).json()
    assert out["params"]["rounds"] == 2
    assert len(out["positions"]) <= 3
    body["params"] = {"rounds": "many"}
    bad = client.post("/api/run", json=body)
    assert bad.status_code == 422
    assert bad.json()["detail"] == "rounds: expected int, got 'many'"
    unknown = client.post("/api/run", json={"scenario": scenario, "model": "oracle"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("unknown model 'oracle'")


def test_run_rejects_a_bad_scenario(client: TestClient, scenario: dict[str, Any]) -> None:
    scenario["actors"][0]["capability"]["value"] = -1
    response = client.post("/api/run", json={"scenario": scenario})
    assert response.status_code == 422
    assert "capability must be > 0" in response.text


def _wait(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.02)
    raise AssertionError("the Monte Carlo job did not finish")


def test_monte_carlo_job(client: TestClient, area: Area, scenario: dict[str, Any]) -> None:
    from detente.sim.montecarlo import monte_carlo

    started = client.post("/api/mc", json={"scenario": scenario, "model": "median", "draws": 300})
    assert started.status_code == 202
    assert started.json()["total"] == 300
    job = _wait(client, started.json()["id"])
    assert job["status"] == "done"
    assert job["done"] == job["total"] == 300
    expected = monte_carlo(Scenario.model_validate(scenario), "median", 300, 0).to_dict()
    result = job["result"]
    assert result["issues"] == expected["issues"]
    assert result["rounds"] == expected["rounds"]
    assert [t["probability"] for t in result["thresholds"]] == [
        t["probability"] for t in expected["thresholds"]
    ]
    with open_store(area.store_url) as store:
        record = store.get(job["run_id"])
    assert record.kind == "mc"
    assert record.results == expected
    assert record.params["options"] == {"draws": 300}


def test_monte_carlo_errors(client: TestClient, scenario: dict[str, Any]) -> None:
    too_many = {"scenario": scenario, "draws": 10**7}
    assert client.post("/api/mc", json=too_many).status_code == 422
    bad = {"scenario": scenario, "model": "eu", "params": {"Q": "x"}}
    response = client.post("/api/mc", json=bad)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Q:")
    assert client.get("/api/jobs/" + "0" * 32).status_code == 404
    assert client.get("/api/jobs/not-a-job").status_code == 422


def test_compare_matches_the_library(
    client: TestClient, area: Area, scenario: dict[str, Any]
) -> None:
    body = {"scenario": scenario, "shocks": ["summit"], "models": ["mean", "median"]}
    out = client.post("/api/compare", json=body).json()
    expected = compare(Scenario.model_validate(scenario), ["summit"], ["mean", "median"], 0)
    run_id = out.pop("run_id")
    assert out == expected.to_dict()
    with open_store(area.store_url) as store:
        record = store.get(run_id)
    assert record.kind == "compare"
    assert record.params["options"]["shocks"] == ["summit"]
    together = {**body, "shocks": ["summit", "sanctions-tighten"], "combined": True}
    out = client.post("/api/compare", json=together).json()
    assert out["shocks"] == ["summit+sanctions-tighten"]
    unknown = client.post("/api/compare", json={**body, "shocks": ["meteor"]})
    assert unknown.status_code == 422
    assert "meteor" in unknown.json()["detail"]


def test_compare_needs_shocks(client: TestClient, scenario: dict[str, Any]) -> None:
    scenario["shocks"] = {}
    response = client.post("/api/compare", json={"scenario": scenario})
    assert response.status_code == 422
    assert response.json()["detail"] == "scenario 'ukraine-talks' defines no shocks"


def test_evidence_and_documents(client: TestClient, scenario: dict[str, Any]) -> None:
    out = client.post("/api/evidence", json={"scenario": scenario}).json()
    assert out["documents"] == 2
    rows = {r["path"]: r for r in out["rows"]}
    row = rows["russia.territory.position"]
    assert (row["actor"], row["issue"], row["field"], row["kind"]) == (
        "russia",
        "territory",
        "position",
        "anchor",
    )
    doc = client.get(f"/api/documents/{row['document']}").json()
    assert doc["name"] == row["file"]
    assert doc["text"][row["start"] : row["end"]] == row["text"]
    assert rows["russia.capability"]["kind"] == "citation"
    assert any(path.startswith("shocks.summit") for path in rows)
    assert client.get("/api/documents/" + "a" * 64).status_code == 404


def test_evidence_without_documents(area: Area, scenario: dict[str, Any]) -> None:
    bare = create_app(store_url=area.store_url, upload_dir=area.uploads)
    with TestClient(bare, base_url="http://127.0.0.1") as client:
        out = client.post("/api/evidence", json={"scenario": scenario}).json()
        row = next(r for r in out["rows"] if r["path"] == "russia.territory.position")
        assert row["text"] == ""
        assert "no document with sha256" in row["problem"]
        missing = client.get(f"/api/documents/{row['document']}")
        assert missing.status_code == 404
        assert "--docs" in missing.json()["detail"]


def test_upload_reads_every_format(client: TestClient, tmp_path: Any) -> None:
    sc = io.load_default()
    # XLSX and CSV take the scenario's name from the file's: the upload keeps it.
    for suffix, name in ((".yaml", "ukraine-talks"), (".xlsx", "talks"), (".csv", "talks")):
        path = tmp_path / f"talks{suffix}"
        io.save(sc, path)
        response = client.post("/api/upload", files={"file": (path.name, path.read_bytes())})
        assert response.status_code == 200, response.text
        assert response.json()["origin"] == path.name
        assert response.json()["scenario"]["name"] == name
        assert len(response.json()["scenario"]["actors"]) == len(sc.actors)


def test_upload_error_is_the_readers_line(client: TestClient, area: Area) -> None:
    sheet = b"Stakeholder,Capability,Position,Salience\nA,10,50,high\n"
    response = client.post("/api/upload", files={"file": ("sheet.csv", sheet)})
    assert response.status_code == 422
    message = response.json()["detail"]
    assert message.startswith("sheet.csv, row 2, column 'Salience': ")
    assert "\n" not in message
    assert list(area.uploads.iterdir()) == []  # unreadable uploads are not kept
    response = client.post("/api/upload", files={"file": ("notes.docx", b"hello")})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("notes.docx")


def test_store_problems_are_503(area: Area, scenario: dict[str, Any]) -> None:
    broken = create_app(store_url="nosuchdb://x", upload_dir=area.uploads)
    with TestClient(broken, base_url="http://127.0.0.1") as client:
        response = client.post("/api/run", json={"scenario": scenario})
        assert response.status_code == 503
        assert response.json()["detail"].startswith("run store: ")


def test_run_ids_out_of_range(client: TestClient) -> None:
    for run_id in ("0", "-1", str(2**64), "abc"):
        assert client.get(f"/api/runs/{run_id}").status_code == 422
    assert client.get("/api/runs/12345").status_code == 404


def test_in_memory_store_records_in_the_server(area: Area, scenario: dict[str, Any]) -> None:
    # Workers cannot share an in-memory SQLite store: they leave the recording to the server.
    app = create_app(store_url="sqlite://", upload_dir=area.uploads)
    assert app.state.services.worker_store_url is None
    with TestClient(app, base_url="http://127.0.0.1") as client:
        out = client.post("/api/run", json={"scenario": scenario, "model": "eu", "seed": 2})
        assert out.status_code == 200, out.text
        record = client.get(f"/api/runs/{out.json()['run_id']}").json()
        assert (record["kind"], record["seed"]) == ("run", 2)
        body = {"scenario": scenario, "shocks": ["summit"], "models": ["mean"]}
        compared = client.post("/api/compare", json=body).json()
        assert client.get(f"/api/runs/{compared['run_id']}").json()["kind"] == "compare"
        started = client.post("/api/mc", json={"scenario": scenario, "draws": 100}).json()
        job = _wait(client, started["id"])
        assert job["status"] == "done", job
        assert client.get(f"/api/runs/{job['run_id']}").json()["kind"] == "mc"
