"""The exchange model's Monte Carlo batch, before and after:
``python3 benchmarks/bench_exchange.py``.

Before: the batch ran :func:`detente.models.exchange.simulate` replicate by replicate (kept as
``exchange._exchange_batch_loop``). After, two paths: without Numba (the core install, or
``DETENTE_NUMBA=never``) NumPy runs a chunk's replicates in lockstep
(:mod:`detente.models.exchange_lockstep`); with it :mod:`detente.models.exchange_numba` runs
them in one compiled call (``DETENTE_NUMBA=always`` here, its kernels loaded from Numba's cache
after a warm-up; left out, with a note, where Numba is missing).

Cases: ``detente mc``'s own path (:func:`detente.sim.montecarlo.monte_carlo`, chunks of 50) on
``--draws`` draws (default 1,000) of the default scenario ``ukraine-talks`` (8 actors × 6
issues), and on ``--big-draws`` draws (default 100) of a seeded random 30 × 10 scenario
(``bench_literature.random_scenario``: every capability ±20 %, position ±10, salience ±0.05),
one round and ``--rounds`` rounds (default 5). Wall seconds, the median of ``--repeat`` calls
(before and after interleaved, so that the machine's other work weighs on both alike) with the
fastest and slowest in brackets, after one warm-up call of each; the forecasts and per-round
medians of every path are checked identical to before's. ``--compile`` also times compiling
the kernel in a fresh process with an empty cache.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import numpy as np
from bench_literature import random_scenario

from detente import io
from detente.models import accel, exchange
from detente.scenario import Scenario
from detente.sim import montecarlo
from detente.sim.montecarlo import MCResult, monte_carlo


@contextlib.contextmanager
def numba_mode(mode: str) -> Iterator[None]:
    saved = os.environ.get(accel.MODE_ENV)
    os.environ[accel.MODE_ENV] = mode
    try:
        yield
    finally:
        if saved is None:
            del os.environ[accel.MODE_ENV]
        else:
            os.environ[accel.MODE_ENV] = saved


@contextlib.contextmanager
def before() -> Iterator[None]:
    """Monte Carlo with the exchange model's batch as it was: one single run per replicate."""
    saved = montecarlo.batch_function

    def old(model: str) -> montecarlo.BatchFunction:
        return exchange._exchange_batch_loop if model == "exchange" else saved(model)

    montecarlo.batch_function = old  # type: ignore[assignment]
    try:
        yield
    finally:
        montecarlo.batch_function = saved  # type: ignore[assignment]


def _span(values: list[float]) -> str:
    return f"{statistics.median(values):8.3f} s ({min(values):.3f}–{max(values):.3f})"


def _timed(fn: Callable[[], MCResult]) -> tuple[float, MCResult]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def case(label: str, sc: Scenario, draws: int, rounds: int, repeat: int, compiled: bool) -> None:
    params = {"rounds": rounds}

    def run() -> MCResult:
        return monte_carlo(sc, "exchange", draws, seed=1, params=params)

    def old() -> MCResult:
        with before():
            return run()

    def lockstep() -> MCResult:
        with numba_mode("never"):
            return run()

    def kernel() -> MCResult:
        with numba_mode("always"):
            return run()

    fns = {"before": old, "NumPy lockstep": lockstep, **({"compiled": kernel} if compiled else {})}
    results = {k: f() for k, f in fns.items()}  # warm-up (and the kernel from the cache)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            t, results[k] = _timed(f)
            times[k].append(t)
    ref = results["before"]
    for k, res in results.items():
        if not (
            np.array_equal(res.forecasts, ref.forecasts, equal_nan=True)
            and np.array_equal(res.fan_values, ref.fan_values, equal_nan=True)
        ):
            raise SystemExit(f"{label}: {k} differs from before")
    print(f"# {label}: {draws:,} draws, {rounds} round(s); forecasts identical on every path")
    for k in fns:
        per = statistics.median(times[k]) / draws * 1e3
        speed = statistics.median(times["before"]) / statistics.median(times[k])
        print(f"  {k:<16} {_span(times[k])}   {per:8.3f} ms per draw   {speed:6.1f}×")


COMPILE = """
import time
import numpy as np
from detente import io
from detente.models import exchange
from detente.sim.montecarlo import input_draws
b, s = input_draws(io.load_default(), 5, 1, streams=True)
t0, c0 = time.perf_counter(), time.process_time()
exchange._exchange_batch(b, {"rounds": 1, "adjust_fixed": 0.1, "adjust_salience": 0.4}, s)
print(f"{time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU")
"""


def compile_time() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, accel.MODE_ENV: "always"}
        env.pop(accel.NO_NUMBA_ENV, None)
        for what in ("compiling (empty cache)", "loading from the cache"):
            out = subprocess.run(
                [sys.executable, "-c", COMPILE], env=env, capture_output=True, text=True
            )
            print(f"# first batch in a fresh process, {what}: {out.stdout.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--big-draws", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time compiling")
    args = parser.parse_args()
    with numba_mode("always"):
        compiled = accel.load(exchange.KERNEL) is not None
    if not compiled:
        print("# no compiled kernel (Numba missing, extra 'fast', or disabled): NumPy only")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" NumPy {np.__version__}; load average {load}"
    )
    talks, big = io.load_default(), random_scenario()
    case("ukraine-talks (8 × 6)", talks, args.draws, 1, args.repeat, compiled)
    case("random 30 × 10", big, args.big_draws, 1, args.repeat, compiled)
    case("random 30 × 10", big, args.big_draws, args.rounds, args.repeat, compiled)
    if args.compile and compiled:
        compile_time()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average at the end {load}")


if __name__ == "__main__":
    main()
