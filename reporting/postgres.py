"""PostgreSQL storage (psycopg 3 with a connection pool), for several workers or hosts.

Commits use the server's durable default (``synchronous_commit=on``); concurrent commits share
WAL flushes. Submissions for one precinct take a transaction-scoped advisory lock, so they run
one after another across workers and hosts; the unique constraints stay as the safety net (a
write that still loses a race is re-run and then sees the winner's row), so a race never adds a
second row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio.to_thread
import psycopg
from psycopg_pool import ConnectionPool

from reporting.storage import Storage, StorageError

T = TypeVar("T")
RACE_RETRIES = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    seq BIGSERIAL PRIMARY KEY,
    receipt_id TEXT NOT NULL UNIQUE,
    precinct_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    entered_by TEXT NOT NULL,
    correction_of TEXT UNIQUE REFERENCES submissions (receipt_id),
    flags TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (precinct_id, idempotency_key)
);
CREATE UNIQUE INDEX IF NOT EXISTS one_original_per_stage
    ON submissions (precinct_id, stage) WHERE correction_of IS NULL;
CREATE TABLE IF NOT EXISTS login_failures (
    precinct_id TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until DOUBLE PRECISION NOT NULL
);
"""


class PostgresTx:
    """A :class:`reporting.ledger.Tx` over a psycopg connection (``?`` → ``%s``)."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self._connection = connection

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self._connection.execute(sql.replace("?", "%s"), params).fetchone()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._connection.execute(sql.replace("?", "%s"), params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._connection.execute(sql.replace("?", "%s"), params)


class PostgresStorage(Storage):
    """Reports in a PostgreSQL database."""

    def __init__(self, url: str, max_connections: int = 32) -> None:
        self.name = "postgresql"
        self._pool = ConnectionPool(url, min_size=2, max_size=max_connections, open=False)
        try:
            self._pool.open(wait=True, timeout=15)
            with self._pool.connection() as connection:
                # Several workers may start at once: serialise creating the schema.
                connection.execute("SELECT pg_advisory_xact_lock(5)")
                connection.execute(SCHEMA)
        except (psycopg.Error, TimeoutError) as error:
            self._pool.close()
            raise StorageError(f"cannot open PostgreSQL: {error}") from error

    async def write(self, work: Callable[[PostgresTx], T], serialize_on: str | None = None) -> T:
        return await anyio.to_thread.run_sync(self._write, work, serialize_on)

    async def read(self, work: Callable[[PostgresTx], T]) -> T:
        return await anyio.to_thread.run_sync(self._read, work)

    def _write(self, work: Callable[[PostgresTx], T], serialize_on: str | None) -> T:
        for _ in range(RACE_RETRIES):
            try:
                with self._pool.connection() as connection, connection.transaction():
                    if serialize_on is not None:
                        connection.execute(
                            "SELECT pg_advisory_xact_lock(hashtext(%s))", (serialize_on,)
                        )
                    return work(PostgresTx(connection))
            except psycopg.errors.UniqueViolation as error:
                race = error
            except psycopg.Error as error:
                raise StorageError(f"PostgreSQL write failed: {error}") from error
        raise StorageError(f"PostgreSQL write lost {RACE_RETRIES} races in a row") from race

    def _read(self, work: Callable[[PostgresTx], T]) -> T:
        try:
            with self._pool.connection() as connection, connection.transaction():
                return work(PostgresTx(connection))
        except psycopg.Error as error:
            raise StorageError(f"PostgreSQL read failed: {error}") from error

    def close(self) -> None:
        self._pool.close()
