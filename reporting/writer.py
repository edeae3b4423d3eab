"""Group commit: one writer thread per worker turns many queued writes into one transaction.

A batch commits once, so one WAL flush makes a whole batch durable; only then is each request
answered. A batch first runs its writes one after another with no savepoints (a statement less
per write: on PostgreSQL a round trip), in a pipeline (:meth:`reporting.ledger.Tx.pipeline`):
what the writes read first (their ``reads``) is sent together, and an insert whose answer a
write does not need yet (its result is :class:`Later`) goes out with the next statements. On
PostgreSQL a batch then takes a round trip per wave (see :func:`_run_together`) and one to
end, where it took two per write. Should any write fail, the batch is rolled back and run
again without the pipeline, each write in its own savepoint, so a failing write is rolled back
alone and the others still commit. A write is a function of the database alone, so running it
again after a rollback is safe: nothing it did was committed or answered.

With a lock function (PostgreSQL, several workers), a batch first locks every key its writes
name, so writes sharing a key never run at once on any worker or host. It tries the locks
without waiting: a write whose key another worker holds (and every later write sharing a key
with it) is put off to the next batch, so one busy precinct does not hold up a batch of others.
The next batch waits for the keys of the writes put off before it tries the others, so a write
is put off at most once. A batch waits only at its start, for keys in ascending order, holding
no lock but those below the one it waits for: two batches cannot wait for each other.
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

from reporting.ledger import Later, Query, Tx
from reporting.storage import StorageError

T = TypeVar("T")
C = TypeVar("C")
BATCH = 60
"""Most writes committed together: bounds how long the writer holds the GIL, and stays under
the 64 subtransactions PostgreSQL tracks per transaction in shared memory (beyond that, every
snapshot gets slower)."""
RACE_RETRIES = 3
"""Times a write that lost a race (``retry_on``) is re-run in its savepoint."""

Lock = Callable[[Tx, list[int], list[int]], set[int]]
"""``lock(tx, wait_for, attempt)`` takes locks for the rest of the transaction: first each of
``wait_for``, waiting, in ascending order; then tries each of ``attempt`` without waiting. The
ids of ``attempt`` held elsewhere."""


@dataclass(slots=True)
class _Write:
    work: Callable[..., Any]
    """``work(tx)``; with ``reads``, ``work(tx, rows)``."""
    keys: tuple[str, ...]
    reads: Query | None
    """What the write reads first: every row it reads that a write could change, and all of
    them under its keys."""
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    put_off: bool = False
    """Put off by a lock held elsewhere: its batch waits for its keys."""

    @property
    def keeps_its_place(self) -> bool:
        """Reads nothing first, or names no keys: nothing says what it may run before."""
        return self.reads is None or not self.keys

    def run(self, tx: Tx, rows: list[tuple] | None) -> Any:
        """The write's result (maybe :class:`Later`), given its first read's ``rows`` if read."""
        if self.reads is None:
            return self.work(tx)
        return self.work(tx, tx.fetchall(*self.reads) if rows is None else rows)


Outcome = tuple[bool, Any]


class GroupCommitWriter(Generic[C]):
    """A writer thread owning one connection (autocommit mode; transactions in SQL)."""

    def __init__(
        self,
        name: str,
        connect: Callable[[], C],
        wrap: Callable[[C], Tx],
        errors: tuple[type[Exception], ...],
        begin: str = "BEGIN",
        lock: Lock | None = None,
        retry_on: tuple[type[Exception], ...] = (),
    ) -> None:
        self.name = name
        self._connect, self._wrap, self._errors = connect, wrap, errors
        self._begin, self._lock, self._retry_on = begin, lock, retry_on
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)
        self._thread.start()

    async def write(
        self,
        work: Callable[..., T | Later[T]],
        keys: tuple[str, ...] = (),
        reads: Query | None = None,
    ) -> T:
        """Queue ``work`` (``work(tx)``, or with ``reads`` ``work(tx, rows)``: the rows of that
        statement); return its result once its batch is committed."""
        if not self._thread.is_alive():
            raise StorageError(f"the {self.name} writer has stopped")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Write(work, keys, reads, future, loop))
        return await future

    def close(self) -> None:
        """Commit what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)

    def _run(self) -> None:
        connection: Any = None
        put_off: list[_Write] = []
        stopping = False
        while put_off or not stopping:
            batch, put_off = put_off, []
            if not batch:
                first = self._queue.get()
                if first is None:
                    break
                batch.append(first)
            while len(batch) < BATCH and not stopping:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True  # finish what is queued, then stop
                else:
                    batch.append(item)
            try:
                connection = connection or self._connect()
                done, put_off = self._commit(connection, batch)
            except self._errors as error:
                self._discard(connection)  # rolls back; the next batch reconnects
                connection = None
                failure = StorageError(f"{self.name} commit failed: {error}")
                done = [(write, (False, failure)) for write in batch]
            _answer(done)
        self._discard(connection)

    def _commit(
        self, connection: Any, batch: list[_Write]
    ) -> tuple[list[tuple[_Write, Outcome]], list[_Write]]:
        """Run and commit what of ``batch`` can run now; its outcomes, and the writes put off."""
        tx = self._wrap(connection)
        ready, put_off = self._start(connection, tx, batch)
        try:
            with tx.pipeline():
                results = _run_together(tx, ready)
            outcomes = [(True, _settled(result)) for result in results]
        except Exception:  # one bad write must not sink the batch: run it again, carefully
            connection.execute("ROLLBACK")
            ready, put_off = self._start(connection, tx, batch)
            outcomes = [self._attempt(connection, tx, write) for write in ready]
        connection.execute("COMMIT")
        for write in put_off:
            write.put_off = True
        return list(zip(ready, outcomes, strict=True)), put_off

    def _start(
        self, connection: Any, tx: Tx, batch: list[_Write]
    ) -> tuple[list[_Write], list[_Write]]:
        """Begin; lock the batch's keys. The writes that may run, and those put off."""
        connection.execute(self._begin)
        if self._lock is None:
            return batch, []
        wait_for = {lock_id(k) for w in batch if w.put_off for k in w.keys}
        attempt = {lock_id(k) for w in batch for k in w.keys} - wait_for
        busy = self._lock(tx, sorted(wait_for), sorted(attempt))
        if not busy:
            return batch, []
        ready: list[_Write] = []
        put_off: list[_Write] = []
        behind: set[str] = set()  # keys of writes put off: later writes keep their order
        for write in batch:
            if behind.intersection(write.keys) or any(lock_id(k) in busy for k in write.keys):
                behind.update(write.keys)
                put_off.append(write)
            else:
                ready.append(write)
        return ready, put_off

    def _attempt(self, connection: Any, tx: Tx, write: _Write) -> Outcome:
        """One write in its own savepoint, re-run if it lost a race; never raises its error."""
        for _ in range(RACE_RETRIES):
            ok, value = self._once(connection, tx, write)
            if ok or not isinstance(value, self._retry_on):
                break
        if not ok and isinstance(value, self._errors):
            value = StorageError(f"{self.name} write failed: {value}")
        return ok, value

    def _once(self, connection: Any, tx: Tx, write: _Write) -> Outcome:
        """``write`` in a savepoint of its own. A write that succeeds keeps its savepoint (the
        next one nests inside it; COMMIT ends them all): one statement less per write."""
        connection.execute("SAVEPOINT item")
        try:
            result = _settled(write.run(tx, None))
        except Exception as error:  # one bad write must not sink the batch
            connection.execute("ROLLBACK TO SAVEPOINT item")
            connection.execute("RELEASE SAVEPOINT item")
            return (False, error)
        return (True, result)

    def _discard(self, connection: Any) -> None:
        if connection is not None:
            with contextlib.suppress(*self._errors):
                connection.close()


