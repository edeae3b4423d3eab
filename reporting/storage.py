"""Storage for reports: one interface, SQLite (embedded default) or PostgreSQL (by URL).

A backend supplies two primitives: ``write`` runs a function in a transaction and returns only
after it is durably committed; ``read`` runs one on a consistent snapshot. The recording rules
live in :mod:`reporting.ledger`, the sign-in limits in :mod:`reporting.guard`.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from reporting import guard, ledger
from reporting.guard import Gate, SignInPolicy
from reporting.ledger import (
    Entry,
    Later,
    Ledger,
    NightRows,
    Outcome,
    Query,
    RuleCheck,
    StoredReport,
    Tx,
)
from reporting.models import Stage

if TYPE_CHECKING:  # the writer raises this module's StorageError
    from reporting.writer import GroupCommitWriter

T = TypeVar("T")


class StorageError(RuntimeError):
    """The database could not be reached or could not commit."""


class Storage(abc.ABC):
    """Where reports, sessions and shared limits are kept."""

    name: str
    _writer: GroupCommitWriter
    """The backend's writer thread (see :mod:`reporting.writer`)."""

    async def write(
        self,
        work: Callable[..., T | Later[T]],
        keys: tuple[str, ...] = (),
        reads: Query | None = None,
    ) -> T:
        """Run ``work`` in a transaction; return once it is durably committed.

        Writes sharing any of ``keys`` never run concurrently, on any worker or host. With
        ``reads``, ``work(tx, rows)`` gets that statement's rows, read with other writes' (see
        :mod:`reporting.writer`): every row it reads that a write could change must be under
        ``keys``.
        """
        return await self._writer.write(work, keys, reads)

    @abc.abstractmethod
    async def read(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` on a consistent view, without writing."""

    @abc.abstractmethod
    def close(self) -> None:
        """Finish pending writes and release connections."""

    async def record(self, entry: Entry, check: RuleCheck, hold_impossible: bool) -> Outcome:
        return await self.write(
            lambda tx, rows: ledger.record(tx, entry, check, hold_impossible, rows),
            ledger.record_keys(entry),
            ledger.record_reads(entry),
        )

    async def decide(
        self,
        receipt_id: str,
        decision: str,
        actor: str,
        reason: str,
        result: tuple[Stage, dict] | None,
        check: Callable[[str], RuleCheck],
        session_id: str | None = None,
    ) -> Outcome:
        """A reviewer's decision on a held row; ``check(precinct_id)`` checks a correction."""
        row = await self.read(
            lambda tx: tx.fetchone(
                "SELECT precinct_id FROM submissions WHERE receipt_id = ?", (receipt_id,)
            )
        )
        if row is None:
            return Outcome("unknown", code="unknown-receipt", detail=receipt_id)
        rules = check(row[0])
        return await self.write(
            lambda tx: ledger.decide(
                tx, receipt_id, decision, actor, reason, result, rules, session_id
            ),
            (ledger.precinct_key(row[0]),),
        )

    async def waiting_for_review(self, limit: int) -> tuple[int, list[StoredReport], dict]:
        """How many held rows wait, the oldest ``limit``, and each one's precinct's current
        stages (precinct id → stage → report)."""

        def work(tx: Tx) -> tuple[int, list[StoredReport], dict]:
            count, held = ledger.waiting_for_review(tx, limit)
            precincts = {r.receipt.precinct_id for r in held}
            return count, held, {p: ledger.current_reports(tx, p) for p in precincts}

        return await self.read(work)

    async def release(
        self, actor: str, reason: str, night_minute: float | None, scheduled_for: float | None
    ) -> dict | None:
        """Publish every verified version not yet public; the release (None: already done)."""

        def work(tx: Tx) -> dict | None:
            seq = ledger.release(tx, actor, reason, night_minute, scheduled_for)
            return None if seq is None else ledger.releases(tx)[-1]

        return await self.write(work, ("releases",))

    async def releases(self) -> list[dict]:
        return await self.read(ledger.releases)

    async def precinct(
        self, precinct_id: str, published: bool = False
    ) -> tuple[dict[Stage, StoredReport], dict]:
        """Current (or, ``published``, public) version of each stage and (in force, waiting)
        corrections per stage."""

        def work(tx: Tx) -> tuple[dict[Stage, StoredReport], dict]:
            return (
                ledger.current_reports(tx, precinct_id, published),
                ledger.corrections(tx, precinct_id),
            )

        return await self.read(work)

    async def final_reports(self, published: bool = False) -> list[dict]:
        return await self.read(lambda tx: ledger.final_reports(tx, published))

    async def every_report(self) -> list[StoredReport]:
        """Every row ever stored, corrections included, in the order they were stored."""
        return [report for report, _, _ in (await self.ledger(False)).reports]

    async def ledger(self, published: bool) -> Ledger:
        return await self.read(lambda tx: ledger.every_row(tx, published))

    async def night_rows(self, published: bool) -> NightRows:
        return await self.read(lambda tx: ledger.night_rows(tx, published))

    async def ping(self) -> None:
        await self.read(lambda tx: tx.fetchone("SELECT 1"))

    async def reserve_sign_in(
        self,
        account: str,
        client: str,
        policy: SignInPolicy,
        capped: bool,
        now: float | None = None,
    ) -> Gate:
        """Reserve one sign-in attempt before its code is checked (see :mod:`reporting.guard`);
        ``now`` (epoch seconds) is the time of the attempt."""
        now = time.time() if now is None else now
        return await self.write(
            lambda tx: guard.reserve(tx, account, client, now, policy, capped),
            (f"client:{client}", f"account:{account}"),
        )

    async def signed_in(
        self, account: str, client: str, session: tuple[str, str, str, float, float]
    ) -> None:
        await self.write(
            lambda tx: guard.signed_in(tx, account, client, session), (f"account:{account}",)
        )

    async def session_open(self, session_id: str) -> bool:
        """The session exists, is not revoked and has not expired."""
        now = time.time()
        row = await self.read(
            lambda tx: tx.fetchone(
                f"SELECT 1 FROM sessions WHERE {guard.SESSION_OPEN}", (session_id, now)
            )
        )
        return row is not None

    async def revoke_session(self, session_id: str, by: str) -> None:
        now = time.time()
        await self.write(
            lambda tx: tx.execute(
                "UPDATE sessions SET revoked_at = ?, revoked_by = ?"
                " WHERE session_id = ? AND revoked_at IS NULL",
                (now, by, session_id),
            )
        )

    async def unlock(
        self, precinct_id: str, actor: str, reason: str, session_id: str | None = None
    ) -> bool | None:
        """Lift a precinct's hold: whether it was held; None (nothing done) when the actor's
        ``session_id`` is not open."""
        now = time.time()
        return await self.write(
            lambda tx: (
                guard.unlock(tx, precinct_id, actor, reason)
                if guard.session_open(tx, session_id, now)
                else None
            ),
            (f"account:precinct:{precinct_id}",),
        )

    async def unlock_all(self, precinct_ids: list[str], actor: str, reason: str) -> list[str]:
        """Lift every precinct's hold; the precincts unlocked. ``precinct_ids`` (the
        roster's) name the locks the write takes."""
        return await self.write(
            lambda tx: guard.unlock_all(tx, actor, reason),
            tuple(f"account:precinct:{p}" for p in precinct_ids),
        )

    async def reset_code(
        self,
        precinct_id: str,
        pin_hash: str,
        actor: str,
        reason: str,
        session_id: str | None = None,
    ) -> int | None:
        """A precinct's new code hash: how many chair sessions it revoked; None (nothing
        done) when the actor's ``session_id`` is not open."""
        now = time.time()
        return await self.write(
            lambda tx: (
                guard.reset_code(tx, precinct_id, pin_hash, now, actor, reason)
                if guard.session_open(tx, session_id, now)
                else None
            ),
            (f"account:precinct:{precinct_id}",),
        )

    async def revoke_sessions(self, role: str, name: str, actor: str, reason: str) -> int:
        """Revoke every open session of an operator or reviewer (see :mod:`reporting.guard`)."""
        now = time.time()
        return await self.write(
            lambda tx: guard.revoke_sessions(tx, role, name, now, actor, reason),
            (f"account:{role}:{name}",),
        )

    async def hq_log(self, only_open: bool) -> list[dict]:
        return await self.read(lambda tx: guard.hq_log(tx, only_open))

    async def start_clock(self, name: str, now: float) -> float:
        """When the clock ``name`` (``faults``, ``night``) started: the first call anywhere sets
        it, every later one reads it."""

        def work(tx: Tx) -> float:
            tx.execute(
                "INSERT INTO clocks (name, started) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, now),
            )
            (started,) = tx.fetchone("SELECT started FROM clocks WHERE name = ?", (name,))
            return float(started)

        return await self.write(work, (f"clock:{name}",))

    async def clock_started(self, name: str) -> float | None:
        row = await self.read(
            lambda tx: tx.fetchone("SELECT started FROM clocks WHERE name = ?", (name,))
        )
        return None if row is None else float(row[0])


def open_storage(url: str) -> Storage:
    """``sqlite:///path/to/file.db`` (or a plain path) or ``postgresql://...``."""
    if url.startswith(("postgresql://", "postgres://")):
        from reporting.postgres import PostgresStorage

        return PostgresStorage(url)
    from reporting.sqlite import SqliteStorage

    return SqliteStorage(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
