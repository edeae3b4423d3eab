"""Load shapes: each module holds one Locust ``LoadTestShape`` (add it to ``-f``)."""

from __future__ import annotations

from abc import abstractmethod
from argparse import Namespace

from locust import LoadTestShape, User
from locust.util.timespan import parse_timespan

SPAWN_RATE = 100.0
"""Users started a second when a shape asks for more."""

Tick = tuple[int, float, list[type[User]]] | tuple[int, float]


class CastShape(LoadTestShape):
    """A shape that says how many users of each class should be running at each moment.

    Locust changes one user class per tick here (the one furthest off). Only shrink the class
    added last: Locust stops the newest users first, whatever their class.
    """

    abstract = True

    def __init__(self) -> None:
        super().__init__()
        self._placed: dict[type[User], int] = {}
        self._last: Tick = (0, SPAWN_RATE)

    @abstractmethod
    def cast(self, run_s: float) -> dict[type[User], int] | None:
        """Users wanted per class ``run_s`` wall seconds into the test; None ends it."""

    def options(self) -> Namespace:
        """Locust's parsed options (the caucus-night ones included)."""
        assert self.runner is not None
        return self.runner.environment.parsed_options

    def tick(self) -> Tick | None:
        run_s = self.get_run_time()
        limit = self.options().run_time  # Locust leaves --run-time to the shape
        if limit and run_s > parse_timespan(str(limit)):
            return None
        wanted = self.cast(run_s)
        if wanted is None:
            return None
        off = {c: abs(n - self._placed.get(c, 0)) for c, n in wanted.items()}
        change = max(off, key=off.__getitem__, default=None)
        if change is not None and off[change]:
            self._placed[change] = wanted[change]
            self._last = (sum(self._placed.values()), SPAWN_RATE, [change])
        return self._last
