"""``detente serve`` itself, as a subprocess on a free loopback port, probed with raw sockets:
slow or stalled clients are cut off, and SIGTERM stops it promptly even during a long run."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from detente import io
from tests.web.conftest import Served, alive, synthetic

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)"
)

LIMITS = ("--header-timeout", "1", "--body-timeout", "1", "--keep-alive", "1")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    with Served(root, *LIMITS, "--max-header", "2048", "--upload-ttl", "1") as server:
        yield server


def _connect(server: Served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.settimeout(5)
    return sock


def _read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and when it closed."""
    start, data = time.monotonic(), b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data, time.monotonic() - start


def test_an_idle_connection_is_closed(served: Served) -> None:
    # Measured before: slowloris connections were held 20-90 s.
    with _connect(served) as sock:
        data, seconds = _read_until_closed(sock)
    assert data == b""
    assert 0.8 < seconds < 2.5


def test_headers_trickled_byte_by_byte_are_cut_off(served: Served) -> None:
    head = b"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40
    with _connect(served) as sock:
        start = time.monotonic()
        try:
            for byte in head:  # one byte every 50 ms: never idle, never done
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, _ = _read_until_closed(sock)
        seconds = time.monotonic() - start
    assert data.startswith(b"HTTP/1.1 408 ")
    assert seconds < 2.5


def test_a_stalled_body_gets_408(served: Served) -> None:
    head = (
        f"POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    with _connect(served) as sock:
        sock.sendall(head + b'{"scenario": ')
        data, seconds = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in data.lower()
    assert b'"limit": "body_timeout"' in data
    assert seconds < 2.5


def test_keep_alive_is_bounded(served: Served) -> None:
    request = f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n\r\n".encode()
    with _connect(served) as sock:
        sock.sendall(request)
        time.sleep(0.2)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        data, seconds = _read_until_closed(sock)  # then nothing: closed after --keep-alive
    assert data == b""
    assert seconds < 2.5


@pytest.mark.parametrize(("size", "status"), [(4096, b"431"), (100_000, b"400")])
def test_headers_are_bounded(served: Served, size: int, status: bytes) -> None:
    # whole (h11 parses it): refused by the app; arriving in parts beyond the bound: by h11
    request = (
        f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nX-Big: {'a' * size}\r\n\r\n"
    ).encode()
    with _connect(served) as sock:
        try:
            for start in range(0, len(request), 8192):
                sock.sendall(request[start : start + 8192])
                time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server hung up before the head was complete
        data, _ = _read_until_closed(sock)
    assert data.split(b" ")[1] == status


def test_host_port_on_the_wire(served: Served) -> None:
    for host, status in (
        (f"127.0.0.1:{served.port}", b"200"),
        (f"localhost:{served.port}", b"200"),
        (f"127.0.0.1:{served.port + 1}", b"400"),
        (f"attacker.example:{served.port}", b"400"),
    ):
        with _connect(served) as sock:
            sock.sendall(f"GET /api/info HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            time.sleep(0.1)
            assert sock.recv(65536).split(b" ")[1] == status, host


def test_sigterm_stops_a_long_run_promptly(served_root: Path) -> None:
    # Measured before: SIGTERM did not stop the server while such a request ran.
    upload = io.load_default().model_dump_json().encode()
    with Served(served_root, "--shutdown-grace", "1", "--upload-ttl", "600") as server:
        response = httpx.post(server.url + "/api/upload", files={"file": ("talks.yaml", upload)})
        assert response.status_code == 200
        assert len(list(server.uploads.iterdir())) == 1
        answers: list[object] = []

        def long_run() -> None:
            body = {"scenario": synthetic(200, 3), "model": "smp"}  # about 10 s
            try:
                answers.append(httpx.post(server.url + "/api/run", json=body, timeout=60))
            except httpx.TransportError as exc:
                answers.append(exc)

        client = threading.Thread(target=long_run)
        client.start()
        time.sleep(1.0)
        workers = server.children()
        assert workers
        seconds = server.stop()
        client.join(timeout=10)
    assert seconds < 3.5  # the 1 s grace, then the run's worker is killed
    (answer,) = answers
    assert not isinstance(answer, httpx.Response) or answer.status_code != 200
    deadline = time.monotonic() + 3  # the fork server and the workers go with it
    while any(alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "worker processes outlived the server"
        time.sleep(0.05)
    assert list(server.uploads.iterdir()) == []  # and so do the uploads


def test_uploads_expire_while_the_server_runs(served: Served) -> None:
    body = io.load_default().model_dump_json().encode()
    response = httpx.post(served.url + "/api/upload", files={"file": ("talks.yaml", body)})
    assert response.status_code == 200
    deadline = time.monotonic() + 4  # --upload-ttl 1, swept every second
    while list(served.uploads.iterdir()):
        assert time.monotonic() < deadline, "the upload outlived its time-to-live"
        time.sleep(0.1)
