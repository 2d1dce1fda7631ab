"""SQL of the daily digest: what it reads (articles, stories, indicators, ops) and the
``digest_sends`` ledger that makes sending idempotent per (day, recipient). The digest stage
owns the transactions; the send lock is ``locks.DIGEST_SEND``.

Reads take explicit time bounds (``start``/``end`` of the day in the digest's time zone,
``as_of`` for "now"), never ``now()``, so a digest for a past day is reproducible.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import psycopg
from psycopg.rows import class_row, dict_row

from pipeline.store import ARTICLE_TS, COUNTED_ARTICLE


class ThemeCount(NamedTuple):
    day: dt.date  # local day in the digest's time zone
    theme: str
    language: str
    articles: int


def daily_theme_counts(conn: psycopg.Connection, tz: str, start: dt.datetime,
                       end: dt.datetime) -> list[ThemeCount]:
    """Articles per local day, theme and language, for articles in [start, end)."""
    with conn.cursor(row_factory=class_row(ThemeCount)) as cur:
        cur.execute(
            f"""SELECT ({ARTICLE_TS} AT TIME ZONE %(tz)s)::date AS day,
                       coalesce(t.theme, 'other') AS theme,
                       coalesce(a.language, 'other') AS language,
                       count(*)::integer AS articles
                FROM articles a LEFT JOIN article_themes t USING (article_id)
                WHERE {COUNTED_ARTICLE} AND {ARTICLE_TS} >= %(start)s AND {ARTICLE_TS} < %(end)s
                GROUP BY 1, 2, 3""",
            {"tz": tz, "start": start, "end": end},
        )
        return cur.fetchall()


def day_articles(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime,
                 body_chars: int = 800) -> list[dict[str, Any]]:
    """The day's counted articles with theme and live story (merged stories followed to their root)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"""WITH RECURSIVE day AS (
                    SELECT a.article_id, a.title, a.url, a.final_url, a.canonical_url, a.source,
                           a.site_name, a.language, {ARTICLE_TS} AS ts,
                           left(a.body_text, %(body_chars)s) AS body,
                           coalesce(t.theme, 'other') AS theme, m.story_id AS member_story
                    FROM articles a
                    LEFT JOIN article_themes t USING (article_id)
                    LEFT JOIN story_members m USING (article_id)
                    WHERE {COUNTED_ARTICLE} AND {ARTICLE_TS} >= %(start)s AND {ARTICLE_TS} < %(end)s
                ),
                walk AS (
                    SELECT s.story_id AS origin, s.story_id, s.merged_into, 0 AS depth
                    FROM stories s WHERE s.story_id IN (SELECT member_story FROM day)
                    UNION ALL
                    SELECT w.origin, s.story_id, s.merged_into, w.depth + 1
                    FROM walk w JOIN stories s ON s.story_id = w.merged_into
                    WHERE w.depth < 32
                ),
                root AS (SELECT origin, story_id AS root_id FROM walk WHERE merged_into IS NULL)
                SELECT d.*, r.root_id AS story_id, s.label AS story_label, s.theme AS story_theme,
                       -- readable titles when the stories stage writes them (0013); NULL before
                       to_jsonb(s) ->> 'headline' AS story_headline,
                       to_jsonb(s) ->> 'headline_de' AS story_headline_de,
                       to_jsonb(s) ->> 'headline_en' AS story_headline_en,
                       s.first_seen AS story_first_seen, s.article_count AS story_article_count
                FROM day d
                LEFT JOIN root r ON r.origin = d.member_story
                LEFT JOIN stories s ON s.story_id = r.root_id
                ORDER BY d.ts, d.article_id""",
            {"start": start, "end": end, "body_chars": body_chars},
        )
        return cur.fetchall()


def latest_article_day(conn: psycopg.Connection, tz: str, as_of: dt.datetime) -> dt.date | None:
    """The latest local day that has counted articles (future-dated ones ignored)."""
    row = conn.execute(
        f"""SELECT (max({ARTICLE_TS}) AT TIME ZONE %(tz)s)::date
            FROM articles a WHERE {COUNTED_ARTICLE} AND {ARTICLE_TS} <= %(as_of)s""",
        {"tz": tz, "as_of": as_of},
    ).fetchone()
    return row[0] if row else None


def day_observations(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime,
                     limit: int) -> tuple[list[dict[str, Any]], int]:
    """Indicator observations made during the day (at most ``limit``) and how many there are in all."""
    params = {"start": start, "end": end, "limit": limit}
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT o.indicator, d.description, d.kind, o.subject, o.value, o.unit, o.target_year,
                      o.approximate, o.observed_at, coalesce(a.canonical_url, o.article_url, a.url) AS article_url,
                      o.source_url, o.quote, o.source_kind, a.source AS outlet, a.language
               FROM indicator_observations o
               JOIN indicator_definitions d USING (indicator)
               LEFT JOIN articles a ON a.article_id = o.article_id
               WHERE o.observed_at >= %(start)s AND o.observed_at < %(end)s
               ORDER BY o.source_kind DESC, o.indicator, o.subject, o.observed_at
               LIMIT %(limit)s""",
            params,
        )
        rows = cur.fetchall()
    total = conn.execute(
        "SELECT count(*) FROM indicator_observations WHERE observed_at >= %(start)s AND observed_at < %(end)s",
        params,
    ).fetchone()[0]
    return rows, total


