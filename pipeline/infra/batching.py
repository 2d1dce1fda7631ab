"""Batched writes: a background writer thread, and the transaction each batch runs in.

``BatchWriter`` lets the producers (extraction workers, the encoder) go on while the database
writes what they made: one thread collects the items and hands them to ``write`` in batches.
A failed write is not lost in the thread: the producer gets the error at its next ``put``,
``flush`` or ``close``.

``in_transaction`` runs one batch in one transaction and replays it when Postgres broke a
deadlock with a concurrent task by aborting this one.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable, Generic, TypeVar

import psycopg

log = logging.getLogger(__name__)

__all__ = ["BatchWriter", "in_transaction", "TX_ATTEMPTS"]

T = TypeVar("T")
R = TypeVar("R")

TX_ATTEMPTS = 3  # a batch transaction that hit a deadlock with a concurrent task is replayed
_STOP = object()  # in the queue: write what is left, then end the thread
_TICK = object()  # no item within flush_s: time to write what waits


class BatchWriter(Generic[T]):
    """One daemon thread that calls ``write(batch)`` with the items ``put`` to it, in order.

    A batch is written when it holds ``batch_size`` items, when its oldest unwritten item has
    waited ``flush_s`` seconds (``None``: only by size), on ``flush`` and on ``close``.
    ``max_queued`` bounds the items waiting (0: unbounded): ``put`` then blocks, which holds a
    producer that is faster than the database. The first error of ``write`` is kept, and
    raised (once) in the producer's thread; later batches are still offered to ``write``."""

    def __init__(
        self,
        write: Callable[[list[T]], object],
        *,
        batch_size: int = 1,
        flush_s: float | None = None,
        max_queued: int = 0,
        name: str = "batch-writer",
    ):
        self._write = write
        self.batch_size = batch_size
        self.flush_s = flush_s
        self._queue: queue.Queue = queue.Queue(maxsize=max_queued)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T, *, raise_error: bool = True) -> None:
        """Queue ``item``. Raises the writer's error first, so a producer stops early;
        ``raise_error=False`` for callers that must not raise (a future's done-callback)."""
        if raise_error:
            self.raise_error()
        self._queue.put(item)

    def flush(self) -> None:
        """Wait until every item put so far is written; raise the writer's error if any."""
        done = threading.Event()
        self._queue.put(done)
        while not done.wait(0.2):
            if not self._thread.is_alive():
                break
        self.raise_error()

    def close(self) -> None:
        """Write what is left and end the thread; raise the writer's error if any."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self.raise_error()

    def raise_error(self) -> None:
        """Raise the error a write hit since the last time one was raised, if any."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        batch: list[T] = []
        last = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=self.flush_s)
            except queue.Empty:
                item = _TICK
            urgent = item is _STOP or isinstance(item, threading.Event)
            if not urgent and item is not _TICK:
                batch.append(item)
            due = self.flush_s is not None and time.monotonic() - last > self.flush_s
            if batch and (urgent or due or len(batch) >= self.batch_size):
                try:
                    self._write(batch)
                except BaseException as exc:  # a systemic fault (database down): raised in the producer
                    if self._error is None:
                        self._error = exc
                batch, last = [], time.monotonic()
            if isinstance(item, threading.Event):
                item.set()
            if item is _STOP:
                return


def in_transaction(pool, work: Callable[[psycopg.Connection], R], attempts: int = TX_ATTEMPTS) -> R:
    """Run ``work(conn)`` in one transaction; replayed (whole) when Postgres broke a deadlock
    with a concurrent task by aborting this one. ``work`` must be idempotent."""
    for attempt in range(1, attempts):
        try:
            with pool.connection() as conn, conn.transaction():
                return work(conn)
        except psycopg.errors.DeadlockDetected:
            log.warning("deadlock with a concurrent task; replaying the batch (attempt %d)", attempt + 1)
            time.sleep(0.05 * attempt)
    with pool.connection() as conn, conn.transaction():  # the last attempt: its error is the caller's
        return work(conn)
