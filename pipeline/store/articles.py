"""Feed entries, articles and raw pages.

The fetch side writes in batches: one transaction stores the article rows, their compressed
raw pages and the status of the feed entries that pointed at them, so a run killed half-way
leaves those entries 'pending' and the next run fetches them again (nothing lost, nothing
doubled: ``canonical_url`` is unique). ``source`` is re-decided by the ingest stage from every
feed that links an article (``feed_links``), so it does not depend on which feed came first.

The extraction side claims pending articles (``claim_pending``: several extraction tasks may
run at once) and updates them in batches while the claim is held. Syndicated copies are
decided by ``pipeline.ingest.dedup``; the queries it needs are at the end of this module.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import NamedTuple, Sequence

from psycopg.rows import class_row

from pipeline.records import (
    ArticleSignature, ArticleText, EntryOutcome, Extracted, ExtractJob, FeedEntry, FeedLink, PagesStored, PageToStore,
    PendingGroup, StoredPage,
)
from pipeline.store import copy_temp
from pipeline.store.locks import DUPLICATES, xact_lock

__all__ = [
    "store_entries", "link_known_entries", "pending_entries", "store_pages", "record_entry_outcomes",
    "extract_jobs", "reset_extraction", "write_extractions", "MAX_ATTEMPTS", "lock_articles", "feed_links", "set_sources",
    "claim_pending", "CLAIM_LEASE", "MAX_EXTRACT_ATTEMPTS", "count_attempts", "count_claimable", "claims_held_elsewhere",
    "HeldClaims",
    "canonical_holders", "rekey_articles", "signatures", "signatures_fetched_between", "article_texts", "first_published",
    "point_copies_at", "PAGE_BACKOFF_BASE", "PAGE_BACKOFF_CAP",
]

# Transient page failures before a page is given up ('failed', gave_up_at set): retried after
# PAGE_BACKOFF_BASE, doubling, capped at PAGE_BACKOFF_CAP, so 11 failures span about 5.5 days.
MAX_ATTEMPTS = 11
PAGE_BACKOFF_BASE = timedelta(minutes=10)
PAGE_BACKOFF_CAP = timedelta(hours=48)
# A claim older than this is abandoned (its worker died) and may be taken by another task.
# Claims are taken a few dozen pages at a time, just before the pages are extracted, so a
# live task finishes its claims in seconds; the lease only has to outlast a slow batch.
CLAIM_LEASE = timedelta(minutes=15)
# A page whose extraction was cut short this often (worker crashed, killed or timed out) is
# failed; it is never claimed once more.
MAX_EXTRACT_ATTEMPTS = 2


def store_entries(conn, feed_id: int, entries: Sequence[FeedEntry]) -> int:
    """New feed entries (pending); known ones are left alone. Returns how many were new."""
    if not entries:
        return 0
    copy_temp(
        conn, "tmp_entries",
        [("entry_key", "text"), ("link", "text"), ("canonical_url", "text"), ("title", "text"),
         ("summary", "text"), ("published_at", "timestamptz")],
        ((e.entry_key, e.link, e.canonical_url, e.title, e.summary, e.published_at) for e in entries),
    )
    cur = conn.execute(
        """INSERT INTO feed_entries (feed_id, entry_key, link, canonical_url, title, summary, published_at)
           SELECT %s, entry_key, link, canonical_url, title, summary, published_at FROM tmp_entries
           ON CONFLICT (feed_id, entry_key) DO NOTHING""",
        (feed_id,),
    )
    return cur.rowcount


def link_known_entries(conn, feed_ids: Sequence[int]) -> list[int]:
    """Pending entries whose article is already stored (the same article in another feed, or
    an entry re-keyed by its feed) are linked to it without fetching the page again. Returns
    the article id of each entry linked (their ``source`` is to be re-decided)."""
    rows = conn.execute(
        """UPDATE feed_entries e SET article_id = k.article_id, fetch_status = 'fetched',
                  fetch_error = NULL, problem_kind = NULL, next_attempt_at = NULL, updated_at = now()
           FROM (SELECT DISTINCT ON (p.canonical_url) p.canonical_url, a.article_id
                 FROM feed_entries p
                 JOIN LATERAL (
                     SELECT article_id FROM articles WHERE canonical_url = p.canonical_url
                     UNION ALL
                     SELECT o.article_id FROM feed_entries o
                     WHERE o.canonical_url = p.canonical_url AND o.article_id IS NOT NULL
                 ) a ON true
                 WHERE p.feed_id = ANY(%s) AND p.fetch_status = 'pending'
                 ORDER BY p.canonical_url, a.article_id) k
           WHERE e.canonical_url = k.canonical_url AND e.fetch_status = 'pending' AND e.feed_id = ANY(%s)
           RETURNING e.article_id""",
        (list(feed_ids), list(feed_ids)),
    ).fetchall()
    return [r[0] for r in rows]


def lock_articles(conn, article_ids: Sequence[int]) -> None:
    """Row locks on these articles, taken in id order: every task that locks several articles
    does it in this order, so two of them cannot deadlock."""
    conn.execute(
        "SELECT 1 FROM articles WHERE article_id = ANY(%s) ORDER BY article_id FOR UPDATE",
        (sorted(set(article_ids)),),
    )


def feed_links(conn, article_ids: Sequence[int]) -> list[FeedLink]:
    """Every feed that links one of these articles, with the article's current ``source``."""
    with conn.cursor(row_factory=class_row(FeedLink)) as cur:
        return cur.execute(
            """SELECT a.article_id, a.canonical_url, a.source, f.name AS feed_name, f.url AS feed_url
               FROM articles a JOIN feed_entries e USING (article_id) JOIN feeds f USING (feed_id)
               WHERE a.article_id = ANY(%s)""",
            (list(article_ids),),
        ).fetchall()


