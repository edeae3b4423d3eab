"""The same storage tests on SQLite and on a throwaway PostgreSQL cluster."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import tempfile
import threading
import time
from functools import partial

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from reporting.app import create_app
from reporting.guard import SignInPolicy
from reporting.ledger import Entry, canonical_json
from reporting.models import Stage
from reporting.roster import load_roster
from reporting.stages import check_stage
from reporting.storage import Storage, open_storage
from reporting.writer import _waves, _Write


def entry(precinct: str, stage: Stage, body: dict, key: str, if_match: str | None = None) -> Entry:
    return Entry(
        if_match=if_match,
        precinct_id=precinct,
        stage=stage,
        idempotency_key=key,
        body=body,
        body_sha256=hashlib.sha256(canonical_json(body).encode()).hexdigest(),
        entered_by=f"chair:{precinct}",
    )


@pytest.fixture
def storage(reporting_db_url):
    opened = open_storage(reporting_db_url)
    yield opened
    opened.close()


@pytest.fixture
def check(reporting_roster):
    """The rules of P0001; called with a precinct id (as for a decision), those of that one."""
    roster = load_roster(reporting_roster.path)

    def rules(*args):
        if len(args) == 1:
            return lambda stage, body, others: check_stage(roster.get(args[0]), stage, body, others)
        return check_stage(roster.get("P0001"), *args)

    return rules


def record(storage: Storage, check, *entries: Entry) -> list:
    async def run() -> list:
        return await asyncio.gather(*(storage.record(e, check, False) for e in entries))

    return asyncio.run(run())


def test_record_replay_conflict_correct(storage, check):
    (accepted,) = record(storage, check, entry("P0001", Stage.OPEN, {"attendance": 40}, "k1"))
    assert accepted.kind == "accepted"
    (replayed,) = record(storage, check, entry("P0001", Stage.OPEN, {"attendance": 40}, "k1"))
    assert replayed.kind == "replayed" and replayed.receipt == accepted.receipt
    (conflict,) = record(storage, check, entry("P0001", Stage.OPEN, {"attendance": 41}, "k2"))
    assert conflict.kind == "conflict" and conflict.code == "already-reported"
    body = {"attendance": 41, "correction_reason": "recount of sign-in sheet"}
    (corrected,) = record(
        storage, check, entry("P0001", Stage.OPEN, body, "k3", accepted.receipt.receipt_id)
    )
    assert corrected.kind == "accepted"
    assert corrected.receipt.correction_of == accepted.receipt.receipt_id
    rows = asyncio.run(storage.every_report())
    assert [r.body["attendance"] for r in rows] == [40, 41]
    current, corrections = asyncio.run(storage.precinct("P0001"))
    assert current[Stage.OPEN].body["attendance"] == 41 and corrections == {Stage.OPEN: (1, 0)}


def test_refused_results_are_not_stored(storage, check):
    record(storage, check, entry("P0001", Stage.OPEN, {"attendance": 10}, "k1"))
    body = {"groups": [{"name": "Warren", "first": 11}]}
    (refused,) = record(storage, check, entry("P0001", Stage.FIRST_ALIGNMENT, body, "k2"))
    assert refused.kind == "refused"
    assert [r.id for r in refused.rules] == ["first-above-attendance"]
    assert len(asyncio.run(storage.every_report())) == 1


def test_concurrent_different_reports_store_one(storage, check):
    entries = [entry("P0001", Stage.OPEN, {"attendance": 30 + i}, f"race-{i}") for i in range(20)]
    outcomes = record(storage, check, *entries)
    assert sorted(o.kind for o in outcomes) == ["accepted"] + ["conflict"] * 19
    assert len(asyncio.run(storage.every_report())) == 1


def test_concurrent_identical_reports_store_one(storage, check):
    entries = [entry("P0001", Stage.OPEN, {"attendance": 30}, f"same-{i}") for i in range(20)]
    outcomes = record(storage, check, *entries)
    assert sorted(o.kind for o in outcomes) == ["accepted"] + ["replayed"] * 19
    assert len({o.receipt.receipt_id for o in outcomes}) == 1
    assert len(asyncio.run(storage.every_report())) == 1


def test_concurrent_corrections_of_one_version_store_one(storage, check):
    (original,) = record(storage, check, entry("P0001", Stage.OPEN, {"attendance": 30}, "orig"))
    entries = [
        entry(
            "P0001",
            Stage.OPEN,
            {"attendance": 31 + i, "correction_reason": "fix"},
            f"fix-{i}",
            if_match=original.receipt.receipt_id,
        )
        for i in range(10)
    ]
    outcomes = record(storage, check, *entries)
    # All ten name the same version: one wins, the others lose the race with 412 (no lost update).
    assert sorted(o.code or o.kind for o in outcomes) == ["accepted"] + ["precondition-failed"] * 9
    rows = asyncio.run(storage.every_report())
    assert len(rows) == 2 and rows[1].receipt.correction_of == original.receipt.receipt_id


def test_final_reports_use_the_current_version(storage, check, reporting_close, reporting_roster):
    body = reporting_close("P0001", reporting_roster.delegates["P0001"], seed=3)
    (closed,) = record(storage, check, entry("P0001", Stage.CLOSE, body, "c1"))
    fixed = {**body, "correction_reason": "typo in sheet"}
    (held,) = record(
        storage, check, entry("P0001", Stage.CLOSE, fixed, "c2", closed.receipt.receipt_id)
    )
    assert held.kind == "held"  # after close: held for HQ review, out of the totals
    assert asyncio.run(storage.final_reports()) == [body]
    approved = asyncio.run(
        storage.decide(held.receipt.receipt_id, "approve", "admin", "worksheet seen", None, check)
    )
    assert approved.kind == "accepted" and approved.decision["decision"] == "approved"
    assert asyncio.run(storage.final_reports()) == [fixed]


def test_sign_in_reservations_slow_a_client_and_cap_a_precinct(storage):
    policy = SignInPolicy(rate=0, free=2, cap=5)

    def reserve(client):
        return asyncio.run(storage.reserve_sign_in("precinct:P0007", client, policy, True)).kind

    assert [reserve("10.0.0.1") for _ in range(3)] == ["go", "go", "slow-down"]
    assert [reserve(f"10.0.1.{i}") for i in range(4)] == ["go", "go", "go", "held"]
    log = asyncio.run(storage.hq_log(True))
    assert [(a["kind"], a["precinct_id"]) for a in log] == [("sign-in-held", "P0007")]
    assert asyncio.run(storage.unlock("P0007", "operator:Hotline 01", "chair called")) is True
    assert asyncio.run(storage.hq_log(True)) == []
    assert reserve("10.0.2.1") == "go"


async def _until(flag: threading.Event) -> None:
    for _ in range(500):  # bounded: 5 s
        if flag.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the writer never got there")


def _clock(name: str, runs: list[str] | None = None, fail: bool = False):
    """A write storing the clock ``name`` (noted in ``runs`` each time it runs), then failing
    if ``fail``."""

    def work(tx):
        if runs is not None:
            runs.append(name)
        tx.execute("INSERT INTO clocks (name, started) VALUES (?, 1)", (name,))
        if fail:
            raise RuntimeError(f"{name} breaks")
        return name

    return work


def _held(started: threading.Event, release: threading.Event, name: str):
    """A write that stores the clock ``name`` and holds its transaction until ``release``."""

    def work(tx):
        tx.execute("INSERT INTO clocks (name, started) VALUES (?, 1)", (name,))
        started.set()
        assert release.wait(10)
        return name

    return work


def test_a_failing_write_is_rolled_back_alone_and_its_batch_commits(storage):
    """Three writes queued while the writer is busy commit as one batch; the middle one fails
    after it wrote: the batch is run again with savepoints, and only the failing one is lost."""
    started, release, runs = threading.Event(), threading.Event(), []

    async def run() -> list:
        busy = asyncio.ensure_future(storage.write(_held(started, release, "busy")))
        await _until(started)
        batch = [
            asyncio.ensure_future(storage.write(_clock(n, runs, fail=n == "bad")))
            for n in ("a", "bad", "c")
        ]
        await asyncio.sleep(0.05)  # all three queued behind the busy write
        release.set()
        return await asyncio.gather(busy, *batch, return_exceptions=True)

    busy, a, bad, c = asyncio.run(run())
    assert (busy, a, c) == ("busy", "a", "c")
    assert isinstance(bad, RuntimeError) and str(bad) == "bad breaks"
    assert runs.count("a") == 2, runs  # run, rolled back with the batch, run again
    rows = asyncio.run(storage.read(lambda tx: tx.fetchall("SELECT name FROM clocks")))
    assert sorted(name for (name,) in rows) == ["a", "busy", "c"]


def _in_one_batch(storage: Storage, *writes) -> list:
    """Each coroutine function of ``writes`` (given the storage) queued while the writer is
    held, so that they commit in one batch; their results or exceptions, in order."""
    started, release = threading.Event(), threading.Event()

    async def run() -> list:
        name = f"busy {time.monotonic_ns()}"  # a clock of its own at each call
        busy = asyncio.ensure_future(storage.write(_held(started, release, name)))
        await _until(started)
        queued = [asyncio.ensure_future(write(storage)) for write in writes]
        await asyncio.sleep(0.05)  # all queued behind the busy write
        release.set()
        await busy
        return await asyncio.gather(*queued, return_exceptions=True)

    return asyncio.run(run())


def _recorded_in_one_batch(storage: Storage, check, *entries: Entry) -> list:
    return _in_one_batch(
        storage,
        *(partial(Storage.record, entry=e, check=check, hold_impossible=False) for e in entries),
    )


def test_a_write_sees_what_an_earlier_write_of_its_batch_did_under_its_keys(storage, check):
    """A batch reads what its writes read first all at once (on PostgreSQL, one round trip).
    A write sharing a key with an earlier write of the batch must still see what that one
    stored: a first alignment checked against the open sent just before it (a batch that
    breaks no constraint, so nothing makes it run again write by write); and a caller's
    Idempotency-Key used on two precincts, and a replay, in one batch."""
    first = {"groups": [{"name": "Warren", "first": 11}]}
    outcomes = _recorded_in_one_batch(
        storage,
        check,
        entry("P0001", Stage.OPEN, {"attendance": 10}, "open-1"),
        entry("P0002", Stage.OPEN, {"attendance": 12}, "open-2"),
        entry("P0001", Stage.FIRST_ALIGNMENT, first, "first-1"),
    )
    assert [o.kind for o in outcomes] == ["accepted", "accepted", "refused"]
    assert [r.id for r in outcomes[2].rules] == ["first-above-attendance"]
    hotline = "operator:Hotline 01"
    outcomes = _recorded_in_one_batch(
        storage,
        check,
        dataclasses.replace(
            entry("P0003", Stage.OPEN, {"attendance": 30}, "k"), entered_by=hotline
        ),
        dataclasses.replace(
            entry("P0004", Stage.OPEN, {"attendance": 31}, "k"), entered_by=hotline
        ),
        entry("P0005", Stage.OPEN, {"attendance": 12}, "open-5"),
        entry("P0005", Stage.OPEN, {"attendance": 12}, "open-5"),
    )
    assert [o.kind for o in outcomes] == ["accepted", "conflict", "accepted", "replayed"]
    assert outcomes[1].code == "idempotency-key-reused"
    assert outcomes[3].receipt == outcomes[2].receipt
    assert len(asyncio.run(storage.every_report())) == 4


def test_a_revoked_session_in_a_batch_stores_nothing_and_the_rest_commit(storage, check):
    """The insert of a submission is not waited for in its batch (its answer comes with the
    next statements'): a session revoked before the batch, or in it before the submission,
    still stores nothing and is told so, and the other writes of the batch commit."""
    now = time.time()
    for name in ("open", "revoked"):
        session = (name, "chair", f"P000{1 + (name == 'revoked')}", now, now + 3600)
        asyncio.run(storage.signed_in(f"chair:{session[2]}", "10.0.0.1", session))
    asyncio.run(storage.revoke_session("revoked", "operator:Hotline 01"))
    writes = [
        dataclasses.replace(entry("P0001", Stage.OPEN, {"attendance": 10}, "a"), session_id="open"),
        dataclasses.replace(
            entry("P0002", Stage.OPEN, {"attendance": 10}, "b"), session_id="revoked"
        ),
        entry("P0003", Stage.OPEN, {"attendance": 10}, "c"),
    ]
    outcomes = _recorded_in_one_batch(storage, check, *writes)
    assert [o.kind for o in outcomes] == ["accepted", "revoked", "accepted"]
    # Revoked within the batch, between two of the session's submissions: the one after it
    # stores nothing (its insert checks the session as it runs, after the revocation).
    record_as_open = [
        partial(
            Storage.record,
            entry=dataclasses.replace(
                entry(p, Stage.OPEN, {"attendance": 10}, p), session_id="open"
            ),
            check=check,
            hold_impossible=False,
        )
        for p in ("P0004", "P0005")
    ]
    revoke = partial(Storage.revoke_session, session_id="open", by="operator:Hotline 01")
    outcomes = _in_one_batch(storage, record_as_open[0], revoke, record_as_open[1])
    assert [getattr(o, "kind", o) for o in outcomes] == ["accepted", None, "revoked"]
    stored = asyncio.run(storage.every_report())
    assert sorted(r.receipt.precinct_id for r in stored) == ["P0001", "P0003", "P0004"]


A_WRITE = st.tuples(st.sets(st.sampled_from("PQRS"), max_size=2), st.booleans())
"""A write of a batch: its keys, and whether it reads first."""


def _positions(waves: list[list[_Write]], writes: list[_Write]) -> list[list[int]]:
    """Each wave as the positions of its writes in the batch (by identity: writes with the
    same fields compare equal)."""
    position = {id(w): i for i, w in enumerate(writes)}
    return [[position[id(w)] for w in wave] for wave in waves]


@settings(max_examples=300, deadline=None)
@given(st.lists(A_WRITE, max_size=12))
def test_waves_keep_every_order_that_matters(batch):
    """The writer's waves hold each write once, in batch order within a wave; a write runs
    after every earlier one sharing a key with it; a write without first reads or keys runs
    after every earlier write and before every later one."""
    reads = ("SELECT 1", ())
    writes = [
        _Write(lambda tx: None, tuple(sorted(keys)), reads if first else None, None, None)
        for keys, first in batch
    ]
    waves = _positions(_waves(writes), writes)
    wave_of = {i: n for n, wave in enumerate(waves) for i in wave}
    assert sorted(wave_of) == list(range(len(writes))) and all(waves)
    assert all(wave == sorted(wave) for wave in waves)
    for i, earlier in enumerate(writes):
        for j in range(i + 1, len(writes)):
            later = writes[j]
            in_place = any(w.reads is None or not w.keys for w in (earlier, later))
            if in_place or set(earlier.keys) & set(later.keys):
                assert wave_of[i] < wave_of[j]


def test_waves_of_a_hand_made_batch():
    """P-open, Q-open, P-first, a sign-in (no first reads), Q-first, R-open; and writes that
    name no keys."""
    reads = ("SELECT 1", ())
    writes = [_Write(lambda tx: None, (k,), reads, None, None) for k in "PQP"]
    writes.append(_Write(lambda tx: None, ("account:x",), None, None, None))
    writes += [_Write(lambda tx: None, (k,), reads, None, None) for k in "QR"]
    assert _positions(_waves(writes), writes) == [[0, 1], [2], [3], [4, 5]]
    no_keys = [_Write(lambda tx: None, (), reads, None, None) for _ in range(3)]
    assert _positions(_waves(no_keys), no_keys) == [[0], [1], [2]]


def test_a_precinct_busy_on_another_worker_does_not_hold_up_a_batch(reporting_postgres_db):
    """Two workers' writers: while one holds precinct P's lock, the other's write for P waits
    (and then sees what the first committed) but its write for Q in the same batch does not."""
    here, there = open_storage(reporting_postgres_db), open_storage(reporting_postgres_db)
    started, release = threading.Event(), threading.Event()

    def after_p(tx):
        return tx.fetchone("SELECT name FROM clocks WHERE name = 'P first'")

    async def run() -> tuple:
        first = asyncio.ensure_future(
            there.write(_held(started, release, "P first"), ("precinct:P",))
        )
        await _until(started)
        q = asyncio.ensure_future(here.write(_clock("Q"), ("precinct:Q",)))
        p = asyncio.ensure_future(here.write(after_p, ("precinct:P",)))
        q_done = await asyncio.wait_for(q, 5)
        p_waiting = not p.done()
        release.set()
        return q_done, p_waiting, await first, await asyncio.wait_for(p, 10)

    try:
        q_done, p_waiting, first, p_saw = asyncio.run(run())
    finally:
        release.set()
        here.close()
        there.close()
    assert (q_done, p_waiting, first, p_saw) == ("Q", True, "P first", ("P first",))


def test_the_api_on_each_database(reporting_settings, reporting_db_url, reporting_roster):
    settings = reporting_settings.model_copy(update={"db_url": reporting_db_url})
    with TestClient(create_app(settings)) as client:
        pin = reporting_roster.pins["P0001"]
        token = client.post("/api/v1/sessions", json={"precinct_id": "P0001", "pin": pin})
        auth = {"Authorization": f"Bearer {token.json()['token']}", "Idempotency-Key": "api-db-1"}
        first = client.post("/api/v1/precincts/P0001/open", json={"attendance": 12}, headers=auth)
        again = client.post("/api/v1/precincts/P0001/open", json={"attendance": 12}, headers=auth)
        assert (first.status_code, again.status_code) == (201, 200)
        assert client.get("/healthz").json()["storage"] == reporting_db_url.split(":")[0]
        assert client.get("/api/v1/precincts/P0001").json()["status"] == "open"


def test_postgres_is_used_when_installed(reporting_postgres):
    import psycopg

    with psycopg.connect(reporting_postgres) as connection:
        assert connection.execute("SHOW fsync").fetchone() == ("on",)


def test_postgres_connections_cut_mid_run_are_503_then_recover(
    reporting_settings, reporting_postgres, reporting_postgres_db, reporting_roster
):
    import psycopg

    settings = reporting_settings.model_copy(update={"db_url": reporting_postgres_db})
    database = reporting_postgres_db.rsplit("/", 1)[1]
    with TestClient(create_app(settings)) as client:
        operator = client.post("/api/v1/sessions", json=reporting_roster.operator_login()).json()[
            "token"
        ]

        def open_(precinct: str) -> int:
            headers = {"Authorization": f"Bearer {operator}", "Idempotency-Key": f"cut-{precinct}"}
            url = f"/api/v1/precincts/{precinct}/open"
            return client.post(url, json={"attendance": 9}, headers=headers).status_code

        assert open_("P0001") == 201
        with psycopg.connect(reporting_postgres, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )
        statuses = [open_(p) for p in ("P0002", "P0003")]
        assert statuses[0] in (201, 503) and statuses[1] == 201  # the writer reconnects
        assert client.get("/api/v1/precincts/P0003").json()["status"] == "open"


SUBMISSION = st.tuples(
    st.sampled_from(["P0001", "P0002"]),
    st.sampled_from([Stage.OPEN, Stage.CLOSE]),
    st.integers(10, 12),  # attendance: few values, so replays and conflicts are common
    st.sampled_from(["key-a", "key-b", "key-c", "key-d"]),
    st.booleans(),  # a correction?
)


@settings(max_examples=60, deadline=None)
@given(st.lists(SUBMISSION, max_size=25))
def test_the_ledger_matches_a_reference_model(submissions):
    """Any sequence of submissions: outcomes as the rules say, one current version per stage;
    after close a correction is held (stored, not current) and blocks further corrections."""
    by_key: dict[tuple[str, str], tuple[str, Stage, str, str]] = {}
    current: dict[tuple[str, Stage], tuple[str, str]] = {}
    held: set[tuple[str, Stage]] = set()
    accepted = 0
    with tempfile.TemporaryDirectory() as tmp:
        storage = open_storage(f"sqlite:///{tmp}/model.db")
        try:
            for precinct, stage, attendance, key, correcting in submissions:
                body = {"attendance": attendance}
                if correcting:
                    body["correction_reason"] = "fixed"
                now = current.get((precinct, stage))
                submitted = entry(precinct, stage, body, key, now[1] if now else None)
                (outcome,) = record(storage, lambda *_: [], submitted)
                known = by_key.get((precinct, key))  # the caller here is the precinct's chair
                if known is not None:
                    same = known[:3] == (precinct, stage, submitted.body_sha256)
                    assert outcome.kind == ("replayed" if same else "conflict")
                elif not correcting and now is not None:
                    same = now[0] == submitted.body_sha256
                    assert outcome.kind == ("replayed" if same else "conflict")
                    assert outcome.receipt.receipt_id == now[1]
                elif correcting and now is None:
                    assert (outcome.kind, outcome.code) == ("conflict", "nothing-to-correct")
                elif correcting and (precinct, stage) in held:
                    assert (outcome.kind, outcome.code) == ("conflict", "review-pending")
                else:
                    holds = correcting and (precinct, Stage.CLOSE) in current
                    assert outcome.kind == ("held" if holds else "accepted")
                    assert outcome.receipt.correction_of == (now[1] if now else None)
                    accepted += 1
                    receipt_id = outcome.receipt.receipt_id
                    by_key[(precinct, key)] = (precinct, stage, submitted.body_sha256, receipt_id)
                    if holds:
                        held.add((precinct, stage))
                    else:
                        current[(precinct, stage)] = (submitted.body_sha256, receipt_id)
            rows = asyncio.run(storage.every_report())
        finally:
            storage.close()
    assert len(rows) == accepted
    heads = {(r.receipt.precinct_id, r.receipt.stage) for r in rows if not r.receipt.correction_of}
    assert len(heads) == sum(1 for r in rows if not r.receipt.correction_of)
