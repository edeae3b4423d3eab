"""Sending an adapter's requests as a person would: retries with backoff, receipts checked.

Timeouts, 429 and 5xx are retried with exponential backoff and jitter (honouring
Retry-After); each attempt shows in Locust's stats under the request's name, and a failure
says the HTTP status and the cause.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import gevent
from locust import FastHttpUser

from loadtests.adapters import RETRYABLE, Reply, ReplyError, ReportingAdapter, Request
from loadtests.payloads import CaucusResult
from loadtests.receipts import ReceiptLog, ReceiptRecord, canonical_sha256

REQUEST_TIMEOUT_S = 10.0
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a request ended: ``ok``, ``refused`` (4xx, or an answer that does not add up) or
    ``gave-up`` (attempts ran out); ``cause`` says why, with the HTTP status."""

    kind: str
    reply: Reply
    why: str = ""

    @property
    def cause(self) -> str:
        return self.why or f"{self.reply.status} {self.reply.problem}"


def backoff_s(attempt: int, retry_after: str | None, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1``: capped exponential with jitter, >= Retry-After."""
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.5)
    if retry_after and retry_after.isdigit():
        delay = max(delay, float(retry_after))
    return delay


def reply_of(response: object) -> Reply:
    """A Locust response as a :class:`Reply` (status 0 and the error when nothing came back)."""
    status = getattr(response, "status_code", 0) or 0
    if not status:
        return Reply(0, {}, None, str(getattr(response, "error", None) or "no answer"))
    return Reply(status, response.headers or {}, response.content)  # type: ignore[attr-defined]


def failure_text(reply: Reply, ok: frozenset[int]) -> str:
    """What a request's failure says: the status and the cause."""
    if 200 <= reply.status < 400:
        return f"{reply.status} (expected {'/'.join(map(str, sorted(ok)))})"
    return f"{reply.status} {reply.problem}"


class Caller:
    """One person's line to the reporting API: the adapter's requests, sent with retries."""

    def __init__(
        self, user: FastHttpUser, adapter: ReportingAdapter, rng: random.Random, attempts: int
    ) -> None:
        self.user = user
        self.adapter = adapter
        self.rng = rng
        self.attempts = attempts

    def send(
        self, request: Request, headers: Mapping[str, str], attempts: int | None = None
    ) -> Outcome:
        """Send until a status in ``request.ok``, another 4xx, or the attempts run out."""
        reply = Reply(0, {}, None, "not sent")
        attempts = attempts or self.attempts
        for attempt in range(1, attempts + 1):
            with self.user.client.request(
                request.method,
                request.path,
                name=request.name,
                json=request.body,
                headers={**headers, **request.headers},
                catch_response=True,
            ) as response:
                reply = reply_of(response)
                if reply.status in request.ok:
                    response.success()
                    return Outcome("ok", reply)
                response.failure(failure_text(reply, request.ok))
                if reply.status not in RETRYABLE:
                    return Outcome("refused", reply)
            if attempt < attempts:
                gevent.sleep(backoff_s(attempt, reply.headers.get("Retry-After"), self.rng))
        return Outcome("gave-up", reply)

    def read(
        self, request: Request, headers: Mapping[str, str], reading: Callable[[Reply], T]
    ) -> tuple[T | None, str]:
        """Send, then read the reply with ``reading``: (value, "") or (None, the cause)."""
        outcome = self.send(request, headers)
        if outcome.kind != "ok":
            return None, outcome.cause
        try:
            return reading(outcome.reply), ""
        except (ReplyError, KeyError, TypeError, ValueError) as error:
            return None, f"{outcome.reply.status} unreadable: {error}"

    def submit(
        self,
        precinct_id: str,
        stage: str,
        result: CaucusResult,
        key: str,
        headers: Mapping[str, str],
        receipts: ReceiptLog,
        request: Request | None = None,
        attempts: int | None = None,
    ) -> Outcome:
        """Report one stage (``request``: the adapter's report, renamed or with other ok
        statuses), check the receipt against what was sent, log it for the audit. A refusal
        the request expects (its ok status 4xx) carries no receipt."""
        request = request or self.adapter.report(precinct_id, stage, result, key)
        outcome = self.send(request, headers, attempts)
        if outcome.kind != "ok" or not 200 <= outcome.reply.status < 300:
            return outcome
        sent = {
            "precinct_id": precinct_id,
            "stage": stage,
            "idempotency_key": key,
            "body_sha256": canonical_sha256(request.body or {}),
        }
        try:
            receipt = self.adapter.receipt(outcome.reply)
        except (ReplyError, KeyError, TypeError, ValueError) as error:
            mismatch = f"no receipt: {error}"
        else:
            receipts.append(
                ReceiptRecord(
                    precinct_id=precinct_id,
                    stage=stage,
                    idempotency_key=key,
                    sent_sha256=sent["body_sha256"],
                    receipt_id=receipt.receipt_id,
                    receipt_sha256=receipt.stated.get("body_sha256", ""),
                    entered_by=receipt.stated.get("entered_by", ""),
                    status=outcome.reply.status,
                )
            )
            mismatch = "; ".join(
                f"{name} {receipt.stated[name]!r} != {value!r}"
                for name, value in sent.items()
                if name in receipt.stated and receipt.stated[name] != value
            )
        if not mismatch:
            return outcome
        why = f"{outcome.reply.status} receipt does not match: {mismatch}"
        fire_event(self.user, "RECEIPT", "receipt mismatch", f"{stage}: {why}")
        return Outcome("refused", outcome.reply, why)


def fire_event(user: FastHttpUser, kind: str, name: str, error: str | None) -> None:
    """Count a non-HTTP event (a chair giving up, a receipt mismatch) in Locust's stats."""
    user.environment.events.request.fire(
        request_type=kind,
        name=name,
        response_time=0,
        response_length=0,
        exception=RuntimeError(error) if error else None,
        context={},
    )
