"""Benchmark of the exchange model, the Nash bargaining solution and the ensemble (issue 15):
``python3 benchmarks/bench_literature.py``.

Cases, per model: one run of a random 30-actor × 10-issue scenario (the same for every model;
seeded), and batches of ``--draws`` Monte Carlo draws (default 10,000) of the default scenario
``ukraine-talks`` (8 actors × 6 issues, its uncertainties) and of the 30 × 10 scenario (every
capability ±20 %, position ±10, salience ±0.1). The exchange model runs its draws one by one,
so on 30 × 10 it is timed on ``--exchange-draws`` draws (default 200) and the time for 10,000
extrapolated (marked ``≈``); the ensemble, which runs every model, likewise on
``--ensemble-draws`` (default 100).

``--reference DIR`` also times the decide-exchange-model program (its source tree ``DIR``,
fetched outside this repository, run by ``--reference-python``, an interpreter with its
dependencies) on its own inputs for 10 rounds (a process each, writing its usual output files),
beside ours on the same inputs. Prints wall times (median of ``--repeat`` calls for single runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import median_seconds

from detente import io
from detente.models import run
from detente.scenario import Scenario
from detente.sim.montecarlo import monte_carlo

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "exchange"
MODELS = ("exchange", "nbs", "ensemble")


def random_scenario(n: int = 30, m: int = 10, seed: int = 0, reference: bool = False) -> Scenario:
    """``n`` actors × ``m`` issues with uniform random inputs and uncertainties."""
    rng = np.random.default_rng(seed)
    issues = [
        {"id": f"i{k}", **({"reference": float(rng.uniform(0, 100))} if reference else {})}
        for k in range(m)
    ]
    actors = []
    for i in range(n):
        c = float(rng.uniform(1, 100))
        stances = {}
        for k in range(m):
            x, s = float(rng.uniform(0, 100)), float(rng.uniform(0.05, 0.95))
            stances[f"i{k}"] = {
                "position": {
                    "value": x,
                    "uncertainty": {
                        "dist": "uniform", "low": max(0.0, x - 10), "high": min(100.0, x + 10)
                    },
                },
                "salience": {
                    "value": s,
                    "uncertainty": {"dist": "uniform", "low": s - 0.05, "high": s + 0.05},
                },
            }  # fmt: skip
        actors.append(
            {"id": f"a{i}", "capability": {"value": c, "uncertainty": f"±{0.2 * c:g}"},
             "stances": stances}
        )  # fmt: skip
    return Scenario.model_validate({"name": "random", "issues": issues, "actors": actors})


def _wall(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


def reference_program(src: Path, python: str, repeat: int) -> list[tuple[str, float, float]]:
    """``(case, program seconds, detente seconds)`` on the program's inputs, 10 rounds."""
    out = []
    env = {**os.environ, "PYTHONPATH": str(src)}
    for name in ("sample_data.txt", "copenhagen.csv"):
        path = SHARED / "inputs" / name
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [python, "-c", "from decide.cli import app; app()", "--input-file", str(path),
                   "--output-dir", tmp, "-i", "10"]  # fmt: skip
            ref = min(
                _wall(lambda c=cmd: subprocess.run(c, check=True, capture_output=True, env=env))
                for _ in range(repeat)
            )
        sc = io.read(path)
        ours = median_seconds(lambda s=sc: run(s, "exchange", params={"rounds": 10}), repeat)
        out.append((name, ref, ours))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--exchange-draws", type=int, default=200)
    parser.add_argument("--ensemble-draws", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reference", type=Path, help="the decide-exchange-model source tree")
    parser.add_argument("--reference-python", default="python3", help="interpreter for it")
    parser.add_argument("--only", choices=MODELS, action="append")
    args = parser.parse_args()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"# {platform.machine()}, Python {platform.python_version()}, NumPy {np.__version__};"
        f" load average {load}"
    )
    big = random_scenario()
    big_ref = random_scenario(reference=True)
    talks = io.load_default()
    for model in MODELS:
        if args.only and model not in args.only:
            continue
        t = median_seconds(lambda m=model: run(big, m), args.repeat)
        print(f"{t * 1e3:10.1f} ms  {model}: one run, 30 actors × 10 issues")
        if model == "nbs":
            t = median_seconds(lambda: run(big_ref, "nbs"), args.repeat)
            print(f"{t * 1e3:10.1f} ms  nbs: one run, 30 × 10 with a reference point per issue")
        if model == "exchange":
            t = median_seconds(lambda: run(big, "exchange", params={"rounds": 10}), args.repeat)
            print(f"{t * 1e3:10.1f} ms  exchange: one run, 30 × 10, 10 rounds")
        t = _wall(lambda m=model: monte_carlo(talks, m, args.draws, seed=1))
        print(f"{t:10.2f} s   {model}: {args.draws:,} draws of ukraine-talks (8 × 6)")
        n = {"exchange": args.exchange_draws, "ensemble": args.ensemble_draws}.get(
            model, args.draws
        )
        t = _wall(lambda m=model, k=n: monte_carlo(big, m, k, seed=1))
        if n == args.draws:
            print(f"{t:10.2f} s   {model}: {n:,} draws of the 30 × 10 scenario")
        else:
            print(
                f"{t:10.2f} s   {model}: {n:,} draws of the 30 × 10 scenario"
                f" (≈ {t * args.draws / n:,.0f} s for {args.draws:,})"
            )
    if args.reference:
        if not (args.reference / "decide" / "cli.py").is_file():
            raise SystemExit(f"no decide/cli.py in {args.reference}")
        for name, ref, ours in reference_program(
            args.reference, args.reference_python, args.repeat
        ):
            print(
                f"{ref:10.2f} s   decide-exchange-model {name}, 10 rounds (a process, best of"
                f" {args.repeat}); detente exchange {ours * 1e3:.0f} ms (one run)"
            )


if __name__ == "__main__":
    main()
