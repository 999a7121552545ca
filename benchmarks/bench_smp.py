"""Benchmark of detente's SMP against KTAB's ``smpc``. Run: ``python3 benchmarks/bench_smp.py``.

Prints, per case, the median wall time of the model call (``detente.models.run(scenario,
"smp")``, Trace with every turn's details included; reading the file and starting Python
excluded), the speed-up over smpc's whole-process median from
``shared/reference/ktab/README.md`` section E, and the peak memory the call allocates
(``tracemalloc``, measured in a separate call so that tracing does not slow the timed ones).
The last case runs 1,000 replicates of the stochastic XML scenario as one batch.
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
from timing import median_seconds, peak_bytes

from detente import io
from detente.models import run, smp

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "ktab" / "inputs"

SMPC_SECONDS = {
    "dummyData_3Dim.csv": 0.044,
    "SOE-Pol-Comp.csv": 0.318,
    "dummyData_6Dim.csv": 2.40,
    "dummyData-a040.csv": 5.32,
    "dummyData-a080.csv": 50.3,
    "dummyData-a160.csv": 748.0,
}
"""smpc's whole-process wall time, optimised build, ``--logmin`` (README section E)."""


def _peak_mib(fn: Callable[[], object]) -> float:
    return peak_bytes(fn) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" NumPy {np.__version__}; median of {args.repeat} model calls after 1 warm-up"
    )
    print(
        f"# {'case':34s} {'turns':>5s} {'detente':>10s} {'smpc':>9s} {'speed-up':>9s} {'peak':>9s}"
    )
    for name, smpc in SMPC_SECONDS.items():
        sc = io.read(SHARED / name)
        repeat = args.repeat if smpc < 100 else max(1, args.repeat // 2)
        seconds = median_seconds(lambda sc=sc: run(sc, "smp"), repeat)
        turns = run(sc, "smp").details["turns"]
        peak = _peak_mib(lambda sc=sc: run(sc, "smp"))
        print(
            f"  {name:34s} {turns:5d} {seconds:9.4f}s {smpc:8.3f}s {smpc / seconds:8.0f}×"
            f" {peak:6.1f} MiB"
        )
    xml = io.read(SHARED / "smpExample_as-of-2017-05.xml")
    reps = args.replicates
    seconds = median_seconds(lambda: smp.run_batch(xml, reps, seed=1), max(1, args.repeat // 2))
    batch = smp.run_batch(xml, reps, seed=1)
    peak = _peak_mib(lambda: smp.run_batch(xml, reps, seed=1))
    print(
        f"  {'smpExample (stochastic) × ' + str(reps):34s} {int(batch.turns.max()):5d}"
        f" {seconds:9.4f}s {'-':>9s} {'-':>9s} {peak:6.1f} MiB"
        f"   ({seconds / reps * 1e3:.2f} ms per replicate; turns {batch.turns.min()}–"
        f"{batch.turns.max()}, mean {batch.turns.mean():.1f})"
    )


if __name__ == "__main__":
    main()
