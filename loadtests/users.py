"""Caucus-night people as Locust users: chairs, watchers, prank bots and hotline operators.

Each user sends ``X-Forwarded-For`` with an address of its own, as if it came from its own
device (``caucus loadtest --serve`` starts the reference service trusting the header from
loopback: Locust plays the reverse proxy).
Hostile requests are named ``prank: ...`` so the verdict can keep them apart.
"""

from __future__ import annotations

import csv
import itertools
import random
import re
import time
from typing import ClassVar

import gevent
from faker import Faker
from locust import HttpUser, SequentialTaskSet, constant, task

from loadtests.night import Night, PrecinctSlot
from loadtests.payloads import legal_result, precinct_rng, wrong_result
from loadtests.submissions import API, REQUEST_TIMEOUT_S, fetch_delegates, sign_in, submit_stage

HOSTILE = "prank: "
"""Name prefix of every hostile request in Locust's stats."""
PHONE_CALL_MIN = 20.0
"""Night minutes an operator spends taking one phoned result (2020: about 20)."""
IDLE_S = 1.0
"""Wall seconds an idle user waits before looking for work again."""
RECONNECT_AFTER_S = 4.0
"""Idle wall seconds after which a user opens a fresh connection. Servers drop idle
keep-alive connections (uvicorn after 5 s); reusing one as it closes gets a reset that
browsers retry silently, so the stats would measure that race instead of the service."""
_serial = itertools.count()


