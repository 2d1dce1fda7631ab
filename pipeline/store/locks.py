"""Every advisory-lock key newsmon takes, in one place, so two jobs never pick the same number.

Keys are ASCII tags read as integers. The two-key form ``pg_advisory_xact_lock(namespace, n)``
locks one item (a day, a story window) inside a namespace.
"""

from __future__ import annotations

MIGRATIONS = 0x6E6577736D6F6E  # "newsmon": one upgrade at a time (session lock, autocommit)
STORIES = 0x6E6D7374  # "nmst": story placement is serial (placement order matters)
DUPLICATES = 0x6E6D_6475_70  # "nmdup": syndicated-copy detection sees every earlier article
DIGEST_SEND = 0x6E6D6467  # "nmdg" + the day's ordinal: one sender of a day's digest at a time
ALERT_SEND = 0x6E6D616C  # "nmal": one alerts run at a time (an overlapping run waits, then sends nothing twice)
CALIBRATION = 0x6E6D6361  # "nmca": one first-use calibration at a time (the mapped embedding tasks start together)


def xact_lock(conn, key: int, item: int | None = None) -> None:
    """Take a transaction-scoped advisory lock (released at commit or rollback)."""
    if item is None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
    else:
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (key, item))


def session_lock(conn, key: int, item: int | None = None) -> None:
    """Take a session-scoped advisory lock (held across transactions); pair with ``session_unlock``."""
    if item is None:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
    else:
        conn.execute("SELECT pg_advisory_lock(%s, %s)", (key, item))


def session_unlock(conn, key: int, item: int | None = None) -> None:
    if item is None:
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    else:
        conn.execute("SELECT pg_advisory_unlock(%s, %s)", (key, item))
