"""A soak: the whole cast at a steady level for the whole run (use --run-time to bound it)."""

from __future__ import annotations

from locust import User

from loadtests.night import plan_night
from loadtests.shapes import CastShape
from loadtests.users import HotlineOperator, PrankBot, PrecinctChair, Reviewer, Watcher


class Soak(CastShape):
    """Every chair, ``--watchers`` watchers, ``--pranksters`` bots, the operators and reviewers,
    until Locust's run time ends."""

    def cast(self, run_s: float) -> dict[type[User], int] | None:
        o = self.options()
        plan = plan_night(o.pin_sheet, o.scenario, o.night_hours, o.hotline_share, o.seed)
        return {
            HotlineOperator: o.operators,
            PrecinctChair: sum(not s.by_phone for s in plan.slots),
            Watcher: o.watchers,
            PrankBot: o.pranksters,
            Reviewer: self.reviewers(),
        }
