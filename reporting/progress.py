"""How the night is going: received, verified and published against the night clock, the
review queue, precincts not yet in (with whom to call), submissions refused by rule.

Computed from the ledger at most once a second however many war-room screens poll it, and
served with an ETag that changes with the figures and each whole night minute, so an
unchanged poll costs no body (a screen moves its clock on by itself from ``as_of``).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from reporting.config import Settings
from reporting.ledger import NightRows
from reporting.models import (
    MissingCounty,
    MissingPrecinct,
    NightClock,
    PlanState,
    Progress,
    ProgressSeries,
    QueueState,
    ReleasePolicy,
    RuleCount,
)
from reporting.night import NightClock as Clock
from reporting.plan import KINDS, Plan, standing
from reporting.roster import Roster
from reporting.storage import Storage


def release_policy(settings: Settings, clock: Clock, now: float) -> ReleasePolicy:
    """The release policy as the API states it, with the next batch due after ``now``."""
    minute = clock.minute(now)
    schedule = settings.schedule
    return ReleasePolicy(
        mode=settings.release_mode,
        at_min=list(schedule.at_min),
        every_min=schedule.every_min,
        next_min=schedule.next_after(float("-inf") if minute is None else minute)
        if settings.batches
        else None,
    )


def _minutes(clock: Clock, times: dict[str, str]) -> list[float]:
    return sorted(round(m, 2) for t in times.values() if (m := clock.minute_of(t)) is not None)


def _status(stages: set[str]) -> str:
    if "first-alignment" in stages:
        return "aligned"
    return "open" if "open" in stages else "not-opened"


def progress(
    rows: NightRows,
    roster: Roster,
    clock: Clock,
    policy: ReleasePolicy,
    now: float,
    plan: Plan | None = None,
) -> Progress:
    """The war room's figures from the ledger's rows, as of ``now`` (epoch seconds), against
    ``plan`` if there is one."""
    missing: dict[str, list[MissingPrecinct]] = defaultdict(list)
    for precinct in roster.precincts.values():
        if precinct.precinct_id not in rows.received:
            missing[precinct.county].append(
                MissingPrecinct(
                    precinct_id=precinct.precinct_id,
                    precinct_name=precinct.precinct_name,
                    chair_name=precinct.chair_name,
                    chair_phone=precinct.chair_phone,
                    status=_status(rows.stages.get(precinct.precinct_id, set())),
                )
            )
    oldest = rows.waiting[0] if rows.waiting else None
    minute = clock.minute(now)
    counts = {"received": len(rows.received), "published": len(rows.published)}
    plan_state = None
    if plan is not None:
        standings = (
            []
            if minute is None
            else [standing(plan.curve(k), len(roster), k, minute, counts[k]) for k in KINDS]
        )
        plan_state = PlanState(name=plan.name, nights=plan.nights, standings=standings)
    return Progress(
        as_of=datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
        precincts_total=len(roster),
        night=NightClock(
            start=clock.start,
            started_at=clock.started_iso(),
            compress=clock.compress,
            minute=None if minute is None else round(minute, 2),
        ),
        release=policy,
        received=len(rows.received),
        verified=len(rows.verified),
        published=len(rows.published),
        series=ProgressSeries(
            received=_minutes(clock, rows.received),
            verified=_minutes(clock, rows.verified),
            published=_minutes(clock, rows.published),
        ),
        queue=QueueState(
            waiting=len(rows.waiting),
            oldest_since=oldest,
            oldest_night_minute=None if oldest is None else clock.minute_of(oldest),
        ),
        missing=[
            MissingCounty(county=county, missing=len(precincts), precincts=precincts)
            for county, precincts in sorted(missing.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ],
        refused=[
            RuleCount(rule=rule, refused=n)
            for rule, n in sorted(rows.refused.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        refused_submissions=rows.refused_submissions,
        plan=plan_state,
    )


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    progress: Progress
    body: bytes
    etag: str
    taken: float


class ProgressBoard:
    """The war room's figures, recomputed at most once per ``ttl_s``."""

    def __init__(
        self,
        storage: Storage,
        roster: Roster,
        settings: Settings,
        clock: Clock,
        plan: Plan | None,
        ttl_s: float,
    ) -> None:
        self._storage, self._roster, self._settings = storage, roster, settings
        self._clock, self.plan, self._ttl_s = clock, plan, ttl_s
        self._snapshot: ProgressSnapshot | None = None
        self._lock = asyncio.Lock()

    def _fresh(self) -> ProgressSnapshot | None:
        current = self._snapshot
        if current is not None and time.monotonic() - current.taken < self._ttl_s:
            return current
        return None

    async def snapshot(self) -> ProgressSnapshot:
        if (fresh := self._fresh()) is not None:
            return fresh
        async with self._lock:
            if (fresh := self._fresh()) is not None:
                return fresh
            if self._clock.started is None:  # another worker may have seen the first sign-in
                self._clock.started = await self._storage.clock_started("night")
            rows = await self._storage.night_rows(self._settings.batches)
            now = time.time()
            policy = release_policy(self._settings, self._clock, now)
            figures = progress(rows, self._roster, self._clock, policy, now, self.plan)
            # A screen moves the clock on by itself between polls: the tag changes with the
            # figures and with each whole night minute, not with every poll.
            minute = figures.night.minute
            tick = "-" if minute is None else str(int(minute // 1))
            unchanging = figures.model_dump_json(exclude={"as_of": True, "night": {"minute"}})
            etag = f'"{hashlib.sha256((unchanging + tick).encode()).hexdigest()[:20]}"'
            self._snapshot = ProgressSnapshot(
                figures, figures.model_dump_json().encode(), etag, time.monotonic()
            )
            return self._snapshot
