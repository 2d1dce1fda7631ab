"""Mail sends recorded in a ledger table while a session-wide advisory lock is held.

The lock is held across many short ledger transactions and the SMTP talk between them (never
one long transaction), so a concurrent sender of the same batch waits, then sees what was sent.
The digest and the alerts stages send this way."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable, Iterator

from pipeline.store import locks

log = logging.getLogger(__name__)


def committed(conn, write: Callable, *args, **kwargs) -> None:
    """One ledger write in its own transaction, committed before the next SMTP step."""
    with conn.transaction():
        write(conn, *args, **kwargs)


@contextmanager
def session_locked(conn, key: int, item: int | None = None) -> Iterator[None]:
    """Hold the session lock ``key`` (``item``) on ``conn`` for the block."""
    committed(conn, locks.session_lock, key, item)
    try:
        yield
    finally:
        try:
            committed(conn, locks.session_unlock, key, item)
        except Exception:  # a broken connection drops its session locks anyway
            log.debug("could not release advisory lock %x/%s", key, item, exc_info=True)
