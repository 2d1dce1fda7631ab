"""SQL over the ``analytics`` schema (the views analysts query): the export's view listing,
columns and streams, the web API's reads (analysts' and operators'), and the demo's summary counts.

Nothing here writes. View names reach SQL only through ``sql.Identifier``, values only as
parameters or ``sql.Literal``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterator, NamedTuple

from psycopg import sql
from psycopg.rows import class_row

# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # information_schema's data_type ("ARRAY", "USER-DEFINED" for vector)
    udt_name: str   # e.g. "_text", "vector", "numeric"


def list_views(conn) -> list[str]:
    """Names of the relations analysts can export: views (and tables) in ``analytics``."""
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def view_columns(conn, view: str) -> list[Column]:
    with conn.cursor(row_factory=class_row(Column)) as cur:
        cur.execute(
            "SELECT column_name AS name, data_type, udt_name FROM information_schema.columns "
            "WHERE table_schema = 'analytics' AND table_name = %s ORDER BY ordinal_position",
            (view,),
        )
        return cur.fetchall()


def _csv_select_item(col: Column) -> sql.Composable:
    """A column as a CSV reader expects it: booleans as true/false (not t/f), arrays as JSON
    arrays (not Postgres' ``{de,en}``), under the column's own name."""
    name = sql.Identifier(col.name)
    if col.udt_name == "bool":
        return sql.SQL("CASE WHEN {0} THEN 'true' WHEN NOT {0} THEN 'false' END AS {0}").format(name)
    if col.data_type == "ARRAY":
        return sql.SQL("to_json({0})::text AS {0}").format(name)
    return name


def view_query(view: str, *, since_column: str | None = None, since: dt.date | None = None,
               timezone: str | None = None, csv_columns: list[Column] | None = None) -> sql.Composed:
    """``SELECT * FROM analytics.<view>`` in a stable order, optionally only rows whose
    ``since_column`` is on or after ``since``; with ``timezone`` (a timestamptz column) the day
    starts at midnight there, not in the server's zone. ``csv_columns``: select these, each in
    its CSV spelling. Fully composed (COPY takes no parameters)."""
    items = sql.SQL("*") if not csv_columns else sql.SQL(", ").join(_csv_select_item(c) for c in csv_columns)
    query = sql.SQL("SELECT {} FROM analytics.{}").format(items, sql.Identifier(view))
    if since_column is not None and since is not None:
        if timezone is not None:
            query += sql.SQL(" WHERE {} >= ({}::date)::timestamp AT TIME ZONE {}").format(
                sql.Identifier(since_column), sql.Literal(since.isoformat()), sql.Literal(timezone))
        else:
            query += sql.SQL(" WHERE {} >= {}::date").format(sql.Identifier(since_column),
                                                            sql.Literal(since.isoformat()))
    return query + sql.SQL(" ORDER BY 1")  # the same data gives the same file


def use_utc(conn) -> None:
    """Timestamps as UTC for the rest of the current transaction."""
    conn.execute("SET LOCAL TIME ZONE 'UTC'")


def copy_csv(conn, query: sql.Composed, write: Callable[[bytes], Any]) -> int:
    """Stream the query's rows as CSV with a header through ``write``, chunk by chunk (COPY);
    returns the number of rows."""
    copy_sql = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(query)
    with conn.cursor() as cur:
        with cur.copy(copy_sql) as copy:
            for chunk in copy:
                write(chunk)
        return cur.rowcount


def row_batches(conn, query: sql.Composed, size: int) -> Iterator[list[tuple]]:
    """The query's rows in batches of ``size``, through a server-side cursor (needs a transaction)."""
    with conn.cursor(name="newsmon_export") as cur:
        cur.itersize = size
        cur.execute(query)
        while rows := cur.fetchmany(size):
            yield rows


# --------------------------------------------------------------------------- web API reads


@dataclass(frozen=True)
class ThemeVolume:
    day: dt.date
    theme: str
    language: str
    article_count: int


@dataclass(frozen=True)
class ThemeTotal:
    theme: str
    articles: int
    last_day: dt.date


@dataclass(frozen=True)
class StoryRow:
    story_id: int
    label: str
    theme: str | None
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    article_count: int
    languages: list[str]


@dataclass(frozen=True)
class ObservationRow:
    indicator: str
    subject: str
    value: Decimal
    unit: str
    target_year: int | None
    observed_at: dt.datetime
    article_url: str | None
    quote: str | None
    source_kind: str


@dataclass(frozen=True)
class FeedHealth:
    feed: str
    url: str
    last_status: int | None
    last_success_at: dt.datetime | None
    consecutive_failures: int
    last_error: str | None


def _where(filters: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """`` WHERE`` with the clauses whose value is given (each clause has one ``%s``)."""
    clauses = [clause for clause, value in filters if value is not None]
    params = [value for _, value in filters if value is not None]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _fetch(conn, row_type, query: str, params) -> list:
    with conn.cursor(row_factory=class_row(row_type)) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def ping(conn) -> None:
    conn.execute("SELECT 1")


def latest_theme_day(conn) -> dt.date | None:
    return conn.execute("SELECT max(day) FROM analytics.theme_daily").fetchone()[0]


def theme_volumes(conn, since: dt.date | None, until: dt.date | None, theme: str | None = None,
                  language: str | None = None) -> list[ThemeVolume]:
    where, params = _where([("day >= %s", since), ("day <= %s", until), ("theme = %s", theme),
                            ("language = %s", language)])
    return _fetch(conn, ThemeVolume,
                  f"SELECT day, theme, language, article_count FROM analytics.theme_daily{where} "
                  "ORDER BY day, theme, language", params)


def recent_theme_totals(conn) -> list[ThemeTotal]:
    """Articles per theme over the 7 days up to the newest day with articles."""
    return _fetch(conn, ThemeTotal,
                  "SELECT theme, sum(article_count)::int AS articles, max(day) AS last_day "
                  "FROM analytics.theme_daily WHERE day > (SELECT max(day) - 7 FROM analytics.theme_daily) "
                  "GROUP BY theme ORDER BY articles DESC", ())


def stories(conn, theme: str | None = None, language: str | None = None, limit: int = 50) -> list[StoryRow]:
    """Newest first; ``language``: stories with at least one article in it."""
    where, params = _where([("theme = %s", theme), ("%s = ANY(languages)", language)])
    return _fetch(conn, StoryRow,
                  "SELECT story_id, label, theme, first_seen, last_seen, article_count, languages "
                  f"FROM analytics.stories{where} ORDER BY last_seen DESC NULLS LAST, story_id DESC LIMIT %s",
                  [*params, limit])


def indicator_observations(conn, indicator: str | None = None, subject: str | None = None,
                           source_kind: str | None = None, limit: int = 100) -> list[ObservationRow]:
    where, params = _where([("indicator = %s", indicator), ("subject = %s", subject),
                            ("source_kind = %s", source_kind)])
    return _fetch(conn, ObservationRow,
                  "SELECT indicator, subject, value, unit, target_year, observed_at, article_url, quote, "
                  f"source_kind FROM analytics.indicator_observations{where} "
                  "ORDER BY observed_at DESC, indicator, subject LIMIT %s", [*params, limit])


def feed_health(conn, failing_only: bool = False, limit: int | None = None) -> list[FeedHealth]:
    """Failing feeds first; ``limit`` None: all."""
    where = " WHERE consecutive_failures > 0" if failing_only else ""
    return _fetch(conn, FeedHealth,
                  "SELECT feed, url, last_status, last_success_at, consecutive_failures, last_error "
                  f"FROM analytics.feed_health{where} ORDER BY consecutive_failures DESC, feed LIMIT %s", (limit,))


# --------------------------------------------------------------------------- ops reads (sql/views/095_ops.sql)


@dataclass(frozen=True)
class StageStatus:
    stage: str
    last_status: str | None
    last_started_at: dt.datetime | None
    last_finished_at: dt.datetime | None
    last_counts: dict | None
    last_failure_at: dt.datetime | None
    last_failure_error: str | None
    runs: int
    failures: int


@dataclass(frozen=True)
class Backlogs:
    pending_extraction: int
    oldest_pending_extraction: dt.datetime | None
    pending_embedding: int
    unthemed: int
    unplaced: int
    embedding_model: str | None
    stale_embedding: int  # vectors from another text length, recomputed by the embed stage


@dataclass(frozen=True)
class MailDelivery:
    kind: str
    item: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: dt.datetime | None
    updated_at: dt.datetime


@dataclass(frozen=True)
class ApiFetch:
    provider: str
    repo: str
    observed_at: dt.datetime
    status: str
    http_status: int | None
    attempts: int
    error: str | None
    source_url: str


def stage_status(conn, stage: str | None = None, failing_only: bool = False) -> list[StageStatus]:
    """Per stage: the newest run and the newest failure; ``failing_only``: stages whose newest
    run failed. Failing stages first."""
    where, params = _where([("stage = %s", stage), ("last_status = %s", "failed" if failing_only else None)])
    return _fetch(conn, StageStatus,
                  "SELECT stage, last_status, last_started_at, last_finished_at, last_counts, last_failure_at, "
                  f"last_failure_error, runs, failures FROM analytics.stage_status{where} "
                  "ORDER BY last_status = 'failed' DESC, stage", params)


def backlogs(conn) -> Backlogs:
    (row,) = _fetch(conn, Backlogs,
                    "SELECT pending_extraction, oldest_pending_extraction, pending_embedding, unthemed, unplaced, "
                    "embedding_model, stale_embedding FROM analytics.backlogs", ())
    return row


def mail_deliveries(conn, recipient: str | None = None, status: str | None = None, kind: str | None = None,
                    limit: int = 100) -> list[MailDelivery]:
    """Digest and alert mails per recipient, newest first; ``kind``: 'digest' or 'alert' (any alert kind)."""
    where, params = _where([("recipient = %s", recipient), ("status = %s", status),
                            ("split_part(kind, ':', 1) = %s", kind)])
    return _fetch(conn, MailDelivery,
                  "SELECT kind, item, recipient, status, attempts, last_error, sent_at, updated_at "
                  f"FROM analytics.mail_deliveries{where} ORDER BY updated_at DESC, recipient, item LIMIT %s",
                  [*params, limit])


def api_fetches(conn, status: str | None = None, provider: str | None = None, repo: str | None = None,
                limit: int = 100) -> list[ApiFetch]:
    """Indicator API reads, newest first."""
    where, params = _where([("status = %s", status), ("provider = %s", provider), ("repo = %s", repo)])
    return _fetch(conn, ApiFetch,
                  "SELECT provider, repo, observed_at, status, http_status, attempts, error, source_url "
                  f"FROM analytics.api_fetches{where} ORDER BY observed_at DESC, provider, repo LIMIT %s",
                  [*params, limit])


# --------------------------------------------------------------------------- demo summary


class PipelineCounts(NamedTuple):
    feeds: int
    articles: int
    embeddings: int
    themed: int
    stories: int
    indicator_observations: int


def pipeline_counts(conn) -> PipelineCounts:
    """How much each stage stored: the demo's closing summary."""
    row = conn.execute(
        """SELECT (SELECT count(*) FROM feeds), (SELECT count(*) FROM articles),
                  (SELECT count(*) FROM embeddings), (SELECT count(*) FROM article_themes),
                  (SELECT count(*) FROM analytics.stories),
                  (SELECT count(*) FROM indicator_observations)"""
    ).fetchone()
    return PipelineCounts(*row)
