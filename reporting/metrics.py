"""Prometheus metrics: requests by route and status, latency, submissions by outcome.

With several workers, `caucus serve` sets ``PROMETHEUS_MULTIPROC_DIR`` before they start and
``/metrics`` merges every worker's figures.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "caucus_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "caucus_http_request_seconds",
    "Time to answer an HTTP request",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SUBMISSIONS = Counter(
    "caucus_submissions_total",
    "Report submissions by stage and outcome (accepted, replayed, conflict, refused, dropped)",
    ["stage", "outcome"],
)
FAULTS = Counter(
    "caucus_faults_injected_total", "Rehearsal faults injected (error, outage, drop)", ["fault"]
)
LOGINS = Counter("caucus_logins_total", "Sign-in attempts by outcome", ["role", "outcome"])


def render() -> tuple[bytes, str]:
    """The exposition text (merged over workers in multi-process mode) and its media type."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template (not the raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)


SLOW_REQUESTS = Counter(
    "caucus_slow_requests_total", "Connections closed for sending request headers too slowly"
)
CONNECTIONS_SHED = Counter(
    "caucus_connections_shed_total", "Idle connections closed to make room for new ones"
)
