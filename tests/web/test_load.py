"""A bounded load test: 50 concurrent runs against a real server on loopback, all recorded."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from detente.models import models
from detente.store import open_store
from tests.web.conftest import Area, LiveServer

REQUESTS = 50


async def _fire(url: str, scenario: dict[str, Any]) -> tuple[list[httpx.Response], float]:
    names = [spec.name for spec in models()]
    limits = httpx.Limits(max_connections=REQUESTS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        start = time.perf_counter()
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/run",
                    json={"scenario": scenario, "model": names[i % len(names)], "seed": i},
                )
                for i in range(REQUESTS)
            )
        )
        return list(responses), time.perf_counter() - start


def test_fifty_concurrent_runs(area: Area, live: LiveServer, scenario: dict[str, Any]) -> None:
    responses, elapsed = asyncio.run(_fire(live.url, scenario))
    assert [r.status_code for r in responses] == [200] * REQUESTS, [
        r.text for r in responses if r.status_code != 200
    ]
    ids = {r.json()["run_id"] for r in responses}
    assert len(ids) == REQUESTS
    with open_store(area.store_url) as store:
        recorded = store.list()
    assert {r.id for r in recorded} == ids
    assert sorted(r.seed for r in recorded) == list(range(REQUESTS))
    print(f"\n{REQUESTS} concurrent runs (all models in turn) in {elapsed:.2f} s")
