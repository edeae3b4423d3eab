"""Caucus-night people as Locust users: chairs, watchers, prank bots, hotline operators and
HQ reviewers.

They speak the target's API through its adapter (``--adapter``). Each user sends
``X-Forwarded-For`` with an address of its own, as if it came from its own device
(``caucus loadtest --serve`` starts the reference service trusting the header from loopback:
Locust plays the reverse proxy). Hostile requests are named ``prank: ...`` so the verdict can
keep them apart.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from dataclasses import replace
from typing import ClassVar

import gevent
from faker import Faker
from locust import FastHttpUser, SequentialTaskSet, constant, task

from loadtests.adapters import HeldResult, Receipt, ReportingAdapter, Request
from loadtests.night import Night, PrecinctSlot
from loadtests.payloads import legal_result, precinct_rng, wrong_result
from loadtests.receipts import ReceiptRecord
from loadtests.reviews import calls_to_try
from loadtests.sheets import operator_login, reviewer_login
from loadtests.submissions import REQUEST_TIMEOUT_S, Caller, failure_text, fire_event, reply_of

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
NO_OPERATOR_SHEET = "no operator sheet (--operator-sheet / CAUCUS_OPERATOR_SHEET)"
NO_REVIEWER_SHEET = "no reviewer sheet (--reviewer-sheet / CAUCUS_REVIEWER_SHEET)"
QUEUE_READ = 20
"""Held results a reviewer reads from the queue at a time."""
DECIDED = {"approve": "approved", "correct": "corrected", "reject": "rejected"}
_serial = itertools.count()
_desks = itertools.count()


def night_of(user: FastHttpUser) -> Night:
    """The process's night, set up when the test starts (see ``locustfile.py``)."""
    return user.environment.caucus_night


def rest(user: FastHttpUser, seconds: float) -> None:
    """Wait ``seconds``; after a long wait, let the next request open a fresh connection."""
    gevent.sleep(seconds)
    hang_up_after(user, seconds)


def hang_up_after(user: FastHttpUser, idle_s: float) -> None:
    """After ``idle_s`` idle wall seconds or more, the next request opens a fresh connection."""
    if idle_s >= RECONNECT_AFTER_S:
        user.client.client.clientpool.close()


class CaucusUser(FastHttpUser):
    """A person of the night: a seeded generator of their own and a line to the API."""

    abstract = True
    network_timeout = REQUEST_TIMEOUT_S
    connection_timeout = REQUEST_TIMEOUT_S

    def on_start(self) -> None:
        self.serial = next(_serial)
        options = self.environment.parsed_options
        self.rng = random.Random(f"{options.seed}:{type(self).__name__}:{self.serial}")
        self.adapter: ReportingAdapter = self.environment.caucus_adapter
        self.caller = Caller(self, self.adapter, self.rng, options.max_attempts)

    def faker(self) -> Faker:
        fake = Faker()
        fake.seed_instance(self.rng.randrange(2**32))
        return fake

    def sign_in_as_staff(self, login: dict[str, str] | None, no_sheet: str) -> str:
        """Sign in an operator or a reviewer with their own key (``self.headers`` then carry
        the session); the cause when it fails, ``no_sheet`` without a login ('' when signed
        in)."""
        if login is None:
            return no_sheet
        session, cause = self.caller.read(
            self.adapter.sign_in(login), self.headers, self.adapter.session
        )
        if session is not None:
            self.headers.update(session)
            self.signed_in = True
        return cause


