"""Benchmark of the expected-utility model (``eu``). Run: ``python3 benchmarks/bench_eu.py``.

Prints one line per case: the median wall time of repeated calls (the model call or the kernel
call only; no interpreter start-up, no input parsing), then derived ratios and peak memory.

``record=False`` kernel calls run the fused Numba kernel where Numba is installed and the call
is large enough to pay for compiling it (``DETENTE_NUMBA=auto``, the default; see
``eu_kernel.uses_fused_kernel``), and always with ``DETENTE_NUMBA=always``: run the benchmark
with that setting to time the fused kernel on every case (its one-off compilation happens in
the untimed warm-up call). The ``NumPy kernel`` cases force the NumPy kernel
(``DETENTE_NO_NUMBA=1``) for comparison. Model calls keep every pair's details, so they
always run the NumPy kernel.

With ``--reference PATH`` (the Python-3 port of J. Velev's ``bdm_scholz_model.py``, kept
outside the repository) the same cases are timed for that program in the same run: the
emission case ``--reference-runs`` times (default 100, to compare with the batch), ``china``
for 10 rounds, and the 200-actor case only as an estimate (its cost grows as n⁶).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from timing import peak_bytes

from detente import io
from detente.models import eu_kernel, run
from detente.models.eu import simulate
from detente.scenario import Scenario, ScenarioArrays

INPUTS = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "bdm" / "inputs"
BATCH = 10_000
ROUNDS = 10


def _peak_mb(fn: Callable[[], object]) -> float:
    return peak_bytes(fn) / 1e6


@contextmanager
def _numpy_kernel() -> Iterator[None]:
    """Force the NumPy kernel (as ``DETENTE_NO_NUMBA=1`` does) inside the block."""
    saved = os.environ.get(eu_kernel.NO_NUMBA_ENV)
    os.environ[eu_kernel.NO_NUMBA_ENV] = "1"
    try:
        yield
    finally:
        if saved is None:
            del os.environ[eu_kernel.NO_NUMBA_ENV]
        else:
            os.environ[eu_kernel.NO_NUMBA_ENV] = saved


def _numpy_only(fn: Callable[[], object]) -> Callable[[], object]:
    def call() -> object:
        with _numpy_kernel():
            return fn()

    return call


def _kernel_name() -> str:
    if not eu_kernel.fused_kernel_available():
        return "NumPy kernel (Numba not installed or DETENTE_NO_NUMBA set)"
    import numba

    return f"fused Numba kernel, {numba.get_num_threads()} threads"


def _line(seconds: float, name: str) -> None:
    print(f"{seconds * 1e3:12.3f} ms  {name}", flush=True)


def _read(dataset: str) -> Scenario:
    return io.read(INPUTS / f"{dataset}.csv")


def _one_issue(arrays: ScenarioArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return arrays.capability, arrays.position[:, 0], arrays.salience[:, 0]


def synthetic(n: int, seed: int = 2024) -> Scenario:
    """A seeded one-issue scenario with ``n`` actors on a 0-100 axis."""
    rng = np.random.default_rng(seed)
    return Scenario.model_validate(
        {
            "name": f"synthetic-{n}",
            "issues": [{"id": "issue"}],
            "actors": [
                {
                    "id": f"a{i:03d}",
                    "capability": float(rng.uniform(1, 100)),
                    "stances": {
                        "issue": {
                            "position": float(rng.uniform(0, 100)),
                            "salience": float(rng.uniform(0.1, 1)),
                        }
                    },
                }
                for i in range(n)
            ],
        }
    )


def jittered_batch(
    arrays: ScenarioArrays, batch: int, seed: int = 7
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``batch`` replicates of a one-issue case with jittered positions and capabilities."""
    c, x, s = _one_issue(arrays)
    rng = np.random.default_rng(seed)
    caps = c * rng.lognormal(0.0, 0.2, (batch, c.size))
    pos = np.clip(x + rng.normal(0.0, 0.05 * np.ptp(x), (batch, x.size)), x.min(), x.max())
    return caps, pos, np.broadcast_to(s, (batch, s.size)).copy()