def target_progress(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Per indicator and subject: the latest reading by the end of the day (an observation without a
    target year, in the indicator's unit), the latest reading before the day began, and the target.

    The target follows analytics.indicator_progress: ``indicator_targets`` (per subject) wins over
    the indicator-wide ``indicator_definitions.target_value``; without either, the latest claim in
    the news that carries a target year ("70 % by 2028"). Bounded by the day, unlike that view.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """WITH reading AS (
                   SELECT o.indicator, o.subject, o.value, o.observed_at, o.observation_id
                   FROM indicator_observations o JOIN indicator_definitions d USING (indicator)
                   WHERE o.target_year IS NULL AND o.unit = d.unit AND o.observed_at < %(end)s
               ),
               latest AS (
                   SELECT DISTINCT ON (indicator, subject) indicator, subject, value, observed_at
                   FROM reading ORDER BY indicator, subject, observed_at DESC, observation_id DESC
               ),
               before AS (
                   SELECT DISTINCT ON (indicator, subject) indicator, subject, value
                   FROM reading WHERE observed_at < %(start)s
                   ORDER BY indicator, subject, observed_at DESC, observation_id DESC
               ),
               news_target AS (
                   SELECT DISTINCT ON (o.indicator, o.subject) o.indicator, o.subject, o.value, o.target_year
                   FROM indicator_observations o JOIN indicator_definitions d USING (indicator)
                   WHERE o.target_year IS NOT NULL AND o.unit = d.unit AND o.observed_at < %(end)s
                   ORDER BY o.indicator, o.subject, o.observed_at DESC, o.observation_id DESC
               )
               SELECT l.indicator, l.subject, l.value, l.observed_at, b.value AS previous,
                      d.description, d.unit,
                      coalesce(t.target_value, d.target_value, n.value) AS target_value,
                      CASE WHEN t.target_value IS NOT NULL THEN t.target_year
                           WHEN d.target_value IS NOT NULL THEN d.target_year
                           ELSE n.target_year END AS target_year,
                      CASE WHEN t.target_value IS NOT NULL OR d.target_value IS NOT NULL THEN 'definition'
                           ELSE 'article' END AS target_source
               FROM latest l
               JOIN indicator_definitions d USING (indicator)
               LEFT JOIN indicator_targets t USING (indicator, subject)
               LEFT JOIN news_target n USING (indicator, subject)
               LEFT JOIN before b USING (indicator, subject)
               WHERE coalesce(t.target_value, d.target_value, n.value) IS NOT NULL
               ORDER BY l.indicator, l.subject""",
            {"start": start, "end": end},
        )
        return cur.fetchall()


def api_readings(conn: psycopg.Connection, end: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """The latest API reading per indicator and subject by ``end`` (newest first, at most ``limit``)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT * FROM (
                   SELECT DISTINCT ON (o.indicator, o.subject) o.indicator, d.description, o.subject,
                          o.value, o.unit, o.observed_at, o.source_url
                   FROM indicator_observations o JOIN indicator_definitions d USING (indicator)
                   WHERE o.source_kind = 'api' AND o.target_year IS NULL AND o.observed_at < %(end)s
                   ORDER BY o.indicator, o.subject, o.observed_at DESC, o.observation_id DESC
               ) latest ORDER BY observed_at DESC, indicator, subject LIMIT %(limit)s""",
            {"end": end, "limit": limit},
        )
        return cur.fetchall()


def reading_series(conn: psycopg.Connection, end: dt.datetime, keys: list[tuple[str, str]],
                   points: int) -> dict[tuple[str, str], list[float]]:
    """The last ``points`` readings (no target year, the indicator's unit) per (indicator, subject)
    by ``end``, oldest first: the digest's sparklines."""
    if not keys:
        return {}
    rows = conn.execute(
        """SELECT indicator, subject, value FROM (
               SELECT o.indicator, o.subject, o.value, o.observed_at, o.observation_id,
                      row_number() OVER (PARTITION BY o.indicator, o.subject
                                         ORDER BY o.observed_at DESC, o.observation_id DESC) AS n
               FROM indicator_observations o JOIN indicator_definitions d USING (indicator)
               JOIN unnest(%s::text[], %s::text[]) AS k(indicator, subject)
                 ON k.indicator = o.indicator AND k.subject = o.subject
               WHERE o.target_year IS NULL AND o.unit = d.unit AND o.observed_at < %s
           ) r WHERE n <= %s ORDER BY indicator, subject, observed_at, observation_id""",
        ([k[0] for k in keys], [k[1] for k in keys], end, points),
    ).fetchall()
    out: dict[tuple[str, str], list[float]] = {}
    for indicator, subject, value in rows:
        out.setdefault((indicator, subject), []).append(float(value))
    return out


def indicator_descriptions(conn: psycopg.Connection) -> dict[str, str | None]:
    return dict(conn.execute("SELECT indicator, description FROM indicator_definitions").fetchall())


def failing_feeds(conn: psycopg.Connection, as_of: dt.datetime) -> list[dict[str, Any]]:
    """Enabled feeds that keep failing and have not succeeded for more than a day."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT name, consecutive_failures, last_success_at, last_error
               FROM feeds
               WHERE enabled AND consecutive_failures > 0
                 AND coalesce(last_success_at, created_at) < %(as_of)s - interval '1 day'
               ORDER BY consecutive_failures DESC, name""",
            {"as_of": as_of},
        )
        return cur.fetchall()


