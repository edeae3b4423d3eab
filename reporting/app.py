"""The app factory: one FastAPI app per worker, wired from :class:`Settings`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from reporting import api, errors, hq, metrics, sessions, war_room
from reporting.auth import TokenSigner, read_key_file
from reporting.board import ResultsBoard, ResultsFastPath
from reporting.config import Settings
from reporting.dependencies import Service, ServiceDep, StorageDep
from reporting.faults import FaultInjector, FaultMiddleware
from reporting.identity import parse_networks
from reporting.limits import BodyLimitMiddleware, InFlightLimitMiddleware, RateLimiter
from reporting.models import Health, Problem
from reporting.page import render_page
from reporting.plan import read_plan
from reporting.progress import ProgressBoard
from reporting.releases import release_on_schedule
from reporting.roster import load_roster
from reporting.staff import StaffRoster
from reporting.storage import StorageError, open_storage
from reporting.submission_route import SubmissionFastPath

log = logging.getLogger("reporting")

API_VERSION = "1.3.0"


def token_signer(settings: Settings) -> TokenSigner:
    """Keys from the key file when there is one, else from the secret."""
    if settings.token_key_file is not None:
        return TokenSigner(read_key_file(settings.token_key_file), settings.token_ttl_s)
    return TokenSigner.from_secret(settings.secret, settings.token_ttl_s)


def create_app(settings: Settings) -> FastAPI:
    """The reporting service; storage opens when the app starts and closes when it stops."""
    roster = load_roster(settings.roster)
    staff = StaffRoster(settings.roster)
    plan = read_plan(settings.plan) if settings.plan else None
    injector = FaultInjector(settings.faults)
    trusted = parse_networks(settings.trusted_proxies)
    if roster.test_roster:
        log.warning(
            "TEST ROSTER: its codes came from a seed and can be reproduced; rehearsals only"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        storage = open_storage(settings.db_url)
        clock = settings.night_clock()
        if clock.started is None:
            clock.started = await storage.clock_started("night")
        app.state.service = Service(
            settings=settings,
            roster=roster,
            staff=staff,
            storage=storage,
            signer=token_signer(settings),
            board=ResultsBoard(storage, roster, settings.results_ttl_s, settings.batches),
            faults=injector,
            submit_limiter=RateLimiter(settings.submit_rate, settings.submit_burst),
            trusted_proxies=trusted,
            clock=clock,
            progress=ProgressBoard(storage, roster, settings, clock, plan, settings.results_ttl_s),
        )
        log.info(
            "reporting service: %d precincts, %s storage, %s, release %s, faults %s",
            len(roster),
            storage.name,
            "results breaking the rules held for review"
            if settings.hold_impossible
            else "results breaking the rules refused",
            settings.release_mode,
            "ON" if settings.faults.enabled else "off",
        )
        # What start-up made (the roster, the app and its schemas) lives as long as the worker.
        # Frozen, it is no longer scanned by every full garbage collection: that took about
        # 55 ms with the event loop stopped, about once a second under load (the submissions'
        # p99 in benchmarks/bench_reporting.py).
        gc.collect()
        gc.freeze()
        schedule = settings.schedule
        releasing = None
        if settings.batches and (schedule.at_min or schedule.every_min):
            releasing = asyncio.create_task(release_on_schedule(storage, clock, schedule))
        try:
            yield
        finally:
            if releasing is not None:
                releasing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await releasing
            storage.close()

    app = FastAPI(
        title="Caucus Night reporting API",
        version=API_VERSION,
        description="Precinct chairs and hotline operators report caucus results in three"
        " stages; HQ reviewers work the queue of held results; HQ releases them; the public"
        " reads released results. Errors are RFC 9457 problem documents.",
        lifespan=lifespan,
    )
    app.include_router(sessions.router)
    app.include_router(api.submissions)
    app.include_router(api.router)
    app.include_router(hq.router)
    app.include_router(war_room.router)
    app.add_exception_handler(errors.ApiError, errors.api_error)
    app.add_exception_handler(RequestValidationError, errors.invalid_request)
    app.add_exception_handler(StarletteHTTPException, errors.http_error)
    app.add_middleware(ResultsFastPath, max_age_s=max(1, round(settings.results_ttl_s)))
    app.add_middleware(SubmissionFastPath, routes=api.submissions.routes)
    if settings.faults.enabled:
        app.add_middleware(FaultMiddleware, injector=injector)
    # Outermost last. A body is read in full (at most max_body_bytes, within body_timeout_s)
    # before its request counts as in flight, so slow bodies cannot fill the in-flight limit;
    # what waiting bodies hold is bounded by the connection cap (see reporting.connections).
    app.add_middleware(InFlightLimitMiddleware, limit=settings.max_in_flight)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s
    )
    app.add_middleware(metrics.MetricsMiddleware)

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        """Liveness only: the process answers (no storage round trip)."""
        return {"status": "alive"}

    @app.get("/healthz", responses={503: {"model": Problem}})
    async def healthz(service: ServiceDep, storage: StorageDep) -> Health:
        """Liveness and readiness; ``degraded`` while rehearsal faults are injected."""
        try:
            await storage.ping()
        except StorageError as error:
            raise errors.storage_unavailable(error) from error
        faults = service.faults.state()
        return Health(
            status="degraded" if faults else "ok",
            storage=storage.name,
            precincts=len(service.roster),
            test_roster=service.roster.test_roster,
            faults=faults,
        )

    @app.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    async def prometheus_metrics() -> Response:
        """Prometheus text exposition."""
        body, media_type = metrics.render()
        return Response(body, media_type=media_type)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def results_page(service: ServiceDep) -> HTMLResponse:
        """The public results page."""
        return HTMLResponse(render_page((await service.board.snapshot()).results))

    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes: settings come from the environment."""
    return create_app(Settings.from_env())
