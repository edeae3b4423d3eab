"""Load shapes: each module holds one Locust ``LoadTestShape`` (add it to ``-f``).

A :class:`CastShape` says how many users of each class it wants at each moment, and every
class is brought to its count at every tick: Locust's own dispatcher shares users out by
class weight, so :class:`CastDispatcher` takes its place for these shapes.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from argparse import Namespace
from collections.abc import Iterator
from functools import partial

from locust import LoadTestShape, User, events
from locust.dispatch import UsersDispatcher
from locust.env import Environment
from locust.runners import WorkerNode
from locust.util.timespan import parse_timespan

SPAWN_RATE = 100.0
"""Users started a second when a shape asks for more."""


class CastDispatcher(UsersDispatcher):
    """Brings every class to the count the shape wants: stops the newest users of classes
    above it, then adds users to the classes furthest below it, ``spawn rate`` a second.

    A new count is dispatched when the shape's total changes (Locust's shape loop compares
    ticks), so a change of mix at an unchanged total waits for the next change of total.
    """

    def __init__(
        self, worker_nodes: list[WorkerNode], user_classes: list[type[User]], wanted: dict[str, int]
    ) -> None:
        self._wanted = wanted  # read by _user_gen, which the base class starts
        self._names = {c.__name__ for c in user_classes}
        super().__init__(worker_nodes, user_classes)

    def _short(self) -> dict[str, int]:
        """Users missing per class (negative: too many)."""
        return {
            n: w - self._get_user_current_count(n)
            for n, w in sorted(self._wanted.items())
            if n in self._names
        }

    def _dispatcher(self) -> Iterator[dict[str, dict[str, int]]]:
        self._dispatch_in_progress = True
        if self._rebalance:
            self._rebalance = False
            yield self._users_on_workers
        changed = False
        for sign, step in ((-1, self._remove_users_from_workers), (1, self._add_users_on_workers)):
            while any(s * sign > 0 for s in self._short().values()):
                before = self._current_user_count
                with self._wait_between_dispatch_iteration_context():
                    yield step()
                changed = True
                if self._current_user_count == before:  # nothing more can move
                    break
        if not changed:
            yield self._initial_users_on_workers
        self._dispatch_in_progress = False

    def _user_gen(self) -> Iterator[str | None]:
        while True:
            short = self._short()
            name = max(short, key=short.__getitem__, default=None)
            yield name if name is not None and short[name] > 0 else None

    def _remove_users_from_workers(self) -> dict[str, dict[str, int]]:
        for _ in range(self._user_count_per_dispatch_iteration):
            over = {n for n, s in self._short().items() if s < 0}
            newest = next(
                (i for i in range(len(self._active_users) - 1, -1, -1)
                 if self._active_users[i][1] in over),
                None,
            )  # fmt: skip
            if newest is None:
                break
            worker_node, name = self._active_users.pop(newest)
            self._users_on_workers[worker_node.id][name] -= 1
            self._current_user_count -= 1
        return self._users_on_workers


class CastShape(LoadTestShape):
    """A shape that says how many users of each class should be running at each moment."""

    abstract = True

    def __init__(self) -> None:
        super().__init__()
        self.wanted: dict[str, int] = {}
        """Users wanted per class name now (the dispatcher reads it)."""

    @abstractmethod
    def cast(self, run_s: float) -> dict[type[User], int] | None:
        """Users wanted per class ``run_s`` wall seconds into the night; None ends it."""

    def options(self) -> Namespace:
        """Locust's parsed options (the caucus-night ones included)."""
        assert self.runner is not None
        return self.runner.environment.parsed_options

    def reviewers(self) -> int:
        """HQ reviewers on duty (settled when Locust starts, see ``locustfile.py``)."""
        assert self.runner is not None
        return getattr(self.runner.environment, "caucus_reviewers", 0)

    def run_s(self) -> float:
        """Wall seconds into the night, by the clock the chairs and the progress log keep; 0
        until this test's night starts. Locust's own shape clock starts before the test-start
        preflight and plan (a second or more on a busy machine): read before the night, it
        ran ahead, and the chairs it asked for were stopped once the night's clock took over.
        """
        assert self.runner is not None
        night = getattr(self.runner.environment, "caucus_night", None)
        if night is None or night.over:  # none yet, or an earlier test's (web UI)
            return 0.0
        return time.monotonic() - night.started

    def tick(self) -> tuple[int, float] | None:
        run_s = self.run_s()
        limit = self.options().run_time  # Locust leaves --run-time to the shape
        if limit and run_s > parse_timespan(str(limit)):
            return None
        wanted = self.cast(run_s)
        if wanted is None:
            return None
        self.wanted.clear()
        self.wanted.update({c.__name__: n for c, n in wanted.items()})
        return sum(self.wanted.values()), SPAWN_RATE


@events.init.add_listener
def dispatch_by_cast(environment: Environment, **_: object) -> None:
    """A cast shape gets the dispatcher that keeps each class on its count."""
    if isinstance(environment.shape_class, CastShape):
        environment.dispatcher_class = partial(  # type: ignore[assignment]
            CastDispatcher, wanted=environment.shape_class.wanted
        )
