"""uvicorn's HTTP protocol with the limits it lacks: slow and oversized request headers.

uvicorn times out idle keep-alive connections but not a request that arrives slowly, and its
httptools parser takes headers of any size. A slow-loris client could hold sockets open for
ever and a few huge headers could fill memory. Here each connection must deliver a request's
headers within ``header_timeout_s`` (from when it opens or its last response ends), in at most
``max_header_bytes`` (431 otherwise), and once ``max_connections`` are open, a new connection
pushes out the connection that has waited longest for its request, headers or body (OWASP
Denial of Service cheat sheet: bound resources per client, time out slow requests, shed the
slowest). The body's own size and time limits are in
:class:`reporting.limits.BodyLimitMiddleware`, which reads a body before its request counts as
in flight: the connection cap is what bounds the bodies being read (``max_connections`` x
``max_body_bytes``).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from reporting import metrics


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout_s: float = 10.0
    max_header_bytes: int = 16_384
    max_connections: int = 4_096


LIMITS_ENV = "CAUCUS_CONNECTION_LIMITS"


@cache
def limits() -> ConnectionLimits:
    """Set by `caucus serve` in the environment (``header_timeout_s,max_header_bytes,max``)."""
    value = os.environ.get(LIMITS_ENV)
    if not value:
        return ConnectionLimits()
    timeout, header, connections = value.split(",")
    return ConnectionLimits(float(timeout), int(header), int(connections))


_waiting: dict[GuardedHttpToolsProtocol, None] = {}
"""Connections waiting for a request's headers or body, oldest first (one event loop per
worker)."""


def _answer(transport: asyncio.Transport, status: bytes, reason: str) -> None:
    body = reason.encode()
    transport.write(
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    transport.close()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """One HTTP/1.1 connection, with header time and size limits and a connection cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits()
        self._header_bytes = 0
        self._in_headers = False
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_connections and _waiting:
            oldest = next(iter(_waiting))
            metrics.CONNECTIONS_SHED.inc()
            oldest._give_up(
                b"503 Service Unavailable",
                "too many connections; yours was the slowest to send its request",
            )
        self._await_request()

    def _await_request(self) -> None:
        self._header_bytes = 0
        self._in_headers = True
        _waiting[self] = None
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self._limits.header_timeout_s, self._too_slow)

    def _headers_in(self) -> None:
        """The headers are complete: their deadline is off (the body has its own, in the app)."""
        self._in_headers = False
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _request_in(self) -> None:
        self._headers_in()
        _waiting.pop(self, None)

    def _too_slow(self) -> None:
        metrics.SLOW_REQUESTS.inc()
        self._give_up(b"408 Request Timeout", "send the request headers faster")

    def _give_up(self, status: bytes, reason: str) -> None:
        self._request_in()
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # the app has begun to answer: no second status line
        else:
            _answer(self.transport, status, reason)

    def data_received(self, data: bytes) -> None:
        in_headers = self._in_headers
        super().data_received(data)
        if in_headers and self._in_headers:  # the headers are still not complete
            self._header_bytes += len(data)
            if self._header_bytes > self._limits.max_header_bytes:
                self._give_up(b"431 Request Header Fields Too Large", "headers too large")

    def on_headers_complete(self) -> None:
        self._headers_in()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._request_in()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._request_in()
        super().connection_lost(exc)
