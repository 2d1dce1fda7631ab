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
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlsplit

import psycopg

from pipeline.ingest.extract import ExtractJob, Extracted, compress, extract_payload, warm_worker
from pipeline.ingest.feeds import FeedParseError, load_feed_list, parse_feed
from pipeline.infra.http import (
    BlockedAddress, FetchError, HostDeferred, HttpClient, HttpStatusError, RobotsDisallowed, UnsupportedContent,
)
from pipeline.infra.runs import StageResult, record_stage
from pipeline.store import articles as article_store
from pipeline.store import feeds as feed_store
from pipeline.infra.urls import find_canonical_link, pick_canonical

log = logging.getLogger(__name__)

__all__ = ["sync_feeds", "fetch_feeds", "extract_pending", "run_ingest", "ExtractionPool"]

PAGE_BATCH = 50  # pages per write transaction
PAGE_FLUSH_S = 1.0  # ... or this often, whichever comes first
EXTRACT_BATCH = 100
EXTRACT_FLUSH_S = 1.0
CLAIM_CHUNK = 50  # pending pages claimed per query by extract_pending
TX_ATTEMPTS = 3  # a batch transaction that hit a deadlock with a concurrent task is replayed
# Imported once by the fork server; every extraction worker is forked from it ready to work.
WORKER_PRELOAD = ["__main__", "pipeline.ingest.extract", "trafilatura", "numpy", "charset_normalizer"]
GONE_REASON = "gone: HTTP 410"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _in_transaction(rt, work: Callable):
    """Run ``work(conn)`` in one transaction; replayed (whole) when Postgres broke a deadlock
    with a concurrent task by aborting this one. Every write in here is idempotent."""
    for attempt in range(1, TX_ATTEMPTS + 1):
        try:
            with rt.pool.connection() as conn, conn.transaction():
                return work(conn)
        except psycopg.errors.DeadlockDetected:
            if attempt == TX_ATTEMPTS:
                raise
            log.warning("deadlock with a concurrent task; replaying the batch (attempt %d)", attempt + 1)
            time.sleep(0.05 * attempt)


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
            due = feed_store.due_feed_names(conn, [s.name for s in specs if s.enabled], now)
        result.add("feeds_listed", len(specs))
        result.add("feeds_due", len(due))
        if removed:
            result.add("feeds_removed", len(removed))
            result.notes.append(f"disabled (removed from {path.name}): {', '.join(removed)}")
    return due


# --------------------------------------------------------------------------- fetch


def _fetch_one_feed(rt, client: HttpClient, feed: feed_store.FeedRow, now: datetime) -> tuple[str, int, str | None, set]:
    """Fetch and store one feed. Returns (outcome, new entries, note, hosts its new entries
    are on). Never raises for a bad feed."""
    try:
        res = client.fetch(feed.url, kind="feed", etag=feed.etag, last_modified=feed.last_modified)
    except FetchError as exc:
        status = exc.status if isinstance(exc, HttpStatusError) else None
        disable = GONE_REASON if status == 410 else None
        with rt.pool.connection() as conn:
            feed_store.record_failure(
                conn, feed.feed_id, status, exc.reason, now, retry_after_s=exc.retry_after, disable_reason=disable
            )
        return ("feeds_disabled" if disable else "feeds_failed"), 0, f"feed {feed.name}: {exc.reason}", set()
    if res.not_modified:
        with rt.pool.connection() as conn:
            feed_store.record_not_modified(conn, feed.feed_id, now)
        return "feeds_not_modified", 0, None, set()
    try:
        parsed = parse_feed(res.body, res.final_url, content_type=res.headers.get("content-type"), now=now)
    except Exception as exc:  # FeedParseError, or a parser bug on hostile input: this feed only
        reason = str(exc) if isinstance(exc, FeedParseError) else f"feed parser error: {type(exc).__name__}: {exc}"
        with rt.pool.connection() as conn:
            feed_store.record_failure(conn, feed.feed_id, res.status, reason[:1000], now)
        return "feeds_failed", 0, f"feed {feed.name}: {reason[:300]}", set()
    with rt.pool.connection() as conn, conn.transaction():
        new = article_store.store_entries(conn, feed.feed_id, parsed.entries)
        # The validators go in the same transaction as the entries (see DESIGN: never before).
        feed_store.record_success(
            conn, feed.feed_id, res.status, res.headers.get("etag"), res.headers.get("last-modified"),
            parsed.warning, now,
        )
    note = f"feed {feed.name}: recovered from malformed XML ({parsed.warning})" if parsed.warning else None
    return "feeds_fetched", new, note, ({_site_root(e.link) for e in parsed.entries} if new else set())


