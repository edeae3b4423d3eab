"""One caucus night: precincts caucus, chairs report, the hotline rings, HQ verifies and
publishes. Times are minutes after 7 pm.

    night = run_night(NightConfig(), seed=1)
    night.records      # one PrecinctRecord per reporting unit
    night.calls        # one Call per hotline call
    night.series       # (minute, lines busy, callers on hold) every sample_every_min
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import simpy

from sim.app import App
from sim.chairs import chair
from sim.config import NightConfig
from sim.hotline import Call, Hotline, prank_calls, public_calls, ring
from sim.hq import HQ
from sim.luck import chairs_luck, stream
from sim.precincts import PrecinctRecord, draw_precincts


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused, then resumed if it was on.

    A night holds some 100,000 objects alive (results, records, calls, events) and the
    collector walked them again and again as the night allocated: about a fifth of a night's
    time. Reference counting still frees everything it can; the collector looks at the night's
    objects once, after it, and collects what the night left in cycles (a few megabytes).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Night:
    """Everything of one night, built from a config and a seed; :meth:`run` plays it out.

    Every random draw comes from a stream seeded from ``seed``: the same seed gives the same
    night. The precincts are drawn from ``generator`` (a numpy ``Generator``) and ``rng`` (a
    ``random.Random``); then each chair plays the night with a stream of their own
    (``chairs_luck``, in the precincts' order), the prank flood and the public with theirs
    (:mod:`sim.luck`).
    """

    @cyclic_gc_paused()
    def __init__(self, config: NightConfig, seed: int):
        self.config = config
        self.seed = seed
        self.rng = random.Random(seed)
        self.generator = np.random.default_rng(seed)
        precincts = draw_precincts(config.precincts, config.mistakes, self.generator, self.rng)
        start = min(0.0, min((p.caucus_end_min for p in precincts), default=0.0))
        self.env = simpy.Environment(initial_time=start)
        self.app = App(self.env, config.app)
        self.hotline = Hotline(self.env, config.hotline)
        self.hq = HQ(self.env, config.hq, config.release)
        self.chairs_luck = chairs_luck(seed, len(precincts))
        self.records = [
            PrecinctRecord(p, has_app=luck.random() < config.app.installed_share)
            for p, luck in zip(precincts, self.chairs_luck, strict=True)
        ]

    @cyclic_gc_paused()
    def run(self) -> Night:
        """Play the night out until ``horizon_min``."""
        env, config = self.env, self.config
        for record, luck in zip(self.records, self.chairs_luck, strict=True):
            env.process(chair(self, record, luck))
        public, pranks = stream(self.seed, "public"), stream(self.seed, "pranks")
        env.process(ring(env, self.hotline, public_calls(config.public, public)))
        env.process(ring(env, self.hotline, prank_calls(config.prank, pranks)))
        env.process(self.hotline.watch(config.sample_every_min, config.horizon_min))
        if config.release.mode == "batches":
            env.process(self.hq.release_batches(config.horizon_min))
        env.run(until=config.horizon_min)
        self.hotline.close()
        return self

    @property
    def calls(self) -> list[Call]:
        return self.hotline.calls

    @property
    def series(self) -> list[tuple[float, int, int]]:
        return self.hotline.series


def run_night(config: NightConfig | None = None, seed: int = 0) -> Night:
    """Build and run one night (defaults: Iowa 2020)."""
    with cyclic_gc_paused():  # once for both steps: the collector catches up once, after
        return Night(config or NightConfig(), seed).run()
