"""SQL for indicators: definitions, article progress, observations, API fetch outcomes.

Every function takes a connection and runs inside the caller's transaction (the stage owns it);
none commits. Every write is idempotent: observations use the unique keys of 0001 (article,
indicator, subject, value) for articles and (indicator, subject, observed_at) for API readings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from psycopg.rows import class_row

from pipeline.store import copy_temp
from pipeline.store.entities import save_article_entities

__all__ = [
    "PendingArticle", "ArticleOutcome", "Linking", "ApiRow", "DefinitionRow", "TargetRow", "sync_definitions", "count_pending",
    "fetch_pending", "save_article_outcomes", "withdraw_stale_observations", "fetched_ok", "save_api_fetch",
    "FactLine", "facts_between",
]


@dataclass(frozen=True)
class DefinitionRow:
    indicator: str
    kind: str
    unit: str
    subjects: list[str]
    target_value: float | None
    target_year: int | None
    description: str


@dataclass(frozen=True)
class TargetRow:
    indicator: str
    subject: str
    target_value: float
    target_year: int
    note: str | None
    stated_on: dt.date | None = None


@dataclass(frozen=True)
class PendingArticle:
    article_id: int
    url: str
    language: str | None
    title: str | None
    body_text: str | None
    observed_at: dt.datetime
    updated_at: dt.datetime | None
    seen_before: bool


@dataclass
class ArticleOutcome:
    article: PendingArticle
    status: str                    # ok, failed, skipped
    claims: list = field(default_factory=list)   # the article's claims (indicator, subject, value, unit, ...)
    error: str | None = None
    candidates: list = field(default_factory=list)   # claims whose subject is no known entity
    entities: dict = field(default_factory=dict)     # entity name -> mentions in the article


@dataclass(frozen=True)
class Linking:
    """What the stage knows about entities and money when it saves a batch."""

    entity_ids: Mapping[str, int]
    usd_of: Callable[[float, str, dt.datetime], float | None]
    digest: str


class ApiRow(NamedTuple):
    """One API reading."""

    indicator: str
    subject: str
    value: int
    unit: str


def sync_definitions(conn, definitions: Sequence[DefinitionRow], targets: Sequence[TargetRow]) -> int:
    """Upsert indicator_definitions and indicator_targets (the YAML's); definitions that left the
    YAML are removed when nothing refers to them any more."""
    rows = [(d.indicator, d.kind, d.unit, d.subjects, d.target_value, d.target_year, d.description)
            for d in definitions]
    targets = [(t.indicator, t.subject, t.target_value, t.target_year, t.note, t.stated_on) for t in targets]
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO indicator_definitions
                   (indicator, kind, unit, subjects, target_value, target_year, description, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, now())
               ON CONFLICT (indicator) DO UPDATE SET
                   kind = excluded.kind, unit = excluded.unit, subjects = excluded.subjects,
                   target_value = excluded.target_value, target_year = excluded.target_year,
                   description = excluded.description, updated_at = now()
               WHERE (indicator_definitions.kind, indicator_definitions.unit, indicator_definitions.subjects,
                      indicator_definitions.target_value, indicator_definitions.target_year,
                      indicator_definitions.description)
                     IS DISTINCT FROM (excluded.kind, excluded.unit, excluded.subjects, excluded.target_value,
                                       excluded.target_year, excluded.description)""",
            rows,
        )
        keys = [d.indicator for d in definitions]
        cur.execute(
            """DELETE FROM indicator_definitions d WHERE NOT (d.indicator = ANY(%s))
               AND NOT EXISTS (SELECT 1 FROM indicator_observations o WHERE o.indicator = d.indicator)""",
            (keys,),
        )
        cur.execute(
            """DELETE FROM indicator_targets t WHERE NOT EXISTS (
                   SELECT 1 FROM unnest(%s::text[], %s::text[]) AS k(indicator, subject)
                   WHERE k.indicator = t.indicator AND k.subject = t.subject)""",
            ([t[0] for t in targets], [t[1] for t in targets]),
        )
        cur.executemany(
            """INSERT INTO indicator_targets (indicator, subject, target_value, target_year, note, stated_on)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (indicator, subject) DO UPDATE SET target_value = excluded.target_value,
                   target_year = excluded.target_year, note = excluded.note, stated_on = excluded.stated_on,
                   updated_at = now()""",
            targets,
        )
    return len(rows)


_PENDING_WHERE = """
    a.extract_status = 'ok' AND a.duplicate_of IS NULL
    AND (p.article_id IS NULL OR p.extractor_version < %(version)s
         OR p.article_updated_at IS DISTINCT FROM a.updated_at OR %(reprocess)s
         OR p.entities_digest IS DISTINCT FROM %(digest)s)
    AND (%(since)s::timestamptz IS NULL OR coalesce(a.published_at, a.fetched_at, a.created_at) >= %(since)s)
    AND (%(until)s::timestamptz IS NULL OR coalesce(a.published_at, a.fetched_at, a.created_at) < %(until)s)
"""


