"""Ingestion: feed list -> feeds (conditional GET) -> article pages -> extracted articles.

Split so Airflow can fan out, each step recorded in ``stage_runs``:

- ``sync_feeds(rt, feeds_file)``: load the feed list, upsert ``feeds``, disable feeds that
  left the file; returns the names of enabled feeds that are due (backoff respected).
- ``fetch_feeds(rt, names)``: fetch those feeds (conditional GET), store new entries, fetch
  the new article pages concurrently and store each raw page compressed with its article row
  (``extract_status = 'pending'``).
- ``extract_pending(rt, limit)``: claim pending raw pages a few at a time (several tasks may
  run at once: each page is extracted by one of them), extract them in a process pool, write
  results in batches, mark syndicated copies.
- ``run_ingest(rt, feeds_file, reextract)``: all three; extraction starts while pages are
  still being fetched, so fetch latency hides behind extraction.

Resumable by construction: a page's article row, raw page and entry status are committed in
one transaction; a feed's ETag only after its entries. Killed anywhere, the next run fetches
what is still 'pending' and extracts what is still 'pending'.

The parts: ``feeds`` (the feed list, feed parsing), ``fetch`` (one feed, one page),
``extract`` (one page's text), ``pool`` (the extraction processes and their writer thread),
``dedup`` (syndicated copies). This module only puts them in order.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Sequence

from pipeline.infra.batching import in_transaction
from pipeline.infra.http import HttpClient
from pipeline.infra.runs import StageResult, record_stage
from pipeline.ingest.canonical import free_own_urls, settle_canonical
from pipeline.ingest.feeds import load_feed_list
from pipeline.ingest.fetch import attribute_sources, extract_job, fetch_feed, fetch_page, interleave_hosts
from pipeline.ingest.pool import ExtractionPool
from pipeline.records import EntryOutcome, PageToStore, StoredPage
from pipeline.store import articles as article_store
from pipeline.store import feeds as feed_store
from pipeline.store import recovery as recovery_store

log = logging.getLogger(__name__)

__all__ = ["sync_feeds", "fetch_feeds", "extract_pending", "run_ingest"]

PAGE_BATCH = 50  # pages per write transaction
PAGE_FLUSH_S = 1.0  # ... or this often, whichever comes first
CLAIM_CHUNK = 50  # pending pages claimed per query by extract_pending
# While other tasks hold claims: how often extract_pending looks again. The task that runs out
# first ends this long after the last page at most, so it adds to every parallel run's span
# (one cheap count query per poll).
CLAIM_WAIT_POLL_S = 0.5


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- sync


def sync_feeds(rt, feeds_file: str | Path | None = None, *, now: datetime | None = None) -> list[str]:
    """Load and validate the feed list, upsert ``feeds``, disable feeds removed from the file;
    return the names of enabled feeds that are due now (backoff's ``next_check_at`` respected)."""
    now = now or _utcnow()
    path = Path(feeds_file or rt.settings.feeds_file)
    with record_stage(rt.pool, "ingest_sync") as result:
        specs = load_feed_list(path)
        with rt.pool.connection() as conn, conn.transaction():
            feed_store.upsert_feeds(conn, specs)
            removed = feed_store.disable_missing(conn, [s.name for s in specs])
            enabled = [s.name for s in specs if s.enabled]
            due = [f.name for f in feed_store.get_feeds(conn, enabled, now) if f.due]
            # a feed in backoff still gets its pending pages fetched (fetch_feeds skips the feed)
            ready = feed_store.feeds_with_ready_pages(conn, enabled, now)
        result.add("feeds_listed", len(specs))
        result.add("feeds_due", len(due))
        if set(ready) - set(due):
            result.add("feeds_with_pending_pages", len(set(ready) - set(due)))
        due = sorted(set(due) | set(ready))
        if removed:
            result.add("feeds_removed", len(removed))
            result.notes.append(f"disabled (removed from {path.name}): {', '.join(removed)}")
    return due


# --------------------------------------------------------------------------- fetch


def fetch_feeds(
    rt,
    names: Sequence[str],
    *,
    now: datetime | None = None,
    extractor: "ExtractionPool | None" = None,
    on_stored: Callable[[int], None] | None = None,
) -> StageResult:
    """Fetch the named feeds and their new article pages; store pages raw, extraction pending.

    ``extractor``: hand each stored page straight to extraction (``run_ingest`` does this).
    ``on_stored``: called with the number of pages after each committed batch (tests use it to
    stop a run half-way)."""
    now = now or _utcnow()
    settings = rt.settings
    with record_stage(rt.pool, "ingest_fetch") as result, HttpClient(settings) as client:
        with rt.pool.connection() as conn:
            feeds = feed_store.get_feeds(conn, list(names), now)
        # A few more threads than connections: some wait on a host's delay without holding one.
        threads = settings.http_concurrency + 4
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fetch") as pool:
            with rt.progress.task("fetching feeds", total=sum(f.due for f in feeds)) as bar:
                # a feed in backoff is not fetched; its pending pages below are
                futures = [pool.submit(fetch_feed, rt, client, f, now) for f in feeds if f.due]
                prepared: set[str] = set()
                for fut in as_completed(futures):
                    fetched = fut.result()
                    # The pages follow once every feed is in; their hosts' robots.txt loads meanwhile.
                    for host in fetched.hosts - prepared:
                        pool.submit(client.prepare_host, host)
                    prepared |= fetched.hosts
                    result.add(fetched.outcome)
                    result.add("entries_new", fetched.new_entries)
                    if fetched.note:
                        result.notes.append(fetched.note)
                    bar.advance()
            feed_ids = [f.feed_id for f in feeds]
            result.add("entries_linked", in_transaction(rt.pool, lambda conn: _link_known_entries(conn, feed_ids)))
            with rt.pool.connection() as conn:
                groups = article_store.pending_entries(conn, feed_ids, now)
            _fetch_pages(rt, client, pool, groups, result, extractor, on_stored, now)
    return result


def _link_known_entries(conn, feed_ids: list[int]) -> int:
    """Entries whose article is already stored are linked to it; its ``source`` is re-decided
    with the new feeds. Returns how many entries were linked."""
    article_ids = article_store.link_known_entries(conn, feed_ids)
    attribute_sources(conn, article_ids)
    return len(article_ids)


def _fetch_pages(rt, client, pool, groups, result: StageResult, extractor, on_stored, now: datetime) -> None:
    pages: list[PageToStore] = []
    outcomes: list[EntryOutcome] = []

    claim = extractor.claimer if extractor is not None else None

    def store(conn) -> list[StoredPage]:
        free_own_urls(conn, pages)
        stored = article_store.store_pages(conn, pages, claim_by=claim)
        # Inserted with the first entry's feed as source; decided properly now that every entry
        # (of this batch and of earlier ones) is linked.
        attribute_sources(conn, stored.linked_article_ids)
        article_store.record_entry_outcomes(conn, outcomes, now)
        return stored.new

    def flush() -> None:
        if pages or outcomes:
            stored = in_transaction(rt.pool, store)
            result.add("articles_new", len(stored))
            result.add("pages_already_stored", len(pages) - len(stored))
            if extractor is not None:
                for page in stored:
                    extractor.submit(extract_job(page))
            if on_stored is not None:
                on_stored(len(stored))
        pages.clear()
        outcomes.clear()

    if groups and extractor is not None:
        extractor.start()  # worker start-up (imports) overlaps the first downloads
    with rt.progress.task("fetching pages", total=len(groups)) as bar:
        futures: list[Future] = [pool.submit(fetch_page, client, g) for g in interleave_hosts(groups)]
        try:
            _collect_pages(futures, result, bar, pages, outcomes, flush, extractor)
        except BaseException:
            for fut in futures:  # a systemic fault: stop, don't download the rest for nothing
                fut.cancel()
            raise
        flush()


def _collect_pages(futures, result: StageResult, bar, pages: list, outcomes: list, flush, extractor=None) -> None:
    last_flush = time.monotonic()
    for fut in as_completed(futures):
        item = fut.result()
        if isinstance(item, PageToStore):
            pages.append(settle_canonical(item))
            result.add("pages_fetched")
        else:
            outcomes.append(item)
            result.add(f"pages_{item.status}")
            if item.status in ("failed", "skipped") and len(result.notes) < 50:
                result.notes.append(f"page {item.group.link[:200]}: {item.error}")
        bar.advance()
        # Also flush a small batch while the extraction workers run out of work (at the start
        # of a run, or after a slow host): a batch of 50 would leave them idle meanwhile.
        hungry = extractor is not None and pages and extractor.hungry()
        if (hungry or len(pages) >= PAGE_BATCH or len(outcomes) >= PAGE_BATCH
                or time.monotonic() - last_flush > PAGE_FLUSH_S):
            flush()
            last_flush = time.monotonic()


# --------------------------------------------------------------------------- extract


def extract_pending(
    rt, limit: int | None = None, *, extractor: ExtractionPool | None = None, reextract: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> StageResult:
    """Extract stored raw pages whose extraction is pending (all raw pages with ``reextract``).

    Safe to run as several tasks at once: pages are claimed CLAIM_CHUNK at a time
    (``claim_pending``), so each is extracted by one task; the claims of a task that died
    are retaken once their lease (``NEWSMON_CLAIM_LEASE``) has run out. With nothing left to
    claim, a task waits while other claimers hold pending pages (``sleep``): a live one
    finishes them, a dead one's are retaken here, so a run never ends with them pending."""
    lease = timedelta(seconds=rt.settings.claim_lease_s)
    with record_stage(rt.pool, "ingest_extract") as result:
        if reextract:
            with rt.pool.connection() as conn, conn.transaction():
                result.add("reextract_reset", article_store.reset_extraction(conn))
        own = extractor is None
        ex = extractor or ExtractionPool(rt)
        try:
            queued = 0
            with rt.pool.connection() as conn:
                claimable = article_store.count_claimable(conn, lease)
            # Pages handed over by fetch_feeds (already in the pool) and those to claim here; the
            # bar counts results as they are written.
            total = len(ex.submitted) + (claimable if limit is None else min(limit, claimable))
            with rt.progress.task("extracting", total=total) as bar:
                ex.follow_writes(bar.advance)
                while limit is None or queued < limit:
                    n = CLAIM_CHUNK if limit is None else min(CLAIM_CHUNK, limit - queued)
                    with rt.pool.connection() as conn, conn.transaction():
                        jobs = article_store.extract_jobs(conn, article_store.claim_pending(conn, ex.claimer, n, lease))
                    if not jobs:
                        if limit is None and _waited_for_other_claims(rt, ex.claimer, lease, sleep, result):
                            continue
                        break
                    for job in jobs:
                        ex.submit(job)
                        queued += 1
                ex.drain()
                ex.follow_writes(None)
        except BaseException:
            _release_own_claims(rt, ex.claimer)
            raise
        finally:
            if own:
                ex.close()
        result.merge(ex.counts)
    return result


def _waited_for_other_claims(rt, claimer: str, lease: timedelta, sleep, result: StageResult) -> bool:
    """When other claimers hold pending pages: wait a poll (or until the first of those claims
    runs out) and return True, to claim again. A killed worker's claims are otherwise left for
    the next run, and this run's later stages would go on without those pages."""
    with rt.pool.connection() as conn:
        held = article_store.claims_held_elsewhere(conn, claimer, lease)
    if not held.pages:
        return False
    if not result.counts.get("claim_waits"):
        log.info("waiting for %d page(s) claimed by other extraction tasks (the first claim ends in %.0f s)",
                 held.pages, held.seconds_left)
    result.add("claim_waits")
    sleep(min(CLAIM_WAIT_POLL_S, held.seconds_left + 0.1))
    return True


def _release_own_claims(rt, claimer: str) -> None:
    """A failed task gives its unfinished claims back at once, so its Airflow retry (or another
    task) finds the pages instead of waiting out the lease. Best effort: with the database gone,
    the lease ends the claims instead."""
    try:
        with rt.pool.connection() as conn, conn.transaction():
            n = recovery_store.release_claims(conn, [claimer])
        if n:
            log.warning("extraction failed: released %d claimed page(s) for the next task", n)
    except Exception as exc:  # noqa: BLE001 - the original error is what the caller must see
        log.warning("extraction failed and its claims could not be released (%s); they end with the lease", exc)


# --------------------------------------------------------------------------- all


def run_ingest(rt, feeds_file: str | Path | None = None, reextract: bool = False, *, now: datetime | None = None) -> StageResult:
    """Sync the feed list, fetch due feeds and their new pages, extract everything pending."""
    now = now or _utcnow()
    with record_stage(rt.pool, "ingest") as total:
        due = sync_feeds(rt, feeds_file, now=now)
        with ExtractionPool(rt) as ex:
            if due:
                ex.start()  # the workers get ready while the feeds are fetched
            if reextract:
                with rt.pool.connection() as conn, conn.transaction():
                    total.add("reextract_reset", article_store.reset_extraction(conn))
            parts = [fetch_feeds(rt, due, now=now, extractor=ex), extract_pending(rt, extractor=ex)]
        for part in parts:
            total.merge(part)
    return total
