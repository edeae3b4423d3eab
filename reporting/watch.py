"""`caucus watch`: the war room's comparison in a terminal, against any endpoint speaking the
contract (``GET /api/v1/admin/progress``): on plan, or behind plan by how many precincts and
minutes, and which precincts are missing, with whom to call."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

from reporting.models import Progress
from reporting.night import clock_text
from reporting.plan import KINDS, Plan, PlanError, read_plan, standing, standing_text

TIMEOUT_S = 10.0


class WatchError(RuntimeError):
    """The endpoint could not be read (the message says why)."""


def _call(url: str, headers: dict[str, str], body: dict | None = None) -> tuple[int, dict, str]:
    """(status, JSON body or {}, ETag) of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={**headers, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}, response.headers.get("ETag", "")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            problem = json.loads(raw) if raw else {}
        except ValueError:
            problem = {}
        return error.code, problem, ""
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise WatchError(f"{url}: {error}") from error


class Endpoint:
    """An endpoint's progress, read as a reviewer (signing in again when the token expires)
    or with the admin key."""

    def __init__(
        self, host: str, reviewer: str | None, reviewer_key: str | None, admin_key: str | None
    ):
        self.host = host.rstrip("/")
        self._reviewer, self._reviewer_key, self._admin_key = reviewer, reviewer_key, admin_key
        self._token: str | None = None
        self._etag = ""
        self._last: Progress | None = None

    def _bearer(self) -> str:
        if self._reviewer is None:
            if not self._admin_key:
                raise WatchError("give --reviewer (key in CAUCUS_REVIEWER_KEY) or CAUCUS_ADMIN_KEY")
            return self._admin_key
        if self._token is None:
            if not self._reviewer_key:
                raise WatchError("--reviewer needs the reviewer's key in CAUCUS_REVIEWER_KEY")
            status, session, _ = _call(
                f"{self.host}/api/v1/sessions",
                {},
                {"reviewer": self._reviewer, "key": self._reviewer_key},
            )
            if status != 201:
                raise WatchError(f"sign-in as {self._reviewer}: {status} {session.get('title')}")
            self._token = session["token"]
        return self._token

    def progress(self) -> Progress:
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        if self._etag:
            headers["If-None-Match"] = self._etag
        status, body, etag = _call(f"{self.host}/api/v1/admin/progress", headers)
        if status == 401 and self._reviewer is not None and self._token is not None:
            self._token = None  # the session ended: sign in again, once
            return self.progress()
        if status == 304 and self._last is not None:
            return self._last
        if status != 200:
            raise WatchError(f"progress: {status} {body.get('title', '')} {body.get('detail', '')}")
        self._etag, self._last = etag, Progress.model_validate(body)
        return self._last


def _age(progress: Progress) -> str:
    since = progress.queue.oldest_since
    if since is None:
        return "nothing waiting"
    seconds = (
        datetime.fromisoformat(progress.as_of) - datetime.fromisoformat(since)
    ).total_seconds()
    return f"the oldest for {int(seconds // 60)} min {int(seconds % 60)} s"


def reading(progress: Progress, plan: Plan, host: str, counties: int) -> tuple[str, bool]:
    """The terminal's lines for one reading, and whether any count is behind the plan."""
    minute = progress.night.minute
    total = progress.precincts_total
    release = progress.release
    policy = (
        "released continuously"
        if release.mode == "continuous"
        else "released in batches"
        + (f", next at {clock_text(release.next_min)}" if release.next_min is not None else "")
    )
    nights = f" ({plan.nights} nights)" if plan.nights else ""
    when = (
        "night not started"
        if minute is None
        else f"night minute {minute:.0f} ({clock_text(minute)})"
    )
    lines = [f"caucus watch {host}: plan {plan.name}{nights}; {when}; {policy}"]
    behind = False
    counts = {"received": progress.received, "verified": progress.verified}
    counts["published"] = progress.published
    for kind, actual in counts.items():
        line = f"  {kind:<10}{actual:>6} of {total}"
        if kind in KINDS and minute is not None:
            found = standing(plan.curve(kind), total, kind, minute, actual)
            behind = behind or found.status == "behind"
            line += f"   {standing_text(found)}"
        lines.append(line)
    lines.append(f"  review queue: {progress.queue.waiting} waiting, {_age(progress)}")
    refused = ", ".join(f"{c.rule} {c.refused}" for c in progress.refused) or "none"
    lines.append(f"  refused by rule: {refused} ({progress.refused_submissions} submissions)")
    missing = sum(c.missing for c in progress.missing)
    lines.append(f"  missing: {missing} precincts in {len(progress.missing)} counties")
    for county in progress.missing[:counties]:
        shown = county.precincts[:3]
        chairs = "; ".join(
            f"{p.precinct_id} {p.chair_name} {p.chair_phone} ({p.status})" for p in shown
        )
        more = f"; and {county.missing - len(shown)} more" if county.missing > len(shown) else ""
        lines.append(f"    {county.county:<14}{county.missing:>4}  {chairs}{more}")
    return "\n".join(lines), behind


def watch(
    host: str,
    plan_folder: Path,
    reviewer: str | None,
    reviewer_key: str | None,
    admin_key: str | None,
    every_s: float,
    once: bool,
    counties: int,
) -> int:
    """Print a reading every ``every_s`` seconds (or one, ``once``: exit 1 when behind plan)."""
    try:
        plan = read_plan(plan_folder)
    except PlanError as error:
        print(f"caucus watch: {error}", file=sys.stderr)
        return 2
    endpoint = Endpoint(host, reviewer, reviewer_key, admin_key)
    while True:
        try:
            text, behind = reading(endpoint.progress(), plan, endpoint.host, counties)
        except WatchError as error:
            print(f"caucus watch: {error}", file=sys.stderr)
            if once:
                return 2
        else:
            print(text, flush=True)
            if once:
                return 1 if behind else 0
        time.sleep(every_s)
