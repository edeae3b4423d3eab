"""The service as a real process on loopback: CLI, durability under SIGKILL, races, the page."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from reporting.ledger import canonical_json
from reporting.roster import load_roster


def test_roster_generate_is_seeded(tmp_path):
    def run(name: str) -> tuple[bytes, bytes]:
        out = tmp_path / f"{name}.csv"
        command = [sys.executable, "-m", "caucus.cli", "roster", "generate", "--precincts", "25"]
        subprocess.run(
            [*command, "--seed", "9", "--test-roster", "--out", str(out)], check=True, timeout=60
        )
        return out.read_bytes(), (tmp_path / f"{name}-pins.csv").read_bytes()

    first, again = run("a"), run("b")
    assert first == again
    roster = load_roster(tmp_path / "a.csv")
    assert len(roster) == 25 and b"scrypt$" in first[0]
    pins = [line.split(",")[-1] for line in first[1].decode().splitlines()[1:]]
    assert all(len(pin) == 11 and pin not in first[0].decode() for pin in pins)
    assert roster.test_roster and first[0].decode().count(",seed\r\n") == 25


def test_the_cli_imports_no_web_framework():
    code = (
        "import sys, caucus.cli; caucus.cli.build_parser();"
        "assert not {'fastapi', 'uvicorn', 'psycopg'} & set(sys.modules), sys.modules.keys()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def operator_token(client: httpx.Client, login: dict[str, str]) -> dict[str, str]:
    response = client.post("/api/v1/sessions", json=login)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def night(roster, make_close) -> list[tuple[str, str, dict, str]]:
    """(precinct, stage, body, idempotency key) for every stage of every roster precinct."""
    submissions = []
    for i, (precinct, delegates) in enumerate(sorted(roster.delegates.items())):
        close = make_close(precinct, delegates, seed=i)
        first = {"groups": [{"name": g["name"], "first": g["first"]} for g in close["groups"]]}
        for stage, body in (
            ("open", {"attendance": close["attendance"]}),
            ("first-alignment", first),
            ("close", close),
        ):
            submissions.append((precinct, stage, body, f"{precinct}-{stage}-key"))
    random.Random(5).shuffle(submissions)
    return submissions


def sha(body: dict) -> str:
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def export(client: httpx.Client, key: str) -> list[dict]:
    response = client.get("/api/v1/admin/export", headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()
    return response.json()["submissions"]


@pytest.mark.slow
def test_every_2xx_survives_sigkill(
    reporting_serve, reporting_db_url, reporting_roster, reporting_close
):
    server = reporting_serve(reporting_db_url)
    submissions = night(reporting_roster, reporting_close)
    receipts: dict[str, dict] = {}
    done = threading.Event()
    lock = threading.Lock()
    with server.client() as client:
        auth = operator_token(client, server.operator)

        def send(submission: tuple[str, str, dict, str]) -> None:
            precinct, stage, body, key = submission
            if done.is_set():
                return
            try:
                response = client.post(
                    f"/api/v1/precincts/{precinct}/{stage}",
                    json=body,
                    headers={**auth, "Idempotency-Key": key},
                )
            except httpx.TransportError:
                return
            if response.is_success:
                with lock:
                    receipts[key] = {**response.json(), "sent": body}
                    if len(receipts) >= len(submissions) // 2:
                        done.set()
                        os.kill(server.process.pid, signal.SIGKILL)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(send, submissions))
    server.process.wait(timeout=30)
    assert server.process.returncode == -signal.SIGKILL
    assert len(submissions) // 2 <= len(receipts) < len(submissions)

    restarted = reporting_serve(reporting_db_url)
    with restarted.client() as client:
        rows = export(client, restarted.admin_key)
        by_receipt = {r["receipt_id"]: r for r in rows}
        assert len(by_receipt) == len(rows)
        for receipt in receipts.values():
            row = by_receipt[receipt["receipt_id"]]  # every 2xx is stored ...
            assert row["body_sha256"] == receipt["body_sha256"] == sha(receipt["sent"])
            assert row["body"] == receipt["sent"]  # ... intact
        assert len({(r["precinct_id"], r["stage"]) for r in rows}) == len(rows)  # ... once

        # The chairs retry everything with the same keys: nothing is lost or doubled.
        auth = operator_token(client, restarted.operator)
        for precinct, stage, body, key in submissions:
            response = client.post(
                f"/api/v1/precincts/{precinct}/{stage}",
                json=body,
                headers={**auth, "Idempotency-Key": key},
            )
            assert response.status_code in (200, 201), response.text
            if key in receipts:
                assert response.status_code == 200
                assert response.json()["receipt_id"] == receipts[key]["receipt_id"]
        assert len(export(client, restarted.admin_key)) == len(submissions)


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_two_clients_racing_on_one_precinct_make_one_report(
    reporting_serve, reporting_db_url, reporting_roster, reporting_close, workers
):
    server = reporting_serve(reporting_db_url, "--workers", workers)
    precincts = sorted(reporting_roster.delegates)[:12]
    outcomes: list[tuple[int, int]] = []
    with server.client() as a, server.client() as b:
        auth = operator_token(a, server.operator)
        for i, precinct in enumerate(precincts):
            close = reporting_close(precinct, reporting_roster.delegates[precinct], seed=i)
            # Even rounds: different numbers (one wins, one 409); odd: same numbers (a replay).
            other = dict(close, attendance=close["attendance"] + 1) if i % 2 == 0 else close
            barrier = threading.Barrier(2, timeout=30)

            def send(
                client: httpx.Client,
                body: dict,
                key: str,
                precinct: str = precinct,
                barrier: threading.Barrier = barrier,
            ) -> int:
                barrier.wait()
                url = f"/api/v1/precincts/{precinct}/close"
                return client.post(
                    url, json=body, headers={**auth, "Idempotency-Key": key}
                ).status_code

            with ThreadPoolExecutor(2) as pool:
                first = pool.submit(send, a, close, f"race-a-{precinct}")
                second = pool.submit(send, b, other, f"race-b-{precinct}")
                outcomes.append(tuple(sorted((first.result(), second.result()))))
        rows = export(a, server.admin_key)
    assert [o for i, o in enumerate(outcomes) if i % 2 == 0] == [(201, 409)] * 6
    assert [o for i, o in enumerate(outcomes) if i % 2 == 1] == [(200, 201)] * 6
    assert sorted(r["precinct_id"] for r in rows) == precincts


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_results_page_in_a_headless_browser(
    reporting_serve, tmp_path, reporting_roster, reporting_close
):
    server = reporting_serve(f"sqlite:///{tmp_path / 'page.db'}")
    with server.client() as client:
        auth = operator_token(client, server.operator)
        for i, precinct in enumerate(sorted(reporting_roster.delegates)[:15]):
            body = reporting_close(precinct, reporting_roster.delegates[precinct], seed=i)
            response = client.post(
                f"/api/v1/precincts/{precinct}/close",
                json=body,
                headers={**auth, "Idempotency-Key": f"page-{precinct}"},
            )
            assert response.status_code == 201
        names = {g["name"] for g in client.get("/api/v1/results").json()["candidates"]}
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=10000",
        "--dump-dom", f"{server.url}/",
    ]  # fmt: skip
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    assert '<span id="percent">25.0</span>% of precincts reporting' in dom
    assert '<span id="precincts-reporting">15</span> of <span id="precincts-total">60</span>' in dom
    assert '<span id="updated">Live.</span>' in dom  # the script ran and refreshed the numbers
    assert names and all(f"<td>{name}</td>" in dom for name in names)
