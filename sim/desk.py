"""A desk of identical servers (hotline operators, typists, verifiers, the app's back-end slots)
taking requests first come, first served; a request may be withdrawn while it waits.

It does what ``simpy.Resource`` (and ``request | env.timeout(patience)``) did for this model
with less bookkeeping per request: a request is a plain event, and nothing is scheduled but
what wakes a process. Each step that ``simpy.Resource`` took is still taken (a waiting request
is taken one step after the release that freed its server), so events are processed in the
same order and the same seed gives the same night (``tests/test_sim_desk.py`` checks both
against each other). :meth:`Desk.take` alone skips that step: a free server is taken at once,
with no event. The model takes that way only where a caller dials or a result reaches HQ at an
instant of its own (random times never coincide), so no other process acts in the step
skipped: the nights' numbers are those of ``simpy.Resource`` still
(``benchmarks/same_numbers.py``).
"""

from __future__ import annotations

from collections import deque

import simpy


class Desk:
    """``capacity`` servers; requests beyond them wait in line."""

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env = env
        self.capacity = capacity
        self.count = 0
        """Servers busy now."""
        self._line: deque[simpy.Event] = deque()
        self._withdrawn: set[simpy.Event] = set()

    @property
    def waiting(self) -> int:
        """Requests waiting in line now."""
        return len(self._line) - len(self._withdrawn)

    def request(self) -> simpy.Event:
        """An event fired when a server takes the request (in the next step if one is free)."""
        request = simpy.Event(self.env)
        self._line.append(request)
        self._serve()
        return request

    def take(self) -> simpy.Event | None:
        """A server taken at once if one is free and nobody waits (None: no event, no step
        taken), else a :meth:`request` in line."""
        if self.count < self.capacity and not self.waiting:
            self.count += 1
            return None
        return self.request()

    def within(self, request: simpy.Event, patience_min: float) -> simpy.Event:
        """An event fired one step after ``request`` is taken or ``patience_min`` minutes have
        passed, whichever comes first (the step ``request | env.timeout(patience_min)``
        took)."""
        over = simpy.Event(self.env)

        def end(_: simpy.Event) -> None:
            if not over.triggered:
                over.succeed()

        request.callbacks.append(end)
        self.env.timeout(patience_min).callbacks.append(end)
        return over

    def on_duty(self, capacity: int) -> None:
        """From now on ``capacity`` servers are on duty (a shift change): those going off duty
        finish the request in hand and take no other; those coming on duty take waiting
        requests at once."""
        self.capacity = capacity
        while self.count < capacity and self.waiting:
            self._serve()

    def withdraw(self, request: simpy.Event) -> None:
        """A request not yet taken leaves the line (the caller hung up)."""
        self._withdrawn.add(request)

    def release(self) -> None:
        """A server is done; in the next step it takes the request that has waited longest."""
        self.count -= 1
        if self._line:
            self.env.timeout(0).callbacks.append(self._serve)

    def _serve(self, _: simpy.Event | None = None) -> None:
        """A free server takes the first request in line, if any."""
        while self._line and self.count < self.capacity:
            request = self._line.popleft()
            if request in self._withdrawn:
                self._withdrawn.remove(request)
                continue
            self.count += 1
            request.succeed()
            return