class ChairsNight(SequentialTaskSet):
    """A chair's night in order: arrive and sign in, report the three stages, go home."""

    user: PrecinctChair

    def on_start(self) -> None:
        self.slot: PrecinctSlot | None = night_of(self.user).next_chair()
        self.done = self.slot is None
        self.headers: dict[str, str] = {}

    def _wait_for(self, minute: float) -> None:
        rest(self.user, night_of(self.user).seconds_until(minute))

    def _hand_over(self, why: str, cause: str) -> None:
        """Give up on the app (says so in the stats) and phone the result in instead."""
        assert self.slot is not None
        fire_event(self.user, "CHAIR", f"gave up: {why}", cause)
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
        adapter = self.user.adapter
        delegates, cause = self.user.caller.read(
            adapter.precinct(slot.precinct_id), self.headers, adapter.delegates
        )
        if delegates is None:
            self._hand_over("precinct not found", cause)
            return
        seed = self.user.environment.parsed_options.seed
        self.result = legal_result(
            slot.precinct_id, delegates, precinct_rng(seed, slot.precinct_id)
        )

    def _sign_in(self) -> bool:
        """Sign in with the roster PIN; a chair who cannot hands the result to the hotline."""
        assert self.slot is not None
        login = {"precinct_id": self.slot.precinct_id, "pin": self.slot.pin}
        adapter = self.user.adapter
        session, cause = self.user.caller.read(
            adapter.sign_in(login), self.headers, adapter.session
        )
        if session is None:
            self._hand_over("locked out" if cause.startswith("423") else "cannot sign in", cause)
            return False
        self.headers.update(session)
        return True

    def _report(self, stage: str, minute: float) -> None:
        if self.done:
            return
        assert self.slot is not None
        self._wait_for(minute)
        night = night_of(self.user)
        key = f"{self.user.environment.parsed_options.run_id}-{self.slot.precinct_id}-{stage}"
        for _ in range(2):  # once more after signing in again if the session expired
            outcome = self.user.caller.submit(
                self.slot.precinct_id, stage, self.result, key, self.headers, night.receipts
            )
            if outcome.reply.status != 401 or not self._sign_in():
                break
        if self.user.adapter.review_pending(outcome.reply):  # a version sent earlier is held
            fire_event(self.user, "CHAIR", f"{stage} waits for HQ review", None)
            self.done = True
        elif outcome.kind != "ok" and not self.done:
            self._hand_over(f"{stage} {outcome.kind}", outcome.cause)

    @task
    def report_attendance(self) -> None:
        if not self.done:
            self._report("open", self.slot.open_min)

    @task
    def report_first_alignment(self) -> None:
        if not self.done:
            self._report("first-alignment", self.slot.first_min)

    @task
    def report_final_result(self) -> None:
        if self.done:
            return
        wrong = self.user.rng.random() < self.user.environment.parsed_options.wrong_share
        if wrong and self._send_wrong_result():
            return
        self._report("close", self.slot.close_min)

    def _send_wrong_result(self) -> bool:
        """A 2020-style mistake first: the service must refuse it and store nothing, or hold it
        for HQ review (its receipt is then logged; HQ calls the chair back). True when held."""
        assert self.slot is not None
        self._wait_for(self.slot.close_min)
        adapter = self.user.adapter
        key = f"{self.user.environment.parsed_options.run_id}-{self.slot.precinct_id}-close-wrong"
        wrong = wrong_result(self.result, self.user.rng)
        request = replace(
            adapter.report(self.slot.precinct_id, "close", wrong, key),
            name=adapter.NAMES["wrong-result"],
            ok=adapter.RULES_REFUSED | adapter.HELD,
        )
        receipts = night_of(self.user).receipts
        outcome = self.user.caller.submit(
            self.slot.precinct_id, "close", wrong, key, self.headers, receipts, request, attempts=1
        )
        if outcome.kind != "ok" or outcome.reply.status not in adapter.HELD:
            return False
        fire_event(self.user, "CHAIR", "result held for HQ review", None)
        self.done = True
        return True

    @task
    def go_home(self) -> None:
        """The precinct is done: this chair stays idle for the rest of the test."""
        self.done = True
        gevent.sleep(IDLE_S)


class PrecinctChair(CaucusUser):
    """A precinct chair reporting through the app; one user per precinct, in arrival order."""

    weight = 10
    tasks: ClassVar = [ChairsNight]
    wait_time = constant(0)


class Watcher(CaucusUser):
    """Public and media: polls statewide results, honouring ETag and Cache-Control max-age."""

    weight = 10

    def on_start(self) -> None:
        super().on_start()
        fake = self.faker()
        self.headers = {"User-Agent": fake.user_agent(), "X-Forwarded-For": fake.ipv4_public()}
        self.poll = self.adapter.results()
        self.etag: str | None = None
        self.max_age_s = 0.0
        self.poll_s = self.environment.parsed_options.poll_s

    def wait_time(self) -> float:
        """The pause after each look: the poll interval, and at least the max-age the service
        asked for (wall seconds). Between tasks, so a test that ends stops the watcher at once;
        after a long pause the next look opens a fresh connection (see ``rest``)."""
        pause = max(self.poll_s, self.max_age_s) * self.rng.uniform(0.8, 1.2)
        hang_up_after(self, pause)
        return pause

    @task(10)
    def poll_results(self) -> None:
        poll = self.poll
        headers = {**self.headers, "If-None-Match": self.etag} if self.etag else self.headers
        with self.client.request(
            poll.method, poll.path, name=poll.name, headers=headers, catch_response=True
        ) as response:
            if response.status_code in poll.ok:
                response.success()
                self.etag = response.headers.get("ETag") or self.etag
                found = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control") or "")
                self.max_age_s = float(found.group(1)) if found else 0.0
            else:
                response.failure(failure_text(reply_of(response), poll.ok))

    @task(1)
    def look_up_precinct(self) -> None:
        slots = night_of(self).plan.slots
        if slots:
            precinct = self.adapter.precinct(self.rng.choice(slots).precinct_id)
            self.caller.send(precinct, self.headers, attempts=1)