def set_sources(conn, sources: dict[int, str]) -> None:
    """``source`` per article id."""
    if sources:
        conn.execute(
            """UPDATE articles a SET source = c.source, updated_at = now()
               FROM unnest(%s::bigint[], %s::text[]) AS c(article_id, source)
               WHERE a.article_id = c.article_id""",
            (list(sources), list(sources.values())),
        )


def pending_entries(conn, feed_ids: Sequence[int], now: datetime | None = None) -> list[PendingGroup]:
    """The pending pages of these feeds whose backoff has run out by ``now`` (all when None)."""
    rows = conn.execute(
        """SELECT e.canonical_url, e.link, f.name, f.language, e.title, e.published_at, e.feed_id, e.entry_key
           FROM feed_entries e JOIN feeds f USING (feed_id)
           WHERE e.feed_id = ANY(%s) AND e.fetch_status = 'pending'
             AND (%s::timestamptz IS NULL OR e.next_attempt_at IS NULL OR e.next_attempt_at <= %s)
           ORDER BY e.canonical_url, e.first_seen_at, f.name, e.entry_key""",
        (list(feed_ids), now, now),
    ).fetchall()
    groups: dict[str, PendingGroup] = {}
    for canon, link, name, language, title, published, feed_id, key in rows:
        group = groups.get(canon)
        if group is None:
            group = groups[canon] = PendingGroup(canon, link, name, language, title, published)
        group.entries.append((feed_id, key))
    return list(groups.values())


