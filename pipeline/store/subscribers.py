"""SQL of subscriptions: the ``subscribers`` table (who gets the digest and alerts, and which part).

An unsubscribe keeps the row with ``unsubscribed_at`` set (so a fallback address from
``NEWSMON_DIGEST_TO`` stays unsubscribed); ``add`` on such a row subscribes it again.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import psycopg
from psycopg.rows import class_row

_COLUMNS = "email, themes, language, alerts, created_at, updated_at, unsubscribed_at, unsubscribed_via"


class Subscriber(NamedTuple):
    email: str  # bare, lower-cased address
    themes: list[str]  # empty: every digest theme
    language: str  # de | en | both
    alerts: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    unsubscribed_at: dt.datetime | None
    unsubscribed_via: str | None

    @property
    def active(self) -> bool:
        return self.unsubscribed_at is None


def upsert(conn: psycopg.Connection, email: str, themes: list[str], language: str, alerts: bool) -> Subscriber:
    """Subscribe (or re-subscribe, or change the choices of) ``email``."""
    with conn.cursor(row_factory=class_row(Subscriber)) as cur:
        cur.execute(
            f"""INSERT INTO subscribers (email, themes, language, alerts)
                VALUES (%s, %s, %s, %s)
                ON CONFLICT (email) DO UPDATE
                SET themes = EXCLUDED.themes, language = EXCLUDED.language, alerts = EXCLUDED.alerts,
                    unsubscribed_at = NULL, unsubscribed_via = NULL, updated_at = now()
                RETURNING {_COLUMNS}""",
            (email, themes, language, alerts),
        )
        return cur.fetchone()


def unsubscribe(conn: psycopg.Connection, email: str, via: str, at: dt.datetime) -> bool:
    """Mark ``email`` unsubscribed (a row is created for a fallback address that has none).
    True when it was subscribed (or unknown) before, False when it already was unsubscribed."""
    row = conn.execute(
        """INSERT INTO subscribers (email, unsubscribed_at, unsubscribed_via) VALUES (%s, %s, %s)
           ON CONFLICT (email) DO UPDATE
           SET unsubscribed_at = EXCLUDED.unsubscribed_at, unsubscribed_via = EXCLUDED.unsubscribed_via,
               updated_at = now()
           WHERE subscribers.unsubscribed_at IS NULL
           RETURNING email""",
        (email, at, via),
    ).fetchone()
    return row is not None


def get(conn: psycopg.Connection, email: str) -> Subscriber | None:
    with conn.cursor(row_factory=class_row(Subscriber)) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM subscribers WHERE email = %s", (email,))
        return cur.fetchone()


def list_all(conn: psycopg.Connection, *, include_unsubscribed: bool = False) -> list[Subscriber]:
    with conn.cursor(row_factory=class_row(Subscriber)) as cur:
        cur.execute(
            f"""SELECT {_COLUMNS} FROM subscribers
                WHERE %s OR unsubscribed_at IS NULL ORDER BY email""",
            (include_unsubscribed,),
        )
        return cur.fetchall()
