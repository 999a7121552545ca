"""Benchmark of detente's SMP against KTAB's ``smpc``. Run: ``python3 benchmarks/bench_smp.py``.

Prints, per case, the wall and CPU time of the model call (``detente.models.run(scenario,
"smp")``, Trace with every turn's details included; reading the file and starting Python
excluded): the median of ``--repeat`` calls after one warm-up, with the fastest and slowest;
the speed-up of the median wall time over smpc's whole-process median from
``shared/reference/ktab/README.md`` section E; and the peak memory the call allocates
(``tracemalloc``, NumPy buffers included, measured in a separate call so that tracing does not
slow the timed ones). Then two larger inputs made from ``dummyData-a160`` (each actor four
or two times over, capability, position and salience jittered, seed 640; ``--no-large``
skips them), and 1,000 replicates of the stochastic XML scenario as one batch.

The compiled loops of :mod:`detente.models.smp_fused` are used where Numba is installed
(``DETENTE_NUMBA=always`` unless ``DETENTE_NUMBA`` or ``DETENTE_NO_NUMBA`` is set; the warm-up
call compiles them if need be); ``DETENTE_NUMBA=never`` times the NumPy kernel.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from timing import peak_bytes

from detente import io
from detente.models import accel, run, smp
from detente.scenario import Scenario

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


def _times(fn: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``repeat`` calls after one untimed call."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return walls, cpus


def _span(values: list[float]) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:8.3f}s"
    return f"{med:8.3f}s ({min(values):.3f}–{max(values):.3f})"


def jittered(copies: int, seed: int = 640) -> Scenario:
    """``dummyData-a160`` with each actor ``copies`` times over: capability ×U(0.8, 1.25),
    position +N(0, 2) and salience +N(0, 3) points (clipped to the scale), in KTAB's CSV."""
    rows = [line.split(",") for line in (SHARED / "dummyData-a160.csv").read_text().splitlines()]
    rng = np.random.default_rng(seed)
    n = 160 * copies
    lines = [f"XYZ,  XYZ Issue,  {n},  1,  ", ",".join(c.strip() for c in rows[1])]
    for c in range(copies):
        for r in rows[2:]:
            cap = max(0.05, float(r[2]) * rng.uniform(0.8, 1.25))
            pos = float(np.clip(float(r[3]) + rng.normal(0.0, 2.0), 0.0, 100.0))
            sal = float(np.clip(float(r[4]) + rng.normal(0.0, 3.0), 1.0, 100.0))
            lines.append(f"A{c}-{r[0].strip()},  d,  {cap:.2f},  {pos:.2f},  {sal:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"jittered-a{n}.csv"
        path.write_text("\n".join(lines) + "\n")
        return io.read(path)


def _case(label: str, sc: Scenario, repeat: int, smpc: float | None) -> None:
    walls, cpus = _times(lambda: run(sc, "smp"), repeat)
    turns = run(sc, "smp").details["turns"]
    peak = peak_bytes(lambda: run(sc, "smp")) / 2**20
    speed = f"{smpc / statistics.median(walls):8.0f}×" if smpc else f"{'-':>9s}"
    print(
        f"  {label:24s} {turns:5d} {_span(walls):>24s} {_span(cpus):>24s} {speed} {peak:7.1f} MiB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--no-large", action="store_true", help="skip the 320 and 640 actors")
    args = parser.parse_args()
    if not (os.environ.get(accel.MODE_ENV) or os.environ.get(accel.NO_NUMBA_ENV)):
        os.environ[accel.MODE_ENV] = "always"
    kernel = "compiled loops" if accel.load("detente.models.smp_fused") else "NumPy"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" NumPy {np.__version__}; {kernel} (DETENTE_NUMBA={accel.mode()}); load {load}"
    )
    print(f"# median (fastest–slowest) of {args.repeat} model calls after 1 warm-up")
    print(f"# {'case':24s} {'turns':>5s} {'wall':>24s} {'CPU':>24s} {'speed-up':>9s} {'peak':>11s}")
    for name, smpc in SMPC_SECONDS.items():
        repeat = args.repeat if smpc < 100 else max(3, args.repeat)
        _case(name.removesuffix(".csv"), io.read(SHARED / name), repeat, smpc)
    if not args.no_large:
        for copies in (2, 4):
            _case(f"a160 jittered ×{copies}", jittered(copies), 1, None)
    xml = io.read(SHARED / "smpExample_as-of-2017-05.xml")
    reps = args.replicates
    walls, cpus = _times(lambda: smp.run_batch(xml, reps, seed=1), max(1, args.repeat // 2))
    batch = smp.run_batch(xml, reps, seed=1)
    peak = peak_bytes(lambda: smp.run_batch(xml, reps, seed=1)) / 2**20
    print(
        f"  {'smpExample × ' + str(reps):24s} {int(batch.turns.max()):5d} {_span(walls):>24s}"
        f" {_span(cpus):>24s} {'-':>9s} {peak:7.1f} MiB   (stochastic, one batch; turns"
        f" {batch.turns.min()}–{batch.turns.max()}, mean {batch.turns.mean():.1f})"
    )


if __name__ == "__main__":
    main()
