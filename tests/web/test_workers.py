"""The worker pool: a task over its time or memory is stopped by killing its process, a
cancelled task too, closing stops everything at once, and independent tasks run side by side."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from detente.store import open_store
from detente.web import work
from detente.web.budget import Budget, MiB
from detente.web.workers import (
    Busy,
    Cancelled,
    Failed,
    MemoryLimit,
    Stopped,
    TimeLimit,
    WorkerPool,
)
from tests.web.conftest import Area, LiveServer, alive, synthetic


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(2, 8, allowance=32 * MiB)
    workers.start()
    try:
        yield workers
    finally:
        workers.close()


def _probe(pool: WorkerPool, sleep: float = 0, limit: float = 30.0) -> Any:
    """A task that sleeps ``sleep`` seconds, with a time limit of ``limit``."""
    task = work.ProbeTask(sleep)
    return pool.submit(work.probe, task, seconds=limit, memory_bytes=512 * MiB)


def _wait_replaced(pool: WorkerPool, old: int) -> None:
    deadline = time.monotonic() + 5
    while old in pool.pids() or len(pool.pids()) < pool.workers:
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.02)


def test_time_limit_kills_the_worker(pool: WorkerPool) -> None:
    before = set(pool.pids())
    start = time.monotonic()
    ticket = _probe(pool, sleep=30, limit=0.3)
    with pytest.raises(TimeLimit) as info:
        ticket.future.result(timeout=10)
    assert time.monotonic() - start < 2
    assert info.value.status == 503
    assert info.value.body()["limit"] == "max_seconds"
    assert info.value.body()["allowed"] == 0.3
    killed = (before - set(pool.pids())).pop()
    assert not alive(killed)
    _wait_replaced(pool, killed)
    assert _probe(pool).future.result(timeout=10)["size"] == 0  # the pool goes on


def test_memory_limit_kills_the_worker(pool: WorkerPool) -> None:
    # 600 MiB held for 10 s, with a budget of 50 MiB (+ the test's 32 MiB allowance)
    ticket = pool.submit(
        work.probe, work.ProbeTask(0, 600, hold=10), seconds=30, memory_bytes=50 * MiB
    )
    start = time.monotonic()
    with pytest.raises(MemoryLimit) as info:
        ticket.future.result(timeout=20)
    assert time.monotonic() - start < 8
    assert info.value.body()["limit"] == "max_memory_bytes"
    assert info.value.body()["value"] > 50 * MiB


def test_cancel_kills_a_running_task_and_drops_a_waiting_one(pool: WorkerPool) -> None:
    running = [_probe(pool, sleep=30) for _ in range(pool.workers)]
    waiting = _probe(pool)
    time.sleep(0.3)
    busy = set(pool.pids())
    waiting.cancel()
    running[0].cancel()
    with pytest.raises(Cancelled):
        running[0].future.result(timeout=5)
    assert waiting.future.cancelled()
    _wait_replaced(pool, next(iter(busy - set(pool.pids())), -1))
    running[1].cancel()
    with pytest.raises(Cancelled):
        running[1].future.result(timeout=5)
    deadline = time.monotonic() + 5
    while pool.waiting:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_close_stops_everything_at_once() -> None:
    pool = WorkerPool(1, 8)
    running = _probe(pool, sleep=30)
    waiting = _probe(pool)
    time.sleep(0.3)
    pids = pool.pids()
    start = time.monotonic()
    pool.close()
    assert time.monotonic() - start < 2
    for ticket in (running, waiting):
        with pytest.raises(Stopped):
            ticket.future.result(timeout=1)
    assert not any(alive(pid) for pid in pids)
    with pytest.raises(Stopped):
        _probe(pool)


def test_busy_beyond_max_waiting() -> None:
    pool = WorkerPool(1, 2)
    try:
        first, second = _probe(pool, sleep=30), _probe(pool)
        with pytest.raises(Busy, match="--max-waiting") as info:
            _probe(pool)
        assert info.value.status == 429
        first.cancel()
        assert second.future.result(timeout=10)["size"] == 0
    finally:
        pool.close()


def test_errors_are_reported_by_kind(pool: WorkerPool) -> None:
    from detente import io

    bad = work.RunTask(io.load_default(), "eu", {"rounds": "many"}, 0, None)
    ticket = pool.submit(work.run_model, bad, seconds=30, memory_bytes=256 * MiB)
    with pytest.raises(Failed) as info:
        ticket.future.result(timeout=30)
    assert (info.value.kind, info.value.status) == ("input", 422)
    assert info.value.detail == "rounds: expected int, got 'many'"
    store = work.RunTask(io.load_default(), "mean", {}, 0, "nosuchdb://x")
    ticket = pool.submit(work.run_model, store, seconds=30, memory_bytes=256 * MiB)
    with pytest.raises(Failed) as info:
        ticket.future.result(timeout=30)
    assert (info.value.kind, info.value.status) == ("store", 503)


def test_independent_tasks_run_side_by_side(pool: WorkerPool) -> None:
    _probe(pool).future.result(timeout=10)  # both workers up
    start = time.monotonic()
    tickets = [_probe(pool, sleep=0.5) for _ in range(pool.workers)]
    pids = {t.future.result(timeout=10)["pid"] for t in tickets}
    assert len(pids) == pool.workers
    assert time.monotonic() - start < 0.5 * pool.workers


def test_progress_reaches_the_server(pool: WorkerPool) -> None:
    from detente import io

    seen: list[tuple[int, int]] = []
    task = work.MonteCarloTask(io.load_default(), "median", {}, 1, 200, 50, None)
    ticket = pool.submit(
        work.monte_carlo,
        task,
        seconds=30,
        memory_bytes=256 * MiB,
        progress=lambda done, total: seen.append((done, total)),
    )
    outcome = ticket.future.result(timeout=30)
    assert outcome.record is not None
    assert outcome.answer["draws"] == 200
    assert seen == [(50, 200), (100, 200), (150, 200), (200, 200)]


def test_the_async_caller_cancels_its_task(pool: WorkerPool) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(
            pool.run(work.probe, work.ProbeTask(30), seconds=60, memory_bytes=64 * MiB)
        )
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    busy = set(pool.pids())
    asyncio.run(main())
    deadline = time.monotonic() + 5
    while pool.waiting or set(pool.pids()) == busy:
        assert time.monotonic() < deadline, "the cancelled task's worker still runs"
        time.sleep(0.02)


# -- through the app ---------------------------------------------------------------------------


def test_a_run_over_the_time_limit(area: Area) -> None:
    app = area.make_app(budget=Budget(max_seconds=0.5))
    body = {"scenario": synthetic(150, 2), "model": "smp"}  # several seconds
    with TestClient(app, base_url="http://127.0.0.1") as client:
        start = time.monotonic()
        response = client.post("/api/run", json=body)
        assert time.monotonic() - start < 3
        assert response.status_code == 503
        out = response.json()
        assert (out["limit"], out["allowed"]) == ("max_seconds", 0.5)
        assert out["detail"].startswith("the work ran for longer than 0.5 s and was stopped")
        # a Monte Carlo job over the limit fails with the same message
        job = client.post("/api/mc", json={"scenario": synthetic(150, 2), "model": "smp"}).json()
        deadline = time.monotonic() + 10
        while job["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
            job = client.get(f"/api/jobs/{job['id']}").json()
        assert job["status"] == "failed"
        assert job["error"].startswith("the work ran for longer than 0.5 s")
    with open_store(area.store_url) as store:
        assert store.list() == []


def test_a_client_that_goes_away_stops_its_run(area: Area) -> None:
    app = area.make_app()
    with LiveServer(app) as server:
        pool = app.state.services.pool
        pool.start()
        before = set(pool.pids())
        body = {"scenario": synthetic(200, 2), "model": "smp"}  # about 5 s
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(server.url + "/api/run", json=body, timeout=0.5)
        deadline = time.monotonic() + 3
        while set(pool.pids()) & before == before or pool.waiting:
            assert time.monotonic() < deadline, "the run went on after its client left"
            time.sleep(0.02)
        assert not any(alive(pid) for pid in before - set(pool.pids()))
    with open_store(area.store_url) as store:
        assert store.list() == []
