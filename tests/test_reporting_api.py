"""API v1 in-process: every endpoint and error path of the reference service (SQLite)."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time

import pytest
from fastapi.testclient import TestClient

from reporting.app import create_app
from reporting.auth import Principal, TokenSigner
from reporting.faults import FaultSettings
from reporting.ledger import canonical_json
from reporting.models import SPACES

P1, P2 = "P0001", "P0002"


def login(client: TestClient, pins: dict[str, str], precinct: str = P1) -> dict[str, str]:
    response = client.post(
        "/api/v1/sessions", json={"precinct_id": precinct, "pin": pins[precinct]}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


OPERATORS = {}


def operator(client: TestClient, index: int = 0) -> dict[str, str]:
    response = client.post("/api/v1/sessions", json=OPERATORS["roster"].operator_login(index))
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture(autouse=True)
def _operators(reporting_roster):
    OPERATORS["roster"] = reporting_roster


def submit(client, auth, stage, body, key, precinct=P1):
    return client.post(
        f"/api/v1/precincts/{precinct}/{stage}",
        json=body,
        headers={**auth, "Idempotency-Key": key},
    )


def first_of(close: dict) -> dict:
    return {"groups": [{"name": g["name"], "first": g["first"]} for g in close["groups"]]}


def export(client: TestClient) -> list[dict]:
    response = client.get(
        "/api/v1/admin/export", headers={"Authorization": "Bearer test-admin-key"}
    )
    assert response.status_code == 200
    return response.json()["submissions"]


@pytest.fixture
def chair(reporting_client, reporting_roster):
    return login(reporting_client, reporting_roster.pins)


@pytest.fixture
def close_p1(reporting_close, reporting_roster):
    return reporting_close(P1, reporting_roster.delegates[P1], seed=1)


# --- sessions -----------------------------------------------------------------------------


def test_chair_signs_in_with_roster_pin(reporting_client, reporting_roster):
    response = reporting_client.post(
        "/api/v1/sessions", json={"precinct_id": P1, "pin": reporting_roster.pins[P1]}
    )
    assert response.status_code == 201
    session = response.json()
    assert session["role"] == "chair" and session["subject"] == P1 and session["token"]


def wrong_code(pins: dict[str, str], precinct: str) -> str:
    return "ZZZZZ-ZZZZZ" if pins[precinct] != "ZZZZZ-ZZZZZ" else "YYYYY-YYYYY"


@pytest.mark.parametrize(
    "body",
    [
        {"precinct_id": P1, "pin": "wrong"},
        {"precinct_id": "P9999", "pin": "12345-67890"},
        {"operator": "Hotline 01", "key": "wrong-operator-key"},
        {"operator": "Somebody Else", "key": "wrong-operator-key"},
    ],
)
def test_bad_credentials_are_401(reporting_client, reporting_roster, body):
    if body.get("pin") == "wrong":
        body = {**body, "pin": wrong_code(reporting_roster.pins, P1)}
    response = reporting_client.post("/api/v1/sessions", json=body)
    assert response.status_code == 401
    assert response.json()["type"] == "bad-credentials"
    assert response.headers["content-type"] == "application/problem+json"


def test_codes_read_out_loosely_still_match(reporting_client, reporting_roster):
    code = reporting_roster.pins[P1]
    loose = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    response = reporting_client.post("/api/v1/sessions", json={"precinct_id": P1, "pin": loose})
    assert response.status_code == 201, response.text


def test_wrong_codes_slow_down_that_client_only(reporting_client, reporting_roster):
    wrong = wrong_code(reporting_roster.pins, P2)
    statuses = [
        reporting_client.post("/api/v1/sessions", json={"precinct_id": P2, "pin": wrong})
        for _ in range(5)
    ]
    assert [r.status_code for r in statuses] == [401, 401, 401, 429, 429]
    assert statuses[3].json()["type"] == "slow-down"
    assert int(statuses[3].headers["Retry-After"]) >= 1
    # The chair, signing in from another address, is not held up.
    elsewhere = TestClient(reporting_client.app, client=("192.0.2.44", 50000))
    right = {"precinct_id": P2, "pin": reporting_roster.pins[P2]}
    assert elsewhere.post("/api/v1/sessions", json=right).status_code == 201


def test_a_good_code_clears_earlier_failures(reporting_client, reporting_roster):
    wrong = wrong_code(reporting_roster.pins, P2)
    for _ in range(2):
        reporting_client.post("/api/v1/sessions", json={"precinct_id": P2, "pin": wrong})
    login(reporting_client, reporting_roster.pins, P2)
    again = [
        reporting_client.post(
            "/api/v1/sessions", json={"precinct_id": P2, "pin": wrong}
        ).status_code
        for _ in range(3)
    ]
    assert again == [401] * 3


def test_sign_ins_are_rate_limited_per_client(reporting_settings, reporting_roster):
    settings = reporting_settings.model_copy(update={"login_rate": 0.01, "login_burst": 3})
    with TestClient(create_app(settings)) as client:
        body = {"precinct_id": P1, "pin": reporting_roster.pins[P1]}
        statuses = [client.post("/api/v1/sessions", json=body).status_code for _ in range(5)]
    assert statuses == [201, 201, 201, 429, 429]


def test_operator_signs_in_with_their_own_key(reporting_client, reporting_roster):
    login = reporting_roster.operator_login(1)
    response = reporting_client.post("/api/v1/sessions", json=login)
    assert response.status_code == 201
    assert response.json()["role"] == "operator"
    assert response.json()["subject"] == login["operator"]
    # Another operator's name with this key is refused: names are not self-chosen.
    other = {**login, "operator": reporting_roster.operator_login(0)["operator"]}
    assert reporting_client.post("/api/v1/sessions", json=other).status_code == 401


# --- strict parsing and limits -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"attendance": 10, "extra": 1},
        {"attendance": "10"},
        {"attendance": True},
        {"attendance": 10.5},
        {"attendance": 0},
        {"attendance": None},
        {},
        [],
        "attendance",
    ],
)
def test_strict_json_refuses_bad_bodies_with_422(reporting_client, chair, body):
    response = submit(reporting_client, chair, "open", body, "strict-key-1")
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "invalid-request" and problem["errors"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"attendance": 1', "application/json"),  # truncated
        (b"[" * 5000 + b"]" * 5000, "application/json"),  # deeply nested
        (b'{"attendance": 1e400}', "application/json"),
        (b'{"attendance": NaN}', "application/json"),
        (b'{"attendance": 1' + b"0" * 4000 + b"}", "application/json"),  # huge integer
        (b'{"attendance": "\xff"}', "application/json"),  # not UTF-8
        (b"", "application/json"),
        (b'{"attendance": 5}', "text/plain"),
        (b"attendance=5", "application/x-www-form-urlencoded"),
    ],
)
def test_hostile_bodies_are_422_not_500(reporting_client, chair, content, content_type):
    response = reporting_client.post(
        f"/api/v1/precincts/{P1}/open",
        content=content,
        headers={**chair, "Idempotency-Key": "hostile-1", "Content-Type": content_type},
    )
    assert response.status_code == 422
    assert response.json()["type"] == "invalid-request"


def test_a_group_listed_twice_is_422(reporting_client, chair):
    body = {"groups": [{"name": "Biden", "first": 3}, {"name": "Biden", "first": 4}]}
    response = submit(reporting_client, chair, "first-alignment", body, "dupe-key-1")
    assert response.status_code == 422
    assert [r["id"] for r in response.json()["rules"]] == ["duplicate-report"]


def test_whole_floats_count_as_integers(reporting_client, chair):
    response = submit(reporting_client, chair, "open", {"attendance": 10.0}, "float-key-1")
    assert response.status_code == 201
    assert reporting_client.get(f"/api/v1/precincts/{P1}").json()["stages"]["open"]["body"] == {
        "attendance": 10
    }


def test_idempotency_key_is_required(reporting_client, chair):
    response = reporting_client.post(
        f"/api/v1/precincts/{P1}/open", json={"attendance": 5}, headers=chair
    )
    assert response.status_code == 422
    assert any("Idempotency-Key" in e["loc"] for e in response.json()["errors"])


def test_oversized_body_is_413(reporting_client, chair):
    groups = [{"name": f"Group {i}", "first": i} for i in range(2000)]
    response = submit(reporting_client, chair, "first-alignment", {"groups": groups}, "big-key-1")
    assert response.status_code == 413
    assert response.json()["type"] == "body-too-large"


def test_unknown_route_is_a_problem_document(reporting_client):
    response = reporting_client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.json()["status"] == 404


# --- authorisation -----------------------------------------------------------------------


def test_submissions_need_a_token(reporting_client):
    response = submit(reporting_client, {}, "open", {"attendance": 5}, "no-token-1")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_forged_and_expired_tokens_are_401(reporting_client, reporting_settings):
    forged = TokenSigner.from_secret("another-secret", 60).issue(Principal("operator", "mallory"))[
        0
    ]
    expired = TokenSigner.from_secret(reporting_settings.secret, 60).issue(
        Principal("chair", P1), now=time.time() - 3600
    )[0]
    for token in (forged, expired, "not-a-token", "a.b"):
        auth = {"Authorization": f"Bearer {token}"}
        assert (
            submit(reporting_client, auth, "open", {"attendance": 5}, "bad-tok-1").status_code
            == 401
        )


def test_the_spaces_a_reason_may_not_be_made_of_are_what_strip_strips():
    """The contract's pattern spells the spaces out; it must name exactly what str.strip
    strips, or the contract and the service would disagree on what a reason is."""
    spaces = re.compile(f"[{SPACES}]")
    listed = {c for c in map(chr, range(sys.maxunicode + 1)) if spaces.fullmatch(c)}
    assert listed == {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}
    assert len(listed) == 29


def test_a_chair_reports_only_for_their_precinct(reporting_client, chair):
    response = submit(reporting_client, chair, "open", {"attendance": 5}, "other-key-1", P2)
    assert response.status_code == 403
    assert response.json()["type"] == "wrong-precinct"


def test_unknown_precinct_is_404(reporting_client):
    auth = operator(reporting_client)
    response = submit(reporting_client, auth, "open", {"attendance": 5}, "key-404-1", "P9999")
    assert response.status_code == 404


def test_submissions_are_rate_limited_per_login(reporting_settings, reporting_roster):
    settings = reporting_settings.model_copy(update={"submit_rate": 0.01, "submit_burst": 2})
    with TestClient(create_app(settings)) as client:
        auth = login(client, reporting_roster.pins)
        statuses = [
            submit(client, auth, "open", {"attendance": 5}, f"rate-key-{i}").status_code
            for i in range(3)
        ]
    assert statuses == [201, 200, 429]


# --- staged reporting, idempotency, corrections ------------------------------------------


def test_three_stages_are_accepted_with_receipts(reporting_client, chair, close_p1):
    bodies = [
        ("open", {"attendance": close_p1["attendance"]}),
        ("first-alignment", first_of(close_p1)),
        ("close", close_p1),
    ]
    for i, (stage, body) in enumerate(bodies):
        response = submit(reporting_client, chair, stage, body, f"stage-key-{i}")
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert receipt["stage"] == stage and receipt["precinct_id"] == P1
        assert receipt["entered_by"] == f"chair:{P1}" and receipt["flags"] == []
        expected = hashlib.sha256(canonical_json(body).encode()).hexdigest()
        assert receipt["body_sha256"] == expected
    status = reporting_client.get(f"/api/v1/precincts/{P1}").json()
    assert status["status"] == "closed"
    assert status["stages"]["close"]["body"] == close_p1


def test_replay_returns_the_same_receipt(reporting_client, chair):
    first = submit(reporting_client, chair, "open", {"attendance": 50}, "replay-key-1")
    again = submit(reporting_client, chair, "open", {"attendance": 50}, "replay-key-1")
    new_key = submit(reporting_client, chair, "open", {"attendance": 50}, "replay-key-2")
    assert first.status_code == 201 and again.status_code == 200 and new_key.status_code == 200
    assert again.json() == first.json() == new_key.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(export(reporting_client)) == 1


def test_a_different_body_for_a_reported_stage_is_409(reporting_client, chair):
    first = submit(reporting_client, chair, "open", {"attendance": 50}, "conflict-key-1")
    other = submit(reporting_client, chair, "open", {"attendance": 51}, "conflict-key-2")
    assert other.status_code == 409
    assert other.json()["type"] == "already-reported"
    assert other.json()["receipt_id"] == first.json()["receipt_id"]


def test_reusing_a_key_for_another_body_is_409(reporting_client, chair):
    submit(reporting_client, chair, "open", {"attendance": 50}, "reused-key-1")
    body = {"groups": [{"name": "Biden", "first": 20}]}
    response = submit(reporting_client, chair, "first-alignment", body, "reused-key-1")
    assert response.status_code == 409
    assert response.json()["type"] == "idempotency-key-reused"


def test_a_correction_appends_and_keeps_the_audit_trail(reporting_client, chair):
    original = submit(reporting_client, chair, "open", {"attendance": 50}, "corr-key-1").json()
    body = {"attendance": 52, "correction_reason": "two late sign-ins missed"}
    response = submit(
        reporting_client,
        {**chair, "If-Match": f'"{original["receipt_id"]}"'},
        "open",
        body,
        "corr-key-2",
    )
    assert response.status_code == 201
    correction = response.json()
    assert correction["correction_of"] == original["receipt_id"]
    rows = export(reporting_client)
    assert [r["body"]["attendance"] for r in rows] == [50, 52]
    assert rows[0]["corrected_by"] == correction["receipt_id"] and rows[1]["corrected_by"] is None
    status = reporting_client.get(f"/api/v1/precincts/{P1}").json()
    assert status["stages"]["open"]["body"]["attendance"] == 52
    assert status["stages"]["open"]["corrections"] == 1


def test_correcting_an_unreported_stage_is_409(reporting_client, chair):
    body = {"attendance": 52, "correction_reason": "typo"}
    response = submit(reporting_client, chair, "open", body, "corr-none-1")
    assert response.status_code == 409
    assert response.json()["type"] == "nothing-to-correct"


def test_operator_enters_a_phoned_result(reporting_client, close_p1):
    auth = operator(reporting_client, 2)
    response = submit(reporting_client, auth, "close", close_p1, "phoned-1")
    assert response.status_code == 201
    assert response.json()["entered_by"] == "operator:Hotline 03"


# --- the caucus rules --------------------------------------------------------------------


def test_an_impossible_result_is_422_naming_the_rules(reporting_client, chair, close_p1):
    broken = json.loads(json.dumps(close_p1))
    broken["groups"][0]["final"] += 1000  # more final than first supporters
    response = submit(reporting_client, chair, "close", broken, "impossible-1")
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "impossible-result"
    ids = {rule["id"] for rule in problem["rules"]}
    assert "final-above-first" in ids
    assert export(reporting_client) == []


def test_stages_must_agree(reporting_client, chair, close_p1):
    attendance = close_p1["attendance"]
    submit(reporting_client, chair, "open", {"attendance": attendance + 5}, "agree-key-1")
    first = first_of(close_p1)
    first["groups"][0]["first"] += 1
    submit(reporting_client, chair, "first-alignment", first, "agree-key-2")
    response = submit(reporting_client, chair, "close", close_p1, "agree-key-3")
    assert response.status_code == 422
    ids = {rule["id"] for rule in response.json()["rules"]}
    assert {"attendance-changed", "first-alignment-changed"} <= ids


def test_first_alignment_above_attendance_is_422(reporting_client, chair):
    submit(reporting_client, chair, "open", {"attendance": 10}, "above-key-1")
    body = {"groups": [{"name": "Biden", "first": 8}, {"name": "Warren", "first": 8}]}
    response = submit(reporting_client, chair, "first-alignment", body, "above-key-2")
    assert response.status_code == 422
    assert [r["id"] for r in response.json()["rules"]] == ["first-above-attendance"]


def test_hold_mode_holds_an_impossible_result_for_review(
    reporting_settings, reporting_roster, close_p1
):
    settings = reporting_settings.model_copy(update={"hold_impossible": True})
    broken = json.loads(json.dumps(close_p1))
    broken["groups"][0]["final"] += 1000
    with TestClient(create_app(settings)) as client:
        auth = login(client, reporting_roster.pins)
        response = submit(client, auth, "close", broken, "flag-key-1")
        again = submit(client, auth, "close", broken, "flag-key-2")
        other = submit(client, auth, "close", close_p1, "flag-key-3")
    assert response.status_code == 202 and response.json()["review"] == "held"
    assert "final-above-first" in response.json()["flags"]
    assert "final-above-first" in {f["id"] for f in response.json()["findings"]}
    assert again.status_code == 200 and again.json()["receipt_id"] == response.json()["receipt_id"]
    assert other.status_code == 409 and other.json()["type"] == "review-pending"


# --- reading -----------------------------------------------------------------------------


def test_results_total_the_final_reports(reporting_client, reporting_roster, reporting_close):
    auth = operator(reporting_client)
    bodies = {
        p: reporting_close(p, reporting_roster.delegates[p], seed=i)
        for i, p in enumerate(["P0001", "P0002", "P0003"])
    }
    for p, body in bodies.items():
        assert (
            submit(reporting_client, auth, "close", body, f"tot-{p}", precinct=p).status_code == 201
        )
    time.sleep(1.05)  # the board's cache lives one second
    results = reporting_client.get("/api/v1/results").json()
    assert results["precincts_reporting"] == 3
    assert results["precincts_total"] == len(reporting_roster.pins)
    assert results["percent_reporting"] == round(300 / len(reporting_roster.pins), 2)
    delegates = {c["name"]: c["delegates"] for c in results["candidates"]}
    for name in delegates:
        expected = sum(
            g["delegates"] for b in bodies.values() for g in b["groups"] if g["name"] == name
        )
        assert delegates[name] == expected
    assert sum(delegates.values()) == sum(reporting_roster.delegates[p] for p in bodies)


def test_results_are_cacheable(reporting_client):
    response = reporting_client.get("/api/v1/results")
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    cached = reporting_client.get("/api/v1/results", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""


def test_precinct_status(reporting_client, reporting_roster):
    response = reporting_client.get(f"/api/v1/precincts/{P2}")
    assert response.status_code == 200
    status = response.json()
    assert status["status"] == "not-opened" and status["stages"] == {}
    assert status["delegates_to_elect"] == reporting_roster.delegates[P2]
    assert reporting_client.get("/api/v1/precincts/P9999").status_code == 404


def test_export_needs_the_admin_key(reporting_client):
    assert reporting_client.get("/api/v1/admin/export").status_code == 401
    wrong = {"Authorization": "Bearer test-operator-key"}
    assert reporting_client.get("/api/v1/admin/export", headers=wrong).status_code == 401


def test_export_as_csv(reporting_client, chair):
    receipt = submit(reporting_client, chair, "open", {"attendance": 50}, "csv-key-1").json()
    response = reporting_client.get(
        "/api/v1/admin/export?format=csv", headers={"Authorization": "Bearer test-admin-key"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    header, row = response.text.strip().splitlines()
    assert header.startswith("receipt_id,precinct_id,stage,idempotency_key,body_sha256")
    assert row.startswith(f"{receipt['receipt_id']},{P1},open,csv-key-1,{receipt['body_sha256']}")


def test_livez_needs_no_storage(reporting_client):
    assert reporting_client.get("/livez").json() == {"status": "alive"}


def test_healthz_and_metrics(reporting_client, chair):
    assert reporting_client.get("/healthz").json() == {
        "status": "ok",
        "storage": "sqlite",
        "precincts": 60,
        "test_roster": True,
        "faults": None,
    }
    submit(reporting_client, chair, "open", {"attendance": 50}, "metric-key-1")
    text = reporting_client.get("/metrics").text
    assert 'caucus_submissions_total{outcome="accepted",stage="open"}' in text
    assert 'route="/api/v1/precincts/{precinct_id}/open"' in text


def test_results_page_shows_the_numbers(reporting_client):
    page = reporting_client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="percent">0.0</span>% of precincts reporting' in page.text


# --- fault injection ---------------------------------------------------------------------


def test_faults_are_off_by_default(reporting_settings):
    assert not reporting_settings.faults.enabled


def test_error_faults_are_503_and_loud(reporting_settings, caplog):
    settings = reporting_settings.model_copy(update={"faults": FaultSettings(error_rate=1.0)})
    with caplog.at_level("WARNING"), TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/results")
        health = client.get("/healthz").json()
    assert response.status_code == 503 and response.headers["X-Fault-Injected"] == "error"
    assert health["status"] == "degraded" and health["faults"]["error_rate"] == 1.0
    assert "FAULT INJECTION IS ON" in caplog.text


def test_outage_window(reporting_settings):
    settings = reporting_settings.model_copy(update={"faults": FaultSettings(outages=["0+600"])})
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/results")
        assert client.get("/healthz").json()["faults"]["in_outage"] is True
    assert response.status_code == 503 and response.headers["X-Fault-Injected"] == "outage"


def test_latency_fault(reporting_settings):
    settings = reporting_settings.model_copy(update={"faults": FaultSettings(latency_ms=200)})
    with TestClient(create_app(settings)) as client:
        started = time.perf_counter()
        assert client.get("/api/v1/results").status_code == 200
    assert time.perf_counter() - started >= 0.2


def test_dropped_writes_are_acknowledged_but_not_stored(reporting_settings, reporting_roster):
    settings = reporting_settings.model_copy(update={"faults": FaultSettings(drop_rate=1.0)})
    with TestClient(create_app(settings)) as client:
        response = submit(
            client, login(client, reporting_roster.pins), "open", {"attendance": 9}, "drop-key-1"
        )
        assert response.status_code == 201 and response.headers["X-Fault-Injected"] == "drop"
        assert export(client) == []


def test_bad_fault_window_is_refused():
    with pytest.raises(ValueError, match="START\\+DURATION"):
        FaultSettings(outages=["soon"])


def test_outages_can_count_from_the_first_request(reporting_settings):
    faults = FaultSettings(outages=["0+600"], start="first-request")
    settings = reporting_settings.model_copy(update={"faults": faults})
    with TestClient(create_app(settings)) as client:
        before = client.get("/healthz").json()["faults"]
        first = client.get("/api/v1/results")
        after = client.get("/healthz").json()["faults"]
    assert before["clock_started"] is None and before["in_outage"] is False
    assert first.status_code == 503 and first.headers["X-Fault-Injected"] == "outage"
    assert after["clock_started"] is not None and after["in_outage"] is True


def test_bad_fault_start_is_refused():
    with pytest.raises(ValueError, match="first-request"):
        FaultSettings(start="when the leak starts")


def _answer(response) -> tuple:
    """Status, the headers that matter and the body, without what differs from run to run."""
    headers = ("content-type", "allow", "idempotent-replayed", "www-authenticate", "location")
    body = response.json() if response.content else None
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in ("receipt_id", "accepted_at")}
    return response.status_code, {h: response.headers.get(h) for h in headers}, body


def test_stage_requests_are_answered_as_routed_ones(reporting_settings, reporting_close, tmp_path):
    """The stage endpoints' fast path (``SubmissionFastPath``) answers as FastAPI's routing
    does: the same requests to the app without it get the same answers, errors included."""
    from reporting.submission_route import SubmissionFastPath

    close = reporting_close(P1, 4, 1)
    opened = {"attendance": close["attendance"]}
    correction = {**close, "correction_reason": "recounted"}
    requests = [  # (method, path, headers beyond the chair's token, body or raw bytes)
        ("POST", f"/api/v1/precincts/{P1}/open", {"Idempotency-Key": "fast-extra-1"}, close),
        ("POST", f"/api/v1/precincts/{P1}/open", {"Idempotency-Key": "fast-open-1"}, opened),
        ("POST", f"/api/v1/precincts/{P1}/open", {"Idempotency-Key": "fast-open-1"}, opened),
        (
            "POST",
            f"/api/v1/precincts/{P1}/open",
            {"Idempotency-Key": "fast-open-2"},
            {"attendance": 7},
        ),
        ("POST", f"/api/v1/precincts/{P1}/close", {"Idempotency-Key": "fast-close-1"}, close),
        ("POST", f"/api/v1/precincts/{P1}/close", {"Idempotency-Key": "fast-close-2"}, correction),
        ("POST", f"/api/v1/precincts/{P1}/close", {}, close),
        ("POST", f"/api/v1/precincts/{P2}/open", {"Idempotency-Key": "fast-other-1"}, opened),
        ("POST", "/api/v1/precincts/P9999/open", {"Idempotency-Key": "fast-unknown-1"}, opened),
        ("POST", "/api/v1/precincts/bad%20id/open", {"Idempotency-Key": "fast-bad-id-1"}, opened),
        (
            "POST",
            f"/api/v1/precincts/{P1}/open",
            {"Idempotency-Key": "fast-dupe-1"},
            b'{"a":1,"a":2}',
        ),
        ("POST", f"/api/v1/precincts/{P1}/open", {"Idempotency-Key": "fast-json-1"}, b"{not json"),
        ("POST", f"/api/v1/precincts/{P1}/open", {"Authorization": "Bearer forged"}, opened),
        ("POST", f"/api/v1/precincts/{P1}/open/", {"Idempotency-Key": "fast-slash-1"}, opened),
        ("GET", f"/api/v1/precincts/{P1}/open", {}, None),
    ]
    answers = []
    for fast in (True, False):
        settings = reporting_settings.model_copy(
            update={"db_url": f"sqlite:///{tmp_path / f'{fast}.db'}"}
        )
        app = create_app(settings)
        if not fast:
            kept = [m for m in app.user_middleware if m.cls is not SubmissionFastPath]
            assert len(kept) == len(app.user_middleware) - 1
            app.user_middleware = kept
        with TestClient(app, follow_redirects=False) as client:
            auth = login(client, OPERATORS["roster"].pins)
            answers.append(
                [
                    _answer(
                        client.request(
                            method,
                            path,
                            headers={**auth, **headers},
                            **({"content": body} if isinstance(body, bytes) else {"json": body}),
                        )
                    )
                    for method, path, headers, body in requests
                ]
            )
    statuses = [status for status, _, _ in answers[0]]
    assert statuses == [422, 201, 200, 409, 201, 428, 422, 403, 404, 422, 422, 422, 401, 307, 405]
    for request, fast, routed in zip(requests, *answers, strict=True):
        assert fast == routed, request[:2]
