"""PostgreSQL storage (psycopg 3), for several workers or hosts.

Each worker writes through one :class:`reporting.writer.GroupCommitWriter` connection: a batch
of writes commits once with the server's durable default (``synchronous_commit=on``). Writes
for one precinct take a transaction-scoped advisory lock, so they run one after another across
workers and hosts (every lock of a batch is taken at its start, in one global order); the
unique constraints stay as the safety net (a write that still loses a
race is re-run and then sees the winner's row), so a race never adds a second row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import anyio.to_thread
import psycopg
from psycopg_pool import ConnectionPool

from reporting.ledger import Query, Tx
from reporting.schema import OLDER, schema
from reporting.storage import Storage, StorageError
from reporting.writer import GroupCommitWriter

T = TypeVar("T")


class PostgresTx:
    """A :class:`reporting.ledger.Tx` over a psycopg connection (``?`` → ``%s``): through one
    cursor, each statement's rows read before the next is sent; :meth:`fetchall_each` and
    :meth:`later` send without waiting, in psycopg's pipeline mode."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self._connection = connection
        self._cursor = connection.cursor()

    def fetchall_each(self, queries: Sequence[Query]) -> list[list[tuple]]:
        if not queries:
            return []  # a sync with nothing to send is a round trip all the same
        with self._connection.pipeline() as pipeline:  # within the batch's: the same one
            cursors = [self._send(sql, params) for sql, params in queries]
            pipeline.sync()  # every answer at once (reading one by one asks for each)
            return [cursor.fetchall() for cursor in cursors]

    def later(self, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[tuple]]:
        return self._send(sql, params).fetchall

    def _send(self, sql: str, params: Sequence[Any]) -> psycopg.Cursor:
        """A cursor of its own, so that its answer is not replaced by the next one's."""
        return self._connection.execute(sql.replace("?", "%s"), params)

    def pipeline(self) -> AbstractContextManager[Any]:
        return self._connection.pipeline()

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self._cursor.execute(sql.replace("?", "%s"), params).fetchone()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._cursor.execute(sql.replace("?", "%s"), params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(sql.replace("?", "%s"), params)


GENERIC_PLANS = "-c plan_cache_mode=force_generic_plan"
"""For the writer's connection: each statement planned once for every value. Its statements
look rows up by key (precinct, receipt, session, account) and plan to index scans even on
empty tables. Left to choose, PostgreSQL planned the ledger's query (18 subplans) afresh at
each execution: with this the server's CPU per write went from about 0.5 ms to 0.3 ms."""


class PostgresStorage(Storage):
    """Reports in a PostgreSQL database: a group-commit writer, and a pool for readers."""

    def __init__(self, url: str, readers: int = 8) -> None:
        self.name = "postgresql"
        self._url = url
        self._pool = ConnectionPool(url, min_size=1, max_size=readers, open=False)
        try:
            self._pool.open(wait=True, timeout=15)
            with self._pool.connection() as connection:
                # Several workers may start at once: serialise creating the schema.
                connection.execute("SELECT pg_advisory_xact_lock(5)")
                connection.execute(schema("postgresql"))
                connection.execute(OLDER)
        except (psycopg.Error, TimeoutError) as error:
            self._pool.close()
            raise StorageError(f"cannot open PostgreSQL: {error}") from error
        self._writer = GroupCommitWriter(
            "PostgreSQL",
            lambda: psycopg.connect(self._url, autocommit=True, options=GENERIC_PLANS),
            PostgresTx,
            (psycopg.Error,),
            lock=_serialise,
            retry_on=(psycopg.errors.UniqueViolation,),
        )

    async def read(self, work: Callable[[PostgresTx], T]) -> T:
        return await anyio.to_thread.run_sync(self._read, work)

    def _read(self, work: Callable[[PostgresTx], T]) -> T:
        try:
            try:
                return self._read_once(work)
            except psycopg.OperationalError:  # a pooled connection died since its last use
                return self._read_once(work)
        except psycopg.Error as error:
            raise StorageError(f"PostgreSQL read failed: {error}") from error

    def _read_once(self, work: Callable[[PostgresTx], T]) -> T:
        with self._pool.connection() as connection, connection.transaction():
            return work(PostgresTx(connection))

    def close(self) -> None:
        self._writer.close()
        self._pool.close()


def _serialise(tx: Tx, wait_for: list[int], attempt: list[int]) -> set[int]:
    """A batch's locks (see :data:`reporting.writer.Lock`): ``wait_for`` waited for in
    ascending order, so writes sharing a key wait for each other across workers and hosts and
    no two waiting batches wait for each other in a cycle; then ``attempt`` tried, each
    without waiting. The ids of ``attempt`` held elsewhere."""
    if wait_for:
        tx.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(?::bigint[]) WITH ORDINALITY AS l(k, i)"
            " ORDER BY i",
            (wait_for,),
        )
    if not attempt:
        return set()
    rows = tx.fetchall(
        "SELECT k FROM unnest(?::bigint[]) AS l(k) WHERE NOT pg_try_advisory_xact_lock(k)",
        (attempt,),
    )
    return {k for (k,) in rows}
