"""The sign-in guard: limits kept in the database, so every worker and host shares them.

Each sign-in attempt is *reserved* in one transaction before its code is checked (so attempts
sent together cannot slip past a limit): the reservation counts it as a failure up front, and
a correct code then clears the count. Three limits, after the OWASP Authentication and
Credential Stuffing cheat sheets and NIST SP 800-63B section 5.2.2:

- per client address: a token bucket (``rate`` a second, bursts of ``burst``), 429;
- per account and client: after ``free`` failures, each further attempt waits twice as long
  as the last (1 s, 2 s, 4 s ... up to ``max_delay_s``), 429; failures decay with a half-life,
  so a typo an hour ago costs nothing. A guesser is slowed without touching the real chair,
  who signs in from another address;
- per precinct: at most ``cap`` failures in a row (NIST: no more than 100) since the last
  correct code, decaying with the same half-life, so wrong codes sent hours ago do not leave
  the chair one typo from a hold. The cap holds the precinct's sign-in and raises an alert
  for HQ; the hold does not decay: the hotline unlocks it (recorded) or resets the code, or
  HQ lifts every hold at once. Sessions already open keep working. With the decay a precinct
  takes at most ``cap`` (1 + ln 2 x night / half-life) wrong codes in a night without a hold:
  932 in 12 hours.

Times are epoch seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reporting.ledger import Tx


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    rate: float = 5.0
    burst: int = 20
    free: int = 3
    max_delay_s: float = 3600.0
    half_life_s: float = 3600.0
    cap: int = 100


@dataclass(frozen=True, slots=True)
class Gate:
    """A reservation: ``go`` (check the code), or why not and for how long (seconds)."""

    kind: str
    retry_after_s: float = 0.0
    pin_hash: str | None = None
    """The precinct's code hash after a reset (None: the roster's)."""


PRUNE_SHARE = 0.001
"""Share of reservations that also delete limit rows idle for a day (bounds the tables)."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def delay_s(failures: float, policy: SignInPolicy) -> float:
    """Seconds to wait after ``failures`` (decayed) failures of one account from one client."""
    whole = round(failures)  # decay between quick attempts must not round a delay away
    if whole < policy.free:
        return 0.0
    return min(policy.max_delay_s, 2.0 ** (whole - policy.free))


def _client_bucket(tx: Tx, client: str, now: float, policy: SignInPolicy) -> float:
    """Take a token from the client's bucket: 0 if there was one, else seconds to wait."""
    if policy.rate <= 0:
        return 0.0
    row = tx.fetchone("SELECT tokens, updated FROM sign_in_clients WHERE client = ?", (client,))
    tokens = float(policy.burst) if row is None else row[0] + (now - row[1]) * policy.rate
    tokens = min(float(policy.burst), tokens)
    wait = 0.0 if tokens >= 1 else (1 - tokens) / policy.rate
    tx.execute(
        "INSERT INTO sign_in_clients (client, tokens, updated) VALUES (?, ?, ?)"
        " ON CONFLICT (client) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated",
        (client, tokens - 1 if not wait else tokens, now),
    )
    return wait


