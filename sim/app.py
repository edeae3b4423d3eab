"""The reporting app: log-in codes, a back end of limited capacity, outages, and the coding error
that made accepted reports reach HQ incomplete. Times are minutes after 7 pm."""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import simpy

from sim.config import AppConfig
from sim.desk import Desk

ACCEPTED, PARTIAL, LOGIN_FAILED, OUTAGE, OVERLOADED = (
    "accepted",
    "partial",
    "login-failed",
    "outage",
    "overloaded",
)
"""How one app attempt ends: accepted whole; accepted but arriving incomplete; the codes did not
work; the back end was down; the back end was full and the submission timed out."""


class App:
    """The app's back end as chairs meet it."""

    def __init__(self, env: simpy.Environment, config: AppConfig):
        self.env = env
        self.config = config
        self.backend = Desk(env, config.backend_capacity)

    def is_down(self, minute: float) -> bool:
        """True inside an outage window."""
        return any(start <= minute < end for start, end in self.config.outages)

    def submit(self, luck: random.Random) -> Generator[simpy.Event, Any, str]:
        """A chair logs in and submits the results once, with the chair's ``luck``; returns
        how it went."""
        env, config = self.env, self.config
        yield env.timeout(config.attempt_min)
        if luck.random() < config.login_failure_prob:
            return LOGIN_FAILED
        if self.is_down(env.now):
            return OUTAGE
        if self.backend.count >= config.backend_capacity:
            return OVERLOADED
        if (turn := self.backend.take()) is not None:
            yield turn
        yield env.timeout(config.backend_submit_min)
        self.backend.release()
        return PARTIAL if luck.random() < config.partial_data_prob else ACCEPTED
