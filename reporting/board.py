"""The results board: statewide totals of released results, recomputed at most once per TTL
however many poll it.

The rendered JSON and its ETag are cached in memory, so a poll costs no database work and a
poll with a matching ``If-None-Match`` costs no body either.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.types import ASGIApp, Receive, Scope, Send

from reporting.models import CandidateTotal, Results
from reporting.roster import Roster
from reporting.storage import Storage, StorageError


@dataclass(frozen=True, slots=True)
class Snapshot:
    results: Results
    body: bytes
    etag: str
    taken: float


def tally(final_reports: list[dict], roster: Roster) -> Results:
    """Totals by candidate over the current final reports of roster precincts."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for report in final_reports:
        for group in report["groups"]:
            total = totals[group["name"]]
            total[0] += group["first"]
            total[1] += group["final"]
            total[2] += group["delegates"]
    candidates = sorted(
        (CandidateTotal(name=n, first=f, final=x, delegates=d) for n, (f, x, d) in totals.items()),
        key=lambda c: (-c.delegates, -c.final, c.name),
    )
    reporting = len(final_reports)
    return Results(
        precincts_total=len(roster),
        precincts_reporting=reporting,
        percent_reporting=round(100 * reporting / len(roster), 2),
        county_delegates_total=roster.county_delegates,
        candidates=candidates,
        as_of=datetime.now(UTC).isoformat(timespec="seconds"),
    )


class ResultsBoard:
    """Cached statewide results."""

    def __init__(self, storage: Storage, roster: Roster, ttl_s: float, published: bool) -> None:
        self._storage = storage
        self._roster = roster
        self._ttl_s = ttl_s
        self._published = published  # batch releases: only what a release made public
        self._snapshot: Snapshot | None = None
        self._lock = asyncio.Lock()

    async def snapshot(self) -> Snapshot:
        """The cached results if fresh enough, else new ones (one refresh at a time)."""
        current = self._snapshot
        if current is not None and time.monotonic() - current.taken < self._ttl_s:
            return current
        async with self._lock:
            current = self._snapshot
            if current is not None and time.monotonic() - current.taken < self._ttl_s:
                return current
            results = tally(await self._storage.final_reports(self._published), self._roster)
            body = results.model_dump_json().encode()
            numbers = results.model_dump_json(exclude={"as_of"}).encode()
            digest = hashlib.sha256(numbers).hexdigest()[:20]
            self._snapshot = Snapshot(results, body, f'"{digest}"', time.monotonic())
            return self._snapshot


@dataclass(frozen=True, slots=True)
class _Route:
    path: str


_ROUTE = _Route("/api/v1/results")


class ResultsFastPath:
    """Serves ``GET /api/v1/results`` from the board's cache without FastAPI's routing.

    Watchers poll this far more than anything else is called; it answers exactly as the
    documented route does (same body, ETag, Cache-Control and 304), which stays in the schema.
    """

    PATH = _ROUTE.path

    def __init__(self, app: ASGIApp, max_age_s: int) -> None:
        self.app = app
        self.cache_control = f"public, max-age={max_age_s}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        scope["route"] = _ROUTE  # what metrics label requests by
        try:
            snapshot = await scope["app"].state.service.board.snapshot()
        except StorageError:
            await self.app(scope, receive, send)  # the route answers 503 with the problem
            return
        headers = [(b"etag", snapshot.etag.encode()), (b"cache-control", self.cache_control)]
        if (b"if-none-match", snapshot.etag.encode()) in scope["headers"]:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(snapshot.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": snapshot.body})
