"""Benchmark of the baseline kernels: ``python3 benchmarks/bench_baselines.py``.

All benchmarks at once: ``python3 benchmarks/run.py``.

Prints one line per case: median wall time of repeated calls (model call only, no start-up).
"""

from __future__ import annotations

import argparse
import platform

import numpy as np
from timing import median_seconds

from detente.models.baselines import condorcet, weighted_mean, weighted_median


def baselines(repeat: int) -> list[tuple[str, float]]:
    rng = np.random.default_rng(0)
    results = []
    for reps, n, m in ((1, 8, 6), (10_000, 10, 1), (1, 200, 1), (100, 24, 6)):
        cap = rng.uniform(1, 100, (reps, n))
        pos = rng.uniform(0, 100, (reps, n, m))
        sal = rng.uniform(0, 1, (reps, n, m))
        label = f"{reps} replicates × {n} actors × {m} issues"
        args = (cap, pos, sal)
        results.append(
            (f"weighted mean, {label}", median_seconds(lambda a=args: weighted_mean(*a), repeat))
        )
        results.append(
            (
                f"weighted median, {label}",
                median_seconds(lambda a=args: weighted_median(*a), repeat),
            )
        )
        if reps * n**3 * m <= 1e8:
            results.append(
                (f"condorcet, {label}", median_seconds(lambda a=args: condorcet(*a), repeat))
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, Python {platform.python_version()},"
        f" NumPy {np.__version__}; median of {args.repeat} calls"
    )
    for name, seconds in baselines(args.repeat):
        print(f"{seconds * 1e3:10.3f} ms  {name}")


if __name__ == "__main__":
    main()
