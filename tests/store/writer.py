"""What each process of the concurrency test runs (a module of its own: cheap to import)."""

from __future__ import annotations

from typing import Any

from detente.io.yaml_io import read_yaml
from detente.store import open_store

EACH = 10

# Small: writing a big scenario's YAML would dominate the test's time.
SMALL = read_yaml(
    "small.yaml",
    b"""
name: small
issues: [{id: x}]
actors:
  - {id: a, capability: 1, stances: {x: {position: 10, salience: 0.5}}}
  - {id: b, capability: 2, stances: {x: {position: 90, salience: 0.7}}}
""",
)


def results(worker: int, i: int) -> dict[str, Any]:
    return {"worker": worker, "i": i, "values": [worker * 1000 + i + k / 8 for k in range(50)]}


def write_runs(url: str, worker: int, barrier: Any) -> None:
    """Open the store at the same moment as the other workers, then record EACH runs."""
    barrier.wait(timeout=120)
    with open_store(url) as s:
        for i in range(EACH):
            s.record("run", SMALL, [f"w{worker}"], {"options": {"i": i}}, i, results(worker, i))
