"""Tracked indicators: figures from the news (de/en) and from public APIs, with provenance.

Public API:

- ``extract_claims(text, language) -> list[Claim]``: the pure text extractor
  (pipeline/indicators/text/ explains the rules).
- ``run_indicators(rt, since=None, until=None)``: the stage. It syncs indicator_definitions from
  indicators.yaml, reads every stored article (extract_status 'ok', not a duplicate) it has not
  read yet, or that changed since, or that an older extractor read, then runs the API collectors.
  Re-running adds nothing: observations have natural keys, and progress is kept per article in
  ``indicator_article_progress``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import psycopg

from pipeline.indicators.api import ApiCollector, FetchOutcome
from pipeline.indicators.defs import (ApiSource, Definitions, IndicatorConfigError, IndicatorDef, load_definitions,
                                      parse_definitions)
from pipeline.indicators.rates import ReferenceRates
from pipeline.indicators.text import Claim, Extractor, extract_claims
from pipeline.infra.paging import pages_by_article_id
from pipeline.infra.runs import StageResult, record_stage
from pipeline.store import entities as entity_store
from pipeline.store import indicators as store
from pipeline.text import matchable, split_sentences

__all__ = [
    "Claim", "extract_claims", "split_sentences", "run_indicators", "extract_article_claims", "collect_api",
    "load_definitions", "parse_definitions", "Definitions", "IndicatorDef", "ApiSource", "ApiCollector",
    "FetchOutcome", "IndicatorConfigError", "EXTRACTOR_VERSION",
]

log = logging.getLogger(__name__)

# Bump when the text rules change in a way that should re-read stored articles.
EXTRACTOR_VERSION = 2
BATCH_SIZE = 200
MAX_ARTICLE_CHARS = 200_000   # a runaway page is cut, not a reason to fail the article


def article_text(title: str | None, body: str | None) -> str:
    """Title and body as one text; the title is its own paragraph (headlines carry figures too)."""
    title = " ".join((title or "").split())[:1000]
    body = (body or "")[:MAX_ARTICLE_CHARS]
    return matchable(f"{title}\n\n{body}" if title else body)


def extract_article_claims(extractor: Extractor, article: store.PendingArticle) -> store.ArticleOutcome:
    """One article's claims; an article whose text breaks the extractor is recorded as failed."""
    language = (article.language or "").lower()
    if language not in ("de", "en"):
        return store.ArticleOutcome(article, "skipped", [], f"language {article.language!r} is not de/en")
    try:
        text = article_text(article.title, article.body_text)
        entities: dict[str, int] = {}
        found = extractor.extract(text, language, candidates=True, entity_counts=entities)
    except Exception as exc:  # one bad article must not stop the stage
        log.warning("indicators: article %s failed: %s", article.article_id, exc)
        return store.ArticleOutcome(article, "failed", [], f"{type(exc).__name__}: {exc}"[:500])
    return store.ArticleOutcome(article, "ok", [c for c in found if not c.candidate], None,
                                [c for c in found if c.candidate], entities)


def entity_rows(defs: Definitions) -> list[entity_store.EntityRow]:
    return [entity_store.EntityRow(s.name, s.types[0], list(s.types), list(s.aliases), list(s.patterns), s.counts_as)
            for s in defs.subjects]


def entities_digest(rows: list[entity_store.EntityRow]) -> str:
    """Changes whenever an entity, alias or pattern changes: stored articles are then re-read."""
    return hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:16]


def _extract_articles(rt, defs: Definitions, result: StageResult, since, until, reprocess: bool,
                      linking: store.Linking) -> None:
    extractor = Extractor(defs)
    digest = linking.digest
    with rt.pool.connection() as conn, conn.transaction():
        total = store.count_pending(conn, version=EXTRACTOR_VERSION, since=since, until=until, reprocess=reprocess,
                                    digest=digest)
        withdrawn = store.withdraw_stale_observations(conn)
    if withdrawn:
        result.add("observations_withdrawn", withdrawn)
    with rt.progress.task("indicators: articles", total) as tracker:
        for batch in pages_by_article_id(rt.pool, store.fetch_pending, BATCH_SIZE, version=EXTRACTOR_VERSION,
                                         since=since, until=until, reprocess=reprocess, digest=digest):
            outcomes = [extract_article_claims(extractor, a) for a in batch]
            _save_outcomes(rt, outcomes, result, linking)
            tracker.advance(len(batch))


def _save_outcomes(rt, outcomes: list[store.ArticleOutcome], result: StageResult,
                   linking: store.Linking | None = None) -> None:
    try:
        with rt.pool.connection() as conn, conn.transaction():
            inserted = store.save_article_outcomes(conn, outcomes, EXTRACTOR_VERSION, linking)
    except (psycopg.DataError, psycopg.IntegrityError):
        # one article's data broke the batch: save one by one, record the culprit as failed
        # (anything else, database down or a bug, fails the task and Airflow retries it)
        inserted = 0
        for outcome in outcomes:
            try:
                with rt.pool.connection() as conn, conn.transaction():
                    inserted += store.save_article_outcomes(conn, [outcome], EXTRACTOR_VERSION, linking)
            except (psycopg.DataError, psycopg.IntegrityError) as one:
                failed = store.ArticleOutcome(outcome.article, "failed", [], f"{type(one).__name__}: {one}"[:500])
                with rt.pool.connection() as conn, conn.transaction():
                    store.save_article_outcomes(conn, [failed], EXTRACTOR_VERSION, linking)
                outcome.status, outcome.error = "failed", failed.error
    for o in outcomes:
        result.add({"ok": "articles", "failed": "articles_failed", "skipped": "articles_skipped"}[o.status])
        if o.status == "ok":
            result.add("claims", len(o.claims))
            result.add("candidates", len(o.candidates))
        elif o.status == "failed":
            result.notes.append(f"article {o.article.article_id}: {o.error}")
    result.add("observations_added", inserted)


