"""A spike: every chair at once, and watchers jumping tenfold for a while (a results storm)."""

from __future__ import annotations

from locust import User

from loadtests.night import plan_night
from loadtests.shapes import CastShape
from loadtests.users import HotlineOperator, PrecinctChair, Reviewer, Watcher

SPIKE = (1 / 3, 2 / 3)
"""The spike's start and end as shares of the night."""


class Spike(CastShape):
    """Baseline watchers (``--watchers`` / 10), ``--watchers`` during the middle third."""

    def cast(self, run_s: float) -> dict[type[User], int] | None:
        o = self.options()
        plan = plan_night(o.pin_sheet, o.scenario, o.night_hours, o.hotline_share, o.seed)
        share = run_s * o.compress / 60 / plan.night_min
        if share > 1:
            return None
        storm = SPIKE[0] <= share < SPIKE[1]
        return {
            HotlineOperator: o.operators,
            PrecinctChair: sum(not s.by_phone for s in plan.slots),
            Watcher: o.watchers if storm else max(1, o.watchers // 10),
            Reviewer: self.reviewers(),
        }
