"""Serving the app with uvicorn under the budget's connection limits (``detente serve``).

uvicorn bounds the size of a request's head (``h11_max_incomplete_event_size``), the time an
idle connection is kept (``timeout_keep_alive``), the connections it serves at once
(``limit_concurrency``: 503 beyond) and, on SIGTERM or Ctrl+C, the time running requests get
to finish (``timeout_graceful_shutdown``; the app then cancels them and kills their worker
processes). It has no limit on the time a client may take to send a request's line and headers:
:class:`HeaderTimeoutProtocol` adds one, counted from the connection's opening (or the end of
the previous answer), not reset by each byte, so a client trickling a header byte by byte is
cut off too. The body's time is bounded by :class:`detente.web.guard.Guard`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from detente.web.budget import Budget

TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 36\r\nconnection: close\r\n\r\nthe request headers did not arrive\r\n"
)


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request head is late.

    :attr:`header_timeout` is set on a subclass made by :func:`protocol_class`.
    """

    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        self._head_bytes += len(data)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request's head is complete
            self._disarm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._head_bytes = 0
            self._arm_head_timer()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_late)

    def _disarm_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self._head_bytes:  # a partial request: say why before hanging up
            self.transport.write(TIMEOUT_408)
        self.transport.close()


def protocol_class(header_timeout: float) -> type[HeaderTimeoutProtocol]:
    """:class:`HeaderTimeoutProtocol` with ``header_timeout`` seconds."""
    return type(
        "DetenteH11Protocol", (HeaderTimeoutProtocol,), {"header_timeout": float(header_timeout)}
    )


def uvicorn_options(budget: Budget) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that apply the budget's connection limits."""
    return {
        "http": protocol_class(budget.header_timeout),
        "timeout_keep_alive": max(1, round(budget.keep_alive)),
        "timeout_graceful_shutdown": max(1, round(budget.shutdown_grace)),
        "h11_max_incomplete_event_size": budget.max_header_bytes,
        "limit_concurrency": budget.max_connections,
    }