def store_pages(conn, pages: Sequence[PageToStore], claim_by: str | None = None) -> PagesStored:
    """Insert articles + raw pages and link their entries, in the caller's transaction.
    Returns each newly stored article (to be extracted) with its page, and the articles whose
    entries were linked (stored with the first entry's feed as ``source``, to be re-decided).

    ``claim_by``: the new articles are stored already claimed for extraction by this claimer
    (``fetch_feeds`` hands them straight to its extraction pool; no other task takes them)."""
    if not pages:
        return PagesStored([], [])
    copy_temp(
        conn, "tmp_pages",
        [("seq", "integer"), ("url", "text"), ("canonical_url", "text"), ("final_url", "text"),
         ("title", "text"), ("source", "text"), ("language", "text"), ("published_at", "timestamptz"),
         ("http_status", "integer"), ("fetched_at", "timestamptz"), ("content_type", "text"),
         ("charset", "text"), ("body_gz", "bytea"), ("size_bytes", "integer"), ("own_url", "text")],
        (
            (i, p.group.link, p.canonical_url, p.final_url, p.group.title, p.group.feed_name,
             p.group.feed_language, p.group.published_at, p.http_status, p.fetched_at, p.content_type,
             p.charset, p.body_gz, p.size_bytes, p.own_url or p.canonical_url)
            for i, p in enumerate(pages)
        ),
    )
    for seq, own_url in _distrust_taken_canonicals(conn):
        pages[seq].canonical_url = own_url  # the caller hands the new articles on by this key
    # canonical_url order: concurrent fetch tasks take the unique-index locks in the same order.
    inserted = conn.execute(
        """INSERT INTO articles (url, canonical_url, final_url, title, source, language, published_at,
                                 http_status, fetched_at, extract_status, extract_claimed_by, extract_claimed_at,
                                 extract_attempts)
           SELECT DISTINCT ON (canonical_url) url, canonical_url, final_url, title, source, language,
                  published_at, http_status, fetched_at, 'pending', %(claim)s::text,
                  CASE WHEN %(claim)s::text IS NOT NULL THEN clock_timestamp() END,
                  CASE WHEN %(claim)s::text IS NOT NULL THEN 1 ELSE 0 END
           FROM tmp_pages ORDER BY canonical_url, seq
           ON CONFLICT ((url_key(canonical_url))) DO NOTHING
           RETURNING article_id, canonical_url""",
        {"claim": claim_by},
    ).fetchall()
    new_ids = {canon: article_id for article_id, canon in inserted}
    if new_ids:
        conn.execute(
            """INSERT INTO raw_pages (article_id, url, content_type, charset, body_gz, size_bytes, fetched_at)
               SELECT DISTINCT ON (a.article_id) a.article_id, t.final_url, t.content_type, t.charset,
                      t.body_gz, t.size_bytes, t.fetched_at
               FROM tmp_pages t JOIN articles a USING (canonical_url)
               WHERE a.article_id = ANY(%s) ORDER BY a.article_id, t.seq
               ON CONFLICT (article_id) DO NOTHING""",
            (list(new_ids.values()),),
        )
    copy_temp(
        conn, "tmp_page_entries", [("seq", "integer"), ("feed_id", "bigint"), ("entry_key", "text")],
        ((i, feed_id, key) for i, p in enumerate(pages) for feed_id, key in p.group.entries),
    )
    linked = conn.execute(
        """UPDATE feed_entries e SET article_id = a.article_id, fetch_status = 'fetched', fetch_error = NULL,
                  problem_kind = NULL, next_attempt_at = NULL, attempts = e.attempts + 1, updated_at = now()
           FROM tmp_page_entries te JOIN tmp_pages tp USING (seq) JOIN articles a USING (canonical_url)
           WHERE e.feed_id = te.feed_id AND e.entry_key = te.entry_key
           RETURNING a.article_id"""
    ).fetchall()
    stored, seen = [], set()
    for page in pages:
        article_id = new_ids.get(page.canonical_url)
        if article_id is not None and article_id not in seen:
            seen.add(article_id)
            stored.append(StoredPage(article_id, page))
    return PagesStored(stored, [r[0] for r in linked])


def _distrust_taken_canonicals(conn) -> list[tuple[int, str]]:
    """A page whose rel=canonical names an article served from another URL (one stored before,
    the page of that URL in this batch, or an earlier page of this batch) is keyed by its own URL
    instead: sites that point every canonical at one page would otherwise collapse all their
    articles onto the first. Where the two texts are the same, ``pipeline.ingest.dedup`` marks
    one a copy of the other. Returns (seq, own URL) of each page re-keyed."""
    return conn.execute(
        """UPDATE tmp_pages t SET canonical_url = t.own_url
           WHERE t.own_url <> t.canonical_url
             AND (EXISTS (SELECT 1 FROM articles a WHERE a.canonical_url = t.canonical_url
                          AND a.final_url IS DISTINCT FROM t.final_url AND a.canonical_url <> t.own_url)
                  OR EXISTS (SELECT 1 FROM tmp_pages o WHERE o.canonical_url = t.canonical_url
                             AND o.final_url <> t.final_url AND (o.own_url = o.canonical_url OR o.seq < t.seq)))
           RETURNING t.seq, t.own_url"""
    ).fetchall()


def canonical_holders(conn, canonical_urls: Sequence[str]) -> list[tuple[int, str, str | None]]:
    """(article_id, canonical_url, final_url) of the articles stored under these URLs."""
    return conn.execute(
        "SELECT article_id, canonical_url, final_url FROM articles WHERE canonical_url = ANY(%s)",
        (list(canonical_urls),),
    ).fetchall()


def rekey_articles(conn, keys: dict[int, str]) -> int:
    """Store these articles under new canonical URLs (their own, where a rel=canonical took
    another page's URL); one whose new key is taken keeps its key. Returns how many moved."""
    if not keys:
        return 0
    # First in its transaction, and in turn with the extraction writers (which take this lock
    # before their row locks): the rows moved here cannot deadlock with a batch being written.
    xact_lock(conn, DUPLICATES)
    return conn.execute(
        """UPDATE articles a SET canonical_url = k.url, updated_at = now()
           FROM unnest(%s::bigint[], %s::text[]) AS k(article_id, url)
           WHERE a.article_id = k.article_id
             AND NOT EXISTS (SELECT 1 FROM articles o WHERE o.canonical_url = k.url)""",
        (list(keys), list(keys.values())),
    ).rowcount


