"""Monte Carlo memory estimates follow what the run keeps: each is an upper bound of the peak
memory growth measured (tracemalloc) while a worker's task runs, records and answers, and a
large request that fits is no longer refused."""

from __future__ import annotations

import gc
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from detente.models import accel, get_model
from detente.scenario import Scenario
from detente.web import work
from detente.web.budget import BASE, Budget, MiB, monte_carlo_memory
from detente.web.routes.mc import progress_chunk
from tests.web.conftest import Area, synthetic

SPREADS: dict[str, tuple[Any, Any, Any]] = {
    "uniform": ("±10", "±10", "±0.1"),
    "normal": (
        {"dist": "normal", "sd": 10},
        {"dist": "normal", "sd": 10},
        {"dist": "normal", "sd": 0.1},
    ),
}
"""Uncertainties of capability, position and salience: uniform (±) and truncated normal (the
dearest to draw)."""


def uncertain(actors: int, issues: int, spread: str | None) -> dict[str, Any]:
    """:func:`synthetic`'s scenario with every value uncertain (``spread``), or none."""
    sc = synthetic(actors, issues)
    if spread is None:
        return sc
    cap, pos, sal = SPREADS[spread]
    for actor in sc["actors"]:
        actor["capability"] = {"value": actor["capability"], "uncertainty": cap}
        for stance in actor["stances"].values():
            stance["position"] = {"value": stance["position"], "uncertainty": pos}
            stance["salience"] = {"value": stance["salience"], "uncertainty": sal}
    return sc


def _peak(task: work.MonteCarloTask) -> int:
    """Peak growth of traced memory while ``task`` runs, records and builds its answer."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work.monte_carlo(task)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("model", "actors", "issues", "draws", "params", "spread"),
    [
        ("mean", 40, 4, 20_000, {}, None),
        ("median", 30, 8, 20_000, {}, "uniform"),
        ("mean", 30, 6, 5_000, {}, "normal"),
        ("eu", 12, 4, 2_000, {}, "uniform"),
        ("smp", 8, 3, 2_000, {}, "uniform"),
        ("exchange", 4, 3, 2_000, {}, "uniform"),
    ],
)
def test_the_estimate_bounds_the_measured_peak(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    model: str,
    actors: int,
    issues: int,
    draws: int,
    params: dict[str, Any],
    spread: str | None,
) -> None:
    # NumPy's kernels: tracemalloc sees their arrays (Numba's runtime allocates outside it).
    monkeypatch.setenv(accel.NO_NUMBA_ENV, "1")
    sc = Scenario.model_validate(uncertain(actors, issues, spread))
    spec = get_model(model)
    chunk = progress_chunk(spec, draws)
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    work.monte_carlo(work.MonteCarloTask(sc, model, params, 1, 30, 10, url))  # imports, store
    peak = _peak(work.MonteCarloTask(sc, model, params, 1, draws, chunk, url))
    resolved = spec.resolve_params(sc.parameters.get(spec.name, {}), params)
    estimate = monte_carlo_memory(spec, resolved, actors, issues, draws, chunk, sc)
    assert peak <= estimate, f"measured {peak / MiB:.1f} MiB, estimated {estimate / MiB:.1f}"
    # and it follows the sizes rather than a blanket allowance
    assert estimate - BASE < 4 * peak, f"{estimate / MiB:.1f} MiB for {peak / MiB:.1f} measured"


def test_the_distributions_drawn_count() -> None:
    median = get_model("median")
    cases = {s: Scenario.model_validate(uncertain(30, 8, s)) for s in (None, "uniform", "normal")}
    sizes = {s: monte_carlo_memory(median, {}, 30, 8, 20_000, 500, sc) for s, sc in cases.items()}
    assert sizes[None] < sizes["uniform"] < sizes["normal"]
    # without the scenario: as if every value were drawn from a truncated normal
    assert monte_carlo_memory(median, {}, 30, 8, 20_000, 500) == sizes["normal"]


def _wait(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_a_large_monte_carlo_that_fits_runs_and_one_that_does_not_is_refused(
    area: Area,
) -> None:
    budget = Budget()
    with TestClient(area.make_app(budget=budget), base_url="http://127.0.0.1") as client:
        # 20,000 draws of 50 actors × 10 issues: measured 641 MiB (tracemalloc), estimated
        # 1.2 GiB and refused before the estimate followed the blocks and the kept medians
        body = {"scenario": uncertain(50, 10, "uniform"), "model": "median", "draws": 20_000}
        started = client.post("/api/mc", json=body)
        assert started.status_code == 202, started.text
        job = _wait(client, started.json()["id"])
        assert job["status"] == "done", job
        assert job["result"]["draws"] == 20_000
        # the same draws from truncated normals need about 2 GB while drawn: refused
        body["scenario"] = uncertain(50, 10, "normal")
        refused = client.post("/api/mc", json=body)
        assert refused.status_code == 422, refused.text
        answer = refused.json()
        assert (answer["limit"], answer["allowed"]) == ("max_memory_bytes", budget.max_memory_bytes)
        assert answer["value"] > budget.max_memory_bytes
        assert "20,000 median draws of 50 actors × 10 issues" in answer["detail"]
        assert "(--max-memory)" in answer["detail"]