def reserve(
    tx: Tx, account: str, client: str, now: float, policy: SignInPolicy, capped: bool
) -> Gate:
    """Reserve one attempt on ``account`` (``precinct:ID`` or ``operator:NAME``) from ``client``.

    ``capped`` accounts (precincts) are held after ``policy.cap`` failures in a row.
    """
    if random.random() < PRUNE_SHARE:
        tx.execute("DELETE FROM sign_in_clients WHERE updated < ?", (now - 86_400,))
        tx.execute("DELETE FROM sign_in_failures WHERE updated < ?", (now - 86_400,))
    wait = _client_bucket(tx, client, now, policy)
    if wait:
        return Gate("rate-limited", wait)
    held = tx.fetchone(
        "SELECT failures, updated, held_since FROM sign_in_accounts WHERE account = ?",
        (account,),
    )
    # decay between quick attempts must not let one more through (as in delay_s)
    in_a_row = 0.0 if held is None else held[0] * 0.5 ** ((now - held[1]) / policy.half_life_s)
    if capped and held is not None and (held[2] is not None or round(in_a_row) >= policy.cap):
        if held[2] is None:
            tx.execute(
                "UPDATE sign_in_accounts SET held_since = ? WHERE account = ?", (now, account)
            )
            precinct = account.removeprefix("precinct:")
            log(
                tx,
                "sign-in-held",
                "guard",
                f"{policy.cap} wrong codes in a row: sign-in held until the hotline unlocks it",
                precinct_id=precinct,
                open_alert=True,
            )
        return Gate("held")
    pair = tx.fetchone(
        "SELECT failures, updated FROM sign_in_failures WHERE account = ? AND client = ?",
        (account, client),
    )
    failures = 0.0
    if pair is not None:
        failures = pair[0] * 0.5 ** ((now - pair[1]) / policy.half_life_s)
        wait = pair[1] + delay_s(pair[0], policy) - now
        if wait > 0:
            return Gate("slow-down", wait)
    tx.execute(
        "INSERT INTO sign_in_failures (account, client, failures, updated) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (account, client) DO UPDATE"
        " SET failures = excluded.failures, updated = excluded.updated",
        (account, client, failures + 1, now),
    )
    tx.execute(
        "INSERT INTO sign_in_accounts (account, failures, updated, held_since)"
        " VALUES (?, ?, ?, NULL) ON CONFLICT (account) DO UPDATE"
        " SET failures = excluded.failures, updated = excluded.updated",
        (account, in_a_row + 1, now),
    )
    code = tx.fetchone(
        "SELECT pin_hash FROM precinct_codes WHERE precinct_id = ?",
        (account.removeprefix("precinct:"),),
    )
    return Gate("go", pin_hash=code[0] if code else None)


def signed_in(
    tx: Tx, account: str, client: str, session: tuple[str, str, str, float, float]
) -> None:
    """The code was right: clear the account's failures and open the session.

    ``session`` is (session id, role, subject, issued, expires).
    """
    tx.execute("DELETE FROM sign_in_failures WHERE account = ? AND client = ?", (account, client))
    tx.execute("DELETE FROM sign_in_accounts WHERE account = ?", (account,))
    session_id, role, subject, issued, expires = session
    tx.execute(
        "INSERT INTO sessions (session_id, role, subject, client, issued_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (session_id, role, subject, client, issued, expires),
    )


def session_open(tx: Tx, session_id: str | None, now: float) -> bool:
    """The session exists, is not revoked and has not expired (None: the admin key, no
    session to check)."""
    if session_id is None:
        return True
    return (
        tx.fetchone(f"SELECT 1 FROM sessions WHERE {SESSION_OPEN}", (session_id, now)) is not None
    )


def unlock(tx: Tx, precinct_id: str, actor: str, reason: str) -> bool:
    """Lift a precinct's sign-in hold and forget its failures; False if it was not held."""
    row = tx.fetchone(
        "SELECT held_since FROM sign_in_accounts WHERE account = ?", (f"precinct:{precinct_id}",)
    )
    tx.execute("DELETE FROM sign_in_accounts WHERE account = ?", (f"precinct:{precinct_id}",))
    tx.execute("DELETE FROM sign_in_failures WHERE account = ?", (f"precinct:{precinct_id}",))
    close_alerts(tx, "sign-in-held", precinct_id)
    log(tx, "sign-in-unlocked", actor, reason, precinct_id=precinct_id)
    return row is not None and row[0] is not None


