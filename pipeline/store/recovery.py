"""What `newsmon feeds retry` changes after an outage: feed backoffs, given-up and backed-off
pages, and extraction claims of processes that are gone. Takes a connection, never commits.

``feeds``: None for every enabled feed, else the feed names to act on.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

__all__ = [
    "ClaimHolder", "known_feed_names", "clear_feed_backoff", "requeue_given_up_pages", "clear_page_backoff",
    "claim_holders", "release_claims",
]


class ClaimHolder(NamedTuple):
    claimer: str  # host:pid:token (pipeline.ingest.pool.ExtractionPool.claimer)
    pages: int


def known_feed_names(conn, names: Sequence[str]) -> list[str]:
    rows = conn.execute("SELECT name FROM feeds WHERE name = ANY(%s) ORDER BY name", (list(names),)).fetchall()
    return [r[0] for r in rows]


def clear_feed_backoff(conn, feeds: Sequence[str] | None) -> list[str]:
    """Failing feeds in backoff become due now (their failure count stays: the next success
    clears it). Returns their names."""
    rows = conn.execute(
        """UPDATE feeds SET next_check_at = NULL, updated_at = now()
           WHERE enabled AND next_check_at IS NOT NULL AND consecutive_failures > 0
             AND (%(all)s OR name = ANY(%(names)s))
           RETURNING name""",
        {"all": feeds is None, "names": list(feeds or [])},
    ).fetchall()
    return sorted(r[0] for r in rows)


def requeue_given_up_pages(conn, feeds: Sequence[str] | None) -> int:
    """Pages given up after repeated transient failures are pending again, attempts from zero."""
    return conn.execute(
        """UPDATE feed_entries e SET fetch_status = 'pending', attempts = 0, next_attempt_at = NULL,
                  gave_up_at = NULL, updated_at = now()
           FROM feeds f
           WHERE f.feed_id = e.feed_id AND f.enabled AND e.fetch_status = 'failed' AND e.gave_up_at IS NOT NULL
             AND (%(all)s OR f.name = ANY(%(names)s))""",
        {"all": feeds is None, "names": list(feeds or [])},
    ).rowcount


def clear_page_backoff(conn, feeds: Sequence[str] | None) -> int:
    """Pending pages waiting out a backoff are fetched on the next run."""
    return conn.execute(
        """UPDATE feed_entries e SET next_attempt_at = NULL, updated_at = now()
           FROM feeds f
           WHERE f.feed_id = e.feed_id AND f.enabled AND e.fetch_status = 'pending' AND e.next_attempt_at IS NOT NULL
             AND (%(all)s OR f.name = ANY(%(names)s))""",
        {"all": feeds is None, "names": list(feeds or [])},
    ).rowcount


def claim_holders(conn) -> list[ClaimHolder]:
    """Who holds extraction claims on pending pages, and on how many."""
    rows = conn.execute(
        """SELECT extract_claimed_by, count(*) FROM articles
           WHERE extract_status = 'pending' AND extract_claimed_by IS NOT NULL
           GROUP BY extract_claimed_by ORDER BY extract_claimed_by"""
    ).fetchall()
    return [ClaimHolder(claimer, pages) for claimer, pages in rows]


def release_claims(conn, claimers: Sequence[str]) -> int:
    """The claims of these claimers end now: the pages can be claimed by the next extraction."""
    if not claimers:
        return 0
    return conn.execute(
        """UPDATE articles SET extract_claimed_by = NULL, extract_claimed_at = NULL, updated_at = now()
           WHERE extract_status = 'pending' AND extract_claimed_by = ANY(%s)""",
        (list(claimers),),
    ).rowcount
