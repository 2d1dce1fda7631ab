"""SQL of alerts: what changed (stories growing fast, indicator figures that moved) and the
``alert_sends`` ledger that makes each alert go out once per recipient. The alerts stage owns
the transactions; the run lock is ``locks.ALERT_SEND``.

Time windows are explicit (``start``/``end`` from the run's data interval), never ``now()``.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import psycopg
from psycopg.rows import class_row

from pipeline.store import ARTICLE_TS, COUNTED_ARTICLE


class StoryGrowth(NamedTuple):
    story_id: int
    label: str | None
    headline: str | None  # the stories stage's readable title when it writes one (0013)
    first_title: str | None  # the earliest article's title, else
    theme: str | None
    recent: int  # articles in [start, end)
    before: int  # articles in the history window before start
    history_hours: float  # length of that window (from the story's first article, at most history)
    total: int


# An article is news of the hour when it arrived (fetched_at) in the hour and was published at most
# this long before: arrival counts every article in exactly one hourly run, also when ingest is
# late, and a backfill of old articles (a new feed, a first run) is no breaking news.
FRESH = dt.timedelta(hours=6)
# A figure recorded in the hour alerts when the news it comes from is at most this old (the
# indicators stage runs daily; re-reading an archive is no news).
FACT_FRESH = dt.timedelta(days=3)


def story_growth(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime,
                 history: dt.timedelta) -> list[StoryGrowth]:
    """Live stories with fresh articles that arrived in [start, end), with their own article
    count over the ``history`` before ``start`` (from their first article when younger)."""
    recent = f"a.fetched_at >= %(start)s AND a.fetched_at < %(end)s AND {ARTICLE_TS} >= %(fresh)s"
    with conn.cursor(row_factory=class_row(StoryGrowth)) as cur:
        cur.execute(
            f"""WITH member AS (
                    SELECT m.story_id, a.title, {ARTICLE_TS} AS ts, ({recent}) AS recent
                    FROM story_members m JOIN articles a USING (article_id)
                    JOIN stories s ON s.story_id = m.story_id AND s.merged_into IS NULL
                    WHERE {COUNTED_ARTICLE} AND a.fetched_at < %(end)s
                      AND m.story_id IN (
                          SELECT m2.story_id FROM story_members m2 JOIN articles a USING (article_id)
                          WHERE {COUNTED_ARTICLE} AND {recent})
                ),
                per_story AS (
                    SELECT story_id,
                           count(*) FILTER (WHERE recent)::integer AS recent,
                           count(*) FILTER (WHERE NOT recent AND ts < %(start)s
                                            AND ts >= %(history_start)s)::integer AS before,
                           greatest(extract(epoch FROM %(start)s::timestamptz
                                    - greatest(min(ts), %(history_start)s)) / 3600.0, 1.0)::float AS history_hours,
                           count(*)::integer AS total,
                           (array_agg(title ORDER BY ts))[1] AS first_title
                    FROM member GROUP BY story_id
                )
                SELECT p.story_id, s.label, to_jsonb(s) ->> 'headline' AS headline, p.first_title, s.theme,
                       p.recent, p.before, p.history_hours, p.total
                FROM per_story p JOIN stories s USING (story_id)
                ORDER BY p.recent DESC, p.story_id""",
            {"start": start, "end": end, "history_start": start - history, "fresh": end - FRESH},
        )
        return cur.fetchall()


class FactChange(NamedTuple):
    indicator: str
    description: str | None
    subject: str
    change: str  # 'value' (a new reading) | 'target' (a new target or target year)
    value: float
    unit: str
    target_year: int | None
    previous: float | None
    previous_target_year: int | None
    observed_at: dt.datetime
    url: str | None
    outlet: str | None


def fact_changes(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime) -> list[FactChange]:
    """Per indicator, tracked entity (one of ``entities``) and unit, the latest figure recorded
    during [start, end) (from news of the last days: the indicators stage runs after the fact)
    that differs from the latest one recorded before ``start``: a new value (no target year), or
    a new target (value or year). API readings (downloads, stars) change every day and are the
    digest's business, not an alert's."""
    with conn.cursor(row_factory=class_row(FactChange)) as cur:
        cur.execute(
            """WITH obs AS (
                   SELECT o.*, CASE WHEN o.target_year IS NULL THEN 'value' ELSE 'target' END AS change
                   FROM indicator_observations o
                   WHERE o.created_at < %(end)s AND o.source_kind = 'article' AND o.entity_id IS NOT NULL
               ),
               latest AS (
                   SELECT DISTINCT ON (indicator, entity_id, unit, change) *
                   FROM obs WHERE created_at >= %(start)s AND observed_at >= %(fresh)s
                   ORDER BY indicator, entity_id, unit, change, observed_at DESC, observation_id DESC
               ),
               earlier AS (
                   SELECT DISTINCT ON (indicator, entity_id, unit, change) indicator, entity_id, unit, change, value,
                          target_year
                   FROM obs WHERE created_at < %(start)s
                   ORDER BY indicator, entity_id, unit, change, observed_at DESC, observation_id DESC
               )
               SELECT l.indicator, d.description, e.name AS subject, l.change, l.value::float AS value, l.unit,
                      l.target_year, p.value::float AS previous, p.target_year AS previous_target_year,
                      l.observed_at, coalesce(a.canonical_url, l.article_url, l.source_url) AS url,
                      a.source AS outlet
               FROM latest l
               JOIN indicator_definitions d USING (indicator)
               JOIN entities e ON e.entity_id = l.entity_id
               LEFT JOIN earlier p ON (p.indicator, p.entity_id, p.unit, p.change)
                                    = (l.indicator, l.entity_id, l.unit, l.change)
               LEFT JOIN articles a ON a.article_id = l.article_id
               WHERE p.value IS NULL OR p.value <> l.value OR p.target_year IS DISTINCT FROM l.target_year
               ORDER BY l.indicator, e.name, l.change""",
            {"start": start, "end": end, "fresh": start - FACT_FRESH},
        )
        return cur.fetchall()


# --------------------------------------------------------------------------- ledger


def sent_keys(conn: psycopg.Connection, recipient: str, keys: list[str]) -> set[str]:
    rows = conn.execute(
        "SELECT alert_key FROM alert_sends WHERE recipient = %s AND alert_key = ANY(%s) AND status = 'sent'",
        (recipient, keys),
    ).fetchall()
    return {r[0] for r in rows}


def record_attempt(conn: psycopg.Connection, recipient: str, alerts: list[tuple[str, str, str]],
                   message_id: str, detected_at: dt.datetime) -> None:
    """``alerts``: (key, kind, summary) travelling in one message; each is marked pending."""
    conn.execute(
        """INSERT INTO alert_sends (alert_key, recipient, kind, summary, status, message_id, attempts, detected_at)
           SELECT k, %s, kind, summary, 'pending', %s, 1, %s
           FROM unnest(%s::text[], %s::text[], %s::text[]) AS x(k, kind, summary)
           ON CONFLICT (alert_key, recipient) DO UPDATE
           SET status = 'pending', message_id = EXCLUDED.message_id, attempts = alert_sends.attempts + 1,
               updated_at = now()
           WHERE alert_sends.status <> 'sent'""",
        (recipient, message_id, detected_at, [a[0] for a in alerts], [a[1] for a in alerts],
         [a[2][:500] for a in alerts]),
    )


def record_result(conn: psycopg.Connection, recipient: str, keys: list[str], *, sent_at: dt.datetime | None,
                  error: str | None) -> None:
    """Sent (``sent_at``) or failed (``error``) for every alert of one message."""
    conn.execute(
        """UPDATE alert_sends
           SET status = CASE WHEN %s::timestamptz IS NULL THEN 'failed' ELSE 'sent' END,
               sent_at = %s, last_error = %s, updated_at = now()
           WHERE recipient = %s AND alert_key = ANY(%s) AND status <> 'sent'""",
        (sent_at, sent_at, error[:2000] if error else None, recipient, keys),
    )
