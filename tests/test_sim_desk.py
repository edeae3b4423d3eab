"""sim.desk.Desk against simpy.Resource: the same service, and the same order of events where
the model relies on it.

Customers arrive, wait in line (some give up after a while), are served and leave; each logs
what happened and when, and draws from a shared generator whenever it wakes, so that a change
in the order in which processes wake changes the log. Durations are random real numbers, as in
the model, where two independent random times never coincide; what does happen at one instant
is a chain of zero-delay steps (a release and the next customer taken, a customer leaving and
arriving again at once, a leaving customer setting off other work), which these customers do
as well. The desk takes fewer steps than ``simpy.Resource``: the customer it takes wakes before
work a leaving customer set off in a process of its own, so with that work the two agree on the
service and not on the order within the instant; without it they agree on both, as the
model's nights do (its chairs carry on in their own process).
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


def _with_resource(env, rng, log, arrival, service, patience, visits, who, paperwork):
    yield env.timeout(arrival)
    for _ in range(visits + 1):
        yield from _visit_resource(env, rng, log, service, patience, who, paperwork)


def _visit_resource(env, rng, log, service, patience, who, paperwork):
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
    if paperwork:
        env.process(_paperwork(env, rng, log, who))


def _with_desk(env, rng, log, arrival, service, patience, visits, who, paperwork):
    yield env.timeout(arrival)
    for _ in range(visits + 1):
        yield from _visit_desk(env, rng, log, service, patience, who, paperwork)


def _visit_desk(env, rng, log, service, patience, who, paperwork):
    desk = env.resource
    if patience is None:
        turn = desk.take()
        log.append((env.now, who, "arrives", rng.random()))
        if turn is not None:
            yield turn
    else:
        answered = desk.hold(patience)
        log.append((env.now, who, "arrives", rng.random()))
        if not (yield from answered):
            log.append((env.now, who, "gives up", rng.random()))
            return
    log.append((env.now, who, "served", rng.random()))
    yield env.timeout(service)
    desk.release()
    log.append((env.now, who, "leaves", rng.random()))
    if paperwork:
        env.process(_paperwork(env, rng, log, who))


def _paperwork(env, rng, log, who):
    """What a customer's leaving sets off in a process of its own."""
    log.append((env.now, who, "paperwork starts", rng.random()))
    yield env.timeout(0)
    log.append((env.now, who, "paperwork filed", rng.random()))


def _run(kind, capacity, people, seed, paperwork):
    env = simpy.Environment()
    env.resource = simpy.Resource(env, capacity) if kind == "resource" else Desk(env, capacity)
    customer = _with_resource if kind == "resource" else _with_desk
    rng, log, waiting = random.Random(seed), [], []
    for who, (arrival, service, patience, visits) in enumerate(people):
        env.process(customer(env, rng, log, arrival, service, patience, visits, who, paperwork))

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
def test_a_desk_serves_as_simpy_resource_does(kinds, capacity, seed):
    """Who arrives, is served, gives up and leaves when, and how many wait at each minute."""
    people = _people(kinds, seed)
    (desk, desk_waiting), (resource, resource_waiting) = (
        _run(kind, capacity, people, seed, paperwork=True) for kind in ("desk", "resource")
    )
    assert sorted(entry[:3] for entry in desk) == sorted(entry[:3] for entry in resource)
    assert desk_waiting == resource_waiting


@settings(max_examples=300, deadline=None)
@given(kinds=customers, capacity=st.integers(1, 3), seed=st.integers(0, 2**32))
def test_a_desk_wakes_people_in_simpy_resources_order_when_leaving_sets_nothing_off(
    kinds, capacity, seed
):
    """Every draw in the same order: a customer leaving and arriving again at once, a release
    and the next customer taken, as the model's chairs do."""
    people = _people(kinds, seed)
    assert _run("desk", capacity, people, seed, paperwork=False) == _run(
        "resource", capacity, people, seed, paperwork=False
    )


def test_first_come_first_served_and_giving_up():
    env = simpy.Environment()
    desk = Desk(env, 1)
    log = []

    def customer(name, arrival, service, patience):
        yield env.timeout(arrival)
        answered = yield from desk.hold(patience)
        log.append((env.now, name, answered))
        if answered:
            yield env.timeout(service)
            desk.release()

    for args in (("a", 0, 10, 99), ("b", 1, 1, 3), ("c", 2, 1, 99), ("d", 3, 1, 99)):
        env.process(customer(*args))
    env.run()
    # b gives up at 4; c and d are served in arrival order as a leaves at 10, c at 11.
    assert log == [(0, "a", True), (4, "b", False), (10, "c", True), (11, "d", True)]
    assert desk.count == 0 and desk.waiting == 0


def test_a_freed_server_takes_the_longest_waiting_at_once_and_nobody_jumps_the_line():
    env = simpy.Environment()
    desk = Desk(env, 1)
    assert desk.take() is None and desk.count == 1  # free: taken at once, no event
    second = desk.take()
    assert second is not None and not second.triggered and desk.waiting == 1
    desk.release()  # the server frees and takes the one in line in the same step ...
    assert second.triggered and desk.count == 1 and desk.waiting == 0
    third = desk.take()
    assert third is not None and not third.triggered  # ... so a newcomer waits its turn
    env.run()
    assert second.processed and not third.triggered and desk.waiting == 1


def test_a_shift_coming_on_duty_takes_those_waiting_and_one_going_off_finishes_first():
    env = simpy.Environment()
    desk = Desk(env, 1)
    served = []

    def caller(name, service):
        if (yield from desk.hold(99)):
            served.append((env.now, name))
            yield env.timeout(service)
            desk.release()

    for name in "abc":
        env.process(caller(name, 10))
    env.run(until=1)
    desk.on_duty(3)  # two more come on duty at 1 and take b and c at once
    env.run(until=2)
    assert served == [(0, "a"), (1, "b"), (1, "c")]
    desk.on_duty(1)  # two go off duty: each finishes the call in hand, then takes no other
    env.process(caller("d", 1))
    env.run()
    assert served[3] == (11, "d") and desk.count == 0 and desk.waiting == 0


def test_an_interrupt_for_another_reason_is_not_an_answer_and_leaves_the_line():
    env = simpy.Environment()
    desk = Desk(env, 1)
    log = []

    def caller(name):
        try:
            answered = yield from desk.hold(99)
            log.append((env.now, name, answered))
        except simpy.Interrupt as interrupt:
            log.append((env.now, name, interrupt.cause))

    assert desk.take() is None  # the only server is busy until 5
    called_away = env.process(caller("a"))
    env.process(caller("b"))
    env.run(until=2)
    called_away.interrupt("called away")
    env.run(until=3)
    assert desk.waiting == 1
    desk.release()
    env.run()
    assert log == [(2, "a", "called away"), (3, "b", True)] and desk.waiting == 0
