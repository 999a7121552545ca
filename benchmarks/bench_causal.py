"""Causal layer and summit benchmark (issue 16): ``python3 benchmarks/bench_causal.py``.

Cases, on the default scenario ``ukraine-talks`` (12 concepts, 18 weights): the map settled
under 10,000 draws of its weights at once (one ``[R, C, C]`` batch); the inputs of 10,000 Monte
Carlo draws with and without a moved lever (the difference is the weights' draws and the two
batched settlements); a lever move applied as a shock; and the usa-russia summit (its no-deal
point is one run of the median model). Prints the median wall time of ``--repeat`` calls after a
warm-up, and the peak memory traced during one call.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
from timing import median_seconds, peak_bytes

from detente import io
from detente.causal import settle, weight_matrix
from detente.sim.draws import draw
from detente.sim.levers import set_levers
from detente.sim.shocks import apply_shocks, derive
from detente.summit import summit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sc = io.load_default()
    assert sc.causal is not None
    cmap = sc.causal
    r = args.draws
    rng = np.random.default_rng(0)
    w = weight_matrix(cmap)
    mask = w != 0
    weights = np.where(mask, np.clip(w + rng.uniform(-0.15, 0.15, (r, *w.shape)), -1, 1), 0.0)
    shocked, _ = apply_shocks(derive(sc, ["sanctions=1"]), ["sanctions=1"])
    cases = {
        f"settle the map, {r:,} weight draws": lambda: settle(cmap, weights=weights),
        f"draw {r:,} inputs, levers as written": lambda: draw(sc, r, np.random.default_rng(1)),
        f"draw {r:,} inputs, sanctions moved (weights drawn)": lambda: draw(
            shocked, r, np.random.default_rng(1)
        ),
        "set a lever (set_levers, sanctions=1)": lambda: set_levers(sc, {"sanctions": 1.0}),
        "summit usa-russia, 6 issues (median no deal)": lambda: summit(sc),
    }
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs,"
        f" NumPy {np.__version__}, Python {platform.python_version()}"
    )
    for label, fn in cases.items():
        seconds = median_seconds(fn, args.repeat)
        peak = peak_bytes(fn) / 2**20
        print(f"{label:55s} {seconds * 1000:9.1f} ms  peak {peak:7.1f} MiB")


if __name__ == "__main__":
    main()
