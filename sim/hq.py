"""Party headquarters: types in worksheets, verifies results with the caucus checks, follows up
flagged ones, and publishes under a release policy. Times are minutes after 7 pm."""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import replace
from typing import Any

import simpy

from caucus import GroupResult, OneDelegateRule, PrecinctResult, check_precinct
from caucus.checks import MISSING_FIELD
from sim.config import HQConfig, ReleaseConfig
from sim.desk import Desk
from sim.luck import lognormal
from sim.precincts import PrecinctRecord

TYPED_IN = frozenset({"photo", "mail"})
"""Channels whose worksheets HQ staff must type in (app and phoned reports arrive as data)."""


def incomplete(result: PrecinctResult) -> PrecinctResult:
    """The result as the faulty app delivered it: delegate awards missing."""
    return replace(
        result,
        groups=tuple(GroupResult(g.name, g.first, g.final, None, g.sde) for g in result.groups),
    )


def findings(
    result: PrecinctResult, one_delegate: OneDelegateRule = OneDelegateRule.PLURALITY
) -> tuple[str, ...]:
    """Ids of the checks a received result fails; incomplete data counts as a missing field."""
    ids = tuple(f.check.id for f in check_precinct(result, one_delegate))
    return (*ids, MISSING_FIELD.id) if result.awarded() is None else ids


class HQ:
    """Data-entry staff and verifiers, and the publication of verified results."""

    def __init__(
        self,
        env: simpy.Environment,
        config: HQConfig,
        release: ReleaseConfig,
    ):
        self.env = env
        self.config = config
        self.release = release
        self.one_delegate = OneDelegateRule(config.one_delegate_rule)
        self.data_entry = Desk(env, config.data_entry_staff)
        self.verifiers = Desk(env, config.verifiers)
        self.awaiting_release: list[PrecinctRecord] = []
        self.published: list[PrecinctRecord] = []
        if config.shifts:
            env.process(self.work_shifts())

    def receive(self, record: PrecinctRecord, channel: str, complete: bool = True) -> None:
        """A result reaches HQ by ``channel``; incomplete when the app's coding error struck.
        :meth:`verify` takes it from there."""
        record.channel = channel
        record.received_min = self.env.now
        reported = record.precinct.reported
        record.received = reported if complete else incomplete(reported)

    def verify(
        self, record: PrecinctRecord, luck: random.Random
    ) -> Generator[simpy.Event, Any, None]:
        """A received result at HQ: type the worksheet in if needed, check the result, call the
        chair back about anything flagged (or wait for the paper worksheet), perhaps correct the
        mistake, then hold the result for release. How long each step takes, and how the call
        back goes, is drawn from the chair's ``luck``: the same result meets the same HQ in two
        scenarios that differ elsewhere."""
        env, config = self.env, self.config
        if record.channel in TYPED_IN:
            if (turn := self.data_entry.take()) is not None:
                yield turn
            yield env.timeout(lognormal(luck, config.entry_median_min, config.duration_sigma))
            self.data_entry.release()
        if (turn := self.verifiers.take()) is not None:
            yield turn
        yield env.timeout(lognormal(luck, config.verify_median_min, config.duration_sigma))
        record.findings = self.check(record)
        if record.findings:
            yield env.timeout(config.callback_min)
        self.verifiers.release()
        if record.findings and luck.random() >= config.callback_success_prob:
            yield env.timeout(lognormal(luck, config.worksheet_median_min, config.worksheet_sigma))
        record.published = record.precinct.reported
        if record.findings and luck.random() < config.correction_prob:
            record.published = record.precinct.result
        record.verified_min = env.now
        if self.release.mode == "continuous":
            self.publish([record])
        else:
            self.awaiting_release.append(record)

    def check(self, record: PrecinctRecord) -> tuple[str, ...]:
        """Ids of the checks the received result fails (:func:`findings`).

        A result received exactly as the caucus decided it is not checked again under the
        plurality reading: :func:`sim.precincts.caucus` builds it by the rules (the groups that
        hold their members never shrink, nobody is added, and the awards are
        :func:`caucus.allocate_delegates`'s own for its final alignment), so every check passes
        (``test_hq_finds_what_the_checks_find`` holds HQ to the full checks on every result of
        many nights). The app's incomplete copy of such a result (:func:`incomplete`) fails
        only for its missing awards, under either reading: the checks that need no awards
        pass as they do on the whole result, and those that do are skipped (every check reads
        the one-delegate rule only through the awards). Every other result, a chair's mistake
        as received, and every complete result under the majority reading, goes through every
        check.
        """
        received, precinct = record.received, record.precinct
        if precinct.mistake is None:  # the chair reports the caucus's own result
            if received is not precinct.result:  # :meth:`receive` made it incomplete
                return (MISSING_FIELD.id,)
            if self.one_delegate is OneDelegateRule.PLURALITY:
                return ()
        return findings(received, self.one_delegate)

    def work_shifts(self) -> Generator[simpy.Event, Any, None]:
        """At each shift's start, typists and verifiers come on or go off duty (those leaving
        finish the result in hand)."""
        for shift in self.config.shifts:
            yield self.env.timeout(max(shift.from_min - self.env.now, 0.0))
            if shift.data_entry_staff is not None:
                self.data_entry.on_duty(shift.data_entry_staff)
            if shift.verifiers is not None:
                self.verifiers.on_duty(shift.verifiers)

    def release_batches(self, until_min: float) -> Generator[simpy.Event, Any, None]:
        """Publish everything verified so far at each batch time, then every
        ``then_every_min``."""
        env, release = self.env, self.release
        times = list(release.batch_times_min)
        while True:
            at = times.pop(0) if times else env.now + release.then_every_min
            if at > until_min:
                return
            yield env.timeout(max(at - env.now, 0.0))
            batch, self.awaiting_release = self.awaiting_release, []
            self.publish(batch)

    def publish(self, records: list[PrecinctRecord]) -> None:
        for record in records:
            record.published_min = self.env.now
            record.publications += 1
        self.published.extend(records)
