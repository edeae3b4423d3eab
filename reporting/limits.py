"""Abuse limits inside the app: per-login submission rates, request bodies, requests in flight.

Slow and oversized request *headers* are refused before the app sees them (see
:mod:`reporting.connections`); sign-in limits live in the database (:mod:`reporting.guard`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reporting.errors import problem_response
from reporting.models import Problem


class RateLimiter:
    """Token buckets per key: ``rate`` requests a second, bursts up to ``burst``.

    Kept in each worker's memory (submissions come with a token, so the caller is known and
    can be revoked): with N workers a login gets at most N times the rate.
    """

    MAX_CLIENTS = 100_000
    """Buckets kept before the oldest are forgotten (bounds memory under a flood)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else seconds until it may be retried."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if len(self._buckets) >= self.MAX_CLIENTS:
            del self._buckets[next(iter(self._buckets))]
        if tokens >= 1:
            self._buckets[client] = (tokens - 1, now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1 - tokens) / self.rate


class BodyLimitMiddleware:
    """Reads each request body in full before the app runs, within a size and a time limit.

    Over ``max_bytes`` (by Content-Length or as it streams, chunked included) → 413; not all
    there within ``timeout_s`` → 408. It runs outside :class:`InFlightLimitMiddleware`, so a
    request counts as in flight only once its body is in: slow bodies cannot fill the limit.
    Bodies here are small, and the connection cap bounds how many are being read at once
    (see :mod:`reporting.connections`), so holding them costs little.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_bytes:
            await _refuse(scope, receive, send, 413, "body-too-large", self.max_bytes)
            return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client went away
                    size += len(message.get("body", b""))
                    if size > self.max_bytes:
                        await _refuse(scope, receive, send, 413, "body-too-large", self.max_bytes)
                        return
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _refuse(scope, receive, send, 408, "body-too-slow", self.timeout_s)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


class InFlightLimitMiddleware:
    """At most ``limit`` requests handled at once by this worker; the rest get 503 at once.

    Open but idle connections do not count (uvicorn's own limit counts them, so slow sockets
    would shut legitimate clients out), nor do requests whose bodies are still arriving.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            busy = Problem(type="overloaded", title="Too many requests in flight", status=503)
            await problem_response(busy, {"Retry-After": "1"})(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, kind: str, limit: float
) -> None:
    detail = f"at most {limit} bytes" if status == 413 else f"send the body within {limit} s"
    title = "Request body too large" if status == 413 else "Request body too slow"
    problem = Problem(type=kind, title=title, status=status, detail=detail)
    await problem_response(problem, {"Connection": "close"})(scope, receive, send)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        keys = [key for key, _ in pairs]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"duplicate keys {', '.join(map(repr, twice))}")
    return obj


class StrictJsonRequest(Request):
    """A request whose JSON body may not name a key twice (JSON leaves it open; we refuse)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = json.loads(body, object_pairs_hook=_no_duplicate_keys)
            except json.JSONDecodeError:
                raise
            except (ValueError, RecursionError) as error:  # duplicate keys, nesting: bad JSON
                text = body.decode("utf-8", "replace")
                raise json.JSONDecodeError(str(error) or "nested too deep", text, 0) from error
        return self._json


class StrictJsonRoute(APIRoute):
    """Routes whose handlers parse JSON bodies with :class:`StrictJsonRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