def operator_login(sheet: str, serial: int) -> dict[str, str]:
    """The sign-in of one of the operators on the sheet, picked by the user's serial number."""
    if not sheet:
        return {"operator": "no-operator-sheet", "key": "--operator-sheet-missing"}
    with open(sheet, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    row = rows[serial % len(rows)]
    return {"operator": row["operator"], "key": row["key"]}


def night_of(user: HttpUser) -> Night:
    """The process's night, set up when the test starts (see ``locustfile.py``)."""
    return user.environment.caucus_night


def user_rng(user: HttpUser, serial: int) -> random.Random:
    return random.Random(f"{user.environment.parsed_options.seed}:{type(user).__name__}:{serial}")


def rest(user: HttpUser, seconds: float) -> None:
    """Wait ``seconds``; after a long wait, let the next request open a fresh connection."""
    gevent.sleep(seconds)
    if seconds >= RECONNECT_AFTER_S:
        user.client.close()


def fire_event(user: HttpUser, kind: str, name: str, error: str | None) -> None:
    """Count a non-HTTP event (a chair giving up, a lockout) in Locust's stats."""
    user.environment.events.request.fire(
        request_type=kind,
        name=name,
        response_time=0,
        response_length=0,
        exception=RuntimeError(error) if error else None,
        context={},
    )


class ChairsNight(SequentialTaskSet):
    """A chair's night in order: arrive and sign in, report the three stages, go home."""

    user: PrecinctChair

    def on_start(self) -> None:
        self.slot: PrecinctSlot | None = night_of(self.user).next_chair()
        self.done = self.slot is None
        self.headers: dict[str, str] = {}

    def _wait_for(self, minute: float) -> None:
        rest(self.user, night_of(self.user).seconds_until(minute))

    def _hand_over(self, why: str) -> None:
        """Give up on the app (says so in the stats) and phone the result in instead."""
        assert self.slot is not None
        fire_event(self.user, "CHAIR", f"gave up: {why}", f"{self.slot.precinct_id}: {why}")
        night_of(self.user).hand_over(self.slot)
        self.done = True

    @task
    def arrive_and_sign_in(self) -> None:
        if self.done:
            return
        slot = self.slot
        assert slot is not None
        self._wait_for(slot.open_min)
        self.headers = {"X-Forwarded-For": f"10.{slot.index // 250}.{slot.index % 250}.7"}
        if not self._sign_in():
            return
        options = self.user.environment.parsed_options
        delegates = fetch_delegates(
            self.user, slot.precinct_id, self.headers, options.max_attempts, self.user.rng
        )
        if delegates is None:
            self._hand_over("precinct not found")
            return
        self.result = legal_result(
            slot.precinct_id, delegates, precinct_rng(options.seed, slot.precinct_id)
        )

    def _sign_in(self) -> bool:
        """Sign in with the roster PIN; a chair who cannot hands the result to the hotline."""
        assert self.slot is not None
        signed = sign_in(
            self.user,
            {"precinct_id": self.slot.precinct_id, "pin": self.slot.pin},
            f"POST {API}/sessions",
            self.headers,
            self.user.environment.parsed_options.max_attempts,
            self.user.rng,
        )
        if signed.kind != "ok" or not signed.data:
            self._hand_over("locked out" if signed.status == 423 else "cannot sign in")
            return False
        self.headers["Authorization"] = f"Bearer {signed.data['token']}"
        return True

    def _report(self, stage: str, body: dict, minute: float) -> None:
        if self.done:
            return
        assert self.slot is not None
        self._wait_for(minute)
        options = self.user.environment.parsed_options
        for _ in range(2):  # once more after signing in again if the session expired
            outcome = submit_stage(
                self.user,
                self.slot.precinct_id,
                stage,
                body,
                f"{options.run_id}-{self.slot.precinct_id}-{stage}",
                self.headers,
                options.max_attempts,
                self.user.rng,
                night_of(self.user).receipts,
            )
            if outcome.status != 401 or not self._sign_in():
                break
        if outcome.kind != "ok" and not self.done:
            self._hand_over(f"{stage} {outcome.kind} ({outcome.status} {outcome.detail})".strip())

    @task
    def report_attendance(self) -> None:
        if not self.done:
            self._report("open", self.result.open_body(), self.slot.open_min)

    @task
    def report_first_alignment(self) -> None:
        if not self.done:
            self._report("first-alignment", self.result.first_alignment_body(), self.slot.first_min)

    @task
    def report_final_result(self) -> None:
        if self.done:
            return
        options = self.user.environment.parsed_options
        if self.user.rng.random() < options.wrong_share:
            self._send_wrong_result()
        self._report("close", self.result.close_body(), self.slot.close_min)

    def _send_wrong_result(self) -> None:
        """A 2020-style mistake first: the service must refuse it (422) and store nothing."""
        assert self.slot is not None
        self._wait_for(self.slot.close_min)
        options = self.user.environment.parsed_options
        key = f"{options.run_id}-{self.slot.precinct_id}-close-wrong"
        with self.user.client.post(
            f"{API}/precincts/{self.slot.precinct_id}/close",
            json=wrong_result(self.result, self.user.rng),
            headers={**self.headers, "Idempotency-Key": key},
            name=f"POST {API}/precincts/[id]/close (wrong result)",
            timeout=REQUEST_TIMEOUT_S,
            catch_response=True,
        ) as response:
            if response.status_code == 422:
                response.success()
            else:
                response.failure(f"wrong result answered {response.status_code}, not 422")

    @task
    def go_home(self) -> None:
        """The precinct is done: this chair stays idle for the rest of the test."""
        self.done = True
        gevent.sleep(IDLE_S)


class PrecinctChair(HttpUser):
    """A precinct chair reporting through the app; one user per precinct, in arrival order."""

    weight = 10
    tasks: ClassVar = [ChairsNight]
    wait_time = constant(0)

    def on_start(self) -> None:
        self.rng = user_rng(self, next(_serial))


class Watcher(HttpUser):
    """Public and media: polls statewide results, honouring ETag and Cache-Control max-age."""

    weight = 10
    wait_time = constant(0)  # each task ends with the watcher's own pause

    def on_start(self) -> None:
        serial = next(_serial)
        self.rng = user_rng(self, serial)
        fake = Faker()
        fake.seed_instance(self.rng.randrange(2**32))
        self.headers = {"User-Agent": fake.user_agent(), "X-Forwarded-For": fake.ipv4_public()}
        self.etag: str | None = None
        self.max_age_s = 0.0

    def _pause(self) -> None:
        """Wait the poll interval, and at least the max-age the service asked for."""
        poll_s = self.environment.parsed_options.poll_s
        rest(self, max(poll_s, self.max_age_s) * self.rng.uniform(0.8, 1.2))

    @task(10)
    def poll_results(self) -> None:
        headers = {**self.headers, **({"If-None-Match": self.etag} if self.etag else {})}
        with self.client.get(
            f"{API}/results",
            headers=headers,
            name=f"GET {API}/results",
            timeout=REQUEST_TIMEOUT_S,
            catch_response=True,
        ) as response:
            if response.status_code in (200, 304):
                self.etag = response.headers.get("ETag", self.etag)
                found = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
                self.max_age_s = float(found.group(1)) if found else 0.0
            else:
                response.failure(str(response.status_code))
        self._pause()

    @task(1)
    def look_up_precinct(self) -> None:
        slots = night_of(self).plan.slots
        if slots:
            fetch_delegates(self, self.rng.choice(slots).precinct_id, self.headers, 1, self.rng)
        self._pause()


class PrankBot(HttpUser):
    """Hostile traffic after the hotline number leaks: every request must be refused (4xx)."""

    weight = 2
    PEAK_RPS = 2.0
    """Requests a second per bot at the height of the flood."""
    ADDRESSES = tuple(f"203.0.113.{n}" for n in range(1, 6))
    """A handful of hostile hosts (TEST-NET-3 addresses)."""

    def on_start(self) -> None:
        self.rng = user_rng(self, next(_serial))
        self.fake = Faker()
        self.fake.seed_instance(self.rng.randrange(2**32))
        self.headers = {"X-Forwarded-For": self.rng.choice(self.ADDRESSES)}
        self.last_request_at = time.monotonic()

    def wait_time(self) -> float:
        night = night_of(self)
        intensity = night.plan.flood.intensity(night.minute())
        return 1 / (self.PEAK_RPS * max(intensity, 0.02))

    def _hostile(self, what: str, path: str, **kwargs) -> None:
        if time.monotonic() - self.last_request_at >= RECONNECT_AFTER_S:
            self.client.close()
        self.last_request_at = time.monotonic()
        with self.client.post(
            path,
            name=f"{HOSTILE}{what}",
            timeout=REQUEST_TIMEOUT_S,
            catch_response=True,
            **kwargs,
        ) as response:
            if 400 <= response.status_code < 500:
                response.success()
            else:
                response.failure(f"hostile request answered {response.status_code}")

    def _code(self) -> str:
        """A guess shaped like a roster code (ten characters of Crockford's base 32)."""
        code = "".join(self.rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(10))
        return f"{code[:5]}-{code[5:]}"

    def _precinct(self) -> str:
        slots = night_of(self).plan.slots
        return self.rng.choice(slots).precinct_id if slots else "P0001"

    @task(3)
    def guess_pin(self) -> None:
        login = {"precinct_id": self._precinct(), "pin": self._code()}
        self._hostile("wrong PIN", f"{API}/sessions", json=login, headers=self.headers)

    @task(2)
    def unknown_precinct(self) -> None:
        login = {
            "precinct_id": f"X{self.rng.randrange(10**4)}",
            "pin": self._code(),
        }
        self._hostile("unknown precinct", f"{API}/sessions", json=login, headers=self.headers)

    @task(2)
    def malformed_report(self) -> None:
        headers = {
            **self.headers,
            "Authorization": f"Bearer {self.fake.sha256()}",
            "Idempotency-Key": self.fake.uuid4(),
            "Content-Type": "application/json",
        }
        body = f'{{"attendance": "{self.fake.name()}", "groups": [{{"name": '
        path = f"{API}/precincts/{self._precinct()}/close"
        self._hostile("malformed report", path, data=body, headers=headers)

    @task(1)
    def oversized_report(self) -> None:
        body = {"attendance": 1, "groups": [{"name": self.fake.text(), "first": 1}] * 400}
        path = f"{API}/precincts/{self._precinct()}/open"
        self._hostile("oversized report", path, json=body, headers=self.headers)

    @task(1)
    def login_flood(self) -> None:
        """A burst of sign-ins from one host: the per-client rate limit must answer 429."""
        for _ in range(10):
            login = {"precinct_id": f"X{self.rng.randrange(10**4)}", "pin": "00000-00000"}
            self._hostile("login flood", f"{API}/sessions", json=login, headers=self.headers)


class HotlineOperator(HttpUser):
    """Enters phoned results on behalf of chairs, signed in with their own key."""

    weight = 1
    wait_time = constant(0)

    def on_start(self) -> None:
        serial = next(_serial)
        self.rng = user_rng(self, serial)
        fake = Faker()
        fake.seed_instance(self.rng.randrange(2**32))
        self.serial = serial
        self.headers = {"X-Forwarded-For": f"10.255.0.{serial % 250 + 1}"}
        self.signed_in = False

    def _sign_in(self) -> bool:
        options = self.environment.parsed_options
        login = operator_login(options.operator_sheet, self.serial)
        signed = sign_in(self, login, f"POST {API}/sessions (operator)", self.headers, 3, self.rng)
        if signed.kind == "ok" and signed.data:
            self.headers["Authorization"] = f"Bearer {signed.data['token']}"
            self.signed_in = True
        return self.signed_in

    @task
    def answer_the_phone(self) -> None:
        night = night_of(self)
        call = night.next_call()
        if call is None:
            gevent.sleep(IDLE_S)
            return
        if not self.signed_in and not self._sign_in():
            fire_event(self, "HOTLINE", "call dropped: operator cannot sign in", call.precinct_id)
            gevent.sleep(IDLE_S)
            return
        rest(self, night.wall_s(PHONE_CALL_MIN) * self.rng.uniform(0.5, 1.5))
        options = self.environment.parsed_options
        delegates = fetch_delegates(
            self, call.precinct_id, self.headers, options.max_attempts, self.rng
        )
        if delegates is None:
            fire_event(self, "HOTLINE", "phoned result lost", f"{call.precinct_id}: no precinct")
            return
        result = legal_result(
            call.precinct_id, delegates, precinct_rng(options.seed, call.precinct_id)
        )
        outcome = submit_stage(
            self,
            call.precinct_id,
            "close",
            result.close_body(),
            f"{options.run_id}-{call.precinct_id}-close",
            self.headers,
            options.max_attempts,
            self.rng,
            night.receipts,
        )
        fire_event(
            self,
            "HOTLINE",
            "phoned result entered" if outcome.kind == "ok" else "phoned result lost",
            None if outcome.kind == "ok" else f"{call.precinct_id}: {outcome.kind}",
        )
