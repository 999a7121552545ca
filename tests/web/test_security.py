"""What no request can do: read or write outside the store and the upload area, send an
unbounded body, write from another site, or reach a loopback server under a foreign name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from detente import io
from detente.evidence import document_id
from detente.web import create_app
from tests.web.conftest import Area, LiveServer


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "url",
    [
        "/api/scenarios/..%2F..%2Fetc%2Fpasswd",
        "/api/scenarios/%2Fetc%2Fpasswd",
        "/api/scenarios/..",
        "/api/scenarios/ukraine-talks.yaml",
        "/api/documents/..%2F..%2Fetc%2Fpasswd",
        "/api/documents/000_cff1df476ef32d7a.txt",
        "/static/..%2Fapp.py",
        "/static/%2E%2E/app.py",
    ],
)
def test_no_path_reaches_the_file_system(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (404, 422)
    assert "root:" not in response.text
    assert "def create_app" not in response.text


def test_raw_dot_dot_paths(live: LiveServer) -> None:
    # Sent as typed (httpx would normalise "../" away), over a real socket.
    for raw in (b"/api/documents/../../x", b"/static/../app.py", b"/api/scenarios/../../etc"):
        with httpx.Client(base_url=live.url) as http:
            request = http.build_request("GET", "/")
            request.url = request.url.copy_with(raw_path=raw)
            response = http.send(request)
        assert response.status_code in (404, 422), raw
        assert "def create_app" not in response.text


@pytest.fixture
def sandbox(area: Area, tmp_path: Path) -> Iterator[Path]:
    """The test's temporary folder, watched: only the area may change."""
    before = _files(tmp_path)
    yield tmp_path
    new = _files(tmp_path) - before
    assert all(p.is_relative_to(area.root) for p in new), new


@pytest.mark.parametrize(
    "name", ["../../evil.yaml", "..\\..\\evil.yaml", "/etc/evil.yaml", "..", ".hidden.yaml"]
)
def test_upload_names_cannot_escape(
    client: TestClient, area: Area, sandbox: Path, name: str
) -> None:
    body = io.load_default().model_dump_json().encode()  # JSON is YAML
    response = client.post("/api/upload", files={"file": (name, body)})
    saved = _files(area.uploads)
    assert all(p.resolve().is_relative_to(area.uploads.resolve()) for p in saved)
    assert not (sandbox / "evil.yaml").exists()
    assert not (area.root / "evil.yaml").exists()
    if name.endswith(".yaml"):
        assert response.status_code == 200
        assert len(saved) == 1
        assert not saved.pop().name.startswith(".")
    else:
        assert response.status_code == 422  # no usable suffix: the readers refuse it
        assert saved == set()