def record_entry_outcomes(conn, outcomes: Sequence[EntryOutcome], now: datetime | None = None) -> None:
    """Pages that stored nothing. A transient failure ('retry') stays pending until its backoff
    (PAGE_BACKOFF_BASE doubling per failure, capped at PAGE_BACKOFF_CAP) runs out after ``now``;
    the MAX_ATTEMPTS-th is given up ('failed', ``gave_up_at``). A deferred page (its host asked
    to wait) stays pending without counting an attempt. The reason and its kind are kept."""
    if not outcomes:
        return
    copy_temp(
        conn, "tmp_outcomes",
        [("feed_id", "bigint"), ("entry_key", "text"), ("status", "text"), ("error", "text"), ("kind", "text")],
        ((fid, key, o.status, o.error[:1000], o.kind) for o in outcomes for fid, key in o.group.entries),
    )
    conn.execute(
        """UPDATE feed_entries e SET
                  fetch_status = CASE
                      WHEN t.status = 'deferred' THEN 'pending'
                      WHEN t.status = 'retry' AND e.attempts + 1 < %(max)s THEN 'pending'
                      WHEN t.status = 'retry' THEN 'failed'
                      ELSE t.status END,
                  attempts = e.attempts + CASE WHEN t.status = 'deferred' THEN 0 ELSE 1 END,
                  next_attempt_at = CASE WHEN t.status = 'retry' AND e.attempts + 1 < %(max)s
                      THEN %(now)s + LEAST(%(base)s * power(2, e.attempts), %(cap)s) END,
                  gave_up_at = CASE WHEN t.status = 'retry' AND e.attempts + 1 >= %(max)s THEN %(now)s END,
                  last_attempt_at = %(now)s,
                  fetch_error = t.error, problem_kind = t.kind, updated_at = now()
           FROM tmp_outcomes t
           WHERE e.feed_id = t.feed_id AND e.entry_key = t.entry_key AND e.fetch_status = 'pending'""",
        {"max": MAX_ATTEMPTS, "now": now or datetime.now(timezone.utc), "base": PAGE_BACKOFF_BASE,
         "cap": PAGE_BACKOFF_CAP},
    )


# --------------------------------------------------------------------------- extraction


def reset_extraction(conn) -> int:
    """--reextract: every article with a stored raw page goes back to 'pending', unclaimed."""
    return conn.execute(
        """UPDATE articles SET extract_status = 'pending', extract_claimed_by = NULL,
                  extract_claimed_at = NULL, extract_attempts = 0, block_reason = NULL, updated_at = now()
           WHERE article_id IN (SELECT article_id FROM raw_pages) AND extract_status <> 'pending'"""
    ).rowcount


# A pending page (`articles p`) that claim_pending may take: attempts left, no live claim, and
# its raw page stored. Shared by the claim and the progress bar's count.
_CLAIMABLE = """p.extract_status = 'pending' AND p.extract_attempts < %(max)s
                 AND (p.extract_claimed_at IS NULL OR p.extract_claimed_at < clock_timestamp() - %(lease)s)
                 AND EXISTS (SELECT 1 FROM raw_pages r WHERE r.article_id = p.article_id)"""


