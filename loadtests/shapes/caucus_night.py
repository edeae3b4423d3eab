"""Caucus night, time-compressed: chairs arrive as the scenario's results did, watchers grow
through the night, the prank flood starts when the hotline number leaks."""

from __future__ import annotations

from locust import User

from loadtests.night import night_cast, plan_night
from loadtests.shapes import CastShape
from loadtests.users import HotlineOperator, PrankBot, PrecinctChair, Reviewer, Watcher

USERS: dict[str, type[User]] = {
    cls.__name__: cls for cls in (HotlineOperator, PrankBot, PrecinctChair, Reviewer, Watcher)
}


class CaucusNight(CastShape):
    """``--scenario``, ``--compress``, ``--night-hours``, ``--watchers``, ``--pranksters``,
    ``--operators``, ``--reviewers`` shape the night; one chair per precinct reporting through
    the app."""

    def cast(self, run_s: float) -> dict[type[User], int] | None:
        o = self.options()
        plan = plan_night(o.pin_sheet, o.scenario, o.night_hours, o.hotline_share, o.seed)
        wanted = night_cast(
            plan, run_s, o.compress, o.watchers, o.pranksters, o.operators, self.reviewers()
        )
        return None if wanted is None else {USERS[name]: n for name, n in wanted.items()}
