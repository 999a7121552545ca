"""Web app under load (issue 18): ``python3 benchmarks/bench_web.py``.

Starts ``detente serve`` as a subprocess on a free loopback port with a new SQLite store in a
temporary folder, then fires ``--requests`` (default 200) concurrent ``POST /api/run`` of the
default scenario (``ukraine-talks``) at it, once per model (default ``median`` and ``eu``), each
request with its own seed. Every request opens its own connection, all at once, as 200 browser
tabs would. Prints per model: how many succeeded, the latency of the requests (from sending
to the whole answer) at the 50th and 95th percentile and the slowest, the wall time from the
first request to the last answer and the throughput (answered requests per second), then
checks that every successful run is in the store.

``--url URL`` fires at a server that is already running instead (its store is not checked);
``--serve-args`` passes more options to ``detente serve`` (e.g. ``"--workers 1"``);
``--pythonpath DIR`` runs the server from another source tree, to compare with an earlier
version (``mkdir /tmp/old && git archive COMMIT src | tar -x -C /tmp/old``, then
``--pythonpath /tmp/old/src``). The client runs in this process and the server in its own, so
on a 2-CPU machine they share the CPUs: the figures are the server's throughput with a busy
client beside it. Other work on the machine shows in the figures: compare the load average
printed first, and alternate the versions compared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from detente import io


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"detente serve exited with status {proc.returncode}")
        try:
            if httpx.get(url + "/api/info", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"no answer from {url} within {timeout:.0f} s")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def _one(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> tuple[float, int, int | None, str]:
    t0 = time.perf_counter()
    try:
        response = await client.post("/api/run", json=body)
    except httpx.HTTPError as exc:
        return time.perf_counter() - t0, 0, None, type(exc).__name__
    seconds = time.perf_counter() - t0
    run_id = response.json().get("run_id") if response.status_code == 200 else None
    return seconds, response.status_code, run_id, response.text[:200]


async def _fire(
    url: str, model: str, scenario: dict[str, Any], requests: int, first_seed: int
) -> tuple[list[tuple[float, int, int | None, str]], float]:
    limits = httpx.Limits(max_connections=requests, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:
        bodies = [
            {"scenario": scenario, "model": model, "seed": first_seed + i} for i in range(requests)
        ]
        start = time.perf_counter()
        results = await asyncio.gather(*(_one(client, b) for b in bodies))
        return list(results), time.perf_counter() - start


def _report(model: str, results: list[tuple[float, int, int | None, str]], wall: float) -> None:
    ok = [r for r in results if r[1] == 200]
    failed = [r for r in results if r[1] != 200]
    seconds = [r[0] for r in ok] or [float("nan")]
    print(
        f"{model:>8}: {len(ok)}/{len(results)} ok, latency p50 {_percentile(seconds, 0.5):6.2f} s,"
        f" p95 {_percentile(seconds, 0.95):6.2f} s, max {max(seconds):6.2f} s;"
        f" wall {wall:6.2f} s, {len(ok) / wall:6.1f} runs/s",
        flush=True,
    )
    if failed:
        statuses = statistics.multimode([r[1] for r in failed])
        print(f"          failures (most common status {statuses}): {failed[0][3]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="concurrent runs per model")
    parser.add_argument("--models", nargs="+", default=["median", "eu"])
    parser.add_argument("--url", help="a running server (default: start detente serve)")
    parser.add_argument("--serve-args", default="", help="more options for detente serve")
    parser.add_argument("--pythonpath", help="run the server from this source tree")
    args = parser.parse_args()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()};"
        f" load average {load}"
    )
    scenario = io.load_default().model_dump(mode="json")
    with tempfile.TemporaryDirectory(prefix="detente-bench-web-") as tmp:
        proc = None
        url = args.url
        db = Path(tmp) / "runs.sqlite"
        if url is None:
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            cmd = [
                sys.executable,
                "-m",
                "detente",
                "serve",
                "--port",
                str(port),
                "--db",
                str(db),
                "--upload-dir",
                str(Path(tmp) / "uploads"),
                *shlex.split(args.serve_args),
            ]
            env = dict(os.environ)
            if args.pythonpath:
                env["PYTHONPATH"] = os.pathsep.join(
                    [args.pythonpath, *filter(None, [env.get("PYTHONPATH")])]
                )
            proc = subprocess.Popen(cmd, env=env)
        try:
            _wait_ready(url, proc)
            # warm-up: imports and first calls on the server's side
            for model in args.models:
                warm = {"scenario": scenario, "model": model, "seed": 10**6}
                httpx.post(url + "/api/run", json=warm, timeout=120).raise_for_status()
            ids: set[int] = set()
            for m, model in enumerate(args.models):
                results, wall = asyncio.run(
                    _fire(url, model, scenario, args.requests, (m + 1) * 10_000)
                )
                _report(model, results, wall)
                ids |= {r[2] for r in results if r[2] is not None}
            if proc is not None:
                from detente.store import open_store

                with open_store(f"sqlite:///{db}") as store:
                    stored = {r.id for r in store.list()}
                missing = ids - stored
                print(f"# store: {len(stored)} runs, {len(missing)} answered runs missing")
        finally:
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


if __name__ == "__main__":
    main()