def claim_pending(conn, claimer: str, limit: int, lease: timedelta = CLAIM_LEASE) -> list[int]:
    """Claim up to ``limit`` pending articles (with a raw page) for ``claimer``: unclaimed ones
    and ones whose claim is older than ``lease`` (a crashed worker's). Returns their ids.

    SKIP LOCKED: concurrent claimers pass over each other's rows instead of waiting, and a
    row claimed and committed meanwhile is re-checked and skipped. The lease runs on the
    database's clock, the one clock every worker shares.

    Each claim counts an attempt; a page whose claim ran out after MAX_EXTRACT_ATTEMPTS (its
    worker was killed each time) is failed instead of being claimed again."""
    params = {"me": claimer, "lease": lease, "limit": limit, "max": MAX_EXTRACT_ATTEMPTS}
    conn.execute(
        """UPDATE articles SET extract_status = 'failed', extract_claimed_by = NULL, extract_claimed_at = NULL,
                  extract_error = 'extraction did not finish in ' || extract_attempts
                                  || ' attempts (its worker was killed or the task died)', updated_at = now()
           WHERE article_id IN (
               SELECT p.article_id FROM articles p
               WHERE p.extract_status = 'pending' AND p.extract_attempts >= %(max)s
                 AND (p.extract_claimed_at IS NULL OR p.extract_claimed_at < clock_timestamp() - %(lease)s)
               FOR UPDATE OF p SKIP LOCKED)""",
        params,
    )
    rows = conn.execute(
        f"""UPDATE articles a SET extract_claimed_by = %(me)s, extract_claimed_at = clock_timestamp(),
                  extract_attempts = a.extract_attempts + 1
           WHERE a.article_id IN (
               SELECT p.article_id FROM articles p
               WHERE {_CLAIMABLE}
               ORDER BY p.article_id LIMIT %(limit)s
               FOR UPDATE OF p SKIP LOCKED)
           RETURNING a.article_id""",
        params,
    ).fetchall()
    return sorted(r[0] for r in rows)


def count_claimable(conn, lease: timedelta = CLAIM_LEASE) -> int:
    """How many pending pages ``claim_pending`` could claim now (the progress bar's total)."""
    return conn.execute(f"SELECT count(*) FROM articles p WHERE {_CLAIMABLE}",
                        {"max": MAX_EXTRACT_ATTEMPTS, "lease": lease}).fetchone()[0]


class HeldClaims(NamedTuple):
    """Pending pages that another claimer holds under a live lease (``claims_held_elsewhere``)."""
    pages: int
    seconds_left: float  # until the first of those claims runs out (0 when there are none)


def claims_held_elsewhere(conn, claimer: str, lease: timedelta = CLAIM_LEASE) -> HeldClaims:
    """Pending pages claimed by someone other than ``claimer`` whose lease still runs: an
    extraction task waits for them (finished or retaken) before it reports the backlog done."""
    pages, left = conn.execute(
        """SELECT count(*), COALESCE(EXTRACT(EPOCH FROM min(extract_claimed_at) + %(lease)s - clock_timestamp()), 0)
           FROM articles
           WHERE extract_status = 'pending' AND extract_claimed_by IS NOT NULL AND extract_claimed_by <> %(me)s
             AND extract_claimed_at >= clock_timestamp() - %(lease)s""",
        {"me": claimer, "lease": lease},
    ).fetchone()
    return HeldClaims(pages, max(0.0, float(left)))


def count_attempts(conn, article_ids: Sequence[int], claimer: str) -> dict[int, int]:
    """One more extraction attempt on these articles (a page retried alone after its worker
    died), where ``claimer`` holds the claim; the lease restarts. Returns each one's attempts."""
    rows = conn.execute(
        """UPDATE articles SET extract_attempts = extract_attempts + 1, extract_claimed_at = clock_timestamp()
           WHERE article_id = ANY(%s) AND extract_claimed_by = %s AND extract_status = 'pending'
           RETURNING article_id, extract_attempts""",
        (list(article_ids), claimer),
    ).fetchall()
    return dict(rows)


def extract_jobs(conn, article_ids: Sequence[int]) -> list[ExtractJob]:
    """Raw page and feed context of these articles, for ``extract_page``."""
    if not article_ids:
        return []
    with conn.cursor(row_factory=class_row(ExtractJob)) as cur:
        return cur.execute(
            """SELECT a.article_id, COALESCE(r.url, a.final_url, a.url) AS url, r.body_gz, r.charset,
                      f.language AS feed_language, e.title AS feed_title, e.published_at AS feed_published_at,
                      COALESCE(a.fetched_at, r.fetched_at) AS fetched_at, a.extract_attempts AS attempts
               FROM articles a
               JOIN raw_pages r USING (article_id)
               LEFT JOIN LATERAL (
                   SELECT fe.feed_id, fe.title, fe.published_at FROM feed_entries fe
                   WHERE fe.article_id = a.article_id ORDER BY fe.first_seen_at, fe.feed_id LIMIT 1) e ON true
               LEFT JOIN feeds f ON f.feed_id = e.feed_id
               WHERE a.article_id = ANY(%s)
               ORDER BY a.article_id""",
            (list(article_ids),),
        ).fetchall()


