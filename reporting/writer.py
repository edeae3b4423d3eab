"""Group commit: one writer thread per worker turns many queued writes into one transaction.

Each write runs in its own savepoint (a failing write is rolled back alone); the batch commits
once, so one WAL flush makes a whole batch durable; only then is each request answered. With a
lock function (PostgreSQL, several workers), a batch first locks every key its writes name, all
at once and in one global order, so two workers' batches cannot deadlock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from reporting.ledger import Tx
from reporting.storage import StorageError

T = TypeVar("T")
C = TypeVar("C")
BATCH = 60
"""Most writes committed together: bounds how long the writer holds the GIL, and stays under
the 64 subtransactions PostgreSQL tracks per transaction in shared memory (beyond that, every
snapshot gets slower)."""
RACE_RETRIES = 3
"""Times a write that lost a race (``retry_on``) is re-run in its savepoint."""


@dataclass(frozen=True, slots=True)
class _Write:
    work: Callable[[Tx], Any]
    keys: tuple[str, ...]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class GroupCommitWriter(Generic[C]):
    """A writer thread owning one connection (autocommit mode; transactions in SQL)."""

    def __init__(
        self,
        name: str,
        connect: Callable[[], C],
        wrap: Callable[[C], Tx],
        errors: tuple[type[Exception], ...],
        begin: str = "BEGIN",
        lock: Callable[[Tx, list[int]], None] | None = None,
        retry_on: tuple[type[Exception], ...] = (),
    ) -> None:
        self.name = name
        self._connect, self._wrap, self._errors = connect, wrap, errors
        self._begin, self._lock, self._retry_on = begin, lock, retry_on
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)
        self._thread.start()

    async def write(self, work: Callable[[Tx], T], keys: tuple[str, ...] = ()) -> T:
        """Queue ``work``; return its result once its batch is committed."""
        if not self._thread.is_alive():
            raise StorageError(f"the {self.name} writer has stopped")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Write(work, keys, future, loop))
        return await future

    def close(self) -> None:
        """Commit what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)

    def _run(self) -> None:
        connection: Any = None
        for first in iter(self._queue.get, None):
            batch = [first]
            while len(batch) < BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(item)
            try:
                connection = connection or self._connect()
                outcomes = self._commit(connection, batch)
            except self._errors as error:
                self._discard(connection)  # rolls back; the next batch reconnects
                connection = None
                failure = StorageError(f"{self.name} commit failed: {error}")
                outcomes = [(False, failure)] * len(batch)
            for write, outcome in zip(batch, outcomes, strict=True):
                write.loop.call_soon_threadsafe(_settle, write.future, outcome)
        self._discard(connection)

    def _commit(self, connection: Any, batch: list[_Write]) -> list[tuple[bool, Any]]:
        tx = self._wrap(connection)
        outcomes: list[tuple[bool, Any]] = []
        connection.execute(self._begin)
        if self._lock is not None:
            self._lock(tx, sorted({lock_id(k) for w in batch for k in w.keys}))
        for write in batch:
            outcomes.append(self._attempt(connection, tx, write))
        connection.execute("COMMIT")
        return outcomes

    def _attempt(self, connection: Any, tx: Tx, write: _Write) -> tuple[bool, Any]:
        """One write in its own savepoint, re-run if it lost a race; never raises its error."""
        for _ in range(RACE_RETRIES):
            ok, value = self._once(connection, tx, write)
            if ok or not isinstance(value, self._retry_on):
                break
        if not ok and isinstance(value, self._errors):
            value = StorageError(f"{self.name} write failed: {value}")
        return ok, value

    def _once(self, connection: Any, tx: Tx, write: _Write) -> tuple[bool, Any]:
        """``write`` in a savepoint of its own. A write that succeeds keeps its savepoint (the
        next one nests inside it; COMMIT ends them all): one statement less per write."""
        connection.execute("SAVEPOINT item")
        try:
            result = write.work(tx)
        except Exception as error:  # one bad write must not sink the batch
            connection.execute("ROLLBACK TO SAVEPOINT item")
            connection.execute("RELEASE SAVEPOINT item")
            return (False, error)
        return (True, result)

    def _discard(self, connection: Any) -> None:
        if connection is not None:
            with contextlib.suppress(*self._errors):
                connection.close()


def lock_id(key: str) -> int:
    """A signed 64-bit lock number for ``key`` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), signed=True)


def _settle(future: asyncio.Future, outcome: tuple[bool, Any]) -> None:
    if future.cancelled():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
