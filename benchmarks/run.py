"""Run every benchmark of detente, one after the other: ``python3 benchmarks/run.py``.

Options are passed on: ``--eu-reference PATH`` times the reference Python program of the
expected-utility model (a copy of ``bdm_scholz_model.py`` from the Python 3 port of Velev's
program, fetched outside this repository) in the same run; ``--decide-reference DIR`` times the
decide-exchange-model program (its source tree, fetched outside this repository, run by
``--decide-python``) beside the exchange model.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


JOBS: list[tuple[str, list[str]]] = [
    ("baselines", [str(HERE / "bench_baselines.py")]),
    ("eu", [str(HERE / "bench_eu.py")]),
    ("smp", [str(HERE / "bench_smp.py")]),
    ("mc", [str(HERE / "bench_mc.py")]),
    ("literature", [str(HERE / "bench_literature.py")]),
    ("causal", [str(HERE / "bench_causal.py")]),
    ("advise", [str(HERE / "bench_advise.py")]),
    ("process", [str(HERE / "bench_process.py")]),  # whole-process start-up
    ("startup", [str(HERE / "bench_startup.py")]),  # a first mc with no Numba cache
    ("streams", [str(HERE / "bench_streams.py")]),  # per-replicate streams, before/after
    ("exchange", [str(HERE / "bench_exchange.py")]),  # exchange batch, before/after
    ("web", [str(HERE / "bench_web.py")]),  # the web app under concurrent requests
]
"""Every benchmark, in the order they run: ``--only NAME`` picks some."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eu-reference", help="path to bdm_scholz_model.py (not in the repo)")
    parser.add_argument(
        "--only",
        choices=[name for name, _ in JOBS],
        action="append",
    )
    parser.add_argument("--decide-reference", help="decide-exchange-model source tree (not here)")
    parser.add_argument("--decide-python", default="python3", help="interpreter for it")
    args = parser.parse_args()
    jobs = [(name, list(cmd)) for name, cmd in JOBS]
    by_name = dict(jobs)
    if args.eu_reference:
        by_name["eu"].extend(["--reference", args.eu_reference])
    if args.decide_reference:
        by_name["literature"].extend(
            ["--reference", args.decide_reference, "--reference-python", args.decide_python]
        )
    failed = 0
    for name, cmd in jobs:
        if args.only and name not in args.only:
            continue
        print(f"\n## {name}", flush=True)
        failed += subprocess.run([sys.executable, *cmd], check=False).returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
