"""Ingest quality (issue 15): walls are recorded as blocked and never become articles, poison
pages are tried twice and never claimed a third time, rel=canonical is trusted only where it
names an article, and the extraction bar counts real pages."""

from __future__ import annotations

import dataclasses
import functools
import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.infra.progress import NullReporter
from pipeline.infra.runtime import Runtime
from pipeline.ingest.pool import ExtractionPool
from pipeline.ingest.stage import extract_pending, fetch_feeds, run_ingest, sync_feeds
from pipeline.store import articles as article_store
from tests.support.crashing_extractor import MARKER, hang_on_marker
from tests.support.httpserver import Response
from tests.support.ingest_site import HTML, RES, RSS_TYPE, rss, write_feed_list

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
PAGES = RES / "pages"


class RecordingProgress:
    """A progress reporter that keeps each bar's total and what it was advanced by."""

    def __init__(self):
        self.bars: dict[str, dict] = {}

    @contextmanager
    def task(self, description: str, total: int | None = None):
        bar = self.bars[description] = {"total": total, "done": 0}

        class Tracker:
            def advance(self, n: int = 1) -> None:
                bar["done"] += n

            def set_total(self, value: int) -> None:
                bar["total"] = value

        yield Tracker()


def open_rt(settings, db_url, progress=None, **changes):
    return Runtime.open(dataclasses.replace(settings, http_timeout_s=3, extract_workers=2, **changes), url=db_url,
                        auto_upgrade=False, progress=progress or NullReporter())


@pytest.fixture
def rt(settings, db_url):
    runtime = open_rt(settings, db_url)
    yield runtime
    runtime.close()


def q(rt, query, *params):
    with rt.pool.connection() as conn:
        return conn.execute(query, params).fetchall()


def serve(server, tmp_path, pages: dict[str, bytes]):
    """Each page at /a/<key>, one RSS feed linking them all; returns the feed list file."""
    for key, body in pages.items():
        server.route(f"/a/{key}", Response(200, body, HTML))
    server.route("/feed.rss", Response(200, rss([(k, f"Item {k}", f"{server.base}/a/{k}") for k in pages]), RSS_TYPE))
    return write_feed_list(tmp_path / "feeds.yaml", {"site": server.url("/feed.rss")})


def test_walls_are_blocked_never_articles(rt, http_server, tmp_path):
    files = {"consent": "de_consent_sourcepoint.html", "paywall": "en_paywall_metered.html",
             "js": "en_js_checking_browser.html", "trap": "en_article_cookie_fine.html"}
    feeds = serve(http_server, tmp_path, {k: (PAGES / f).read_bytes() for k, f in files.items()})
    result = run_ingest(rt, feeds, now=NOW)
    rows = {r[0].rsplit("/", 1)[1]: r[1:] for r in q(
        rt, "SELECT canonical_url, extract_status, block_reason, body_text, fingerprint FROM articles")}
    assert rows["consent"][:2] == ("blocked", "consent")
    assert rows["paywall"][:2] == ("blocked", "paywall")
    assert rows["js"][:2] == ("blocked", "javascript")
    assert all(rows[k][2] is None and rows[k][3] is None for k in ("consent", "paywall", "js"))
    assert rows["trap"][:2] == ("ok", None) and "cookie" in rows["trap"][2]  # an article ABOUT a cookie wall
    listed = [r[0].rsplit("/", 1)[1] for r in q(rt, "SELECT canonical_url FROM analytics.articles")]
    assert listed == ["trap"]
    assert result.counts["blocked_consent"] == result.counts["blocked_paywall"] == 1
    assert result.counts["extracted"] == 1
    again = run_ingest(rt, feeds, now=NOW + timedelta(hours=1))  # walls stay recorded, nothing new
    assert again.counts.get("articles_new", 0) == 0
    assert q(rt, "SELECT count(*) FROM articles WHERE extract_status = 'blocked'") == [(3,)]