class PrankBot(CaucusUser):
    """Hostile traffic after the hotline number leaks: every request must be refused (4xx)."""

    weight = 2
    PEAK_RPS = 2.0
    """Requests a second per bot at the height of the flood."""
    ADDRESSES = tuple(f"203.0.113.{n}" for n in range(1, 6))
    """A handful of hostile hosts (TEST-NET-3 addresses)."""

    def on_start(self) -> None:
        super().on_start()
        self.fake = self.faker()
        self.headers = {"X-Forwarded-For": self.rng.choice(self.ADDRESSES)}
        self.last_request_at = time.monotonic()
        self.sample = legal_result("P0001", 4, self.rng)
        """A plausible result whose report requests the bot garbles."""

    def wait_time(self) -> float:
        night = night_of(self)
        intensity = night.plan.flood.intensity(night.minute())
        return 1 / (self.PEAK_RPS * max(intensity, 0.02))

    def _hostile(self, what: str, request: Request, **send: object) -> None:
        hang_up_after(self, time.monotonic() - self.last_request_at)
        self.last_request_at = time.monotonic()
        with self.client.request(
            request.method, request.path, name=f"{HOSTILE}{what}", catch_response=True, **send
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

    def _sign_in(self, what: str, precinct_id: str, pin: str) -> None:
        request = self.adapter.sign_in({"precinct_id": precinct_id, "pin": pin})
        self._hostile(what, request, json=request.body, headers=self.headers)

    @task(3)
    def guess_pin(self) -> None:
        self._sign_in("wrong PIN", self._precinct(), self._code())

    @task(2)
    def unknown_precinct(self) -> None:
        self._sign_in("unknown precinct", f"X{self.rng.randrange(10**4)}", self._code())

    @task(2)
    def malformed_report(self) -> None:
        request = self.adapter.report(self._precinct(), "close", self.sample, self.fake.uuid4())
        headers = {
            **self.headers,
            **request.headers,
            "Authorization": f"Bearer {self.fake.sha256()}",
            "Content-Type": "application/json",
        }
        body = f'{{"attendance": "{self.fake.name()}", "groups": [{{"name": '
        self._hostile("malformed report", request, data=body, headers=headers)

    @task(1)
    def oversized_report(self) -> None:
        request = self.adapter.report(self._precinct(), "open", self.sample, self.fake.uuid4())
        body = {**(request.body or {}), "groups": [{"name": self.fake.text(), "first": 1}] * 400}
        headers = {**self.headers, **request.headers}
        self._hostile("oversized report", request, json=body, headers=headers)

    @task(1)
    def login_flood(self) -> None:
        """A burst of sign-ins from one host: the per-client rate limit must answer 429."""
        for _ in range(10):
            self._sign_in("login flood", f"X{self.rng.randrange(10**4)}", "00000-00000")


class HotlineOperator(CaucusUser):
    """Enters phoned results on behalf of chairs, signed in with their own key."""

    weight = 1
    wait_time = constant(0)

    def on_start(self) -> None:
        super().on_start()
        self.headers = {"X-Forwarded-For": f"10.255.0.{self.serial % 250 + 1}"}
        self.signed_in = False

    def _sign_in(self) -> str:
        login = operator_login(self.environment.parsed_options.operator_sheet, self.serial)
        return self.sign_in_as_staff(login, NO_OPERATOR_SHEET)

    @task
    def answer_the_phone(self) -> None:
        night = night_of(self)
        call = night.next_call()
        if call is None:
            gevent.sleep(IDLE_S)
            return
        cause = "" if self.signed_in else self._sign_in()
        if cause:
            fire_event(self, "HOTLINE", "call dropped: operator cannot sign in", cause)
            gevent.sleep(IDLE_S)
            return
        rest(self, night.wall_s(PHONE_CALL_MIN) * self.rng.uniform(0.5, 1.5))
        delegates, cause = self.caller.read(
            self.adapter.precinct(call.precinct_id), self.headers, self.adapter.delegates
        )
        if delegates is None:
            fire_event(self, "HOTLINE", "phoned result lost", f"precinct not read: {cause}")
            return
        seed = self.environment.parsed_options.seed
        result = legal_result(call.precinct_id, delegates, precinct_rng(seed, call.precinct_id))
        key = f"{self.environment.parsed_options.run_id}-{call.precinct_id}-close"
        outcome = self.caller.submit(
            call.precinct_id, "close", result, key, self.headers, night.receipts
        )
        ok = outcome.kind == "ok"
        fire_event(
            self,
            "HOTLINE",
            "phoned result entered" if ok else "phoned result lost",
            None if ok else f"close {outcome.kind}: {outcome.cause}",
        )


class Reviewer(CaucusUser):
    """An HQ reviewer: signs in with their own key, takes a held result from the review queue,
    looks at its findings, and approves, corrects or rejects it with a reason, taking about
    ``--review-pace`` wall seconds over each."""

    weight = 1
    """Not picked by weight: ``--reviewers`` of them are on duty when the adapter speaks for
    reviewers and their keys are given, none otherwise (set when Locust starts)."""
    wait_time = constant(0)

    def on_start(self) -> None:
        super().on_start()
        night = night_of(self)
        self.desk = next(_desks) * night.shares + night.share
        """The reviewer's number across the Locust processes: their key, and which of the
        oldest held results they take (the n-th reviewer the n-th), so that they rarely take
        the same one."""
        self.headers = {"X-Forwarded-For": f"10.254.0.{self.desk % 250 + 1}"}
        self.signed_in = False
        self.left_for_hq: set[str] = set()
        """Held results this reviewer could not decide (HQ's to settle)."""

    def _sign_in(self) -> str:
        login = reviewer_login(self.environment.parsed_options.reviewer_sheet, self.desk)
        return self.sign_in_as_staff(login, NO_REVIEWER_SHEET)

    @task
    def work_the_queue(self) -> None:
        cause = "" if self.signed_in else self._sign_in()
        if cause:
            fire_event(self, "REVIEW", "reviewer cannot sign in", cause)
            rest(self, IDLE_S)
            return
        held, cause = self.caller.read(
            self.adapter.review_queue(QUEUE_READ), self.headers, self.adapter.held_results
        )
        if held is None:
            self.signed_in = not cause.startswith("401")  # else sign in again next time
        options = self.environment.parsed_options
        todo = [h for h in held or () if h.receipt_id not in self.left_for_hq]
        place = self.desk % max(options.reviewers, 1)  # the n-th reviewer takes the n-th oldest
        if place >= len(todo):
            rest(self, IDLE_S)
            return
        rest(self, options.review_pace * self.rng.uniform(0.5, 1.5))  # reading, calling back
        self._decide(todo[place])

    def _decide(self, held: HeldResult) -> None:
        """Try the decisions of a second look in order until one stands."""
        seed = self.environment.parsed_options.seed
        rng = precinct_rng(seed, held.precinct_id)
        worksheet = legal_result(held.precinct_id, held.reported.delegates_to_elect, rng)
        cause = ""
        for call in calls_to_try(held, worksheet):
            outcome = self.caller.send(self.adapter.decide(held, call), self.headers)
            if outcome.kind == "gave-up" or outcome.reply.status == 401:
                self.signed_in = outcome.reply.status != 401
                return  # still in the queue: the next look takes it again
            kind, correction = self.adapter.decided(outcome.reply)
            if kind == "decided":
                if correction is not None:
                    self._log(held, correction, outcome.reply.status)
                fire_event(self, "REVIEW", DECIDED[call.decision], None)
                return
            if kind == "taken":
                fire_event(self, "REVIEW", "decided by another reviewer", None)
                return
            cause = f"{call.decision} {outcome.cause}"
        self.left_for_hq.add(held.receipt_id)
        fire_event(self, "REVIEW", "left for HQ", f"{held.precinct_id} {held.stage}: {cause}")

    def _log(self, held: HeldResult, correction: Receipt, status: int) -> None:
        """The receipt of the version the reviewer entered, for the audit."""
        stated = correction.stated
        night_of(self).receipts.append(
            ReceiptRecord(
                precinct_id=held.precinct_id,
                stage=held.stage,
                idempotency_key=stated.get("idempotency_key", ""),
                sent_sha256="",
                receipt_id=correction.receipt_id,
                receipt_sha256=stated.get("body_sha256", ""),
                entered_by=stated.get("entered_by", ""),
                status=status,
            )
        )