def count_pending(conn, *, version: int, since=None, until=None, reprocess: bool = False,
                  digest: str | None = None) -> int:
    return conn.execute(
        f"""SELECT count(*) FROM articles a
            LEFT JOIN indicator_article_progress p USING (article_id) WHERE {_PENDING_WHERE}""",
        dict(version=version, since=since, until=until, reprocess=reprocess, digest=digest),
    ).fetchone()[0]


def fetch_pending(conn, *, version: int, after_id: int, limit: int, since=None, until=None,
                  reprocess: bool = False, digest: str | None = None) -> list[PendingArticle]:
    """The next batch (keyset by article_id) of articles the extractor has not read in this form."""
    with conn.cursor(row_factory=class_row(PendingArticle)) as cur:
        return cur.execute(
            f"""SELECT a.article_id, a.canonical_url AS url, a.language, a.title, a.body_text,
                       coalesce(a.published_at, a.fetched_at, a.created_at) AS observed_at, a.updated_at,
                       p.article_id IS NOT NULL AS seen_before
                FROM articles a LEFT JOIN indicator_article_progress p USING (article_id)
                WHERE {_PENDING_WHERE} AND a.article_id > %(after)s
                ORDER BY a.article_id LIMIT %(limit)s""",
            dict(version=version, since=since, until=until, reprocess=reprocess, after=after_id, limit=limit,
                 digest=digest),
        ).fetchall()


_OBS_COLUMNS = [("article_id", "bigint"), ("indicator", "text"), ("subject", "text"), ("value", "numeric"),
                ("unit", "text"), ("target_year", "integer"), ("approximate", "boolean"),
                ("observed_at", "timestamptz"), ("article_url", "text"), ("quote", "text"), ("entity_id", "bigint"),
                ("reference_entity", "text"), ("value_usd", "numeric")]
_CANDIDATE_COLUMNS = [("article_id", "bigint"), ("indicator", "text"), ("subject_phrase", "text"), ("value", "numeric"),
                      ("unit", "text"), ("target_year", "integer"), ("approximate", "boolean"),
                      ("observed_at", "timestamptz"), ("article_url", "text"), ("quote", "text")]
_PROGRESS_COLUMNS = [("article_id", "bigint"), ("status", "text"), ("claims", "integer"), ("error", "text"),
                     ("article_updated_at", "timestamptz")]


def save_article_outcomes(conn, outcomes: Sequence[ArticleOutcome], version: int,
                          linking: Linking | None = None) -> int:
    """Replace the observations, candidates and entity links of re-read articles, insert the new
    ones, mark progress. Runs inside the caller's transaction; returns the observations inserted."""
    linking = linking or Linking({}, lambda value, unit, when: None, "")
    ids = [o.article.article_id for o in outcomes]
    reread = [o.article.article_id for o in outcomes if o.article.seen_before]
    if reread:
        conn.execute("DELETE FROM indicator_observations WHERE source_kind = 'article' AND article_id = ANY(%s)",
                     (reread,))
        conn.execute("DELETE FROM indicator_candidates WHERE article_id = ANY(%s)", (reread,))
    obs_rows = (
        (o.article.article_id, c.indicator, c.subject, repr(float(c.value)), c.unit, c.target_year,
         c.approximate, o.article.observed_at, o.article.url, c.quote, linking.entity_ids.get(c.subject),
         c.reference, linking.usd_of(c.value, c.unit, o.article.observed_at))
        for o in outcomes if o.status == "ok" for c in o.claims
    )
    copy_temp(conn, "tmp_indicator_obs", _OBS_COLUMNS, obs_rows)
    inserted = conn.execute(
        """INSERT INTO indicator_observations
               (article_id, indicator, subject, value, unit, target_year, approximate, observed_at,
                article_url, quote, source_kind, entity_id, reference_entity, value_usd)
           SELECT DISTINCT ON (article_id, indicator, subject, value)
                  article_id, indicator, subject, value, unit, target_year, approximate, observed_at,
                  article_url, quote, 'article', entity_id, reference_entity, value_usd
           FROM tmp_indicator_obs
           ORDER BY article_id, indicator, subject, value
           ON CONFLICT (article_id, indicator, subject, value) WHERE source_kind = 'article' DO NOTHING""",
    ).rowcount
    copy_temp(conn, "tmp_indicator_candidates", _CANDIDATE_COLUMNS, (
        (o.article.article_id, c.indicator, c.subject_phrase, repr(float(c.value)), c.unit, c.target_year,
         c.approximate, o.article.observed_at, o.article.url, c.quote)
        for o in outcomes if o.status == "ok" for c in o.candidates))
    conn.execute(
        """INSERT INTO indicator_candidates (article_id, indicator, subject_phrase, value, unit, target_year,
                                             approximate, observed_at, article_url, quote)
           SELECT article_id, indicator, subject_phrase, value, unit, target_year, approximate, observed_at,
                  article_url, quote FROM tmp_indicator_candidates
           ON CONFLICT (article_id, indicator, subject_phrase, value, unit) DO NOTHING""")
    save_article_entities(conn, ids, {
        o.article.article_id: {linking.entity_ids[name]: n for name, n in o.entities.items() if name in linking.entity_ids}
        for o in outcomes})
    copy_temp(conn, "tmp_indicator_progress", _PROGRESS_COLUMNS,
              ((o.article.article_id, o.status, len(o.claims), o.error, o.article.updated_at)
               for o in outcomes))
    conn.execute(
        """INSERT INTO indicator_article_progress
               (article_id, status, claims, error, extractor_version, article_updated_at, processed_at,
                entities_digest)
           SELECT article_id, status, claims, error, %s, article_updated_at, now(), %s FROM tmp_indicator_progress
           ON CONFLICT (article_id) DO UPDATE SET status = excluded.status, claims = excluded.claims,
               error = excluded.error, extractor_version = excluded.extractor_version,
               article_updated_at = excluded.article_updated_at, processed_at = excluded.processed_at,
               entities_digest = excluded.entities_digest""",
        (version, linking.digest),
    )
    return inserted


