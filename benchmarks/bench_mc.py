"""Monte Carlo benchmark (issue 6): ``python3 benchmarks/bench_mc.py``.

Cases: 10,000 SMP draws of KTAB's stochastic ``smpExample_as-of-2017-05.xml``; 10,000 EU draws of
the default scenario ``ukraine-talks`` (its uncertainties); one SMP run of the 160-actor
``dummyData-a160.csv``. Prints wall time (the median of ``--repeat`` timed calls after a warm-up
on fewer draws, with the fastest and slowest), draws per second and the peak memory traced
during a separate call (NumPy buffers; Numba's scratch is not traced, it is small). The other
work on the machine shows in the spread: compare ``uptime``'s load.

The SMP draws run the compiled turns of :mod:`detente.models.smp_numba` where Numba is
installed (``DETENTE_NO_NUMBA=1``: NumPy only), on ``NUMBA_NUM_THREADS`` threads.

``--executors 1000,10000,50000``: eu on ``ukraine-talks`` at those numbers of draws with each
executor (inline, a process pool of 2, Dask with 2 workers), wall time and CPU time of this
process and its children (pool and cluster start-up included: what a user waits for).
``--memory-draws N``: N smp draws of smpExample in a fresh process, its wall time, CPU time and
peak resident memory (the whole process: Python, NumPy, Numba and the draws).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from timing import peak_bytes

from detente import io
from detente.models import run
from detente.models.smp_kernel import compiled
from detente.sim.montecarlo import monte_carlo

KTAB = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "ktab" / "inputs"


def _wall(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _threads() -> str:
    try:
        import numba
    except ImportError:
        return "no Numba"
    return f"Numba {numba.__version__}, {numba.get_num_threads()} threads"


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def executors(sizes: list[int]) -> None:
    """eu draws of ukraine-talks on each executor: when do two workers pay off?"""
    from detente.sim.executors import make_executor

    talks = io.load_default()
    monte_carlo(talks, "eu", 50, 7)  # warm-up
    print("# executors: wall s / CPU s (this process and its workers), eu on ukraine-talks")
    for draws in sizes:
        cells = []
        for name in ("inline", "process", "dask"):
            ex = make_executor(name, 2)
            c0, t0 = _cpu(), time.perf_counter()
            monte_carlo(talks, "eu", draws, 7, executor=ex)
            cells.append(f"{name} {time.perf_counter() - t0:6.2f} / {_cpu() - c0:6.2f}")
        print(f"{draws:>9,} draws  " + "   ".join(cells), flush=True)


_MEMORY = """
import resource, sys, time
from detente import io
from detente.sim.montecarlo import monte_carlo
xml = io.read(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
r = monte_carlo(xml, "smp", int(sys.argv[2]), 7)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{time.perf_counter() - t0:.1f} {time.process_time() - c0:.1f} {rss:.0f}")
"""


def memory(draws: int) -> None:
    """``draws`` smp draws of smpExample in a fresh process: time and peak RSS."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY, str(KTAB / "smpExample_as-of-2017-05.xml"), str(draws)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu, rss = out.stdout.split()
    print(f"{draws:,} smp draws of smpExample: {wall} s wall, {cpu} s CPU, peak RSS {rss} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="timed calls per case")
    parser.add_argument("--executors", help="comma-separated draws, e.g. 1000,10000,50000")
    parser.add_argument("--memory-draws", type=int, help="smp draws for the peak-RSS case")
    args = parser.parse_args()
    if args.executors:
        executors([int(v) for v in args.executors.split(",")])
    if args.memory_draws:
        memory(args.memory_draws)
    if args.executors or args.memory_draws:
        return
    n = args.draws
    print(f"# {platform.machine()}, Python {platform.python_version()}, NumPy {np.__version__}")
    smp_kernel = "compiled" if compiled() is not None else "NumPy"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# {_threads()}; SMP turns: {smp_kernel}; load average {load}")
    xml = io.read(KTAB / "smpExample_as-of-2017-05.xml")
    talks = io.load_default()
    cases: list[tuple[str, Callable[[], object], int]] = [
        (f"smp, {n:,} draws of smpExample (stochastic)", lambda: monte_carlo(xml, "smp", n, 7), n),
        (f"eu, {n:,} draws of ukraine-talks", lambda: monte_carlo(talks, "eu", n, 7), n),
    ]
    monte_carlo(xml, "smp", 50, 7)  # warm-up (imports, Numba compilation)
    monte_carlo(talks, "eu", 50, 7)
    for name, fn, draws in cases:
        times = [_wall(fn) for _ in range(max(1, args.repeat))]
        seconds = statistics.median(times)
        peak = peak_bytes(fn) / 2**20
        spread = f" ({min(times):.2f}–{max(times):.2f} s)" if len(times) > 1 else ""
        print(
            f"{seconds:9.2f} s  {draws / seconds:10,.0f} draws/s  {peak:8.1f} MiB  {name}{spread}"
        )
    a160 = io.read(KTAB / "dummyData-a160.csv")
    seconds = _wall(lambda: run(a160, "smp"))
    peak = peak_bytes(lambda: run(a160, "smp")) / 2**20
    print(f"{seconds:9.2f} s  {'':>17}  {peak:8.1f} MiB  smp, one run of dummyData-a160")


if __name__ == "__main__":
    main()
