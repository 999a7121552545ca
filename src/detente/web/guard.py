"""What every request passes before a route sees it: host, origin, size, time, and strict JSON.

:class:`Guard` (an ASGI middleware) answers, before the app reads anything:

* 400 when the ``Host`` header names another host than the allowed ones, or another port than
  the one the request came in on (DNS rebinding, and requests meant for another server);
* 403 for a state-changing request (not GET, HEAD or OPTIONS) from another site: a browser's
  ``Sec-Fetch-Site`` other than ``same-origin`` or ``none``, or an ``Origin`` or ``Referer``
  whose host and port are not the ``Host`` the request is sent to;
* 413 when ``Content-Length`` is larger than the route accepts (the connection is then
  closed rather than the body read and thrown away);
* 431 when the request line and headers are larger than ``max_header_bytes`` (h11 already
  refuses a head that grows beyond it while still incomplete);
* 408 when the whole body has not arrived within ``body_timeout`` seconds of the request's
  headers (a slow or stalled sender cannot hold a connection and a task).

It also adds protective headers (``Content-Security-Policy`` and others) to every answer.
:class:`StrictJSONRoute` parses JSON bodies without ``NaN`` and ``Infinity`` (and numbers too
large for a float), which Python's ``json`` accepts and JSON does not: 422 naming the field.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastapi import HTTPException
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from detente.web.budget import Budget, OverBudget

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SAME_SITE = ("same-origin", "none")
"""``Sec-Fetch-Site`` values of a request the page itself (or the user, typing) made."""

UPLOAD_PATH = "/api/upload"
MULTIPART_OVERHEAD = 64 * 1024
"""Room for the multipart headers around an uploaded file."""

_THREAD_PARSE_BYTES = 64 * 1024
"""JSON bodies larger than this are parsed on a thread, off the event loop."""


def body_limit(path: str, budget: Budget) -> tuple[str, int]:
    """The limit that applies to a request body sent to ``path``: its name and bytes."""
    if path == UPLOAD_PATH:
        return "max_upload_bytes", budget.max_upload_bytes + MULTIPART_OVERHEAD
    return "max_body_bytes", budget.max_body_bytes


def too_large(path: str, budget: Budget, value: int | None) -> OverBudget:
    """The 413 answer for a body over its limit (``value``: its size, when known)."""
    if path == UPLOAD_PATH:
        what = "the upload is larger than that" if value is None else f"the upload has {value:,}"
        refusal = budget.refuse("max_upload_bytes", value or 0, what + " bytes", status=413)
        refusal.detail = (
            f"upload too large: at most {budget.max_upload_bytes:,} bytes are accepted"
            f" ({budget.option('max_upload_bytes')})"
        )
    else:
        what = "the request body" + ("" if value is None else f" has {value:,} bytes")
        refusal = budget.refuse("max_body_bytes", value or 0, what, status=413)
        refusal.detail = (
            f"request too large: at most {budget.max_body_bytes:,} bytes are accepted"
            f" ({budget.option('max_body_bytes')})"
        )
    if value is None:
        refusal.value = None  # type: ignore[assignment]
    return refusal


def split_host(value: str) -> tuple[str, int | None]:
    """``"Example.org:8000"`` → ``("example.org", 8000)``; ``"[::1]"`` → ``("::1", None)``.

    A malformed port gives ``("", None)``, which matches no host.
    """
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else "" if not rest else None
    else:
        name, _, port = value.partition(":")
    if port is None or (port and not port.isdigit()) or len(port) > 5:
        return "", None
    return name, int(port) if port else None


class Guard:
    """The checks described in the module docstring, in front of the app."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (
            b"content-security-policy",
            b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
            b" img-src 'self' data: blob:; object-src 'none'; base-uri 'none';"
            b" frame-ancestors 'none'; form-action 'self'",
        ),
    )

    def __init__(
        self, app: ASGIApp, budget: Budget, allowed_hosts: Sequence[str] | None = None
    ) -> None:
        self.app = app
        self.budget = budget
        self.allowed_hosts = (
            None if allowed_hosts is None else {split_host(h)[0] for h in allowed_hosts}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        # Whether the whole request body has been read: an answer given before (a refusal,
        # a parse error, a timeout) closes the connection, so the server never drains the rest.
        body_read = b"transfer-encoding" not in headers and headers.get(
            b"content-length", b"0"
        ) in (b"", b"0")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget.body_timeout
        received = 0
        timed_out = False
        started = False

        async def send_guarded(message: Message) -> None:
            nonlocal started
            if timed_out:
                return  # the 408 has been sent; the app's late answer goes nowhere
            if message["type"] == "http.response.start":
                started = True
                extra = self.HEADERS if body_read else (*self.HEADERS, (b"connection", b"close"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        async def receive_guarded() -> Message:
            nonlocal body_read, received, timed_out
            if body_read or timed_out:
                return await receive()  # after the body: only the disconnect is left to wait for
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                timed_out = True
                if not started:
                    await send(self._timeout_answer())
                    await send({"type": "http.response.body", "body": self._timeout_body()})
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read = True
            received += len(message.get("body", b""))
            scope["detente.body_bytes"] = received
            return message

        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive_guarded, send_guarded)
            return
        await self.app(scope, receive_guarded, send_guarded)

    def _timeout_body(self) -> bytes:
        seconds = self.budget.body_timeout
        return json.dumps(
            {
                "detail": f"the request body did not arrive within {seconds:g} s"
                f" ({self.budget.option('body_timeout')})",
                "limit": "body_timeout",
                "allowed": seconds,
            }
        ).encode()

    def _timeout_answer(self) -> Message:
        return {
            "type": "http.response.start",
            "status": 408,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(self._timeout_body())).encode()),
                (b"connection", b"close"),
                *self.HEADERS,
            ],
        }

    def _refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> Response | None:
        size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        size += sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if size > self.budget.max_header_bytes:
            return self.budget.refuse(
                "max_header_bytes", size, f"the request's line and headers have {size:,} bytes", 431
            ).response()
        host = headers.get(b"host", b"").decode("latin-1")
        if not self._host_ok(scope, host):
            return JSONResponse({"detail": "invalid host header"}, status_code=400)
        if scope["method"] in SAFE_METHODS:
            return None
        site = headers.get(b"sec-fetch-site")
        if site is not None and site.decode("latin-1").strip().lower() not in SAME_SITE:
            return JSONResponse({"detail": "cross-site request refused"}, status_code=403)
        for header in (b"origin", b"referer"):
            value = headers.get(header)
            if value is None:
                continue
            if urlsplit(value.decode("latin-1")).netloc.lower() != host.strip().lower():
                return JSONResponse({"detail": "cross-origin request refused"}, status_code=403)
            break  # an Origin that matches settles it; a Referer is only read without one
        length = headers.get(b"content-length", b"")
        _, allowed = body_limit(scope["path"], self.budget)
        if length.isdigit() and int(length) > allowed:
            return too_large(scope["path"], self.budget, int(length)).response()
        return None

    def _host_ok(self, scope: Scope, host: str) -> bool:
        name, port = split_host(host)
        if not name:
            return False
        if self.allowed_hosts is not None and name not in self.allowed_hosts:
            return False
        server = scope.get("server")
        if server and server[1] is not None:
            default = 443 if scope.get("scheme") == "https" else 80
            if (port if port is not None else default) != int(server[1]):
                return False
        return True


