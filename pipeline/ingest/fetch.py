"""Fetching for the ingest stage: one feed, one article page.

- ``fetch_feed``: one feed by conditional GET; its new entries are stored together with its
  ETag/Last-Modified, or its failure is recorded with a backoff (``backoff_delay``; 410
  disables the feed). Never raises for a bad feed.
- ``fetch_page``: one article page, to a ``PageToStore`` (raw, compressed) or an
  ``EntryOutcome`` saying why nothing can be stored. No database work: it runs on the fetch
  threads, and the stage writes the pages in batches.
- ``interleave_hosts``: the order in which pages are fetched.
- ``attribute_sources``: an article's ``source``, decided from every feed that links it.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, Sequence
from urllib.parse import urlsplit

from pipeline.infra.config import mask_url, mask_urls_in
from pipeline.infra.http import (
    BlockedAddress, FetchError, HostDeferred, HttpClient, HttpStatusError, RobotsDisallowed, TooLarge,
    UnsupportedContent,
)
from pipeline.infra.urls import find_canonical_link, pick_canonical, pick_source
from pipeline.ingest.extract import compress
from pipeline.ingest.feeds import FeedParseError, parse_feed
from pipeline.records import EntryOutcome, ExtractJob, FeedLink, FeedRow, PageToStore, PendingGroup, StoredPage
from pipeline.store import articles as article_store
from pipeline.store import feeds as feed_store

log = logging.getLogger(__name__)

__all__ = [
    "FeedFetched", "fetch_feed", "fetch_page", "extract_job", "interleave_hosts", "site_root", "backoff_delay",
    "attribute_sources", "GONE_REASON",
]

GONE_REASON = "gone: HTTP 410"
BACKOFF_BASE = timedelta(minutes=10)
BACKOFF_CAP = timedelta(days=1)


class FeedFetched(NamedTuple):
    """What fetching one feed did. ``outcome``: the StageResult counter it adds to."""

    outcome: str
    new_entries: int
    note: str | None
    hosts: set[str]  # the sites of its new entries, whose robots.txt can load meanwhile


# --------------------------------------------------------------------------- feeds


def backoff_delay(failures: int, rng: random.Random | None = None) -> timedelta:
    """10 min, 20 min, 40 min, ... capped at a day, with +-20 % jitter so feeds spread out."""
    rng = rng or random
    base = BACKOFF_BASE * (2 ** min(max(failures - 1, 0), 16))
    return min(base, BACKOFF_CAP) * rng.uniform(0.8, 1.2) if base < BACKOFF_CAP else BACKOFF_CAP * rng.uniform(0.9, 1.0)


def _record_failure(
    rt, feed: FeedRow, status: int | None, reason: str, now: datetime,
    *, kind: str, retry_after_s: float | None = None, disable_reason: str | None = None,
) -> None:
    """The feed is not checked again before its backoff (or the server's Retry-After) ran out."""
    with rt.pool.connection() as conn, conn.transaction():
        failures = feed_store.consecutive_failures(conn, feed.feed_id) + 1
        delay = backoff_delay(failures)
        if retry_after_s:
            delay = max(delay, timedelta(seconds=min(retry_after_s, BACKOFF_CAP.total_seconds())))
        feed_store.record_failure(
            conn, feed.feed_id, status, reason, now,
            failures=failures, next_check_at=now + delay, disable_reason=disable_reason, kind=kind,
        )


def fetch_feed(rt, client: HttpClient, feed: FeedRow, now: datetime) -> FeedFetched:
    """Fetch and store one feed. Never raises for a bad feed."""
    try:
        res = client.fetch(feed.url, kind="feed", etag=feed.etag, last_modified=feed.last_modified)
    except FetchError as exc:
        status = exc.status if isinstance(exc, HttpStatusError) else None
        disable = GONE_REASON if status == 410 else None
        _record_failure(rt, feed, status, exc.reason, now, kind=exc.kind, retry_after_s=exc.retry_after,
                        disable_reason=disable)
        return FeedFetched("feeds_disabled" if disable else "feeds_failed", 0, f"feed {feed.name}: {exc.reason}", set())
    if res.not_modified:
        with rt.pool.connection() as conn, conn.transaction():
            feed_store.record_not_modified(conn, feed.feed_id, now)
        return FeedFetched("feeds_not_modified", 0, None, set())
    try:
        parsed = parse_feed(res.body, res.final_url, content_type=res.headers.get("content-type"), now=now)
    except Exception as exc:  # FeedParseError, or a parser bug on hostile input: this feed only
        reason = str(exc) if isinstance(exc, FeedParseError) else f"feed parser error: {type(exc).__name__}: {exc}"
        kind = "not_a_feed" if isinstance(exc, FeedParseError) else "parse_error"
        _record_failure(rt, feed, res.status, mask_urls_in(reason)[:1000], now, kind=kind)
        return FeedFetched("feeds_failed", 0, f"feed {feed.name}: {reason[:300]}", set())
    with rt.pool.connection() as conn, conn.transaction():
        new = article_store.store_entries(conn, feed.feed_id, parsed.entries)
        feed_store.record_refused_entries(conn, feed.feed_id, parsed.refused, now)
        # The validators go in the same transaction as the entries (see DESIGN: never before).
        feed_store.record_success(
            conn, feed.feed_id, res.status, res.headers.get("etag"), res.headers.get("last-modified"),
            parsed.warning, now,
        )
    note = f"feed {feed.name}: recovered from malformed XML ({parsed.warning})" if parsed.warning else None
    return FeedFetched("feeds_fetched", new, note, ({site_root(e.link) for e in parsed.entries} if new else set()))


def site_root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


# --------------------------------------------------------------------------- pages


def fetch_page(client: HttpClient, group: PendingGroup) -> PageToStore | EntryOutcome:
    """One article page -> PageToStore, or EntryOutcome when nothing can be stored."""
    try:
        return _fetch_page(client, group)
    except Exception as exc:  # one odd page must not stop the run (no database work in here)
        log.exception("unexpected error fetching %s", mask_url(group.link))
        return EntryOutcome(group, "failed", mask_urls_in(f"unexpected error: {type(exc).__name__}: {exc}")[:500],
                            "unexpected")


def _fetch_page(client: HttpClient, group: PendingGroup) -> PageToStore | EntryOutcome:
    try:
        res = client.fetch(group.link, kind="page")
    except HostDeferred as exc:
        return EntryOutcome(group, "deferred", exc.reason, exc.kind)
    except (RobotsDisallowed, UnsupportedContent, BlockedAddress, TooLarge) as exc:
        return EntryOutcome(group, "skipped", exc.reason, exc.kind)  # refused: fetching again would not help
    except FetchError as exc:
        return EntryOutcome(group, "failed" if exc.permanent else "retry", exc.reason, exc.kind)
    if res.not_modified or not res.body.strip():
        return EntryOutcome(group, "failed", f"HTTP {res.status} with an empty body", "empty_body")
    canonical = pick_canonical(group.link, res.final_url, find_canonical_link(res.body, res.final_url))
    return PageToStore(
        group, canonical, res.final_url, res.status, datetime.now(timezone.utc), res.content_type or None,
        res.charset, res.body_gz if res.body_gz is not None else compress(res.body), len(res.body),
    )


def extract_job(stored: StoredPage) -> ExtractJob:
    """The extraction work for a page just stored (no need to read it back)."""
    page, g = stored.page, stored.page.group
    return ExtractJob(stored.article_id, page.final_url, page.body_gz, page.charset, g.feed_language, g.title,
                      g.published_at, page.fetched_at)


def interleave_hosts(groups: list[PendingGroup]) -> list[PendingGroup]:
    """Round-robin over hosts, so the fetch threads spread over all hosts instead of queueing
    behind one host's concurrency limit and delay (head-of-line blocking)."""
    by_host: dict[str, list[PendingGroup]] = {}
    for g in groups:
        by_host.setdefault(urlsplit(g.link).netloc.lower(), []).append(g)
    queues = list(by_host.values())
    out = []
    for i in range(max((len(q) for q in queues), default=0)):
        out.extend(q[i] for q in queues if i < len(q))
    return out


# --------------------------------------------------------------------------- sources


def attribute_sources(conn, article_ids: Sequence[int]) -> int:
    """Set each article's ``source`` from all the feeds that link it (``pick_source``), in the
    caller's transaction. Returns how many articles changed.

    The rows are locked first (in id order, so concurrent fetch tasks cannot deadlock on
    them), and the links are read after the lock: a task that linked the same article in
    parallel has committed by then, so the last writer decides with every link in view."""
    if not article_ids:
        return 0
    article_store.lock_articles(conn, article_ids)
    links: dict[int, set[tuple[str, str | None]]] = {}
    articles: dict[int, FeedLink] = {}
    for link in article_store.feed_links(conn, article_ids):
        articles.setdefault(link.article_id, link)
        links.setdefault(link.article_id, set()).add((link.feed_name, link.feed_url))
    best = {aid: pick_source(a.canonical_url, sorted(links[aid])) for aid, a in articles.items()}
    changed = {aid: source for aid, source in best.items() if source != articles[aid].source}
    article_store.set_sources(conn, changed)
    return len(changed)
