"""The same storage tests on SQLite and on a throwaway PostgreSQL cluster."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import threading

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
