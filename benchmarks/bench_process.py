"""Whole-process start-up benchmark (issue 19): ``python3 benchmarks/bench_process.py``.

Times complete ``detente`` processes as a user starts them, from exec to exit:

* ``detente run --model mean``: the embedded default scenario, recorded in the default SQLite
  store (``platformdirs``' data folder, here under a temporary ``XDG_DATA_HOME`` so that the
  user's own store is not touched); target 0.3 s;
* ``detente run dummyData_3Dim.csv --model smp``: KTAB's example against ``smpc``'s whole
  process on the same file (0.079 s in issue 19; section E of the KTAB reference README gives
  0.044 s wall, 0.050 s CPU, for its optimised build on an idle machine);
* ``python -c "import detente"`` and ``import detente.cli``; ``python -c pass`` (the
  interpreter's own start-up on this machine), ``import numpy``, and the import of the
  libraries the command needs (NumPy, PyYAML, Typer, Rich, pydantic): the floor under every
  figure above.

Each case runs once untimed (it compiles the byte code and creates the store), then
``--repeat`` times; printed are the median wall time with the fastest and slowest, the median
CPU time (user + system) and the peak resident memory. The child processes may write byte
code (``PYTHONDONTWRITEBYTECODE`` is removed from their environment), as an installed package
has. Other work on the machine shows in the spread: compare ``uptime``'s load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KTAB = HERE.parent / ".." / "shared" / "reference" / "ktab" / "inputs"
SMPC_ISSUE_S = 0.079
"""smpc's whole process on dummyData_3Dim as issue 19 states it."""
LIBRARIES = (
    "import numpy, yaml, typer, rich.console, rich.table;"
    " from pydantic import BaseModel, Field, field_validator"
)
"""What ``detente run`` cannot start without: no command can be faster than importing these."""
SMPC_README_S = 0.044
"""The same in the KTAB reference README, section E (median wall, optimised build, idle)."""


def _detente() -> list[str]:
    """The ``detente`` command as installed next to this Python, else ``python -m detente``."""
    script = Path(sys.executable).with_name("detente")
    if script.exists():
        return [str(script)]
    found = shutil.which("detente")
    return [found] if found else [sys.executable, "-m", "detente"]


def _once(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one run of ``cmd``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _case(name: str, cmd: list[str], env: dict[str, str], repeat: int) -> float:
    _once(cmd, env)  # untimed: byte code, the store's creation
    runs = [_once(cmd, env) for _ in range(repeat)]
    walls = [r[0] for r in runs]
    wall = statistics.median(walls)
    cpu = statistics.median(r[1] for r in runs)
    rss = max(r[2] for r in runs)
    print(
        f"{wall:7.3f} s  ({min(walls):.3f}–{max(walls):.3f})  CPU {cpu:6.3f} s"
        f"  {rss:6.1f} MiB  {name}",
        flush=True,
    )
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case")
    args = parser.parse_args()
    repeat = max(1, args.repeat)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}")
    print(f"# median wall (fastest–slowest) of {repeat} runs after one untimed; CPU; peak RSS")
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.pop("DETENTE_DB_URL", None)
        env["XDG_DATA_HOME"] = data  # the default store, in a folder of its own
        detente = _detente()
        py = [sys.executable]
        _case("python -c pass (the interpreter alone)", [*py, "-c", "pass"], env, repeat)
        _case("python -c 'import numpy'", [*py, "-c", "import numpy"], env, repeat)
        floor = _case(
            "python -c 'import <the CLI's libraries>' (its floor)",
            [*py, "-c", LIBRARIES],
            env,
            repeat,
        )
        _case("python -c 'import detente'", [*py, "-c", "import detente"], env, repeat)
        _case("python -c 'import detente.cli'", [*py, "-c", "import detente.cli"], env, repeat)
        mean = _case(
            "detente run --model mean (default store)",
            [*detente, "run", "--model", "mean"],
            env,
            repeat,
        )
        csv = KTAB / "dummyData_3Dim.csv"
        if csv.exists():
            smp = _case(
                "detente run dummyData_3Dim.csv --model smp (default store)",
                [*detente, "run", str(csv), "--model", "smp"],
                env,
                repeat,
            )
            print(
                f"# smp on dummyData_3Dim: {smp / SMPC_ISSUE_S:.1f}x smpc's {SMPC_ISSUE_S} s"
                f" (issue 19), {smp / SMPC_README_S:.1f}x its {SMPC_README_S} s (KTAB README)"
            )
        else:
            print(f"# {csv} is missing: the comparison with smpc is skipped")
        print(
            f"# detente run --model mean: {mean:.3f} s against the target of 0.3 s;"
            f" {mean - floor:.3f} s above its libraries' import alone"
        )


if __name__ == "__main__":
    main()
