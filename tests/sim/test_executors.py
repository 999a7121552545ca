"""Executors: same chunks and streams everywhere, so identical numbers on every executor."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from detente.io import load_default
from detente.sim.executors import (
    DASK_MISSING,
    DaskExecutor,
    ExecutorError,
    InlineExecutor,
    ProcessExecutor,
    make_executor,
)
from detente.sim.montecarlo import monte_carlo
from detente.sim.sweep import sweep


def test_map_keeps_item_order_and_reports_each_completion() -> None:
    items = [9.0, 4.0, 1.0, 16.0]
    for ex in (InlineExecutor(), ProcessExecutor(2)):
        seen: list[int] = []

        def record(i: int, _r: object, seen: list[int] = seen) -> None:
            seen.append(i)

        assert ex.map(math.sqrt, items, record) == [3.0, 2.0, 1.0, 4.0]
        assert sorted(seen) == [0, 1, 2, 3]


def test_monte_carlo_is_identical_across_executors_and_worker_counts() -> None:
    sc = load_default()
    # smp draws from per-replicate streams; several chunks so workers really share the work.
    ref = monte_carlo(sc, "smp", 24, seed=5, chunk=6)
    done: list[int] = []
    runs = [
        monte_carlo(sc, "smp", 24, seed=5, chunk=6, executor=ProcessExecutor(1)),
        monte_carlo(
            sc,
            "smp",
            24,
            seed=5,
            chunk=6,
            executor=ProcessExecutor(2),
            progress=lambda d, _t: done.append(d),
        ),
        monte_carlo(sc, "smp", 24, seed=5, chunk=6, executor=make_executor("dask", 2)),
    ]
    for r in runs:
        assert np.array_equal(r.forecasts, ref.forecasts, equal_nan=True)
        assert np.array_equal(r.centre, ref.centre, equal_nan=True)
        assert r.to_dict() == ref.to_dict()
    assert sorted(done) == [6, 12, 18, 24]


def test_sweep_is_identical_inline_and_in_processes() -> None:
    sc = load_default()
    grid = {"Q": ["0.5", "1.0"], "shock": ["none", "summit"]}
    a = sweep(sc, "eu", grid, seed=0)
    b = sweep(sc, "eu", grid, seed=0, executor=ProcessExecutor(2))
    assert a.to_dict() == b.to_dict()


def test_make_executor_checks_its_arguments() -> None:
    assert make_executor("Inline").name == "inline"
    assert isinstance(make_executor("process", 3), ProcessExecutor)
    with pytest.raises(ExecutorError, match="unknown executor 'threads'"):
        make_executor("threads")
    with pytest.raises(ExecutorError, match="workers must be at least 1"):
        make_executor("process", 0)


def test_missing_dask_gives_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)  # `import dask` now raises ImportError
    with pytest.raises(ExecutorError) as info:
        DaskExecutor(2)
    assert str(info.value) == DASK_MISSING
    assert DASK_MISSING == "the dask executor needs the 'dask' extra: pip install 'detente[dask]'"
