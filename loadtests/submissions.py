"""Talking to the reporting API as a reporter: sign in, submit a stage, check the receipt.

Timeouts, 429 and 5xx are retried with exponential backoff and jitter (honouring
Retry-After); each attempt shows in Locust's stats under the endpoint's name.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import gevent
from locust import HttpUser

from loadtests.receipts import ReceiptLog, ReceiptRecord, canonical_sha256

API = "/api/v1"
REQUEST_TIMEOUT_S = 10.0
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
RETRYABLE = frozenset({0, 429, 500, 502, 503, 504})
"""Statuses worth another try (0: timeout or connection error)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a sign-in or submission ended: ``ok``, ``refused`` (4xx) or ``gave-up``."""

    kind: str
    status: int
    detail: str = ""
    data: dict | None = None


def backoff_s(attempt: int, retry_after: str | None, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1``: capped exponential with jitter, >= Retry-After."""
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.5)
    if retry_after and retry_after.isdigit():
        delay = max(delay, float(retry_after))
    return delay


def call_with_retries(
    user: HttpUser,
    method: str,
    path: str,
    body: dict | None,
    name: str,
    headers: dict[str, str],
    max_attempts: int,
    rng: random.Random,
    expected: frozenset[int] = frozenset({200, 201}),
) -> Outcome:
    """Call until a status in ``expected`` (ok), another 4xx (refused) or attempts run out."""
    status, detail = 0, ""
    for attempt in range(1, max_attempts + 1):
        with user.client.request(
            method,
            path,
            json=body,
            headers=headers,
            name=name,
            timeout=REQUEST_TIMEOUT_S,
            catch_response=True,
        ) as response:
            status = response.status_code or 0
            if status in expected:
                response.success()
                return Outcome("ok", status, data=_json(response))
            detail = _problem(response)
            response.failure(f"{status} {detail} (attempt {attempt} of {max_attempts})")
            if status not in RETRYABLE:
                return Outcome("refused", status, detail, _json(response))
            retry_after = response.headers.get("Retry-After") if status else None
        if attempt < max_attempts:
            gevent.sleep(backoff_s(attempt, retry_after, rng))
    return Outcome("gave-up", status, detail)


def sign_in(
    user: HttpUser,
    login: dict,
    name: str,
    headers: dict[str, str],
    attempts: int,
    rng: random.Random,
) -> Outcome:
    """``POST /sessions``; ``data["token"]`` is the bearer token when ``kind`` is ``ok``."""
    return call_with_retries(
        user, "POST", f"{API}/sessions", login, name, headers, attempts, rng, frozenset({201})
    )


def fetch_delegates(
    user: HttpUser, precinct_id: str, headers: dict[str, str], attempts: int, rng: random.Random
) -> int | None:
    """County delegates the precinct elects, from ``GET /precincts/{id}`` (None: not found)."""
    outcome = call_with_retries(
        user,
        "GET",
        f"{API}/precincts/{precinct_id}",
        None,
        f"GET {API}/precincts/[id]",
        headers,
        attempts,
        rng,
        frozenset({200}),
    )
    if outcome.kind != "ok" or outcome.data is None:
        return None
    return int(outcome.data["delegates_to_elect"])


def submit_stage(
    user: HttpUser,
    precinct_id: str,
    stage: str,
    body: dict,
    key: str,
    headers: dict[str, str],
    attempts: int,
    rng: random.Random,
    receipts: ReceiptLog,
) -> Outcome:
    """Submit one stage with an Idempotency-Key, check the receipt and log it for the audit."""
    sent_sha256 = canonical_sha256(body)
    outcome = call_with_retries(
        user,
        "POST",
        f"{API}/precincts/{precinct_id}/{stage}",
        body,
        f"POST {API}/precincts/[id]/{stage}",
        {**headers, "Idempotency-Key": key},
        attempts,
        rng,
    )
    if outcome.kind != "ok" or outcome.data is None:
        return outcome
    receipt = outcome.data
    receipts.append(
        ReceiptRecord(
            precinct_id=precinct_id,
            stage=stage,
            idempotency_key=key,
            sent_sha256=sent_sha256,
            receipt_id=str(receipt.get("receipt_id", "")),
            receipt_sha256=str(receipt.get("body_sha256", "")),
            entered_by=str(receipt.get("entered_by", "")),
            status=outcome.status,
        )
    )
    mismatch = [
        f"{field} {receipt.get(field)!r} != {value!r}"
        for field, value in (
            ("precinct_id", precinct_id),
            ("stage", stage),
            ("idempotency_key", key),
            ("body_sha256", sent_sha256),
        )
        if receipt.get(field) != value
    ]
    if mismatch:
        user.environment.events.request.fire(
            request_type="RECEIPT",
            name=f"receipt check {stage}",
            response_time=0,
            response_length=0,
            exception=ValueError("; ".join(mismatch)),
            context={},
        )
        return Outcome("refused", outcome.status, "receipt does not match", receipt)
    return outcome


def _json(response) -> dict | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _problem(response) -> str:
    """The problem ``type`` of an error response, or the transport error."""
    if not response.status_code:
        return str(response.error or "no response")
    data = _json(response) or {}
    return str(data.get("type", ""))
