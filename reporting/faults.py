"""Fault injection for rehearsals: added latency, random errors, outage windows, dropped writes.

Off by default. When on, the service says so at start-up (a WARNING banner), in ``/healthz``
(status ``degraded`` with the faults listed) and on every faulted response
(``X-Fault-Injected``). Faults hit ``/api/v1/`` only, so health and metrics stay observable.

Every worker keeps the same clock, so an outage is one window for the whole service: by
default it starts when ``caucus serve`` starts (before it starts its workers), or at a given
wall-clock time (the same on every host), or at the first request any worker sees (kept in the
database). ``seed`` makes the random faults of each worker repeat request for request.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import datetime

from pydantic import BaseModel, Field, field_validator
from starlette.types import ASGIApp, Receive, Scope, Send

from reporting import metrics
from reporting.errors import problem_response
from reporting.models import Faults, Problem

log = logging.getLogger("reporting.faults")


class FaultSettings(BaseModel):
    """``outages`` are windows ``START+DURATION`` in seconds after the fault clock starts.

    ``start`` is ``serve`` (``started_at``, set once by ``caucus serve``), ``first-request``,
    or an ISO 8601 wall-clock time.
    """

    latency_ms: int = Field(default=0, ge=0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    outages: list[str] = Field(default_factory=list)
    seed: int | None = None
    start: str = "serve"
    started_at: float = Field(default_factory=time.time)

    @field_validator("start")
    @classmethod
    def _start(cls, start: str) -> str:
        if start not in ("serve", "first-request"):
            try:
                datetime.fromisoformat(start)
            except ValueError as error:
                raise ValueError(
                    f"fault start {start!r} is not serve, first-request or an ISO 8601 time"
                ) from error
        return start

    @field_validator("outages")
    @classmethod
    def _windows(cls, outages: list[str]) -> list[str]:
        for window in outages:
            start, _, duration = window.partition("+")
            if not (start.replace(".", "", 1).isdigit() and duration.replace(".", "", 1).isdigit()):
                raise ValueError(f"outage window {window!r} is not START+DURATION in seconds")
        return outages

    @property
    def enabled(self) -> bool:
        return bool(self.latency_ms or self.error_rate or self.drop_rate or self.outages)


def _clock_start(settings: FaultSettings) -> float | None:
    """Epoch seconds the outage windows count from; None until the first request."""
    if settings.start == "serve":
        return settings.started_at
    if settings.start == "first-request":
        return None
    return datetime.fromisoformat(settings.start).timestamp()


class FaultInjector:
    """Decides, request by request, which rehearsal fault (if any) to inject."""

    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._rng = random.Random(settings.seed)
        self.started: float | None = _clock_start(settings)
        self._windows = [
            (float(start), float(start) + float(duration))
            for start, _, duration in (w.partition("+") for w in settings.outages)
        ]
        if settings.enabled:
            log.warning("FAULT INJECTION IS ON (rehearsal only): %s", settings.model_dump_json())

    def in_outage(self) -> bool:
        if self.started is None:  # first-request clock, no request yet
            return False
        elapsed = time.time() - self.started
        return any(start <= elapsed < end for start, end in self._windows)

    def refusal(self) -> str | None:
        """``outage`` or ``error`` when this request should be answered 503, else None."""
        if self.in_outage():
            return "outage"
        if self.settings.error_rate and self._rng.random() < self.settings.error_rate:
            return "error"
        return None

    def drops_write(self) -> bool:
        """True when this accepted submission should be acknowledged but not stored."""
        return self.settings.drop_rate > 0 and self._rng.random() < self.settings.drop_rate

    def state(self) -> Faults | None:
        if not self.settings.enabled:
            return None
        return Faults(
            **self.settings.model_dump(exclude={"started_at"}),
            clock_started=self.started,
            in_outage=self.in_outage(),
        )


class FaultMiddleware:
    """ASGI middleware injecting latency, errors and outages into ``/api/v1/`` requests."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/v1/"):
            await self.app(scope, receive, send)
            return
        if self.injector.started is None:
            storage = scope["app"].state.service.storage
            self.injector.started = await storage.start_clock("faults", time.time())
        if self.injector.settings.latency_ms:
            await asyncio.sleep(self.injector.settings.latency_ms / 1000)
        fault = self.injector.refusal()
        if fault is None:
            await self.app(scope, receive, send)
        else:
            metrics.FAULTS.labels(fault).inc()
            title = f"Rehearsal {fault} (fault injection)"
            unavailable = Problem(type=f"fault-{fault}", title=title, status=503)
            headers = {"Retry-After": "1", "X-Fault-Injected": fault}
            await problem_response(unavailable, headers)(scope, receive, send)
