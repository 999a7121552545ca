"""The web app under test: made with a temporary store and upload area, served in a thread."""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

pytest.importorskip("fastapi", reason="the web tests need the web extra (fastapi)")
pytest.importorskip("uvicorn", reason="the web tests need the web extra (uvicorn)")

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from detente import io
from detente.web import create_app
from tests.conftest import REPO, shared_path

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
"""Screenshots of the browser tests (git-ignored), written on every run."""
TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Area:
    """Where one app keeps its things: every file a test may see written is under ``root``."""

    root: Path
    store_url: str
    uploads: Path
    docs: Path

    def make_app(self, **kw: Any) -> FastAPI:
        return create_app(
            store_url=self.store_url, upload_dir=self.uploads, docs_dir=self.docs, **kw
        )


@pytest.fixture
def area(tmp_path: Path) -> Area:
    root = tmp_path / "area"
    root.mkdir()
    return Area(
        root=root,
        store_url=f"sqlite:///{root / 'runs.sqlite'}",
        uploads=root / "uploads",
        docs=shared_path("seeds"),
    )


@pytest.fixture
def client(area: Area) -> Iterator[TestClient]:
    with TestClient(area.make_app(), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def scenario_json() -> dict[str, Any]:
    return io.load_default().model_dump(mode="json")


@pytest.fixture
def scenario(scenario_json: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy of the default scenario's JSON, free to edit."""
    return copy.deepcopy(scenario_json)


class LiveServer:
    """A real uvicorn server on a free loopback port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def live(area: Area) -> Iterator[LiveServer]:
    with LiveServer(area.make_app()) as server:
        yield server


def synthetic(actors: int, issues: int, seed: int = 0) -> dict[str, Any]:
    """A scenario's JSON with ``actors`` × ``issues`` random stances (no sources)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {
        "name": f"synthetic-{actors}x{issues}",
        "issues": [{"id": f"i{k}"} for k in range(issues)],
        "actors": [
            {
                "id": f"a{i}",
                "capability": float(rng.uniform(1, 100)),
                "stances": {
                    f"i{k}": {
                        "position": float(rng.uniform(0, 100)),
                        "salience": float(rng.uniform(0.05, 1)),
                    }
                    for k in range(issues)
                },
            }
            for i in range(actors)
        ],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """``detente serve`` in a subprocess on a free loopback port, stopped with SIGTERM."""

    def __init__(self, root: Path, *options: str) -> None:
        self.root = root
        self.port = free_port()
        self.uploads = root / "uploads"
        self.db = root / "runs.sqlite"
        self.command = [
            sys.executable,
            "-m",
            "detente",
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(self.db),
            "--upload-dir",
            str(self.uploads),
            *options,
        ]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        import httpx

        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"detente serve exited: {self.stderr()}")
            try:
                if httpx.get(self.url + "/api/info", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("detente serve did not answer within 30 s")

    def stderr(self) -> str:
        assert self.process is not None
        if self.process.poll() is None:
            return ""
        assert self.process.stderr is not None
        return self.process.stderr.read().decode("utf-8", "replace")

    def children(self) -> set[int]:
        """Processes started by the server (its workers, the fork server)."""
        assert self.process is not None
        return descendants(self.process.pid)

    def stop(self, timeout: float = 15) -> float:
        """SIGTERM, and the seconds until the process had exited."""
        assert self.process is not None
        start = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        return time.monotonic() - start

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (Linux: from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != b"Z":
            parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


@pytest.fixture
def served_root(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    root.mkdir()
    return root


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


# -- a real browser: Debian's headless Chromium driven by Playwright (no download) ----------


def _browser_missing(reason: str) -> NoReturn:
    if os.environ.get("DETENTE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (DETENTE_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_missing("the browser tests need playwright (pip install playwright)")
    if not CHROMIUM.exists():
        _browser_missing(f"the browser tests need Debian's chromium at {CHROMIUM}")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()
