"""Before the load: does the target answer as the adapter expects, and is it still empty?

Both run with plain ``httpx`` from the process that starts the run, a handful of requests
(one per precinct for the emptiness check when the adapter has no export).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TypeVar

import httpx

from loadtests.adapters import RETRYABLE, Reply, ReplyError, ReportingAdapter, Request

PREFLIGHT_TIMEOUT_S = 10.0
PREFLIGHT_ATTEMPTS = 8
"""Tries per request: a rehearsal may inject errors (``--fault-error-rate 0.2``: five 503s in a
row failed a fault drill's preflight in CI; eight in a row, about 1 in 390,000). A target that
answers 503 to everything fails its preflight in 14 s."""
PREFLIGHT_BACKOFF_S = 0.5
T = TypeVar("T")


class PreflightFailed(Exception):
    """The target does not answer as the adapter expects; the message is one line."""


def send(client: httpx.Client, request: Request) -> Reply:
    """Send ``request``, retrying 429 and 5xx a few times (a rehearsal may inject faults)."""
    for attempt in range(1, PREFLIGHT_ATTEMPTS + 1):
        response = client.request(
            request.method, request.path, json=request.body, headers=dict(request.headers)
        )
        if response.status_code not in RETRYABLE or attempt == PREFLIGHT_ATTEMPTS:
            break
        time.sleep(PREFLIGHT_BACKOFF_S * attempt)
    return Reply(response.status_code, response.headers, response.content)


def expect(client: httpx.Client, request: Request, reading: Callable[[Reply], T], what: str) -> T:
    """Send ``request``; its status must be ok and ``reading`` must read the reply."""
    reply = send(client, request)
    if reply.status not in request.ok:
        expected = "/".join(map(str, sorted(request.ok)))
        raise PreflightFailed(
            f"{what}: {request.name} answered {reply.status} {reply.problem}, not {expected}"
        )
    try:
        return reading(reply)
    except (ReplyError, KeyError, TypeError, ValueError) as error:
        raise PreflightFailed(
            f"{what}: {request.name} answered {reply.status} but {error}"
        ) from None


def preflight(
    host: str,
    adapter: ReportingAdapter,
    chair: Mapping[str, str] | None,
    operator: Mapping[str, str] | None,
    reviewer: Mapping[str, str] | None = None,
) -> None:
    """Read the results and one precinct, sign in one chair (and one operator; one reviewer,
    who reads the review queue) as the users will; raise :class:`PreflightFailed` with one
    line saying what did not answer as expected."""
    spoken = f"{type(adapter).__module__}:{type(adapter).__name__}"
    try:
        with httpx.Client(base_url=host, timeout=PREFLIGHT_TIMEOUT_S) as client:
            expect(client, adapter.results(), lambda _: None, f"results (adapter {spoken})")
            if chair:
                precinct = chair["precinct_id"]
                delegates = expect(
                    client, adapter.precinct(precinct), adapter.delegates, f"precinct {precinct}"
                )
                if delegates < 1:
                    raise PreflightFailed(f"precinct {precinct} elects {delegates} delegates")
                what = f"the chair of {precinct} (is the PIN sheet this target's?)"
                expect(client, adapter.sign_in(chair), adapter.session, what)
            if operator:
                what = f"operator {operator['operator']} (is the operator sheet this target's?)"
                expect(client, adapter.sign_in(operator), adapter.session, what)
            if reviewer:
                what = f"reviewer {reviewer['reviewer']} (is the reviewer sheet this target's?)"
                session = expect(client, adapter.sign_in(reviewer), adapter.session, what)
                queue = adapter.review_queue(1)
                queue = replace(queue, headers={**queue.headers, **session})
                expect(client, queue, adapter.held_results, "the review queue")
    except httpx.TransportError as error:
        raise PreflightFailed(f"nothing answers at {host}: {error}") from None


def held_results(
    host: str, adapter: ReportingAdapter, precinct_ids: Iterable[str], admin_key: str | None
) -> list[str]:
    """The run's precincts for which the target already holds a stage, from the export when
    there is one, else from each precinct's record."""
    wanted = set(precinct_ids)
    try:
        export = adapter.export(host, admin_key) if admin_key else None
        if export is not None:
            return sorted({row["precinct_id"] for row in export} & wanted)
        with httpx.Client(base_url=host, timeout=PREFLIGHT_TIMEOUT_S) as client:
            return [
                p
                for p in sorted(wanted)
                if expect(client, adapter.precinct(p), adapter.stages_held, f"precinct {p}")
            ]
    except httpx.HTTPStatusError as error:
        raise PreflightFailed(f"the audit export answered {error.response.status_code}") from None
    except httpx.TransportError as error:
        raise PreflightFailed(f"nothing answers at {host}: {error}") from None
