"""sim.desk.Desk against simpy.Resource: the same service, in the same order of events.

Customers arrive, wait in line (some give up after a while), are served and leave; each logs
what happened and when, and draws from a shared generator whenever it wakes, so that any change
in the order in which processes wake changes the log. Durations are random real numbers, as in
the model, where two independent random times never coincide; what does happen at one instant
is a chain of zero-delay steps (a release and the next customer taken, a customer leaving and
arriving again at once, a leaving customer setting off other work), which these customers do
as well.
"""

import random

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.desk import Desk

customers = st.lists(
    st.tuples(
        st.booleans(),  # patient: waits however long it takes
        st.integers(0, 2),  # comes straight back this many times after leaving
    ),
    min_size=1,
    max_size=25,
)


def _people(kinds: list[tuple[bool, int]], seed: int) -> list[tuple]:
    """(arrival, service, patience or None, returns) per customer, times drawn at random."""
    draw = random.Random(seed).uniform
    return [
        (draw(0, 6), draw(0, 4), None if patient else draw(0, 5), returns)
        for patient, returns in kinds
    ]


def _with_resource(env, rng, log, arrival, service, patience, visits, who):
    yield env.timeout(arrival)
    for _ in range(visits + 1):
        yield from _visit_resource(env, rng, log, service, patience, who)


def _visit_resource(env, rng, log, service, patience, who):
    request = env.resource.request()
    log.append((env.now, who, "arrives", rng.random()))
    if patience is None:
        yield request
    elif not request.triggered:
        yield request | env.timeout(patience)
        if not request.triggered:
            request.cancel()
            log.append((env.now, who, "gives up", rng.random()))
            return
    if not request.processed:
        yield request
    log.append((env.now, who, "served", rng.random()))
    yield env.timeout(service)
    env.resource.release(request)
    log.append((env.now, who, "leaves", rng.random()))
    env.process(_paperwork(env, rng, log, who))


def _with_desk(env, rng, log, arrival, service, patience, visits, who):
    yield env.timeout(arrival)
    for _ in range(visits + 1):
        yield from _visit_desk(env, rng, log, service, patience, who)


def _visit_desk(env, rng, log, service, patience, who):
    desk = env.resource
    request = desk.request()
    log.append((env.now, who, "arrives", rng.random()))
    if patience is None:
        yield request
    elif not request.triggered:
        yield desk.within(request, patience)
        if not request.triggered:
            desk.withdraw(request)
            log.append((env.now, who, "gives up", rng.random()))
            return
    if not request.processed:
        yield request
    log.append((env.now, who, "served", rng.random()))
    yield env.timeout(service)
    env.resource.release()
    log.append((env.now, who, "leaves", rng.random()))
    env.process(_paperwork(env, rng, log, who))


def _paperwork(env, rng, log, who):
    """What a customer's leaving sets off at once (as a chair's call starts HQ's work)."""
    log.append((env.now, who, "paperwork starts", rng.random()))
    yield env.timeout(0)
    log.append((env.now, who, "paperwork filed", rng.random()))


def _run(kind, capacity, people, seed):
    env = simpy.Environment()
    env.resource = simpy.Resource(env, capacity) if kind == "resource" else Desk(env, capacity)
    customer = _with_resource if kind == "resource" else _with_desk
    rng, log, waiting = random.Random(seed), [], []
    for who, (arrival, service, patience, visits) in enumerate(people):
        env.process(customer(env, rng, log, arrival, service, patience, visits, who))

    def watch():
        while True:
            line = env.resource.queue if kind == "resource" else env.resource
            waiting.append(len(line) if kind == "resource" else line.waiting)
            yield env.timeout(1)

    env.process(watch())
    env.run(until=40)
    return log, waiting


@settings(max_examples=300, deadline=None)
@given(kinds=customers, capacity=st.integers(1, 3), seed=st.integers(0, 2**32))
def test_a_desk_serves_as_simpy_resource_does_in_the_same_order(kinds, capacity, seed):
    people = _people(kinds, seed)
    assert _run("desk", capacity, people, seed) == _run("resource", capacity, people, seed)


def test_first_come_first_served_and_giving_up():
    env = simpy.Environment()
    desk = Desk(env, 1)
    log = []

    def customer(name, arrival, service, patience):
        yield env.timeout(arrival)
        request = desk.request()
        yield desk.within(request, patience)
        log.append((env.now, name, request.triggered))
        if not request.triggered:
            desk.withdraw(request)
            return
        yield env.timeout(service)
        desk.release()

    for args in (("a", 0, 10, 99), ("b", 1, 1, 3), ("c", 2, 1, 99), ("d", 3, 1, 99)):
        env.process(customer(*args))
    env.run()
    # b gives up at 4; c and d are served in arrival order as a leaves at 10, c at 11.
    assert log == [(0, "a", True), (4, "b", False), (10, "c", True), (11, "d", True)]
    assert desk.count == 0 and desk.waiting == 0


def test_take_seats_at_once_only_when_nobody_waits():
    env = simpy.Environment()
    desk = Desk(env, 1)
    assert desk.take() is None and desk.count == 1  # free: taken at once, no event
    second = desk.take()
    assert second is not None and not second.triggered and desk.waiting == 1
    desk.release()  # the server frees; the one in line is taken in the next step ...
    third = desk.take()
    assert third is not None  # ... so a newcomer does not jump the line
    env.run()
    assert second.processed and not third.triggered and desk.count == 1 and desk.waiting == 1
