"""The results board: statewide totals, recomputed at most once per TTL however many poll it.

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

from reporting.models import CandidateTotal, Results
from reporting.roster import Roster
from reporting.storage import Storage


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

    def __init__(self, storage: Storage, roster: Roster, ttl_s: float) -> None:
        self._storage = storage
        self._roster = roster
        self._ttl_s = ttl_s
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
            results = tally(await self._storage.final_reports(), self._roster)
            body = results.model_dump_json().encode()
            numbers = results.model_dump_json(exclude={"as_of"}).encode()
            digest = hashlib.sha256(numbers).hexdigest()[:20]
            self._snapshot = Snapshot(results, body, f'"{digest}"', time.monotonic())
            return self._snapshot
