"""The web app under test: made with a temporary store and upload area, served in a thread."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web tests need the web extra (fastapi)")
pytest.importorskip("uvicorn", reason="the web tests need the web extra (uvicorn)")

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from detente import io
from detente.web import create_app
from tests.conftest import shared_path


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
