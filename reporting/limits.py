"""Abuse limits: per-client rate limits and a cap on request body size."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reporting.errors import problem_response
from reporting.models import Problem


class RateLimiter:
    """Token buckets per client key: ``rate`` requests a second, bursts up to ``burst``.

    Kept in each worker's memory: with N workers a client gets at most N times the rate.
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


class BodyTooLarge(Exception):
    """The client sent more bytes than the limit."""


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413, by Content-Length or as they stream."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_bytes:
            await _too_large(scope, receive, send, self.max_bytes)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _too_large(scope, receive, send, self.max_bytes)


async def _too_large(scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
    too_large = Problem(
        type="body-too-large",
        title="Request body too large",
        status=413,
        detail=f"at most {max_bytes} bytes",
    )
    await problem_response(too_large, {"Connection": "close"})(scope, receive, send)
