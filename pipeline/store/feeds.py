"""The ``feeds`` table: the list from the feed file, conditional-GET state and health.

Health follows Miniflux: last status, last success, consecutive failures, last error, and
``next_check_at`` (the backoff, decided by the ingest stage); 410 disables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from psycopg.rows import class_row

from pipeline.records import FeedRow, FeedSpec, RefusedEntry
from pipeline.store import copy_temp

__all__ = [
    "upsert_feeds", "disable_missing", "feeds_with_ready_pages", "get_feeds", "record_not_modified",
    "record_success", "consecutive_failures", "record_failure", "record_refused_entries", "REMOVED_REASON",
    "DISABLED_IN_FILE",
]

REMOVED_REASON = "removed from the feed list"
DISABLED_IN_FILE = "disabled in the feed list"


def upsert_feeds(conn, specs: Sequence[FeedSpec]) -> None:
    """Insert or update the feeds of the file. A changed URL resets the fetch state; a feed
    disabled for a reason of its own (410 Gone) stays disabled until its URL changes."""
    rows = [(s.name, s.url, s.language, list(s.tags), s.enabled) for s in specs]
    copy_temp(
        conn, "tmp_feed_specs",
        [("name", "text"), ("url", "text"), ("language", "text"), ("tags", "text[]"), ("enabled", "boolean")],
        rows,
    )
    conn.execute(
        """
        INSERT INTO feeds AS f (name, url, language, tags, enabled, disabled_reason)
        SELECT name, url, language, tags, enabled, CASE WHEN enabled THEN NULL ELSE %(off)s END
        FROM tmp_feed_specs
        ON CONFLICT (name) DO UPDATE SET
            language = EXCLUDED.language,
            tags = EXCLUDED.tags,
            url = EXCLUDED.url,
            etag = CASE WHEN f.url = EXCLUDED.url THEN f.etag END,
            last_modified = CASE WHEN f.url = EXCLUDED.url THEN f.last_modified END,
            consecutive_failures = CASE WHEN f.url = EXCLUDED.url THEN f.consecutive_failures ELSE 0 END,
            next_check_at = CASE WHEN f.url = EXCLUDED.url THEN f.next_check_at END,
            enabled = CASE
                WHEN NOT EXCLUDED.enabled THEN false
                WHEN f.url <> EXCLUDED.url THEN true
                WHEN f.disabled_reason IS NULL OR f.disabled_reason IN (%(off)s, %(removed)s) THEN true
                ELSE f.enabled END,
            disabled_reason = CASE
                WHEN NOT EXCLUDED.enabled THEN %(off)s
                WHEN f.url <> EXCLUDED.url THEN NULL
                WHEN f.disabled_reason IN (%(off)s, %(removed)s) THEN NULL
                ELSE f.disabled_reason END,
            updated_at = now()
        """,
        {"off": DISABLED_IN_FILE, "removed": REMOVED_REASON},
    )


def disable_missing(conn, names: Iterable[str]) -> list[str]:
    """Disable feeds that are no longer in the file (their articles stay)."""
    rows = conn.execute(
        """UPDATE feeds SET enabled = false, disabled_reason = %s, updated_at = now()
           WHERE enabled AND NOT (name = ANY(%s)) RETURNING name""",
        (REMOVED_REASON, list(names)),
    ).fetchall()
    return [r[0] for r in rows]


def feeds_with_ready_pages(conn, names: Sequence[str], now: datetime) -> list[str]:
    """Enabled feeds among ``names`` with a pending page whose backoff has run out: their pages
    are fetched on this run even when the feed itself is not due."""
    rows = conn.execute(
        """SELECT f.name FROM feeds f
           WHERE f.enabled AND f.name = ANY(%s) AND EXISTS (
               SELECT 1 FROM feed_entries e
               WHERE e.feed_id = f.feed_id AND e.fetch_status = 'pending'
                 AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= %s))
           ORDER BY f.name""",
        (list(names), now),
    ).fetchall()
    return [r[0] for r in rows]


def record_refused_entries(conn, feed_id: int, refused: Sequence[RefusedEntry], now: datetime) -> None:
    """Entries whose link cannot be fetched, as 'skipped' with their reason (seen again: only
    ``last_attempt_at`` moves). ``parse_feed`` has cut the links to what is stored."""
    if not refused:
        return
    copy_temp(
        conn, "tmp_refused",
        [("entry_key", "text"), ("link", "text"), ("kind", "text"), ("reason", "text"), ("title", "text")],
        ((r.entry_key, r.link, r.kind, r.reason[:1000], r.title) for r in refused),
    )
    conn.execute(
        """INSERT INTO feed_entries AS e (feed_id, entry_key, link, canonical_url, title, fetch_status, fetch_error,
                                          problem_kind, attempts, last_attempt_at)
           SELECT DISTINCT ON (entry_key) %(feed)s, entry_key, link, link, title, 'skipped', reason, kind, 1, %(now)s
           FROM tmp_refused ORDER BY entry_key
           ON CONFLICT (feed_id, entry_key) DO UPDATE SET last_attempt_at = GREATEST(e.last_attempt_at, %(now)s)
           WHERE e.fetch_status = 'skipped'""",
        {"feed": feed_id, "now": now},
    )


def get_feeds(conn, names: Sequence[str], now: datetime) -> list[FeedRow]:
    """The enabled feeds among ``names``, each with whether its backoff has run out at ``now``."""
    with conn.cursor(row_factory=class_row(FeedRow)) as cur:
        return cur.execute(
            """SELECT feed_id, name, url, language, etag, last_modified, consecutive_failures,
                      (next_check_at IS NULL OR next_check_at <= %s) AS due
               FROM feeds WHERE name = ANY(%s) AND enabled ORDER BY name""",
            (now, list(names)),
        ).fetchall()


def record_not_modified(conn, feed_id: int, now: datetime) -> None:
    conn.execute(
        """UPDATE feeds SET last_status = 304, last_checked_at = %s, last_success_at = %s,
                  consecutive_failures = 0, last_error = NULL, next_check_at = NULL, failing_since = NULL,
                  problem_kind = NULL, updated_at = now()
           WHERE feed_id = %s""",
        (now, now, feed_id),
    )


def record_success(
    conn, feed_id: int, status: int, etag: str | None, last_modified: str | None, warning: str | None, now: datetime
) -> None:
    """Saved only together with (or after) the entries the fetch delivered: saved first, a
    crash in between would hide those entries behind a 304 forever."""
    conn.execute(
        """UPDATE feeds SET last_status = %s, etag = %s, last_modified = %s, parse_warning = %s,
                  last_checked_at = %s, last_success_at = %s, consecutive_failures = 0,
                  last_error = NULL, next_check_at = NULL, failing_since = NULL, problem_kind = NULL,
                  updated_at = now()
           WHERE feed_id = %s""",
        (status, etag, last_modified, warning, now, now, feed_id),
    )


def consecutive_failures(conn, feed_id: int) -> int:
    return conn.execute("SELECT consecutive_failures FROM feeds WHERE feed_id = %s", (feed_id,)).fetchone()[0]


def record_failure(
    conn,
    feed_id: int,
    status: int | None,
    error: str,
    now: datetime,
    *,
    failures: int,
    next_check_at: datetime,
    disable_reason: str | None = None,
    kind: str | None = None,
) -> None:
    """A failed fetch: ``failures`` in a row so far, not checked again before ``next_check_at``;
    with ``disable_reason`` the feed is disabled (410 Gone). ``kind``: the problem in one word."""
    conn.execute(
        """UPDATE feeds SET last_status = %s, last_error = %s, last_checked_at = %s,
                  consecutive_failures = %s, next_check_at = %s,
                  enabled = CASE WHEN %s::text IS NULL THEN enabled ELSE false END,
                  disabled_reason = COALESCE(%s::text, disabled_reason),
                  failing_since = COALESCE(failing_since, %s), problem_kind = %s, updated_at = now()
           WHERE feed_id = %s""",
        (status, error[:1000], now, failures, next_check_at, disable_reason, disable_reason, now, kind, feed_id),
    )
