"""The war room in headless Chromium, and `caucus watch`, against a real `caucus serve` on
loopback taking a short load of real submissions, with a real `caucus simulate` plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from chromium import CHROMIUM, Browser, sign_in_to_war_room

PACE_S = 0.25
"""Wall seconds between precincts closing (at 900x, 3.75 night minutes)."""


@pytest.fixture(scope="module")
def plan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder: four simulated Iowa 2020 nights."""
    out = tmp_path_factory.mktemp("plan") / "iowa-2020"
    subprocess.run(
        [sys.executable, "-m", "caucus.cli", "simulate", "iowa-2020", "--replications", "4",
         "--workers", "1", "--quiet", "--out", str(out)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return out


def load(server, roster, make_close, precincts: list[str], log: dict) -> None:
    """Chairs' results by the hotline, one precinct every PACE_S: every sixth first sends an
    impossible result (422), four precincts then correct theirs after close (held), and a
    reviewer approves two of those."""
    with server.client() as client:
        auth = bearer(client, server.operator)
        for i, precinct in enumerate(precincts):
            close = make_close(precinct, roster.delegates[precinct], seed=i)
            first = {"groups": [{"name": g["name"], "first": g["first"]} for g in close["groups"]]}
            stages = [("open", {"attendance": close["attendance"]}), ("first-alignment", first)]
            if i % 6 == 0:
                wrong = json.loads(json.dumps(close))
                wrong["groups"][0]["final"] += 500
                stages.append(("close", wrong))
            stages.append(("close", close))
            for n, (stage, body) in enumerate(stages):
                response = client.post(
                    f"/api/v1/precincts/{precinct}/{stage}",
                    json=body,
                    headers={**auth, "Idempotency-Key": f"wr-{precinct}-{n}"},
                )
                log[response.status_code] = log.get(response.status_code, 0) + 1
                if response.status_code == 201 and stage == "close" and i % 11 == 1:
                    fix = {**close, "groups": close["groups"][::-1], "correction_reason": "recount"}
                    match = {"If-Match": response.json()["receipt_id"]}
                    held = client.post(
                        f"/api/v1/precincts/{precinct}/close",
                        json=fix,
                        headers={**auth, **match, "Idempotency-Key": f"wr-{precinct}-fix"},
                    )
                    log[held.status_code] = log.get(held.status_code, 0) + 1
                    log.setdefault("held", []).append(held.json()["receipt_id"])
            time.sleep(PACE_S)
        name, key = sorted(roster.reviewers.items())[0]
        reviewer = bearer(client, {"reviewer": name, "key": key})
        for receipt in log["held"][:2]:
            decided = client.post(
                f"/api/v1/admin/reviews/{receipt}",
                json={"decision": "approve", "reason": "the chair read the worksheet back"},
                headers=reviewer,
            )
            log.setdefault("decided", []).append(decided.status_code)


FIGURES = """(() => {
  const text = (id) => document.getElementById(id).textContent;
  return {received: text("received"), verified: text("verified"), published: text("published"),
          waiting: text("waiting"), clock: text("clock"), missing: text("missing-total"),
          refused: text("refused-total"), plan: text("received-plan"),
          lines: document.querySelectorAll("#chart polyline").length,
          cookie: document.cookie, url: location.href};
})()"""


def bearer(client: httpx.Client, login: dict) -> dict[str, str]:
    response = client.post("/api/v1/sessions", json=login)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def settled_progress(server, name: str, key: str, received: int, waiting: int) -> dict:
    """The API's progress once it shows the load's end: its figures are cached for a moment,
    so a read right after the last decision may still show the queue before it."""
    with server.client() as client:
        reviewer = bearer(client, {"reviewer": name, "key": key})
        deadline = time.monotonic() + 15
        while True:
            api = client.get("/api/v1/admin/progress", headers=reviewer).json()
            settled = api["received"] == received and api["queue"]["waiting"] == waiting
            if settled or time.monotonic() > deadline:
                return api
            time.sleep(0.2)


def count(text: str) -> int:
    return int(text.split()[0])


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_war_room_moves_with_the_night(
    reporting_serve, tmp_path, reporting_roster, reporting_close, plan_run
):
    """Two screenshots of the war room during a load, and what they show, against the API."""
    server = reporting_serve(
        f"sqlite:///{tmp_path / 'war-room.db'}",
        "--plan", str(plan_run), "--night-start", "first-sign-in", "--compress", "900",
        "--release", "batches", "--release-at", "+2h",
    )  # fmt: skip
    name, key = sorted(reporting_roster.reviewers.items())[0]
    precincts = sorted(reporting_roster.delegates)[:45]
    log: dict = {}
    with Browser(tmp_path / "chromium") as browser:
        sign_in_to_war_room(browser, server.url, name, key)
        loading = threading.Thread(
            target=load, args=(server, reporting_roster, reporting_close, precincts, log)
        )
        loading.start()
        browser.wait_for("parseInt(document.getElementById('received').textContent) >= 10")
        first = browser.evaluate(FIGURES)
        one = browser.screenshot(tmp_path / "war-room-1.png")
        loading.join(timeout=120)
        assert not loading.is_alive(), "the load did not finish within 120 s"
        api = settled_progress(server, name, key, received=45, waiting=2)
        shown = "document.getElementById('{}').textContent.startsWith('{} ')"
        browser.wait_for(
            f"{shown.format('received', api['received'])}"
            f" && {shown.format('published', api['published'])}"
            f" && document.getElementById('waiting').textContent === '{api['queue']['waiting']}'"
        )
        second = browser.evaluate(FIGURES)
        two = browser.screenshot(tmp_path / "war-room-2.png")
    print(f"\nmoment 1: {first}\nmoment 2: {second}\nload: {log}\nscreenshots: {tmp_path}")
    assert one.startswith(b"\x89PNG") and two.startswith(b"\x89PNG") and one != two
    assert 10 <= count(first["received"]) < count(second["received"]) == 45
    assert count(first["published"]) == 0 < count(second["published"]) == api["published"]
    assert count(second["verified"]) == api["verified"] and second["waiting"] == "2"
    assert count(second["missing"]) == len(reporting_roster.pins) - 45
    assert count(second["refused"]) == log[422] == 8 and log[202] == 4
    assert first["clock"] != second["clock"] and "plan " in second["plan"]
    assert second["lines"] >= 5  # three actual lines and two plan means
    assert first["cookie"] == "" and key not in first["url"]  # HttpOnly; no key in the URL
    assert key not in server.log.read_text()


@pytest.mark.slow
def test_caucus_watch_reads_a_real_server(
    reporting_serve, tmp_path, reporting_roster, reporting_close, plan_run
):
    """`caucus watch --once` against a real server: the counts, the plan, who is missing."""
    server = reporting_serve(f"sqlite:///{tmp_path / 'watch.db'}", "--plan", str(plan_run))
    with server.client() as client:
        auth = bearer(client, server.operator)
        for i, precinct in enumerate(sorted(reporting_roster.delegates)[:5]):
            body = reporting_close(precinct, reporting_roster.delegates[precinct], seed=i)
            client.post(
                f"/api/v1/precincts/{precinct}/close",
                json=body,
                headers={**auth, "Idempotency-Key": f"watch-{precinct}"},
            )
    name, key = sorted(reporting_roster.reviewers.items())[0]
    command = [sys.executable, "-m", "caucus.cli", "watch", "--host", server.url, "--plan",
               str(plan_run), "--reviewer", name, "--once"]  # fmt: skip
    env = {**os.environ, "CAUCUS_REVIEWER_KEY": key}
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    print(done.stdout)
    assert done.returncode == 0, done.stderr  # 5 precincts in a minute: ahead of the plan
    assert "received       5 of 60" in done.stdout and ": ahead" in done.stdout
    assert f"missing: {len(reporting_roster.pins) - 5} precincts" in done.stdout
    first_missing = sorted(reporting_roster.delegates)[5]
    assert first_missing in done.stdout or "more" in done.stdout
    wrong = subprocess.run(
        command, capture_output=True, text=True, timeout=60,
        env={**os.environ, "CAUCUS_REVIEWER_KEY": "WRONG-KEY-0000"},
    )  # fmt: skip
    assert wrong.returncode == 2 and "401" in wrong.stderr
