"""Recorded runs read back for the page through their results' own types (``from_dict``): the
view of each kind, the explanation of a run and its HTML report, from a worker process."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from detente import io
from detente.models import get_model, run
from detente.report.explain import explain
from detente.scenario import Scenario
from detente.sim.compare import compare
from detente.sim.montecarlo import monte_carlo
from detente.store import open_store
from detente.trace import Labels
from detente.web import create_app
from tests.web.conftest import Area


def _wait(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def _labels(sc: Scenario) -> Labels:
    return Labels({a.id: a.title for a in sc.actors}, {i.id: i.title for i in sc.issues})


def test_view_of_a_run_is_its_answer(client: TestClient, scenario: dict[str, Any]) -> None:
    out = client.post("/api/run", json={"scenario": scenario, "model": "smp", "seed": 4}).json()
    view = client.get(f"/api/runs/{out['run_id']}/view")
    assert view.status_code == 200, view.text
    body = view.json()
    assert (body["kind"], body["models"], body["seed"]) == ("run", ["smp"], 4)
    assert body["runs"] == [out]
    assert set(body) == {
        "run_id",
        "kind",
        "created_at",
        "scenario",
        "models",
        "seed",
        "params",
        "runs",
        "report",
    }  # only the results of its kind
    assert Scenario.model_validate(body["scenario"]) == Scenario.model_validate(scenario)
    assert body["report"] == f"/api/runs/{out['run_id']}/report"


def test_view_of_a_stored_multi_model_run(client: TestClient, area: Area) -> None:
    # A run recorded by the command line: several models in one record.
    sc = io.load_default()
    traces = [run(sc, name, seed=2) for name in ("mean", "eu")]
    with open_store(area.store_url) as store:
        saved = store.record(
            "run",
            sc,
            ["mean", "eu"],
            {"mean": {}, "eu": {}, "options": {}},
            2,
            [t.to_dict(scenario=sc.name, seed=2) for t in traces],
        )
    body = client.get(f"/api/runs/{saved.id}/view").json()
    assert [r["model"] for r in body["runs"]] == ["mean", "eu"]
    for got, trace in zip(body["runs"], traces, strict=True):
        assert got["forecast"] == pytest.approx(trace.forecast_by_issue())
        assert len(got["positions"]) == trace.rounds
        assert np.array(got["positions"][-1]) == pytest.approx(trace.final)
    explained = client.get(f"/api/runs/{saved.id}/explain").json()
    assert [m["model"] for m in explained["models"]] == ["mean", "eu"]
    for got, trace in zip(explained["models"], traces, strict=True):
        assert got["lines"] == explain(trace, _labels(sc))
        assert got["notes"] == list(trace.notes)


def test_view_of_monte_carlo_matches_the_library(
    client: TestClient, scenario: dict[str, Any]
) -> None:
    started = client.post("/api/mc", json={"scenario": scenario, "model": "median", "draws": 250})
    job = _wait(client, started.json()["id"])
    assert job["status"] == "done", job
    view = client.get(f"/api/runs/{job['run_id']}/view").json()
    expected = monte_carlo(Scenario.model_validate(scenario), "median", 250, 0).to_dict()
    mc = view["mc"]
    assert (view["kind"], mc["draws"]) == ("mc", 250)
    for key in ("issues", "rounds", "params", "notes", "thresholds"):
        assert mc[key] == expected[key], key
    assert mc == job["result"]
    refused = client.get(f"/api/runs/{job['run_id']}/explain")
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(f"run {job['run_id']} is a mc run")


def test_view_of_a_comparison_matches_the_library(
    client: TestClient, scenario: dict[str, Any]
) -> None:
    body = {"scenario": scenario, "shocks": ["summit"], "models": ["median", "smp"]}
    out = client.post("/api/compare", json=body).json()
    view = client.get(f"/api/runs/{out['run_id']}/view").json()
    assert view["comparison"] == out
    expected = compare(Scenario.model_validate(scenario), ["summit"], ["median", "smp"], 0)
    assert {k: v for k, v in view["comparison"].items() if k != "run_id"} == expected.to_dict()


def test_explain_tells_the_run(client: TestClient, scenario: dict[str, Any]) -> None:
    out = client.post("/api/run", json={"scenario": scenario, "model": "eu", "seed": 1}).json()
    got = client.get(f"/api/runs/{out['run_id']}/explain").json()
    sc = Scenario.model_validate(scenario)
    trace = run(sc, "eu", seed=1)
    (only,) = got["models"]
    assert (only["model"], only["title"]) == ("eu", get_model("eu").title)
    assert only["lines"] == explain(trace, _labels(sc))
    assert any("Territory" in line for line in only["lines"])  # labels, not ids


def test_report_download(client: TestClient, scenario: dict[str, Any]) -> None:
    out = client.post("/api/run", json={"scenario": scenario, "model": "median"}).json()
    report = client.get(f"/api/runs/{out['run_id']}/report")
    assert report.status_code == 200
    assert report.headers["content-type"] == "text/html; charset=utf-8"
    assert report.headers["content-disposition"] == (
        f'attachment; filename="run-{out["run_id"]}.html"'
    )
    assert report.text.startswith("<!DOCTYPE html>")
    assert f"detente run {out['run_id']}: ukraine-talks (run)" in report.text


def test_missing_runs_are_404(client: TestClient) -> None:
    for tail in ("view", "explain", "report"):
        response = client.get(f"/api/runs/4242/{tail}")
        assert response.status_code == 404, tail
        assert response.json()["detail"] == "no run 4242"
        assert client.get(f"/api/runs/0/{tail}").status_code == 422


def test_stored_runs_with_an_in_memory_store(area: Area, scenario: dict[str, Any]) -> None:
    # The workers cannot open an in-memory store: the server reads the run and sends it.
    app = create_app(store_url="sqlite://", upload_dir=area.uploads)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        out = client.post("/api/run", json={"scenario": scenario, "model": "mean"}).json()
        assert client.get(f"/api/runs/{out['run_id']}/view").json()["runs"] == [out]
        assert client.get(f"/api/runs/{out['run_id']}/explain").json()["models"][0]["lines"]
        assert client.get(f"/api/runs/{out['run_id']}/report").status_code == 200
        assert client.get("/api/runs/77/view").status_code == 404