def test_hanging_page_times_out_twice_then_never_claimed(settings, db_url, http_server, tmp_path):
    """A page that hangs its worker is ended by the per-page timeout, retried alone once, then
    failed with that reason; the other pages are stored; a later run does not touch it."""
    rt = open_rt(settings, db_url, extract_timeout_s=1.0)
    try:
        hang = (RES / "en_open_source.html").read_bytes().replace(b"</body>", b"<!-- " + MARKER + b" --></body>")
        feeds = serve(http_server, tmp_path, {"chips": (RES / "en_chips.html").read_bytes(), "hang": hang})
        fetch_feeds(rt, sync_feeds(rt, feeds, now=NOW), now=NOW)
        ids = dict(q(rt, "SELECT entry_key, article_id FROM feed_entries"))
        log = tmp_path / "calls.log"
        extract_fn = functools.partial(hang_on_marker, str(log))
        with ExtractionPool(rt, workers=2, extract_fn=extract_fn) as ex:
            extract_pending(rt, extractor=ex)
        rows = {r[0]: r[1:] for r in q(rt, "SELECT article_id, extract_status, extract_error, extract_attempts FROM articles")}
        status, error, attempts = rows[ids["hang"]]
        assert (status, attempts) == ("failed", 2) and "timed out" in error
        assert rows[ids["chips"]][0] == "ok"
        assert log.read_text().split().count(str(ids["hang"])) == 2  # once in the pool, once alone
        # Made pending again by hand: still never claimed a third time.
        with rt.pool.connection() as conn:
            conn.execute("UPDATE articles SET extract_status = 'pending' WHERE article_id = %s", (ids["hang"],))
        with ExtractionPool(rt, workers=1, extract_fn=extract_fn) as ex:
            extract_pending(rt, extractor=ex)
        assert log.read_text().split().count(str(ids["hang"])) == 2
    finally:
        rt.close()


def test_claims_count_attempts_and_a_page_is_never_claimed_a_third_time(rt, http_server, tmp_path):
    """Two tasks that died holding the claim (their lease runs out): the page is failed, not
    claimed a third time."""
    feeds = serve(http_server, tmp_path, {"chips": (RES / "en_chips.html").read_bytes()})
    fetch_feeds(rt, sync_feeds(rt, feeds, now=NOW), now=NOW)
    expired = timedelta(0)  # every earlier claim counts as abandoned
    with rt.pool.connection() as conn:
        (article_id,) = article_store.claim_pending(conn, "task-1", 10, lease=expired)
        assert article_store.claim_pending(conn, "task-2", 10, lease=expired) == [article_id]
        assert conn.execute("SELECT extract_attempts, extract_claimed_by FROM articles").fetchall() == [(2, "task-2")]
        assert article_store.count_claimable(conn, lease=expired) == 0
        assert article_store.claim_pending(conn, "task-3", 10, lease=expired) == []
    status, error, claimed = q(rt, "SELECT extract_status, extract_error, extract_claimed_by FROM articles")[0]
    assert status == "failed" and "2 attempts" in error and claimed is None


def _with_canonical(name: str, href: str) -> bytes:
    html = re.sub(rb"<link[^>]*canonical[^>]*>", b"", (RES / name).read_bytes())  # the page's own, if any
    return html.replace(b"</head>", f'<link rel="canonical" href="{href}"></head>'.encode(), 1)


def test_canonical_to_root_or_taken_does_not_collapse_articles(rt, http_server, tmp_path):
    b = http_server.base
    pages = {
        # a site whose pages all name the home page, or a section front, as canonical
        "chips-story": _with_canonical("en_chips.html", f"{b}/"),
        "open-story": _with_canonical("en_open_source.html", f"{b}/news/"),
        # a page that names another article's URL as its canonical: a different text
        "latin-story": _with_canonical("de_latin1.html", f"{b}/a/chips-story"),
        # the syndicated copy of chips-story names it as canonical: the same article
        "copy-story": _with_canonical("syndicated_copy.html", f"{b}/a/chips-story"),
    }
    feeds = serve(http_server, tmp_path, pages)
    run_ingest(rt, feeds, now=NOW)
    rows = {r[0].rsplit("/", 1)[1]: r[1:] for r in q(
        rt, "SELECT canonical_url, extract_status, duplicate_of, article_id FROM articles")}
    assert set(rows) == set(pages)  # four pages, four articles: nothing collapsed onto the first
    assert all(r[0] == "ok" for r in rows.values()), rows
    assert rows["latin-story"][1] is None
    copy, original = rows["copy-story"], rows["chips-story"]  # the same text: one is marked a copy of the other
    assert (copy[1], original[1]) in ((original[2], None), (None, copy[2]))
    entries = q(rt, "SELECT count(DISTINCT article_id) FROM feed_entries")
    assert entries == [(4,)]
    run_ingest(rt, feeds, now=NOW + timedelta(hours=1))
    assert q(rt, "SELECT count(*) FROM articles") == [(4,)]  # idempotent


def test_extraction_bar_counts_real_pages(settings, db_url, http_server, tmp_path):
    progress = RecordingProgress()
    rt = open_rt(settings, db_url, progress=progress)
    try:
        names = ("en_chips.html", "en_open_source.html", "de_latin1.html")
        feeds = serve(http_server, tmp_path, {f"p{i}": (RES / n).read_bytes() for i, n in enumerate(names)})
        fetch_feeds(rt, sync_feeds(rt, feeds, now=NOW), now=NOW)
        extract_pending(rt)
        assert progress.bars["extracting"] == {"total": 3, "done": 3}
    finally:
        rt.close()
