"""The HQ desk: the review queue, reviewers' decisions, releases, the night's progress, and the
pieces that read the plan and the night clock (each on a hand-made case with a known answer)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reporting.app import create_app
from reporting.models import (
    MissingCounty,
    MissingPrecinct,
    NightClock,
    Progress,
    ProgressSeries,
    QueueState,
    ReleasePolicy,
    RuleCount,
)
from reporting.night import Schedule, clock_text, night_minute
from reporting.plan import PlanError, read_plan, standing
from reporting.watch import reading

ADMIN = {"Authorization": "Bearer test-admin-key"}


def bearer(client: TestClient, body: dict) -> dict[str, str]:
    response = client.post("/api/v1/sessions", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def reviewer(client: TestClient, roster, name: str = "HQ 01") -> dict[str, str]:
    return bearer(client, {"reviewer": name, "key": roster.reviewers[name]})


def post(client, auth, precinct, stage, body, key, **headers):
    return client.post(
        f"/api/v1/precincts/{precinct}/{stage}",
        json=body,
        headers={**auth, "Idempotency-Key": key, **headers},
    )


def decide(client, auth, receipt_id, decision, reason="worksheet checked", result=None):
    body = {"decision": decision, "reason": reason}
    if result is not None:
        body["result"] = result
    return client.post(f"/api/v1/admin/reviews/{receipt_id}", json=body, headers=auth)


def app(settings, **update) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=update)), base_url="https://testserver")


def impossible(close: dict) -> dict:
    broken = json.loads(json.dumps(close))
    broken["groups"][0]["final"] += 1000
    return broken


def test_reviewers_sign_in_with_their_own_key(reporting_client, reporting_roster):
    name, key = sorted(reporting_roster.reviewers.items())[0]
    response = reporting_client.post("/api/v1/sessions", json={"reviewer": name, "key": key})
    assert response.status_code == 201 and response.json()["role"] == "reviewer"
    other = sorted(reporting_roster.reviewers)[1]
    assert (
        reporting_client.post("/api/v1/sessions", json={"reviewer": other, "key": key}).status_code
        == 401
    )


def test_a_held_result_is_decided_in_a_new_row(
    reporting_settings, reporting_db_url, reporting_roster, reporting_close
):
    """Held (202, findings) → in the queue with the stages and the chair → corrected with a
    reason: a new row by the reviewer, a decision row, the held row unchanged."""
    close = reporting_close("P0010", reporting_roster.delegates["P0010"], seed=10)
    with app(reporting_settings, db_url=reporting_db_url, hold_impossible=True) as client:
        chair = bearer(client, {"precinct_id": "P0010", "pin": reporting_roster.pins["P0010"]})
        post(client, chair, "P0010", "open", {"attendance": close["attendance"]}, "p10-open")
        held = post(client, chair, "P0010", "close", impossible(close), "p10-close")
        assert held.status_code == 202 and held.json()["review"] == "held"
        receipt = held.json()["receipt_id"]
        hq = reviewer(client, reporting_roster)
        queue = client.get("/api/v1/admin/reviews", headers=hq).json()
        (item,) = queue["held"]
        corrected = decide(client, hq, receipt, "correct", "called the chair back", close)
        again = decide(client, hq, receipt, "correct", "called the chair back", close)
        results = client.get("/api/v1/results").json()
        export = client.get("/api/v1/admin/export", headers=ADMIN).json()
    assert queue["waiting"] == 1 and item["kind"] == "breaks-rules"
    assert "final-above-first" in {f["id"] for f in item["receipt"]["findings"]}
    assert item["stages"] == {"open": {"attendance": close["attendance"]}}
    assert item["body"] == impossible(close) and item["chair_phone"]
    assert corrected.status_code == 201, corrected.text
    assert again.status_code == 200 and again.json() == corrected.json()
    decision = corrected.json()
    assert (decision["decision"], decision["decided_by"]) == ("corrected", "reviewer:HQ 01")
    assert decision["correction"]["entered_by"] == "reviewer:HQ 01"
    assert results["precincts_reporting"] == 1
    rows = {r["receipt_id"]: r for r in export["submissions"]}
    assert rows[receipt]["body"] == impossible(close) and rows[receipt]["review"] == "corrected"
    assert rows[receipt]["verified_at"] is None
    fixed = rows[decision["correction_id"]]
    assert fixed["correction_of"] == receipt and fixed["body"]["correction_reason"]
    assert [d["reason"] for d in export["decisions"]] == ["called the chair back"]


def test_an_incomplete_result_is_held_and_cannot_be_approved_as_it_is(
    reporting_settings, reporting_roster, reporting_close
):
    """The 2020 app delivered results without their delegate awards: 422 missing-field by
    default; held with --hold-impossible, where only a correction can put it in force."""
    close = reporting_close("P0011", reporting_roster.delegates["P0011"], seed=11)
    bare = {
        **close,
        "groups": [{k: v for k, v in g.items() if k != "delegates"} for g in close["groups"]],
    }
    with app(reporting_settings) as client:
        chair = bearer(client, {"precinct_id": "P0011", "pin": reporting_roster.pins["P0011"]})
        refused = post(client, chair, "P0011", "close", bare, "p11-close")
    with app(reporting_settings, hold_impossible=True) as client:
        chair = bearer(client, {"precinct_id": "P0011", "pin": reporting_roster.pins["P0011"]})
        held = post(client, chair, "P0011", "close", bare, "p11-close")
        hq = reviewer(client, reporting_roster)
        kind = client.get("/api/v1/admin/reviews", headers=hq).json()["held"][0]["kind"]
        approved = decide(client, hq, held.json()["receipt_id"], "approve")
        corrected = decide(client, hq, held.json()["receipt_id"], "correct", result=close)
    assert refused.status_code == 422 and "missing-field" in {
        r["id"] for r in refused.json()["rules"]
    }
    assert held.status_code == 202 and kind == "incomplete"
    assert approved.status_code == 422 and approved.json()["type"] == "incomplete-result"
    assert corrected.status_code == 201


def test_what_a_decision_cannot_do(reporting_settings, reporting_roster, reporting_close):
    close = reporting_close("P0012", reporting_roster.delegates["P0012"], seed=12)
    with app(reporting_settings, hold_impossible=True) as client:
        chair = bearer(client, {"precinct_id": "P0012", "pin": reporting_roster.pins["P0012"]})
        receipt = post(client, chair, "P0012", "close", impossible(close), "p12-close").json()[
            "receipt_id"
        ]
        hq = reviewer(client, reporting_roster)
        wrong_stage = decide(client, hq, receipt, "correct", result={"attendance": 5})
        still_broken = decide(client, hq, receipt, "correct", result=impossible(close))
        no_fallback = decide(client, hq, receipt, "reject")
        unknown = decide(client, hq, "ab" * 16, "approve")
        opened = post(client, chair, "P0012", "open", {"attendance": 9}, "p12-open").json()
        not_held = decide(client, hq, opened["receipt_id"], "approve")
    assert wrong_stage.status_code == 422 and wrong_stage.json()["type"] == "wrong-stage"
    assert still_broken.status_code == 422 and still_broken.json()["type"] == "impossible-result"
    assert (
        no_fallback.status_code == 409 and no_fallback.json()["type"] == "nothing-to-fall-back-to"
    )
    assert unknown.status_code == 404
    assert not_held.status_code == 409 and not_held.json()["type"] == "not-held"


def test_a_rejected_correction_leaves_the_version_before(
    reporting_settings, reporting_roster, reporting_close
):
    close = reporting_close("P0013", reporting_roster.delegates["P0013"], seed=13)
    other = reporting_close("P0013", reporting_roster.delegates["P0013"], seed=14)
    with app(reporting_settings, results_ttl_s=0.0) as client:
        chair = bearer(client, {"precinct_id": "P0013", "pin": reporting_roster.pins["P0013"]})
        first = post(client, chair, "P0013", "close", close, "p13-close").json()
        fix = {**other, "correction_reason": "recounted"}
        held = post(
            client, chair, "P0013", "close", fix, "p13-fix-1", **{"If-Match": first["receipt_id"]}
        )
        hq = reviewer(client, reporting_roster)
        rejected = decide(
            client, hq, held.json()["receipt_id"], "reject", "worksheet says otherwise"
        )
        page = client.get("/api/v1/precincts/P0013").json()["stages"]["close"]
        again = post(
            client,
            chair,
            "P0013",
            "close",
            {**fix, "correction_reason": "again"},
            "p13-fix-2",
            **{"If-Match": first["receipt_id"]},
        )
    assert held.status_code == 202 and rejected.status_code == 201
    assert page["body"] == close and page["held_for_review"] == 0
    assert again.status_code == 202  # a new correction may be sent once the last was decided


def test_batches_are_released_on_command_only(
    reporting_settings, reporting_db_url, reporting_roster, reporting_close
):
    closes = {
        p: reporting_close(p, reporting_roster.delegates[p], seed=i)
        for i, p in enumerate(["P0020", "P0021"])
    }
    with app(reporting_settings) as client:
        assert (
            client.post("/api/v1/admin/releases", json={"reason": "now"}, headers=ADMIN).status_code
            == 409
        )
    with app(
        reporting_settings, db_url=reporting_db_url, release_mode="batches", results_ttl_s=0.0
    ) as client:
        hotline = bearer(client, reporting_roster.operator_login())
        for p, body in closes.items():
            assert post(client, hotline, p, "close", body, f"rel-{p}").status_code == 201
        before = client.get("/api/v1/results").json()["precincts_reporting"]
        page = client.get("/api/v1/precincts/P0020").json()
        hq = reviewer(client, reporting_roster)
        refused = client.post("/api/v1/admin/releases", json={"reason": "now"}, headers=hq)
        released = client.post(
            "/api/v1/admin/releases", json={"reason": "first batch"}, headers=ADMIN
        )
        again = client.post("/api/v1/admin/releases", json={"reason": "nothing new"}, headers=ADMIN)
        after = client.get("/api/v1/results").json()["precincts_reporting"]
        listed = client.get("/api/v1/admin/releases", headers=hq).json()
    assert before == 0 and page["status"] == "not-opened"
    assert refused.status_code == 401  # only HQ's admin key releases
    assert released.status_code == 201 and released.json()["published"] == 2
    assert again.json()["published"] == 0 and after == 2
    assert listed["policy"]["mode"] == "batches" and len(listed["releases"]) == 2


def test_a_scheduled_batch_is_released_once_when_due(
    reporting_settings, reporting_db_url, reporting_roster, reporting_close
):
    """At 600x, 12 night minutes pass in 1.2 s: the batch set for 19:12 goes out once."""
    body = reporting_close("P0022", reporting_roster.delegates["P0022"], seed=22)
    settings = dict(
        db_url=reporting_db_url,
        release_mode="batches",
        release_at_min=[12.0],
        night_compress=600.0,
        results_ttl_s=0.0,
    )
    with app(reporting_settings, **settings) as client:
        hotline = bearer(client, reporting_roster.operator_login())
        post(client, hotline, "P0022", "close", body, "sched-key-1")
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and not client.get("/api/v1/results").json()["precincts_reporting"]
        ):
            time.sleep(0.2)
        time.sleep(1.5)  # the workers keep looking: still one release
        releases = client.get("/api/v1/admin/releases", headers=ADMIN).json()["releases"]
    assert [(r["released_by"], r["scheduled_for_min"], r["published"]) for r in releases] == [
        ("schedule", 12.0, 1)
    ]


def test_progress_counts_the_night(reporting_settings, reporting_roster, reporting_close):
    closes = {
        p: reporting_close(p, reporting_roster.delegates[p], seed=i)
        for i, p in enumerate(["P0030", "P0031", "P0032"])
    }
    with app(
        reporting_settings, release_mode="batches", results_ttl_s=0.0, hold_impossible=True
    ) as client:
        hotline = bearer(client, reporting_roster.operator_login())
        post(client, hotline, "P0030", "close", closes["P0030"], "progress-30")
        post(client, hotline, "P0031", "close", impossible(closes["P0031"]), "progress-31")
        post(client, hotline, "P0032", "open", {"attendance": 40}, "progress-32")
        client.post("/api/v1/admin/releases", json={"reason": "first batch"}, headers=ADMIN)
        hq = reviewer(client, reporting_roster)
        progress = client.get("/api/v1/admin/progress", headers=hq)
        unchanged = client.get(
            "/api/v1/admin/progress", headers={**hq, "If-None-Match": progress.headers["ETag"]}
        )
    figures = progress.json()
    assert (figures["received"], figures["verified"], figures["published"]) == (2, 1, 1)
    assert figures["queue"]["waiting"] == 1 and figures["queue"]["oldest_since"]
    missing = {p["precinct_id"]: p["status"] for c in figures["missing"] for p in c["precincts"]}
    assert len(missing) == len(reporting_roster.pins) - 2 and missing["P0032"] == "open"
    assert sum(c["missing"] for c in figures["missing"]) == len(missing)
    assert len(figures["series"]["received"]) == 2 and figures["night"]["minute"] >= 0
    assert unchanged.status_code in (200, 304)  # 304 unless a night minute ticked over between


def test_refusals_are_counted_by_rule(reporting_client, reporting_roster, reporting_close):
    close = reporting_close("P0033", reporting_roster.delegates["P0033"], seed=33)
    hotline = bearer(reporting_client, reporting_roster.operator_login())
    for i in range(3):
        assert (
            post(
                reporting_client, hotline, "P0033", "close", impossible(close), f"refused-{i}"
            ).status_code
            == 422
        )
    figures = reporting_client.get("/api/v1/admin/progress", headers=ADMIN).json()
    counts = {c["rule"]: c["refused"] for c in figures["refused"]}
    assert figures["refused_submissions"] == 3 and counts["final-above-first"] == 3
    exported = reporting_client.get("/api/v1/admin/export", headers=ADMIN).json()
    assert len(exported["refusals"]) == 3 and exported["submissions"] == []


# --- the plan, the night clock, the terminal: hand-made cases ----------------------------


CURVES = """minute,received_mean,received_p5,received_p95,published_mean,published_p5,published_p95
0,0,0,0,0,0,0
10,0.1,0.05,0.15,0,0,0
20,0.2,0.15,0.25,0,0,0
30,0.3,0.25,0.35,0.3,0.3,0.3
"""


@pytest.fixture
def plan_folder(tmp_path: Path) -> Path:
    (tmp_path / "curves.csv").write_text(CURVES)
    (tmp_path / "summary.json").write_text(json.dumps({"scenario": "Hand", "replications": 3}))
    return tmp_path


def test_the_plan_is_read_as_steps(plan_folder):
    plan = read_plan(plan_folder)
    assert (plan.name, plan.nights) == ("Hand", 3)
    assert plan.received.at(-5) == (0.0, 0.0, 0.0)
    assert plan.received.at(25) == (0.15, 0.2, 0.25)  # the row at 20 holds until 30
    assert plan.published.at(29.9) == (0.0, 0.0, 0.0) and plan.published.at(30) == (0.3,) * 3
    assert plan.received.at(500) == (0.25, 0.3, 0.35)


@pytest.mark.parametrize(
    ("actual", "status", "precincts", "minutes"),
    [
        (20, "on plan", 0, 0.0),  # exactly the mean at 25 (rows at 20: 15 / 20 / 25 of 100)
        (15, "on plan", 5, 5.0),  # on the band's low edge: short of the mean since minute 20
        (10, "behind", 10, 5.0),  # the plan's mean passed 10 at minute 20
        (0, "behind", 20, 15.0),  # nothing happened: behind since the mean first expected one
        (26, "ahead", 0, 0.0),
    ],
)
def test_standing_against_the_plan(plan_folder, actual, status, precincts, minutes):
    found = standing(read_plan(plan_folder).received, 100, "received", 25.0, actual)
    assert (found.status, found.behind_precincts, found.behind_minutes) == (
        status,
        precincts,
        minutes,
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("minute,received_mean\n0,0\n", "missing published_mean"),
        (CURVES.replace("0.3,0.25", "lots,0.25"), ":5: received_mean 'lots' is not a number"),
        (CURVES.replace("0.35", "35"), ":5: received_p95 35.0 is not a share"),
        (CURVES.replace("\n30,", "\n5,"), "minutes are not increasing"),
    ],
)
def test_a_bad_plan_names_the_file_and_the_problem(tmp_path, text, problem):
    (tmp_path / "curves.csv").write_text(text)
    with pytest.raises(PlanError, match=problem) as error:
        read_plan(tmp_path)
    assert str(tmp_path / "curves.csv") in str(error.value)
    with pytest.raises(PlanError, match="cannot read"):
        read_plan(tmp_path / "nowhere")


def test_times_of_night():
    assert [night_minute(t) for t in ("21:00", "+2h", "90min", "90", "01:30", "18:00")] == [
        120.0, 120.0, 90.0, 90.0, 390.0, -60.0,
    ]  # fmt: skip
    assert [clock_text(m) for m in (125, 390, 1500)] == ["21:05", "01:30 +1d", "20:00 +1d"]
    with pytest.raises(ValueError, match="not a time of night"):
        night_minute("soon")
    schedule = Schedule((120.0, 240.0), every_min=60.0)
    assert [schedule.last_due(m) for m in (100, 120, 299, 300, 431)] == [None, 120, 240, 300, 420]
    assert [schedule.next_after(m) for m in (0, 120, 240, 300)] == [120, 240, 300, 360]
    assert Schedule((120.0,)).next_after(120) is None


def test_watch_says_behind_by_how_much_and_who_is_missing(plan_folder):
    chair = MissingPrecinct(
        precinct_id="P0007", precinct_name="Ames 2", chair_name="Ann Lee",
        chair_phone="515-555-0101", status="open",
    )  # fmt: skip
    figures = Progress(
        as_of="2020-02-04T02:25:00+00:00",
        precincts_total=100,
        night=NightClock(start="serve", started_at=None, compress=1.0, minute=25.0),
        release=ReleasePolicy(mode="continuous", at_min=[], every_min=None, next_min=None),
        received=10,
        verified=9,
        published=9,
        series=ProgressSeries(received=[], verified=[], published=[]),
        queue=QueueState(
            waiting=1, oldest_since="2020-02-04T02:20:30+00:00", oldest_night_minute=20.5
        ),
        missing=[MissingCounty(county="Story", missing=90, precincts=[chair])],
        refused=[RuleCount(rule="final-above-first", refused=4)],
        refused_submissions=4,
    )
    text, behind = reading(figures, read_plan(plan_folder), "http://127.0.0.1:1", counties=5)
    assert behind
    assert "received      10 of 100   plan 20 [15, 25]: BEHIND plan by 10 precincts, 5 min" in text
    assert "published      9 of 100   plan 0 [0, 0]: ahead" in text
    assert "review queue: 1 waiting, the oldest for 4 min 30 s" in text
    assert "refused by rule: final-above-first 4 (4 submissions)" in text
    assert "Story           90  P0007 Ann Lee 515-555-0101 (open); and 89 more" in text
