"""Fault injection for rehearsals: added latency, random errors, outage windows, dropped writes.

Off by default. When on, the service says so at start-up (a WARNING banner), in ``/healthz``
(status ``degraded`` with the faults listed) and on every faulted response
(``X-Fault-Injected``). Faults hit ``/api/v1/`` only, so health and metrics stay observable.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from pydantic import BaseModel, Field, field_validator
from starlette.types import ASGIApp, Receive, Scope, Send

from reporting import metrics
from reporting.errors import problem_response
from reporting.models import Faults, Problem

log = logging.getLogger("reporting.faults")


class FaultSettings(BaseModel):
    """``outages`` are windows ``START+DURATION`` in seconds after the service starts."""

    latency_ms: int = Field(default=0, ge=0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    outages: list[str] = Field(default_factory=list)

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


class FaultInjector:
    """Decides, request by request, which rehearsal fault (if any) to inject."""

    def __init__(self, settings: FaultSettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self._rng = rng or random.Random()
        self._started = time.monotonic()
        self._windows = [
            (float(start), float(start) + float(duration))
            for start, _, duration in (w.partition("+") for w in settings.outages)
        ]
        if settings.enabled:
            log.warning("FAULT INJECTION IS ON (rehearsal only): %s", settings.model_dump_json())

    def in_outage(self) -> bool:
        elapsed = time.monotonic() - self._started
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
        return Faults(**self.settings.model_dump(), in_outage=self.in_outage())


class FaultMiddleware:
    """ASGI middleware injecting latency, errors and outages into ``/api/v1/`` requests."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/v1/"):
            await self.app(scope, receive, send)
            return
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