def ours(repeat: int) -> dict[str, float]:
    """Time detente's model on the cases; returns the medians by key."""
    out: dict[str, float] = {}
    china = _read("china").arrays()
    emission = _read("emission_standards").arrays()
    big = synthetic(200).arrays()
    cases: list[tuple[str, str, Callable[[], object], int]] = [
        ("china_model", "model call, china (24 actors, 10 rounds)", lambda: run(china, "eu"), 0),
        (
            "china_kernel",
            "kernel, china (24 actors, 10 rounds, record=False)",
            lambda: simulate(*_one_issue(china), rounds=ROUNDS, record=False),
            0,
        ),
        (
            "big_model",
            "model call, synthetic 200 actors (10 rounds, all pair details)",
            lambda: run(big, "eu"),
            max(1, repeat // 2),
        ),
        (
            "big_kernel",
            "kernel, synthetic 200 actors (10 rounds, record=False)",
            lambda: simulate(*_one_issue(big), rounds=ROUNDS, record=False),
            max(1, repeat // 2),
        ),
        (
            "emission_model",
            "model call, emission_standards (10 actors, 10 rounds)",
            lambda: run(emission, "eu"),
            0,
        ),
        (
            "emission_kernel",
            "kernel, emission_standards single run (record=False)",
            lambda: simulate(*_one_issue(emission), rounds=ROUNDS, record=False),
            0,
        ),
    ]
    single_numpy = _numpy_only(lambda: simulate(*_one_issue(emission), rounds=ROUNDS, record=False))
    cases.append(
        (
            "emission_kernel_numpy",
            "NumPy kernel, emission_standards single run (record=False)",
            single_numpy,
            0,
        )
    )
    batch = jittered_batch(emission, BATCH)
    batch_name = f"batch of {BATCH:,} jittered emission_standards replicates (record=False)"
    batch_fn = lambda: simulate(*batch, rounds=ROUNDS, record=False)  # noqa: E731
    cases.append(("batch", f"kernel, {batch_name}", batch_fn, max(1, repeat // 2)))
    cases.append(
        (
            "batch_numpy",
            f"NumPy kernel, {batch_name}",
            _numpy_only(batch_fn),
            max(1, repeat // 2),
        )
    )
    print(f"# record=False kernel calls: {_kernel_name()}", flush=True)
    print("# median wall (fastest–slowest), median CPU of this process (all its threads)")
    cpu: dict[str, float] = {}
    for key, name, fn, reps in cases:
        t0 = time.perf_counter()
        fn()  # compiles the fused kernel on first use; not counted
        first = time.perf_counter() - t0
        walls, cpus = _times(fn, reps or max(repeat, 20))
        out[key], cpu[key] = statistics.median(walls), statistics.median(cpus)
        print(
            f"{out[key] * 1e3:12.3f} ms  ({min(walls) * 1e3:.3f}–{max(walls) * 1e3:.3f})"
            f"  CPU {cpu[key] * 1e3:.3f} ms  {name}",
            flush=True,
        )
        if first > 10 * out[key] + 0.5:
            print(f"  (first call {first:.1f} s: compilation of the fused kernel)", flush=True)
    single_k, single_m = out["emission_kernel"], out["emission_model"]
    single_n = out["emission_kernel_numpy"]
    print(
        f"  batch = {out['batch'] / single_k:.0f} single kernel runs (same kernel)"
        f" = {out['batch'] / single_n:.0f} single NumPy kernel runs"
        f" = {out['batch'] / single_m:.0f} single model calls (target: at most 100);"
        f" {out['batch'] / BATCH * 1e6:.1f} µs per replicate",
        flush=True,
    )
    print(
        f"  by CPU time: batch = {cpu['batch'] / cpu['emission_kernel_numpy']:.0f} single NumPy"
        f" kernel runs = {cpu['batch'] / cpu['emission_model']:.0f} single model calls",
        flush=True,
    )
    print(
        f"  NumPy kernel: batch = {out['batch_numpy'] / single_n:.0f} single NumPy kernel runs;"
        f" {out['batch_numpy'] / BATCH * 1e6:.1f} µs per replicate;"
        f" the fused batch is {out['batch_numpy'] / out['batch']:.1f}x faster",
        flush=True,
    )
    print(
        f"  peak traced memory: batch {_peak_mb(batch_fn):.1f} MB"
        f" (NumPy kernel {_peak_mb(_numpy_only(batch_fn)):.1f} MB),"
        f" 200 actors model call {_peak_mb(cases[2][2]):.1f} MB, kernel"
        f" {_peak_mb(cases[3][2]):.1f} MB, china model call {_peak_mb(cases[0][2]):.1f} MB",
        flush=True,
    )
    return out


def _times(fn: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``repeat`` calls (the caller made the warm-up call)."""
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return walls, cpus


def _load_reference(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bdm_reference", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference_rows(dataset: str) -> list[dict[str, str]]:
    with (INPUTS / f"{dataset}.csv").open(newline="") as fh:
        return [
            {
                "Actor": r["actor"],
                "Capability": r["capability"],
                "Position": r["position"],
                "Salience": r["salience"],
            }
            for r in csv.DictReader(fh)
        ]


def _reference_run(module: ModuleType, dataset: str, rounds: int) -> tuple[float, list[float]]:
    model: Any = module.BDMScholzModel(_reference_rows(dataset), verbose=False)
    t0 = time.perf_counter()
    model.run_model(num_rounds=rounds)
    return time.perf_counter() - t0, [float(a.x) for a in model.actors]


def reference(path: Path, runs: int, mine: dict[str, float], skip_china: bool) -> None:
    """Time the reference program on the same cases and compare."""
    module = _load_reference(path)
    emission = _read("emission_standards").arrays()
    times, final = [], []
    for _ in range(runs):
        seconds, final = _reference_run(module, "emission_standards", ROUNDS)
        times.append(seconds)
    single = statistics.median(times)
    _line(single, f"reference, emission_standards single run (median of {runs})")
    _line(sum(times), f"reference, emission_standards {runs} runs in total")
    ours_final = simulate(*_one_issue(emission), rounds=ROUNDS).positions[0, -1]
    print(
        f"  same final positions as detente: max difference"
        f" {np.max(np.abs(np.array(final) - ours_final)):.1e};"
        f" detente is {single / mine['emission_model']:,.0f}x faster per model call,"
        f" {single / mine['emission_kernel']:,.0f}x per kernel call; the batch of {BATCH:,}"
        f" takes {mine['batch'] / single:.2f} reference runs"
        f" ({mine['batch'] / (runs * single) * 100:.2f}% of {runs})",
        flush=True,
    )
    if skip_china:
        print("  reference china run skipped (--skip-reference-china)", flush=True)
        return
    seconds, final = _reference_run(module, "china", ROUNDS)
    _line(seconds, "reference, china (24 actors, 10 rounds), one run")
    china = _read("china").arrays()
    ours_final = simulate(*_one_issue(china), rounds=ROUNDS).positions[0, -1]
    print(
        f"  same final positions as detente: max difference"
        f" {np.max(np.abs(np.array(final) - ours_final)):.1e};"
        f" detente is {seconds / mine['china_model']:,.0f}x faster per model call,"
        f" {seconds / mine['china_kernel']:,.0f}x per kernel call",
        flush=True,
    )
    # Its security step evaluates n expected utilities for each of n² (actor, other) pairs,
    # each with an O(n³) probability: n⁶ per round. 200 actors is out of reach.
    estimate = seconds / ROUNDS * (200 / 24) ** 6
    print(
        f"  reference, synthetic 200 actors: not run; from china's {seconds / ROUNDS:.0f} s per"
        f" round and the n⁶ cost, about {estimate / 86400 / 365:.1f} years per round",
        flush=True,
    )


def _numba_version() -> str:
    try:
        import numba
    except ImportError:
        return ", no Numba"
    return f", Numba {numba.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="calls per case (median)")
    parser.add_argument(
        "--reference", type=Path, help="path to the reference bdm_scholz_model.py (outside repo)"
    )
    parser.add_argument("--reference-runs", type=int, default=100)
    parser.add_argument("--skip-reference-china", action="store_true")
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}, NumPy {np.__version__}{_numba_version()};"
        " median wall time",
        flush=True,
    )
    mine = ours(args.repeat)
    if args.reference:
        reference(args.reference, args.reference_runs, mine, args.skip_reference_china)


if __name__ == "__main__":
    main()
