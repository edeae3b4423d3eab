"""Storage for reports: one interface, SQLite (embedded default) or PostgreSQL (by URL).

A backend supplies two primitives: ``write`` runs a ledger function in a transaction and
returns only after it is durably committed; ``read`` runs one on a consistent snapshot. All
the recording rules live in :mod:`reporting.ledger`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TypeVar

from reporting import ledger
from reporting.ledger import Entry, Outcome, RuleCheck, StoredReport, Tx
from reporting.models import Stage

T = TypeVar("T")


class StorageError(RuntimeError):
    """The database could not be reached or could not commit."""


class Storage(abc.ABC):
    """Where reports are kept."""

    name: str

    @abc.abstractmethod
    async def write(self, work: Callable[[Tx], T], serialize_on: str | None = None) -> T:
        """Run ``work`` in a transaction; return once it is durably committed.

        Writes with the same ``serialize_on`` key never run concurrently.
        """

    @abc.abstractmethod
    async def read(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` on a consistent view, without writing."""

    @abc.abstractmethod
    def close(self) -> None:
        """Finish pending writes and release connections."""

    async def record(self, entry: Entry, check: RuleCheck, reject_impossible: bool) -> Outcome:
        return await self.write(
            lambda tx: ledger.record(tx, entry, check, reject_impossible), entry.precinct_id
        )

    async def precinct(self, precinct_id: str) -> tuple[dict[Stage, StoredReport], dict]:
        """Current version of each stage and corrections per stage."""

        def work(tx: Tx) -> tuple[dict[Stage, StoredReport], dict]:
            return ledger.current_reports(tx, precinct_id), ledger.corrections(tx, precinct_id)

        return await self.read(work)

    async def final_reports(self) -> list[dict]:
        return await self.read(ledger.final_reports)

    async def every_report(self) -> list[StoredReport]:
        return await self.read(ledger.every_report)

    async def ping(self) -> None:
        await self.read(lambda tx: tx.fetchone("SELECT 1"))

    async def lockout(self, precinct_id: str) -> tuple[int, float]:
        return await self.read(lambda tx: ledger.lockout(tx, precinct_id))

    async def bad_pin(
        self, precinct_id: str, now: float, max_failures: int, lockout_s: float
    ) -> float:
        return await self.write(
            lambda tx: ledger.bad_pin(tx, precinct_id, now, max_failures, lockout_s),
            f"sign-in:{precinct_id}",
        )

    async def good_pin(self, precinct_id: str) -> None:
        await self.write(lambda tx: ledger.good_pin(tx, precinct_id), f"sign-in:{precinct_id}")


def open_storage(url: str) -> Storage:
    """``sqlite:///path/to/file.db`` (or a plain path) or ``postgresql://...``."""
    if url.startswith(("postgresql://", "postgres://")):
        from reporting.postgres import PostgresStorage

        return PostgresStorage(url)
    from reporting.sqlite import SqliteStorage

    return SqliteStorage(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