def write_extractions(conn, results: Sequence[Extracted], claimer: str | None = None) -> list[int]:
    """One batch of extraction results. Returns the ids of the articles written.

    With ``claimer``, a result is written only while that claimer still holds the article's
    claim (a claim lost to the lease was retaken by another task, whose result counts), and
    the claim is released."""
    if not results:
        return []
    # Writers take turns (the duplicate lock: the batch's copies are marked next, in the same
    # transaction, see pipeline.ingest.dedup), and lock their rows in id order: a fetch task
    # re-deciding ``source`` locks in the same order, so the two cannot deadlock.
    xact_lock(conn, DUPLICATES)
    lock_articles(conn, [r.article_id for r in results])
    copy_temp(
        conn, "tmp_extracted",
        [("article_id", "bigint"), ("status", "text"), ("error", "text"), ("title", "text"), ("author", "text"),
         ("site_name", "text"), ("language", "text"), ("published_at", "timestamptz"), ("body_text", "text"),
         ("word_count", "integer"), ("fingerprint", "text"), ("simhash", "bigint"), ("block_reason", "text")],
        (
            (r.article_id, r.status, r.error, r.title, r.author, r.site_name, r.language, r.published_at,
             r.body_text, r.word_count, r.fingerprint, r.simhash, r.block_reason)
            for r in results
        ),
    )
    rows = conn.execute(
        """UPDATE articles a SET
                  extract_status = t.status, extract_error = t.error,
                  title = COALESCE(t.title, a.title), author = t.author, site_name = t.site_name,
                  language = COALESCE(t.language, a.language),
                  published_at = COALESCE(t.published_at, a.published_at),
                  body_text = t.body_text, word_count = t.word_count,
                  fingerprint = t.fingerprint, simhash = t.simhash, block_reason = t.block_reason,
                  duplicate_of = NULL, extract_claimed_by = NULL, extract_claimed_at = NULL, updated_at = now()
           FROM tmp_extracted t
           WHERE a.article_id = t.article_id AND (%(me)s::text IS NULL OR a.extract_claimed_by = %(me)s)
           RETURNING a.article_id""",
        {"me": claimer},
    ).fetchall()
    return sorted(r[0] for r in rows)


# --------------------------------------------------------------------------- syndicated copies


def signatures(conn, article_ids: Sequence[int]) -> list[ArticleSignature]:
    """The signatures of these articles, where extracted."""
    with conn.cursor(row_factory=class_row(ArticleSignature)) as cur:
        return cur.execute(
            """SELECT article_id, simhash, word_count, fingerprint, fetched_at FROM articles
               WHERE article_id = ANY(%s) AND extract_status = 'ok' AND simhash IS NOT NULL""",
            (list(article_ids),),
        ).fetchall()


def signatures_fetched_between(conn, lo: datetime, hi: datetime) -> list[ArticleSignature]:
    """The signatures of every extracted article fetched in [lo, hi]."""
    with conn.cursor(row_factory=class_row(ArticleSignature)) as cur:
        return cur.execute(
            """SELECT article_id, simhash, word_count, fingerprint, fetched_at FROM articles
               WHERE extract_status = 'ok' AND simhash IS NOT NULL AND fetched_at BETWEEN %s AND %s""",
            (lo, hi),
        ).fetchall()


def article_texts(conn, article_ids: Sequence[int]) -> list[ArticleText]:
    with conn.cursor(row_factory=class_row(ArticleText)) as cur:
        return cur.execute(
            "SELECT article_id, body_text, fingerprint, duplicate_of FROM articles WHERE article_id = ANY(%s)",
            (list(article_ids),),
        ).fetchall()


def first_published(conn, article_ids: Sequence[int]) -> int:
    """The earliest published of these articles (ties: the smallest canonical URL)."""
    return conn.execute(
        """SELECT article_id FROM articles WHERE article_id = ANY(%s)
           ORDER BY published_at NULLS LAST, canonical_url LIMIT 1""",
        (list(article_ids),),
    ).fetchone()[0]


def point_copies_at(conn, root: int, article_ids: Sequence[int]) -> int:
    """Make ``root`` an original and point these articles, and the copies that pointed at
    them, at it. Returns how many articles were newly marked."""
    conn.execute("UPDATE articles SET duplicate_of = NULL WHERE article_id = %s AND duplicate_of IS NOT NULL", (root,))
    return conn.execute(
        """UPDATE articles SET duplicate_of = %(root)s
           WHERE (article_id = ANY(%(ids)s) OR duplicate_of = ANY(%(ids)s)) AND article_id <> %(root)s
             AND duplicate_of IS DISTINCT FROM %(root)s""",
        {"root": root, "ids": list(article_ids)},
    ).rowcount