def withdraw_stale_observations(conn) -> int:
    """Article observations whose article became a duplicate or lost its text no longer count."""
    return conn.execute(
        """DELETE FROM indicator_observations o USING articles a
           WHERE o.source_kind = 'article' AND o.article_id = a.article_id
             AND (a.duplicate_of IS NOT NULL OR a.extract_status <> 'ok')"""
    ).rowcount


def fetched_ok(conn, provider: str, repo: str, observed_at: dt.datetime) -> bool:
    return conn.execute(
        "SELECT 1 FROM indicator_api_fetches WHERE provider = %s AND repo = %s AND observed_at = %s "
        "AND status = 'ok'", (provider, repo, observed_at),
    ).fetchone() is not None


def save_api_fetch(conn, *, provider: str, repo: str, observed_at: dt.datetime, ok: bool,
                   http_status: int | None, attempts: int, error: str | None, source_url: str,
                   rows: Iterable[ApiRow] = (), entity_id: int | None = None) -> int:
    """Record one fetch's outcome and its readings; returns the number of observations inserted."""
    conn.execute(
        """INSERT INTO indicator_api_fetches
               (provider, repo, observed_at, status, http_status, attempts, error, source_url)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (provider, repo, observed_at) DO UPDATE SET status = excluded.status,
               http_status = excluded.http_status, attempts = indicator_api_fetches.attempts + excluded.attempts,
               error = excluded.error, fetched_at = now()
           WHERE indicator_api_fetches.status <> 'ok'""",
        (provider, repo, observed_at, "ok" if ok else "failed", http_status, attempts, error, source_url),
    )
    inserted = 0
    for row in rows:
        inserted += conn.execute(
            """INSERT INTO indicator_observations
                   (indicator, subject, value, unit, observed_at, source_kind, source_url, entity_id)
               VALUES (%s, %s, %s, %s, %s, 'api', %s, %s)
               ON CONFLICT (indicator, subject, observed_at) WHERE source_kind = 'api' DO NOTHING""",
            (row.indicator, row.subject, row.value, row.unit, observed_at, source_url, entity_id),
        ).rowcount
    return inserted


@dataclass(frozen=True)
class FactLine:
    """One fact with all its reports (analytics.indicator_facts), for the digest."""

    fact_id: str
    indicator: str
    kind: str
    entity_id: int | None
    entity: str
    value: float
    unit: str
    value_usd: float | None
    target_year: int | None
    reference_entity: str | None
    approximate: bool
    first_reported_at: dt.datetime
    last_reported_at: dt.datetime
    report_count: int
    languages: list[str]
    outlets: list[str]
    sources_label: str | None
    sources: list[dict]
    quote: str | None


def facts_between(conn, since: dt.datetime, until: dt.datetime, *, source_kind: str = "article") -> list[FactLine]:
    """Facts with a report in [since, until), newest first: one line per figure, all its sources."""
    with conn.cursor(row_factory=class_row(FactLine)) as cur:
        return cur.execute(
            """SELECT fact_id, indicator, kind, entity_id, entity, value::float8 AS value, unit,
                      value_usd::float8 AS value_usd, target_year, reference_entity, approximate, first_reported_at,
                      last_reported_at, report_count, languages, outlets, sources_label, sources, quote
               FROM analytics.indicator_facts
               WHERE source_kind = %s AND last_reported_at >= %s AND first_reported_at < %s
               ORDER BY last_reported_at DESC, fact_id""",
            (source_kind, since, until),
        ).fetchall()
