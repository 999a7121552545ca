"""Uploaded files do not stay forever: kept for a stated time (at most so many), removed when
the server stops."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi.testclient import TestClient

from detente import io
from detente.web.budget import Budget
from detente.web.uploads import UploadArea
from tests.web.conftest import Area


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []


def _upload(client: TestClient, name: str = "talks.yaml") -> None:
    body = io.load_default().model_dump_json().encode()  # JSON is YAML
    response = client.post("/api/upload", files={"file": (name, body)})
    assert response.status_code == 200, response.text


def test_uploads_expire_and_go_at_shutdown(area: Area) -> None:
    # Measured before: parsed uploads were kept forever.
    app = area.make_app(budget=Budget(upload_ttl=600, max_kept_uploads=2))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for name in ("a.yaml", "b.yaml", "c.yaml"):
            _upload(client, name)
        kept = _folders(area.uploads)
        assert len(kept) == 2  # the oldest went beyond the count
        assert {p.name for f in kept for p in f.iterdir()} == {"b.yaml", "c.yaml"}
        uploads: UploadArea = app.state.services.uploads
        assert uploads.sweep(now=time.time() + 60) == 0
        assert uploads.sweep(now=time.time() + 601) == 2  # past the time-to-live
        assert _folders(area.uploads) == []
        _upload(client)
        assert len(_folders(area.uploads)) == 1
    assert _folders(area.uploads) == []  # the server stopped: its uploads are gone


def test_upload_ttl_zero_keeps_nothing(area: Area) -> None:
    app = area.make_app(budget=Budget(upload_ttl=0))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        _upload(client)
        assert _folders(area.uploads) == []


def test_leftovers_of_an_earlier_server_expire(area: Area) -> None:
    stale = area.uploads / ("a" * 32)
    stale.mkdir(parents=True)
    (stale / "old.yaml").write_text("name: x")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    other = area.uploads / "not-ours"  # only the area's own folders are touched
    other.mkdir()
    app = area.make_app(budget=Budget(upload_ttl=600))
    with TestClient(app, base_url="http://127.0.0.1"):
        deadline = time.monotonic() + 5
        while stale.exists():  # the sweeper runs at start and then periodically
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert other.exists()