def test_upload_size_is_bounded(area: Area, sandbox: Path) -> None:
    app = area.make_app(max_upload_bytes=1000)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        ok = client.post("/api/upload", files={"file": ("a.yaml", b"x" * 1000)})
        assert ok.status_code == 422  # within the bound: read (and refused as a scenario)
        too_big = client.post("/api/upload", files={"file": ("a.yaml", b"x" * 1001)})
        assert too_big.status_code == 413
        assert too_big.json()["detail"] == (
            "upload too large: at most 1,000 bytes are accepted (--max-upload)"
        )
        assert (too_big.json()["limit"], too_big.json()["allowed"]) == ("max_upload_bytes", 1000)

        # Announced larger than the bound: refused before the body is read.
        huge = client.post("/api/upload", files={"file": ("a.yaml", b"x" * 500_000)})
        assert huge.status_code == 413

        # No Content-Length (chunked): refused once the bound is passed.
        streamed = client.post(
            "/api/upload",
            content=iter([b"y" * 1000] * 100),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert streamed.status_code == 413
    assert _files(area.uploads) == set()


PART = (
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.yaml"\r\n'
    b"Content-Type: application/yaml\r\n\r\n"
)


@pytest.mark.parametrize(("head", "statuses"), [(PART, {413}), (b"", {400, 413})])
def test_server_stops_reading_an_endless_upload(
    area: Area, head: bytes, statuses: set[int]
) -> None:
    # Over a real socket: the app answers at the bound (or at the first bad byte) and the
    # server hangs up instead of reading the rest, so the client cannot send 200 MB.
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        yield head
        while sent < 200_000:
            sent += 1
            yield b"z" * 1000

    with LiveServer(area.make_app(max_upload_bytes=1000)) as server:
        headers = {"content-type": "multipart/form-data; boundary=b"}
        try:
            response = httpx.post(
                server.url + "/api/upload", content=endless(), headers=headers, timeout=10
            )
        except httpx.TransportError:
            pass  # the server closed the connection while the client was still writing
        else:
            assert response.status_code in statuses  # garbage: a parse error or the bound
            assert response.headers["connection"] == "close"
    assert sent < 20_000
    assert _files(area.uploads) == set()


def test_json_bodies_are_bounded(client: TestClient) -> None:
    response = client.post(
        "/api/run",
        content=b"{" + b" " * 4_000_001 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["detail"].startswith("request too large")
    assert response.json()["limit"] == "max_body_bytes"


def test_cross_site_writes_are_refused(client: TestClient, scenario: dict[str, object]) -> None:
    body = {"scenario": scenario}
    evil = client.post("/api/run", json=body, headers={"origin": "http://evil.example"})
    assert evil.status_code == 403
    upload = client.post(
        "/api/upload",
        files={"file": ("a.yaml", b"name: x")},
        headers={"origin": "null"},
    )
    assert upload.status_code == 403
    same = client.post("/api/run", json=body, headers={"origin": "http://127.0.0.1"})
    assert same.status_code == 200
    assert client.get("/api/runs").status_code == 200  # reads carry no Origin check


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        # Measured before: no Origin, but a browser's Sec-Fetch-Site: cross-site, was accepted.
        ({"sec-fetch-site": "cross-site"}, 403),
        ({"sec-fetch-site": "same-site"}, 403),  # another port or subdomain is another origin
        ({"sec-fetch-site": "same-origin"}, 200),
        ({"sec-fetch-site": "none"}, 200),  # typed by the user
        ({"referer": "http://evil.example/page"}, 403),
        ({"referer": "http://127.0.0.1:9999/"}, 403),  # another port on this machine
        ({"referer": "http://127.0.0.1/"}, 200),
        ({"origin": "http://127.0.0.1:8000"}, 403),
        ({"origin": "http://127.0.0.1", "referer": "http://127.0.0.1/x"}, 200),
        ({"origin": "http://127.0.0.1", "sec-fetch-site": "cross-site"}, 403),
    ],
)
def test_other_sites_cannot_write(
    client: TestClient, scenario: dict[str, object], headers: dict[str, str], status: int
) -> None:
    body = {"scenario": scenario, "model": "mean"}
    response = client.post("/api/run", json=body, headers=headers)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["detail"].startswith("cross-")
        assert client.get("/api/info", headers=headers).status_code == 200  # reads are fine


def test_loopback_host_names_only(area: Area) -> None:
    app = area.make_app(allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/info").status_code == 200
        assert client.get("/api/info", headers={"host": "LOCALHOST"}).status_code == 200
        rebound = client.get("/api/info", headers={"host": "attacker.example"})
        assert rebound.status_code == 400


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1", 200),  # the test client's server is port 80
        ("127.0.0.1:80", 200),
        ("127.0.0.1:8000", 400),  # a port this server does not listen on
        ("127.0.0.1:http", 400),
        ("127.0.0.1:80:80", 400),
        ("", 400),
        ("[::1]:80", 400),  # not an allowed name
    ],
)
def test_host_port_must_be_ours(area: Area, host: str, status: int) -> None:
    app = area.make_app(allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/info", headers={"host": host}).status_code == status


def test_host_port_checked_on_a_real_socket(live: LiveServer) -> None:
    port = int(live.url.rsplit(":", 1)[1])
    assert httpx.get(live.url + "/api/info").status_code == 200
    other = httpx.get(live.url + "/api/info", headers={"host": f"127.0.0.1:{port + 1}"})
    assert other.status_code == 400
    assert other.json() == {"detail": "invalid host header"}
    # any name is answered (no allowed_hosts), but only on this port
    named = httpx.get(live.url + "/api/info", headers={"host": f"example.org:{port}"})
    assert named.status_code == 200


def test_responses_carry_protective_headers(client: TestClient) -> None:
    for url in ("/", "/api/info", "/static/app.js", "/api/scenarios/nope"):
        headers = client.get(url).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_page_uses_no_html_sinks() -> None:
    # Untrusted strings reach the page through textContent only.
    script = (Path(__file__).parents[2] / "src/detente/web/static/app.js").read_text("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_documents_are_found_by_hash_only(area: Area, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "memo.txt").write_text("Talks resume in May.", encoding="utf-8")
    app = create_app(store_url=area.store_url, upload_dir=area.uploads, docs_dir=docs)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        memo = client.get(f"/api/documents/{document_id('Talks resume in May.')}")
        assert memo.json() == {
            "id": document_id("Talks resume in May."),
            "name": "memo.txt",
            "text": "Talks resume in May.",
        }
        assert client.get("/api/documents/memo.txt").status_code == 422
        assert client.get("/api/documents/" + "0" * 64).status_code == 404