# --------------------------------------------------------------------------- send ledger


def sent_recipients(conn: psycopg.Connection, day: dt.date) -> set[str]:
    """Recipients the day is done for: sent, or skipped (nothing matched their choice)."""
    rows = conn.execute(
        "SELECT recipient FROM digest_sends WHERE day = %s AND status IN ('sent', 'skipped')", (day,)
    ).fetchall()
    return {r[0] for r in rows}


def record_attempt(conn: psycopg.Connection, day: dt.date, recipient: str, message_id: str) -> None:
    """Mark a send as started (status pending, one more attempt) before talking to the server."""
    conn.execute(
        """INSERT INTO digest_sends (day, recipient, status, message_id, attempts)
           VALUES (%s, %s, 'pending', %s, 1)
           ON CONFLICT (day, recipient) DO UPDATE
           SET status = 'pending', message_id = EXCLUDED.message_id,
               attempts = digest_sends.attempts + 1, updated_at = now()
           WHERE digest_sends.status <> 'sent'""",
        (day, recipient, message_id),
    )


def record_sent(conn: psycopg.Connection, day: dt.date, recipient: str, sent_at: dt.datetime) -> None:
    conn.execute(
        """UPDATE digest_sends SET status = 'sent', sent_at = %s, last_error = NULL, updated_at = now()
           WHERE day = %s AND recipient = %s""",
        (sent_at, day, recipient),
    )


def record_failed(conn: psycopg.Connection, day: dt.date, recipient: str, error: str) -> None:
    conn.execute(
        """UPDATE digest_sends SET status = 'failed', last_error = %s, updated_at = now()
           WHERE day = %s AND recipient = %s AND status <> 'sent'""",
        (error[:2000], day, recipient),
    )


def record_skipped(conn: psycopg.Connection, day: dt.date, recipient: str, reason: str) -> None:
    """No mail for this recipient on this day (nothing matched their choice), with the reason."""
    conn.execute(
        """INSERT INTO digest_sends (day, recipient, status, last_error) VALUES (%s, %s, 'skipped', %s)
           ON CONFLICT (day, recipient) DO UPDATE
           SET status = 'skipped', last_error = EXCLUDED.last_error, updated_at = now()
           WHERE digest_sends.status <> 'sent'""",
        (day, recipient, reason[:2000]),
    )