def _site_root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _fetch_page(client: HttpClient, group: article_store.PendingGroup):
    """One article page -> PageToStore, or EntryOutcome when nothing can be stored."""
    try:
        return _fetch_page_inner(client, group)
    except Exception as exc:  # one odd page must not stop the run (no database work in here)
        log.exception("unexpected error fetching %s", group.link)
        return article_store.EntryOutcome(group, "failed", f"unexpected error: {type(exc).__name__}: {exc}"[:500])


def _fetch_page_inner(client: HttpClient, group: article_store.PendingGroup):
    try:
        res = client.fetch(group.link, kind="page")
    except HostDeferred as exc:
        return article_store.EntryOutcome(group, "deferred", exc.reason)
    except (RobotsDisallowed, UnsupportedContent, BlockedAddress) as exc:
        return article_store.EntryOutcome(group, "skipped", exc.reason)
    except FetchError as exc:
        return article_store.EntryOutcome(group, "failed" if exc.permanent else "retry", exc.reason)
    if res.not_modified or not res.body.strip():
        return article_store.EntryOutcome(group, "failed", f"HTTP {res.status} with an empty body")
    canonical = pick_canonical(group.link, res.final_url, find_canonical_link(res.body, res.final_url))
    return article_store.PageToStore(
        group, canonical, res.final_url, res.status, _utcnow(), res.content_type or None, res.charset,
        res.body_gz if res.body_gz is not None else compress(res.body), len(res.body),
    )


def _job_for(article_id: int, page: article_store.PageToStore) -> ExtractJob:
    g = page.group
    return ExtractJob(article_id, page.final_url, page.body_gz, page.charset, g.feed_language, g.title,
                      g.published_at, page.fetched_at)


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
            feeds = feed_store.get_feeds(conn, list(names))
        # A few more threads than connections: some wait on a host's delay without holding one.
        threads = settings.http_concurrency + 4
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fetch") as pool:
            with rt.progress.task("fetching feeds", total=len(feeds)) as bar:
                futures = [pool.submit(_fetch_one_feed, rt, client, f, now) for f in feeds]
                prepared: set[str] = set()
                for fut in as_completed(futures):
                    outcome, new, note, hosts = fut.result()
                    # The pages follow once every feed is in; their hosts' robots.txt loads meanwhile.
                    for host in hosts - prepared:
                        pool.submit(client.prepare_host, host)
                    prepared |= hosts
                    result.add(outcome)
                    result.add("entries_new", new)
                    if note:
                        result.notes.append(note)
                    bar.advance()
            feed_ids = [f.feed_id for f in feeds]
            result.add("entries_linked", _in_transaction(rt, lambda conn: article_store.link_known_entries(conn, feed_ids)))
            with rt.pool.connection() as conn:
                groups = article_store.pending_entries(conn, feed_ids)
            _fetch_pages(rt, client, pool, groups, result, extractor, on_stored)
    return result


def _interleave_hosts(groups: list) -> list:
    """Round-robin over hosts, so the fetch threads spread over all hosts instead of queueing
    behind one host's concurrency limit and delay (head-of-line blocking)."""
    by_host: dict[str, list] = {}
    for g in groups:
        by_host.setdefault(urlsplit(g.link).netloc.lower(), []).append(g)
    queues = list(by_host.values())
    out = []
    for i in range(max((len(q) for q in queues), default=0)):
        out.extend(q[i] for q in queues if i < len(q))
    return out


def _fetch_pages(rt, client, pool, groups, result: StageResult, extractor, on_stored) -> None:
    pages: list = []
    outcomes: list = []

    claim = extractor.claimer if extractor is not None else None

    def store(conn):
        stored = article_store.store_pages(conn, pages, claim_by=claim)
        article_store.record_entry_outcomes(conn, outcomes)
        return stored

    def flush() -> None:
        if pages or outcomes:
            stored = _in_transaction(rt, store)
            result.add("articles_new", len(stored))
            result.add("pages_already_stored", len(pages) - len(stored))
            if extractor is not None:
                for article_id, page in stored:
                    extractor.submit(_job_for(article_id, page))
            if on_stored is not None:
                on_stored(len(stored))
        pages.clear()
        outcomes.clear()

    if groups and extractor is not None:
        extractor.start()  # worker start-up (imports) overlaps the first downloads
    with rt.progress.task("fetching pages", total=len(groups)) as bar:
        futures: list[Future] = [pool.submit(_fetch_page, client, g) for g in _interleave_hosts(groups)]
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
        if isinstance(item, article_store.PageToStore):
            pages.append(item)
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


