"""Storage for reports: one interface, SQLite (embedded default) or PostgreSQL (by URL).

A backend supplies two primitives: ``write`` runs a function in a transaction and returns only
after it is durably committed; ``read`` runs one on a consistent snapshot. The recording rules
live in :mod:`reporting.ledger`, the sign-in limits in :mod:`reporting.guard`.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from typing import TypeVar

from reporting import guard, ledger
from reporting.guard import Gate, SignInPolicy
from reporting.ledger import Entry, Outcome, RuleCheck, StoredReport, Tx
from reporting.models import Stage

T = TypeVar("T")


class StorageError(RuntimeError):
    """The database could not be reached or could not commit."""


def precinct_key(precinct_id: str) -> str:
    return f"precinct:{precinct_id}"


class Storage(abc.ABC):
    """Where reports, sessions and shared limits are kept."""

    name: str

    @abc.abstractmethod
    async def write(self, work: Callable[[Tx], T], keys: tuple[str, ...] = ()) -> T:
        """Run ``work`` in a transaction; return once it is durably committed.

        Writes sharing any of ``keys`` never run concurrently, on any worker or host.
        """

    @abc.abstractmethod
    async def read(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` on a consistent view, without writing."""

    @abc.abstractmethod
    def close(self) -> None:
        """Finish pending writes and release connections."""

    async def record(self, entry: Entry, check: RuleCheck, reject_impossible: bool) -> Outcome:
        return await self.write(
            lambda tx: ledger.record(tx, entry, check, reject_impossible),
            (precinct_key(entry.precinct_id),),
        )

    async def review(self, receipt_id: str, approve: bool, actor: str, reason: str) -> Outcome:
        row = await self.read(
            lambda tx: tx.fetchone(
                "SELECT precinct_id FROM submissions WHERE receipt_id = ?", (receipt_id,)
            )
        )
        keys = (precinct_key(row[0]),) if row else ()
        return await self.write(
            lambda tx: ledger.review(tx, receipt_id, approve, actor, reason), keys
        )

    async def precinct(self, precinct_id: str) -> tuple[dict[Stage, StoredReport], dict]:
        """Current version of each stage and (in force, held) corrections per stage."""

        def work(tx: Tx) -> tuple[dict[Stage, StoredReport], dict]:
            return ledger.current_reports(tx, precinct_id), ledger.corrections(tx, precinct_id)

        return await self.read(work)

    async def final_reports(self) -> list[dict]:
        return await self.read(ledger.final_reports)

    async def every_report(self) -> list[StoredReport]:
        return await self.read(ledger.every_report)

    async def ping(self) -> None:
        await self.read(lambda tx: tx.fetchone("SELECT 1"))

    async def reserve_sign_in(
        self, account: str, client: str, policy: SignInPolicy, capped: bool
    ) -> Gate:
        """Reserve one sign-in attempt before its code is checked (see :mod:`reporting.guard`)."""
        now = time.time()
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

    async def unlock(self, precinct_id: str, actor: str, reason: str) -> bool:
        return await self.write(
            lambda tx: guard.unlock(tx, precinct_id, actor, reason),
            (f"account:precinct:{precinct_id}",),
        )

    async def reset_code(self, precinct_id: str, pin_hash: str, actor: str, reason: str) -> int:
        now = time.time()
        return await self.write(
            lambda tx: guard.reset_code(tx, precinct_id, pin_hash, now, actor, reason),
            (f"account:precinct:{precinct_id}",),
        )

    async def hq_log(self, only_open: bool) -> list[dict]:
        return await self.read(lambda tx: guard.hq_log(tx, only_open))

    async def fault_clock(self, now: float) -> float:
        """When the rehearsal fault clock started: the first call anywhere sets it."""

        def work(tx: Tx) -> float:
            tx.execute(
                "INSERT INTO fault_clock (name, started) VALUES ('faults', ?)"
                " ON CONFLICT (name) DO NOTHING",
                (now,),
            )
            (started,) = tx.fetchone("SELECT started FROM fault_clock WHERE name = 'faults'")
            return float(started)

        return await self.write(work, ("fault-clock",))


def open_storage(url: str) -> Storage:
    """``sqlite:///path/to/file.db`` (or a plain path) or ``postgresql://...``."""
    if url.startswith(("postgresql://", "postgres://")):
        from reporting.postgres import PostgresStorage

        return PostgresStorage(url)
    from reporting.sqlite import SqliteStorage

    return SqliteStorage(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
