"""Precinct chairs getting their results to HQ: each channel in turn until one works.

Every attempt is written to the precinct's record. Each chair draws from a stream of their own,
their ``luck`` (:mod:`sim.luck`). Times are minutes after 7 pm.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

from sim.app import ACCEPTED, PARTIAL
from sim.hotline import BUSY, REPORT, SERVED, Call
from sim.luck import lognormal
from sim.precincts import Attempt, PrecinctRecord

if TYPE_CHECKING:
    from sim.night import Night

Try = Generator[simpy.Event, Any, bool]

DELIVERED, WENT_HOME = "delivered", "went-home"
"""Outcomes of a photo/drive attempt: it reached HQ, or the chair could not and went home."""


def chair(
    night: Night, record: PrecinctRecord, luck: random.Random
) -> Generator[simpy.Event, Any, None]:
    """The caucus ends, the chair fills in the worksheet, then tries each channel in turn; the
    result that reaches HQ goes on to be verified there."""
    env, config = night.env, night.config.chairs
    yield env.timeout(record.precinct.caucus_end_min - env.now)
    record.ready_min = env.now
    yield env.timeout(lognormal(luck, config.paperwork_median_min, config.paperwork_sigma))
    for channel in config.channels:
        if (yield from CHANNEL_TRIES[channel](night, record, luck)):
            yield from night.hq.verify(record, luck)
            return


def use_app(night: Night, record: PrecinctRecord, luck: random.Random) -> Try:
    """Log in and submit, a few times; an accepted report may still reach HQ incomplete."""
    if not record.has_app:
        return False
    for _ in range(night.config.app.attempts):
        start = night.env.now
        outcome = yield from night.app.submit(luck)
        record.attempts.append(Attempt("app", start, night.env.now, outcome))
        if outcome in (ACCEPTED, PARTIAL):
            night.hq.receive(record, "app", complete=outcome == ACCEPTED)
            return True
    return False


def phone_hotline(night: Night, record: PrecinctRecord, luck: random.Random) -> Try:
    """Call, hold, hang up or get cut off, redial, until an operator takes the report or the
    chair has had enough. The report's length and the chair's patience on hold are the same
    on every call."""
    env, config, hotline_config = night.env, night.config.chairs, night.config.hotline
    give_up_at = env.now + lognormal(
        luck, config.hotline_give_up_median_min, config.hotline_give_up_sigma
    )
    report_min = lognormal(
        luck, hotline_config.report_call_median_min, hotline_config.report_call_sigma
    )
    patience_min = lognormal(luck, config.hold_patience_median_min, config.hold_patience_sigma)
    while env.now < give_up_at:
        call = Call(
            REPORT,
            record.precinct.index,
            env.now,
            report_min,
            patience_min,
            luck.random(),
            has_pin=True,
        )
        outcome = yield from night.hotline.call(call)
        record.attempts.append(Attempt("hotline", call.placed_min, env.now, outcome))
        if outcome == SERVED:
            night.hq.receive(record, "hotline")
            return True
        redial_mean = (
            config.redial_busy_mean_min if outcome == BUSY else config.redial_after_hold_mean_min
        )
        yield env.timeout(luck.expovariate(1 / redial_mean))
    return False


def send_photo(night: Night, record: PrecinctRecord, luck: random.Random) -> Try:
    """Photograph the worksheet or drive it in, if the chair can; HQ types it in."""
    env, config = night.env, night.config.photo
    start = env.now
    if luck.random() >= night.config.chairs.photo_share:
        record.attempts.append(Attempt("photo", start, start, WENT_HOME))
        return False
    yield env.timeout(lognormal(luck, config.delay_median_min, config.delay_sigma))
    record.attempts.append(Attempt("photo", start, env.now, DELIVERED))
    night.hq.receive(record, "photo")
    return True


def mail_worksheet(night: Night, record: PrecinctRecord, luck: random.Random) -> Try:
    """The worksheet goes back in the precinct kit; it always arrives, days later."""
    env, config = night.env, night.config.mail
    start = env.now
    yield env.timeout(lognormal(luck, config.delay_median_min, config.delay_sigma))
    record.attempts.append(Attempt("mail", start, env.now, DELIVERED))
    night.hq.receive(record, "mail")
    return True


CHANNEL_TRIES: dict[str, Callable[[Night, PrecinctRecord, random.Random], Try]] = {
    "app": use_app,
    "hotline": phone_hotline,
    "photo": send_photo,
    "mail": mail_worksheet,
}
"""What a chair does for each channel name of ``chairs.channels``."""