def _run_together(tx: Tx, ready: list[_Write]) -> list[Any]:
    """Each write's result, in the batch's order; run in waves, each wave's first reads sent
    together before any of its writes runs (:meth:`reporting.ledger.Tx.fetchall_each`).

    A write runs in a wave after that of every earlier write sharing a key with it, so it sees
    what they did; writes sharing no key commute (what a write reads first is under its keys).
    A write without first reads or without keys keeps its place: it runs after every earlier
    write, and every later one after it.
    """
    results: dict[int, Any] = {}
    for wave in _waves(ready):
        together = {id(w): w.reads for w in wave if w.reads and not w.keeps_its_place}
        rows = dict(zip(together, tx.fetchall_each(list(together.values())), strict=True))
        for write in wave:
            results[id(write)] = write.run(tx, rows.get(id(write)))
    return [results[id(write)] for write in ready]


def _waves(ready: list[_Write]) -> list[list[_Write]]:
    """``ready`` in waves (see :func:`_run_together`), each in the batch's order."""
    waves: list[list[_Write]] = []
    last_of: dict[str, int] = {}  # key -> the last wave with a write naming it
    first = 0  # the first wave a write may run in: the one after the last that kept its place
    for write in ready:
        if write.keeps_its_place:
            wave = len(waves)
            first = wave + 1
        else:
            wave = max([first] + [last_of[key] + 1 for key in write.keys if key in last_of])
        waves.extend([] for _ in range(wave + 1 - len(waves)))
        waves[wave].append(write)
        last_of.update(dict.fromkeys(write.keys, wave))
    return waves


def _settled(result: Any) -> Any:
    return result.settle() if isinstance(result, Later) else result


def lock_id(key: str) -> int:
    """A signed 64-bit lock number for ``key`` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), signed=True)


def _answer(done: list[tuple[_Write, Outcome]]) -> None:
    """Settle each write's future: one wake-up of each waiting event loop per batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Outcome]]] = {}
    for write, outcome in done:
        by_loop.setdefault(write.loop, []).append((write.future, outcome))
    for loop, settled in by_loop.items():
        loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future, Outcome]]) -> None:
    for future, (ok, value) in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
