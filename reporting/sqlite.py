"""SQLite storage: WAL mode, ``synchronous=FULL``, and group commit by one writer thread.

With WAL, ``synchronous=NORMAL`` survives a killed process but may lose the last commits on
power loss or an OS crash; a 2xx must survive both, so every commit syncs the WAL (FULL). To
keep that fast, writes go through :class:`reporting.writer.GroupCommitWriter`: one fsync per
batch. Readers use their own connections: WAL lets them read while the writer writes. Several
worker processes may share the file (``BEGIN IMMEDIATE`` waits its turn).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio.to_thread

from reporting.ledger import Query
from reporting.schema import OLDER, schema
from reporting.storage import Storage, StorageError
from reporting.writer import GroupCommitWriter

T = TypeVar("T")


class SqliteTx:
    """A :class:`reporting.ledger.Tx` over a sqlite3 connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self._connection.execute(sql, params).fetchone()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._connection.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._connection.execute(sql, params)

    def fetchall_each(self, queries: Sequence[Query]) -> list[list[tuple]]:
        return [self.fetchall(sql, params) for sql, params in queries]

    def later(self, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[tuple]]:
        rows = self.fetchall(sql, params)  # in process: nothing to gain by waiting
        return lambda: rows

    def pipeline(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()


class SqliteStorage(Storage):
    """Reports in one SQLite file."""

    def __init__(self, path: str) -> None:
        self.name = "sqlite"
        self._path = path
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        setup = self._connect()
        try:
            setup.executescript(schema("sqlite"))
            setup.execute(OLDER)
        except sqlite3.Error as error:
            raise StorageError(f"cannot use {path}: {error} (made by an older version?)") from error
        self._writer = GroupCommitWriter(
            "SQLite", self._connect, SqliteTx, (sqlite3.Error,), begin="BEGIN IMMEDIATE"
        )

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=30
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        with self._lock:
            self._connections.append(connection)
        return connection

    async def read(self, work: Callable[[SqliteTx], T]) -> T:
        return await anyio.to_thread.run_sync(self._read, work)

    def _read(self, work: Callable[[SqliteTx], T]) -> T:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
        try:
            connection.execute("BEGIN")
            try:
                return work(SqliteTx(connection))
            finally:
                connection.execute("ROLLBACK")
        except sqlite3.Error as error:
            raise StorageError(f"SQLite read failed: {error}") from error

    def close(self) -> None:
        self._writer.close()
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