def _worker_context():
    """How extraction workers start. ``forkserver`` where the platform has it: one clean
    server process imports trafilatura once (``WORKER_PRELOAD``) and every worker is forked
    from it in milliseconds, sharing those pages; a crashed worker is replaced just as fast.
    Elsewhere ``spawn``. Never plain ``fork``: the parent runs threads (fetchers, pool)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(WORKER_PRELOAD)  # no effect once the server runs
        return ctx
    return multiprocessing.get_context("spawn")


class ExtractionPool:
    """Process pool for ``extract_payload`` plus a writer thread that stores results in batches.

    ``submit`` blocks while too many pages are in flight (back-pressure on the fetchers);
    ``drain`` waits until every submitted page is written. Results are written only while
    this pool's claim (``claimer``) on the article holds. A page that kills its worker is
    retried alone, then recorded as failed; the rest of the pages go on in a fresh pool.

    ``extract_fn``: the function the workers run (a picklable ``ExtractJob -> dict``; tests
    pass one that crashes on purpose)."""

    def __init__(self, rt, workers: int | None = None, *, extract_fn: Callable[[ExtractJob], dict] = extract_payload):
        self.rt = rt
        self.workers = workers or rt.settings.extract_workers or os.cpu_count() or 1
        self.extract_fn = extract_fn
        # Names this pool's claims in ``articles.extract_claimed_by`` (host, process, pool).
        self.claimer = f"{socket.gethostname()[:100]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.counts = StageResult("extract")
        self.submitted: set[int] = set()
        self._executor: ProcessPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(self.workers * 8)
        self._pending = 0
        self._idle = threading.Condition()
        self._results: queue.Queue = queue.Queue()
        self._crashed: list[ExtractJob] = []
        self._writer: threading.Thread | None = None
        self._error: BaseException | None = None
        self._executor_lock = threading.Lock()
        self._starting: threading.Thread | None = None

    # -- lifecycle
    def __enter__(self) -> "ExtractionPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker processes in the background (they get ready while other work goes
        on: launching the fork server the first time takes a few hundred ms)."""
        if multiprocessing.current_process().daemon:
            return
        self._start_writer()
        self._starting = threading.Thread(target=self._start_workers, name="extract-start", daemon=True)
        self._starting.start()

    def _start_workers(self) -> None:
        with self._executor_lock:
            if self._executor is None:
                self._executor = self._new_executor(self.workers)
            for _ in range(self.workers):
                self._executor.submit(int)  # workers start on demand: ask each one for something

    def _start(self) -> None:
        with self._executor_lock:  # start() may be creating it in the background
            if self._executor is None:
                self._executor = self._new_executor(self.workers)
        self._start_writer()

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="extract-writer", daemon=True)
            self._writer.start()

    def _new_executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=_worker_context(), initializer=warm_worker,
            max_tasks_per_child=5000,  # bounds lxml's slow growth
        )

    def close(self) -> None:
        if self._starting is not None:
            self._starting.join()
        try:
            self.drain()
        finally:
            if self._writer is not None:
                self._results.put(None)
                self._writer.join()
                self._writer = None
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None

    # -- work
    def submit(self, job: ExtractJob) -> None:
        if self._error is not None:
            raise self._error
        if job.article_id in self.submitted:
            return
        if multiprocessing.current_process().daemon:
            # A daemonic process (e.g. a Celery prefork child) may not start children: extract here.
            self._start_writer()
            self.submitted.add(job.article_id)
            self._results.put(Extracted(**self.extract_fn(job)))
            return
        self._start()
        self._slots.acquire()
        with self._idle:
            self._pending += 1
        self.submitted.add(job.article_id)
        try:
            fut = self._executor.submit(self.extract_fn, job)
        except BrokenProcessPool:
            # A worker died: this pool is done for. Its pages in flight come back through
            # _done as crashed (retried alone in drain); new pages go to a fresh pool.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor(self.workers)
            fut = self._executor.submit(self.extract_fn, job)
        fut.add_done_callback(lambda f, job=job: self._done(f, job))

    def _done(self, fut: Future, job: ExtractJob) -> None:
        try:
            exc = fut.exception()
            if exc is None:
                self._results.put(Extracted(**fut.result()))
            elif isinstance(exc, BrokenProcessPool):
                self._crashed.append(job)
            else:
                self._results.put(Extracted(job.article_id, "failed", f"extractor error: {exc}"[:500]))
        finally:
            self._finish_one()

    def hungry(self) -> bool:
        """True when fewer pages are queued than the workers could start on right now."""
        return self._pending < self.workers

    def _finish_one(self) -> None:
        self._slots.release()
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _write_loop(self) -> None:
        """Writer thread: results in batches of EXTRACT_BATCH or every EXTRACT_FLUSH_S. An Event
        in the queue asks for a flush (set once written); None stops the thread."""
        batch: list[Extracted] = []
        last = time.monotonic()
        while True:
            try:
                item = self._results.get(timeout=EXTRACT_FLUSH_S)
            except queue.Empty:
                item = False
            if isinstance(item, Extracted):
                batch.append(item)
            urgent = item is None or isinstance(item, threading.Event)
            if batch and (urgent or len(batch) >= EXTRACT_BATCH or time.monotonic() - last > EXTRACT_FLUSH_S):
                try:
                    self._write(batch)
                except BaseException as exc:  # a systemic fault (database down): surfaced by drain()
                    self._error = exc
                batch, last = [], time.monotonic()
            if isinstance(item, threading.Event):
                item.set()
            if item is None:
                return

    def _write(self, batch: list[Extracted]) -> None:
        written, duplicates = _in_transaction(
            self.rt, lambda conn: article_store.write_extractions(conn, batch, self.claimer)
        )
        for r in batch:
            self.counts.add("extracted" if r.status == "ok" else "extract_failed")
            if r.status != "ok" and len(self.counts.notes) < 50:
                self.counts.notes.append(f"article {r.article_id}: {r.error}")
        if written < len(batch):
            # Claims that ran past the lease and were retaken: the other task's result stands.
            self.counts.add("extract_claims_lost", len(batch) - written)
        self.counts.add("duplicates", duplicates)

    def drain(self) -> None:
        """Wait until everything submitted is extracted and written."""
        if self._writer is None:
            return
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0)
        if self._crashed:
            self._retry_crashed()
        done = threading.Event()
        self._results.put(done)
        # The writer flushes when it sees the event (the batch before it is written first).
        while not done.wait(0.2):
            if self._writer is None or not self._writer.is_alive():
                break
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _retry_crashed(self) -> None:
        """Pages that were in a pool when a worker died, one at a time in a one-worker pool:
        the page that kills it again is the culprit and is recorded as failed; the pool is
        replaced and the others go on."""
        crashed, self._crashed = self._crashed, []
        log.warning("an extraction worker crashed; retrying %d page(s) one at a time", len(crashed))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        single: ProcessPoolExecutor | None = None
        try:
            for job in sorted(crashed, key=lambda j: j.article_id):
                single = single or self._new_executor(1)
                self.counts.add("extract_retried_alone")
                try:
                    result = Extracted(**single.submit(self.extract_fn, job).result())
                except BrokenProcessPool:
                    result = Extracted(job.article_id, "failed", "extraction process crashed on this page")
                    single.shutdown(wait=False, cancel_futures=True)
                    single = None
                except Exception as exc:
                    result = Extracted(job.article_id, "failed", f"extractor error: {exc}"[:500])
                self._results.put(result)
        finally:
            if single is not None:
                single.shutdown(wait=True)


