"""A desk of identical servers (hotline operators, typists, verifiers, the app's back-end slots)
taking people first come, first served; a caller on hold may give up.

It gives the service ``simpy.Resource`` (and ``request | env.timeout(patience)``) gave this
model, with fewer steps: a free server is taken at once (:meth:`Desk.take`, no event); a server
that frees takes whoever has waited longest in the same step (no step of its own); a caller on
hold waits on a single patience timer, and the server that takes them wakes them with an
interrupt (one step, where the condition "taken or out of patience" took two). Who is served,
when, and who gives up when are ``simpy.Resource``'s (``tests/test_sim_desk.py`` checks it);
only the order of steps within one instant differs. That order changes no one's random draws:
each chair draws from a stream of their own (:mod:`sim.luck`), and callers draw whether a call
will drop as they place it. (When the whole night drew from one stream, in event order, a shift
bringing staff on duty at the hotline and at HQ in the same minute woke them in another order
than ``simpy.Resource`` and so changed such a night's numbers; ``benchmarks/same_numbers.py``
fingerprints such a night.)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy


@dataclass(slots=True, eq=False)
class _OnHold:
    """A caller's place in line; ``gave_up`` once they left it."""

    caller: simpy.Process
    gave_up: bool = False


class Desk:
    """``capacity`` servers; whoever comes beyond them waits in line."""

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env = env
        self.capacity = capacity
        self.count = 0
        """Servers busy now."""
        self.waiting = 0
        """People waiting in line now."""
        self._line: deque[simpy.Event | _OnHold] = deque()

    def take(self) -> simpy.Event | None:
        """A server taken at once if one is free (None: no event, no step taken), else an
        event fired when one takes this turn in line. Nobody waits while a server is free (a
        server that frees, or comes on duty, takes the next in line at once), so a free one
        never jumps the line."""
        if self.count < self.capacity:
            self.count += 1
            return None
        turn = simpy.Event(self.env)
        self._join(turn)
        return turn

    def hold(self, patience_min: float) -> Generator[simpy.Event, Any, bool]:
        """The active process holds for a server for up to ``patience_min`` minutes: True once
        one takes it (at once if one is free), False if its patience runs out first."""
        if self.count < self.capacity:
            self.count += 1
            return True
        place = _OnHold(self.env.active_process)
        self._join(place)
        try:
            yield self.env.timeout(patience_min)
        except simpy.Interrupt as wake:
            if wake.cause is place:
                return True
            self._leave(place)  # interrupted for another reason: the caller leaves the line
            raise
        self._leave(place)
        return False

    def on_duty(self, capacity: int) -> None:
        """From now on ``capacity`` servers are on duty (a shift change): those going off duty
        finish the one in hand and take no other; those coming on duty take people waiting
        at once."""
        self.capacity = capacity
        self._serve()

    def release(self) -> None:
        """A server is done and takes whoever has waited longest, if anyone."""
        self.count -= 1
        self._serve()

    def _join(self, place: simpy.Event | _OnHold) -> None:
        self._line.append(place)
        self.waiting += 1

    def _leave(self, place: _OnHold) -> None:
        place.gave_up = True
        self.waiting -= 1

    def _serve(self) -> None:
        """Free servers take people from the head of the line (a caller who gave up has left
        it)."""
        line = self._line
        while line and self.count < self.capacity:
            place = line.popleft()
            if isinstance(place, _OnHold):
                if place.gave_up:
                    continue
                place.caller.interrupt(place)
            else:
                place.succeed()
            self.count += 1
            self.waiting -= 1
