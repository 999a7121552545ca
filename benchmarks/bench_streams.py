"""Per-replicate random streams, before and after they were batched (issue 19):
``python3 benchmarks/bench_streams.py``.

Before: Monte Carlo made every replicate's ``SeedSequence`` (a list, ``_child(model_seq, r)``
for each ``r``) and the SMP batch run a ``np.random.default_rng`` of each, deterministic runs
too, then drew each turn's uniforms replicate by replicate. After: the streams are a
:class:`~detente.models.streams.ReplicateStreams` (nothing made), and stochastic SMP draws from
one :class:`~detente.models.streams.ReplicateUniforms` for all replicates of a chunk.

Cases (median of ``--repeat`` timed calls after a warm-up, fastest and slowest in brackets;
before and after interleaved, so that the machine's other work weighs on both alike):

* set-up per draw: the streams of 1,000 replicates (one SMP chunk) ready to draw, before (the
  list and its generators) and after (the uniforms; a deterministic run makes nothing at all);
* uniforms per call: 8 turns of ``n`` actors for 1,000 replicates (the kernel's draw-ahead),
  the generators one by one against :class:`ReplicateUniforms`, for ``n`` = 5, 20 and 80;
* Monte Carlo: ``detente.sim.montecarlo.monte_carlo`` with ``smp`` on 10,000 draws of KTAB's
  stochastic ``smpExample_as-of-2017-05.xml``, and of the default scenario ``ukraine-talks``
  stochastic and deterministic, wall and CPU seconds. "Before" runs today's code with the two
  old pieces put back (the list of streams, a generator per replicate made up front): the
  same work as the code before the change, and the forecasts are checked to be identical.

The SMP turns run compiled where Numba is installed (``DETENTE_NO_NUMBA=1``: NumPy only), as in
``bench_mc.py``. ``--draws`` changes the Monte Carlo size, ``--cases`` picks Monte Carlo cases
(``smpexample,talks-stochastic,talks``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from detente import io
from detente.models import smp
from detente.models.smp_kernel import compiled
from detente.models.streams import ReplicateGenerators, ReplicateStreams
from detente.sim import montecarlo
from detente.sim.montecarlo import _child, monte_carlo

KTAB = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "ktab" / "inputs"
CHUNK = 1000


def _old_streams(seq: np.random.SeedSequence, start: int, stop: int) -> list[Any]:
    return [_child(seq, r) for r in range(start, stop)]


def _old_generators(streams: Any) -> list[np.random.Generator]:
    return [np.random.default_rng(q) for q in streams]


@contextlib.contextmanager
def before() -> Iterator[None]:
    """The code before the change: a list of streams, every generator made up front."""
    saved = montecarlo._streams, smp.ReplicateGenerators
    montecarlo._streams = _old_streams  # type: ignore[assignment]
    smp.ReplicateGenerators = _old_generators  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        montecarlo._streams, smp.ReplicateGenerators = saved  # type: ignore[misc]


def _span(values: list[float], scale: float = 1.0, unit: str = "s", fmt: str = ".2f") -> str:
    med, lo, hi = (v * scale for v in (statistics.median(values), min(values), max(values)))
    return f"{med:{fmt}} {unit} ({lo:{fmt}}–{hi:{fmt}})"


def _pair(
    old: Callable[[], object], new: Callable[[], object], repeat: int
) -> tuple[list[float], list[float]]:
    """Wall seconds of ``old`` and ``new``, interleaved, after one warm-up call of each."""
    old()
    new()
    a, b = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        old()
        a.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        new()
        b.append(time.perf_counter() - t0)
    return a, b


def set_up(repeat: int) -> None:
    model_seq = np.random.SeedSequence(7).spawn(2)[1]

    def old() -> object:
        return _old_generators(_old_streams(model_seq, 0, CHUNK))

    def new() -> object:
        return ReplicateStreams(model_seq, 0, CHUNK).uniforms()

    def lazy() -> object:
        return ReplicateGenerators(ReplicateStreams(model_seq, 0, CHUNK))

    a, b = _pair(old, new, repeat)
    _, c = _pair(old, lazy, repeat)
    per = 1e6 / CHUNK
    print(f"# set-up per draw, {CHUNK:,} replicates (µs per draw)")
    print(f"  before: list of SeedSequences + default_rng each   {_span(a, per, 'µs')}")
    print(f"  after, stochastic: ReplicateStreams.uniforms()      {_span(b, per, 'µs', '.3f')}")
    print(f"  after, deterministic: nothing made                  {_span(c, per, 'µs', '.4f')}")


def per_call(repeat: int) -> None:
    model_seq = np.random.SeedSequence(7).spawn(2)[1]
    streams = ReplicateStreams(model_seq, 0, CHUNK)
    gens = _old_generators(streams)
    uniforms = streams.uniforms()
    print(f"# uniforms of 8 turns × n actors for {CHUNK:,} replicates, per call")
    for n in (5, 20, 80):
        a, b = _pair(
            lambda n=n: np.stack([g.random((8, n)) for g in gens]),
            lambda n=n: uniforms.random((8, n)),
            repeat,
        )
        per = 1e9 / (CHUNK * 8 * n)
        print(
            f"  n = {n:2d}: generators {_span(a, 1e3, 'ms', '.2f')}"
            f" = {statistics.median(a) * per:5.1f} ns/number;"
            f" ReplicateUniforms {_span(b, 1e3, 'ms', '.2f')}"
            f" = {statistics.median(b) * per:5.1f} ns/number"
        )


def mc(cases: list[str], draws: int, repeat: int) -> None:
    xml = io.read(KTAB / "smpExample_as-of-2017-05.xml")
    talks = io.load_default()
    runs: dict[str, tuple[str, Any, dict[str, Any]]] = {
        "smpexample": ("smpExample (stochastic)", xml, {}),
        "talks-stochastic": (
            "ukraine-talks, StateTransitions=Stochastic",
            talks,
            {"StateTransitions": "Stochastic"},
        ),
        "talks": ("ukraine-talks (deterministic)", talks, {}),
    }
    print(f"# Monte Carlo, smp, {draws:,} draws, seed 7: wall s (CPU s)")
    for name in cases:
        label, scenario, params = runs[name]
        results: dict[str, Any] = {}
        with before():
            monte_carlo(scenario, "smp", 50, 7, params=params)  # warm-up
        monte_carlo(scenario, "smp", 50, 7, params=params)
        walls: dict[str, list[float]] = {"before": [], "after": []}
        cpus: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(repeat):
            for mode in ("before", "after"):
                with before() if mode == "before" else contextlib.nullcontext():
                    w, c = time.perf_counter(), time.process_time()
                    results[mode] = monte_carlo(scenario, "smp", draws, 7, params=params)
                    walls[mode].append(time.perf_counter() - w)
                    cpus[mode].append(time.process_time() - c)
        same = np.array_equal(
            results["before"].forecasts, results["after"].forecasts, equal_nan=True
        )
        print(f"  {label}  (forecasts identical: {same})")
        for mode in ("before", "after"):
            print(
                f"    {mode:6s} {_span(walls[mode])}  CPU {_span(cpus[mode])}"
                f"  {draws / statistics.median(walls[mode]):8,.0f} draws/s"
            )
        if not same:
            raise SystemExit("the forecasts differ before and after")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per case")
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--cases", default="smpexample,talks-stochastic,talks")
    args = parser.parse_args()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    kernel = "compiled" if compiled() is not None else "NumPy"
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},")
    print(f"# NumPy {np.__version__}; SMP turns: {kernel}; load average {load}")
    set_up(max(args.repeat, 7))
    per_call(max(args.repeat, 7))
    mc([c for c in args.cases.split(",") if c], args.draws, args.repeat)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average after: {load}")


if __name__ == "__main__":
    main()