def extract_pending(
    rt, limit: int | None = None, *, extractor: ExtractionPool | None = None, reextract: bool = False
) -> StageResult:
    """Extract stored raw pages whose extraction is pending (all raw pages with ``reextract``).

    Safe to run as several tasks at once: pages are claimed CLAIM_CHUNK at a time
    (``claim_pending``), so each is extracted by one task; the claims of a task that died
    are retaken once their lease (``CLAIM_LEASE``) has run out."""
    with record_stage(rt.pool, "ingest_extract") as result:
        if reextract:
            with rt.pool.connection() as conn:
                result.add("reextract_reset", article_store.reset_extraction(conn))
        own = extractor is None
        ex = extractor or ExtractionPool(rt)
        try:
            queued = 0
            with rt.progress.task("extracting", total=None) as bar:
                while limit is None or queued < limit:
                    n = CLAIM_CHUNK if limit is None else min(CLAIM_CHUNK, limit - queued)
                    with rt.pool.connection() as conn:
                        jobs = article_store.extract_jobs(conn, article_store.claim_pending(conn, ex.claimer, n))
                    if not jobs:
                        break
                    for job in jobs:
                        ex.submit(job)
                        queued += 1
                        bar.advance()
                ex.drain()
        finally:
            if own:
                ex.close()
        for key, n in ex.counts.counts.items():
            result.add(key, n)
        result.notes.extend(ex.counts.notes)
    return result


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
                with rt.pool.connection() as conn:
                    total.add("reextract_reset", article_store.reset_extraction(conn))
            parts = [fetch_feeds(rt, due, now=now, extractor=ex), extract_pending(rt, extractor=ex)]
        for part in parts:
            for key, n in part.counts.items():
                total.add(key, n)
            total.notes.extend(part.notes)
    return total