# -- strict JSON -------------------------------------------------------------------------------


class _NonFinite:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _where(value: Any, path: list[str | int]) -> tuple[list[str | int], str] | None:
    """The path to the first non-finite number in a parsed body, and its text."""
    if isinstance(value, _NonFinite):
        return path, value.text
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _where(item, [*path, key])
        if found is not None:
            return found
    return None


def strict_json(body: bytes) -> Any:
    """``json.loads`` without NaN, Infinity and -Infinity, nor numbers that overflow a float
    (``1e999``): :class:`~fastapi.HTTPException` 422 whose ``loc`` names the field."""
    bad = False

    def constant(text: str) -> Any:
        nonlocal bad
        bad = True
        return _NonFinite(text)

    def number(text: str) -> Any:
        nonlocal bad
        value = float(text)
        if math.isfinite(value):
            return value
        bad = True
        return _NonFinite(text)

    try:
        data = json.loads(body, parse_constant=constant, parse_float=number)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise HTTPException(
            422, [{"type": "json_invalid", "loc": ["body"], "msg": str(exc), "input": None}]
        ) from None
    if bad:
        found = _where(data, [])
        path, text = found if found is not None else ([], "?")
        raise HTTPException(
            422,
            [
                {
                    "type": "finite_number",
                    "loc": ["body", *path],
                    "msg": f"Input should be a finite number, got {text}",
                    "input": text,
                }
            ],
        )
    return data


class _StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            if len(body) > _THREAD_PARSE_BYTES:
                self._json = await anyio.to_thread.run_sync(strict_json, body)
            else:
                self._json = strict_json(body)
        return self._json


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is read by :func:`strict_json`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(_StrictRequest(request.scope, request.receive))

        return strict