def reset_code(tx: Tx, precinct_id: str, pin_hash: str, now: float, actor: str, reason: str) -> int:
    """Give the precinct a new code hash, revoke its chair's sessions; how many were revoked."""
    tx.execute(
        "INSERT INTO precinct_codes (precinct_id, pin_hash, reset_at) VALUES (?, ?, ?)"
        " ON CONFLICT (precinct_id) DO UPDATE"
        " SET pin_hash = excluded.pin_hash, reset_at = excluded.reset_at",
        (precinct_id, pin_hash, now),
    )
    revoked = _revoke(tx, "chair", precinct_id, now, actor)
    tx.execute("DELETE FROM sign_in_accounts WHERE account = ?", (f"precinct:{precinct_id}",))
    tx.execute("DELETE FROM sign_in_failures WHERE account = ?", (f"precinct:{precinct_id}",))
    close_alerts(tx, "sign-in-held", precinct_id)
    log(tx, "code-reset", actor, f"{reason} ({revoked} sessions revoked)", precinct_id=precinct_id)
    return revoked


def unlock_all(tx: Tx, actor: str, reason: str) -> list[str]:
    """Lift every precinct's sign-in hold, each recorded as its own unlock; the precincts."""
    held = tx.fetchall(
        "SELECT account FROM sign_in_accounts"
        " WHERE held_since IS NOT NULL AND account LIKE ? ORDER BY account",
        ("precinct:%",),
    )
    precincts = [account.removeprefix("precinct:") for (account,) in held]
    for precinct_id in precincts:
        unlock(tx, precinct_id, actor, reason)
    return precincts


def revoke_sessions(tx: Tx, role: str, name: str, now: float, actor: str, reason: str) -> int:
    """Revoke every open session of an operator or a reviewer (a reviewer's war-room screens
    too), recorded in the HQ log; how many were revoked."""
    revoked = _revoke(tx, role, name, now, actor)
    if role == "reviewer":
        revoked += _revoke(tx, "war-room", f"reviewer:{name}", now, actor)
    log(tx, "sessions-revoked", actor, f"{role}:{name}: {reason} ({revoked} sessions revoked)")
    return revoked


def _revoke(tx: Tx, role: str, subject: str, now: float, actor: str) -> int:
    rows = tx.fetchall(
        "UPDATE sessions SET revoked_at = ?, revoked_by = ?"
        " WHERE role = ? AND subject = ? AND revoked_at IS NULL AND expires_at >= ?"
        " RETURNING session_id",
        (now, actor, role, subject, now),
    )
    return len(rows)


SESSION_OPEN = "session_id = ? AND revoked_at IS NULL AND expires_at >= ?"
"""A session that exists, is not revoked and has not expired (params: id, now)."""


def log(
    tx: Tx,
    kind: str,
    actor: str,
    detail: str,
    precinct_id: str | None = None,
    receipt_id: str | None = None,
    open_alert: bool = False,
) -> None:
    """Append to what HQ sees; ``open_alert`` marks an alert that waits for someone to act."""
    tx.execute(
        "INSERT INTO hq_log (at, kind, precinct_id, receipt_id, actor, detail, open)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (now_iso(), kind, precinct_id, receipt_id, actor, detail, int(open_alert)),
    )


def close_alerts(tx: Tx, kind: str, precinct_id: str | None, receipt_id: str | None = None) -> None:
    """Mark the open alerts of ``kind`` about a precinct (or a receipt) as dealt with."""
    column, value = ("receipt_id", receipt_id) if receipt_id else ("precinct_id", precinct_id)
    tx.execute(
        f"UPDATE hq_log SET open = 0 WHERE kind = ? AND open = 1 AND {column} = ?", (kind, value)
    )


def hq_log(tx: Tx, only_open: bool) -> list[dict]:
    rows = tx.fetchall(
        "SELECT seq, at, kind, precinct_id, receipt_id, actor, detail, open FROM hq_log"
        + (" WHERE open = 1" if only_open else "")
        + " ORDER BY seq"
    )
    keys = ("seq", "at", "kind", "precinct_id", "receipt_id", "actor", "detail", "open")
    return [dict(zip(keys, row, strict=True)) | {"open": bool(row[-1])} for row in rows]
