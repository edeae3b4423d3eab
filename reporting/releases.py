"""Batch releases at set times of night: every worker watches the clock, the first one to see a
batch due releases it (the release row for that time is unique, so it happens once)."""

from __future__ import annotations

import asyncio
import logging
import time

from reporting.night import NightClock, Schedule, clock_text
from reporting.storage import Storage, StorageError

log = logging.getLogger("reporting.releases")
TICK_S = 1.0
"""How often each worker looks at the clock (wall seconds)."""


async def release_on_schedule(storage: Storage, clock: NightClock, schedule: Schedule) -> None:
    """Release each batch when its time comes (after a restart, the latest one missed)."""
    done: float | None = None
    while True:
        await asyncio.sleep(TICK_S)
        try:
            if clock.started is None:
                clock.started = await storage.clock_started("night")
                continue
            minute = clock.minute(time.time())
            assert minute is not None
            due = schedule.last_due(minute)
            if due is None or due == done:
                continue
            release = await storage.release(
                "schedule", f"batch set for {clock_text(due)}", minute, due
            )
        except StorageError as error:
            log.warning("scheduled release: %s (trying again)", error)
            continue
        done = due
        if release is not None:
            log.info("released the %s batch: %d versions", clock_text(due), release["published"])