def _definition_rows(defs: Definitions) -> tuple[list[store.DefinitionRow], list[store.TargetRow]]:
    """The YAML's definitions and per-subject targets as the rows indicator_definitions and
    indicator_targets hold."""
    definitions = [store.DefinitionRow(i.key, i.kind, i.unit, defs.subjects_of(i), i.target.value if i.target else None,
                                       i.target.year if i.target else None, i.description) for i in defs.indicators]
    targets = [store.TargetRow(i.key, subject, t.value, t.year, t.note, t.stated) for i in defs.indicators
               for subject, t in i.targets.items()]
    return definitions, targets


def collect_api(rt, defs: Definitions, observed_at: dt.datetime, result: StageResult, *,
                collector: ApiCollector | None = None, entity_ids: dict[str, int] | None = None) -> None:
    """Read every configured repository once for this run time; a failure is recorded and skipped."""
    if not defs.api_sources:
        return
    own = collector is None
    collector = collector or ApiCollector(rt.settings, defs)
    gazetteer = Extractor(defs).gazetteer
    unreachable: set[str] = set()
    skipped: dict[str, int] = {}
    try:
        with rt.progress.task("indicators: APIs", len(defs.api_sources)) as tracker:
            for source in defs.api_sources:
                with rt.pool.connection() as conn:
                    done = store.fetched_ok(conn, source.provider, source.repo, observed_at)
                if done:
                    result.add("api_already_read")
                    tracker.advance()
                    continue
                if source.provider in unreachable:
                    outcome = FetchOutcome(source, collector.url_for(source), ok=False, attempts=0,
                                           error=f"skipped: {source.provider} API unreachable in this run")
                else:
                    outcome = collector.fetch(source)
                    if outcome.unreachable:
                        unreachable.add(source.provider)
                rows = collector.readings(outcome) if outcome.ok else []
                with rt.pool.connection() as conn, conn.transaction():
                    added = store.save_api_fetch(
                        conn, provider=source.provider, repo=source.repo, observed_at=observed_at, ok=outcome.ok,
                        http_status=outcome.http_status, attempts=outcome.attempts, error=outcome.error,
                        source_url=outcome.url, rows=rows,
                        entity_id=(entity_ids or {}).get(api_entity(gazetteer, source)))
                result.add("api_observations", added)
                if outcome.ok:
                    result.add("api_ok")
                else:
                    result.add("api_failed")
                    if outcome.attempts:
                        result.notes.append(f"{source.provider} {source.repo}: {outcome.error}")
                    else:
                        skipped[source.provider] = skipped.get(source.provider, 0) + 1
                tracker.advance()
    finally:
        if own:
            collector.close()
    for provider, n in skipped.items():
        result.notes.append(f"{provider}: {n} more repositories skipped (API unreachable in this run)")


def api_entity(gazetteer, source: ApiSource) -> str | None:
    """The model family a repository belongs to ("Qwen/Qwen3-8B" -> Qwen, "tencent/Hunyuan3D-2" -> Hunyuan)."""
    if source.entity:
        return source.entity
    name = source.repo.split("/", 1)[1]
    found = [s for s in gazetteer.find(name.replace("-", " ") + " " + name) if s.resolve({"model"})]
    return found[0].resolve({"model"}) if found else None


def run_indicators(rt, since: dt.datetime | None = None, until: dt.datetime | None = None, *,
                   observed_at: dt.datetime | None = None, collect_apis: bool = True, reprocess: bool = False,
                   definitions: Definitions | None = None, collector: ApiCollector | None = None) -> StageResult:
    """The indicators stage. ``since``/``until`` bound the articles read (by publication time);
    API readings are stamped ``observed_at`` (default: ``until``, else now), so a re-run of the
    same interval adds nothing."""
    with record_stage(rt.pool, "indicators") as result:
        defs = definitions or load_definitions()
        rows = entity_rows(defs)
        with rt.pool.connection() as conn, conn.transaction():
            result.add("definitions", store.sync_definitions(conn, *_definition_rows(defs)))
            ids = entity_store.sync_entities(conn, rows)
        result.add("entities", len(rows))
        linking = store.Linking(ids, ReferenceRates.load().usd, entities_digest(rows))
        _extract_articles(rt, defs, result, since, until, reprocess, linking)
        if collect_apis:
            stamp = observed_at or until or dt.datetime.now(dt.timezone.utc)
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.timezone.utc)
            collect_api(rt, defs, stamp.replace(microsecond=0), result, collector=collector, entity_ids=ids)
    return result
