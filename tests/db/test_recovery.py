"""Ingestion under faults: page backoff instead of failing for good, pending pages retried
whether or not their feed is due, `newsmon feeds retry`, long URLs, and every refusal visible
in analytics.fetch_problems and analytics.feed_health (masked of secrets)."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from pipeline.infra.config import UserError
from pipeline.ingest.recovery import owner_gone, retry_failed, run_retry_command
from pipeline.ingest.stage import fetch_feeds, sync_feeds
from pipeline.store.articles import MAX_ATTEMPTS
from tests.db.test_ingest import one, q, rt  # noqa: F401 - rt is the fixture: a Runtime on the test database
from tests.support.httpserver import Response
from tests.support.ingest_site import rss, write_feed_list

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = Response(200, "<html><head><title>A</title></head><body><p>Export rules for chip tools.</p></body></html>", HTML)


def run(rt, path, at):
    return fetch_feeds(rt, sync_feeds(rt, path, now=at), now=at)


class Flaky:
    """A page that answers 503 until ``healthy`` is set."""

    def __init__(self):
        self.healthy = False

    def __call__(self, _request):
        return PAGE if self.healthy else Response(503, "busy", {"Content-Type": "text/plain"})


@pytest.fixture
def outlet(http_server, tmp_path):
    page = Flaky()
    http_server.route("/feed.xml", Response(200, rss([("a-1", "Chips", "/news/a1")]), {"Content-Type": "application/rss+xml"}))
    http_server.route("/news/a1", page)
    path = write_feed_list(tmp_path / "feeds.yaml", {"outlet": http_server.url("/feed.xml")})
    return http_server, page, path


def entry(rt):
    return q(rt, "SELECT fetch_status, attempts, next_attempt_at, problem_kind, fetch_error, gave_up_at "
                 "FROM feed_entries WHERE entry_key = 'a-1'")[0]


def test_transient_page_failures_back_off_and_never_fail_fast(rt, outlet):
    server, page, path = outlet
    run(rt, path, NOW)
    status, attempts, next_at, kind, error, _ = entry(rt)
    assert (status, attempts, next_at, kind) == ("pending", 1, NOW + timedelta(minutes=10), "http_503")
    assert "503" in error
    run(rt, path, NOW + timedelta(minutes=5))  # still backing off: not asked again
    assert server.hits("/news/a1") == 1
    schedule = [NOW + timedelta(minutes=11), NOW + timedelta(minutes=32), NOW + timedelta(minutes=73)]
    for i, at in enumerate(schedule, start=2):
        run(rt, path, at)
        status, attempts, next_at, _, _, _ = entry(rt)
        # three (and more) quick transient failures: still pending, the wait doubling
        assert (status, attempts, next_at) == ("pending", i, at + timedelta(minutes=10 * 2 ** (i - 1)))
    assert server.hits("/news/a1") == 4
    page.healthy = True
    run(rt, path, schedule[-1] + timedelta(minutes=80))
    assert entry(rt)[0] == "fetched" and entry(rt)[3] is None
    assert one(rt, "SELECT count(*) FROM articles") == 1


def test_backoff_is_capped_at_48_hours_then_the_page_is_given_up(rt, outlet):
    server, page, path = outlet
    run(rt, path, NOW)
    with rt.pool.connection() as conn:
        conn.execute("UPDATE feed_entries SET attempts = 9, next_attempt_at = NULL")
    run(rt, path, NOW + timedelta(hours=1))
    assert entry(rt)[:3] == ("pending", 10, NOW + timedelta(hours=1) + timedelta(hours=48))  # 10 min * 2^9 capped
    run(rt, path, NOW + timedelta(hours=50))
    status, attempts, next_at, kind, error, gave_up = entry(rt)
    assert (status, attempts, next_at, kind, gave_up) == ("failed", MAX_ATTEMPTS, None, "http_503",
                                                          NOW + timedelta(hours=50))
    assert "503" in error  # the reason is kept
    health = q(rt, "SELECT pages_given_up, problems FROM analytics.feed_health WHERE feed = 'outlet'")[0]
    assert health == (1, {"http_503": 1})
    # after the outage: one retry, one run
    page.healthy = True
    report = retry_failed(rt, all_failed=True)
    assert report.pages_requeued == 1 and entry(rt)[:2] == ("pending", 0)
    run(rt, path, NOW + timedelta(hours=50, minutes=1))
    assert entry(rt)[0] == "fetched"


def test_pending_pages_are_fetched_although_their_feed_is_in_backoff(rt, outlet):
    server, page, path = outlet
    run(rt, path, NOW)  # page 503: pending, retry after 10 min
    server.route("/feed.xml", Response(500, "down"))
    run(rt, path, NOW + timedelta(minutes=11))  # the feed fails now (backoff), the page again
    assert one(rt, "SELECT next_check_at > %s FROM feeds", NOW + timedelta(minutes=18))
    with rt.pool.connection() as conn:  # a long backoff, as a Retry-After of a day would set
        conn.execute("UPDATE feeds SET next_check_at = %s", (NOW + timedelta(days=1),))
    feed_hits, page_hits = server.hits("/feed.xml"), server.hits("/news/a1")
    page.healthy = True
    later = NOW + timedelta(minutes=40)  # the page's backoff is over, the feed's not
    assert sync_feeds(rt, path, now=later) == ["outlet"]
    fetch_feeds(rt, ["outlet"], now=later)
    assert server.hits("/feed.xml") == feed_hits  # the feed waits for its backoff
    assert server.hits("/news/a1") == page_hits + 1 and entry(rt)[0] == "fetched"


def test_feeds_retry_clears_feed_backoff_and_names_are_checked(rt, outlet, capsys):
    server, page, path = outlet
    server.route("/feed.xml", Response(503, "down"))
    run(rt, path, NOW)
    assert sync_feeds(rt, path, now=NOW + timedelta(minutes=1)) == []  # in backoff
    with pytest.raises(UserError, match="name the feeds"):
        retry_failed(rt)
    with pytest.raises(UserError, match="unknown feed.*nope"):
        retry_failed(rt, ["outlet", "nope"])
    run_retry_command(rt, SimpleNamespace(names=["outlet"], all_failed=False, release_claims=False))
    out = capsys.readouterr().out
    assert "feeds: 1 taken out of backoff (outlet)" in out
    assert sync_feeds(rt, path, now=NOW + timedelta(minutes=1)) == ["outlet"]
    assert one(rt, "SELECT consecutive_failures FROM feeds") == 1  # history kept until a success


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_feeds_retry_releases_claims_whose_owner_is_gone(rt, outlet):
    server, page, path = outlet
    page.healthy = True
    http_feed = server.url("/feed.xml")
    server.route("/feed.xml", Response(200, rss([(f"a-{i}", "T", f"/news/a{i}") for i in range(1, 4)]),
                                       {"Content-Type": "application/rss+xml"}))
    for i in (2, 3):
        server.route(f"/news/a{i}", PAGE)
    write_feed_list(path, {"outlet": http_feed})
    run(rt, path, NOW)
    host = socket.gethostname()[:100]
    dead, alive = f"{host}:{_dead_pid()}:dead0001", f"{host}:{subprocess.os.getpid()}:live0001"
    remote = "other-worker:4242:far00001"
    with rt.pool.connection() as conn:
        ids = [r[0] for r in conn.execute("SELECT article_id FROM articles ORDER BY 1").fetchall()]
        for article_id, claimer in zip(ids, (dead, alive, remote)):
            conn.execute("UPDATE articles SET extract_claimed_by = %s, extract_claimed_at = now() WHERE article_id = %s",
                         (claimer, article_id))
    report = retry_failed(rt, all_failed=True)
    assert report.claimers_released == [dead] and report.claims_released == 1
    assert report.claims_kept == {alive: 1, remote: 1}
    assert owner_gone(remote) is None and owner_gone(alive) is False
    report = retry_failed(rt, all_failed=True, release_all_claims=True)
    assert report.claims_released == 2
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_claimed_by IS NOT NULL") == 0


def test_long_urls_are_stored_and_too_long_ones_recorded(rt, http_server, tmp_path):
    long_path = "/news/" + "x" * 7000
    too_long = "/news/" + "y" * 8100
    http_server.route(long_path, PAGE)
    http_server.route("/feed.xml", Response(200, rss([("long", "Long", long_path), ("too-long", "Too long", too_long),
                                                      ("js", "Script", "javascript:alert(1)")]),
                                            {"Content-Type": "application/rss+xml"}))
    path = write_feed_list(tmp_path / "feeds.yaml", {"outlet": http_server.url("/feed.xml?token=s3cr3t")})
    run(rt, path, NOW)
    stored = q(rt, "SELECT length(canonical_url) FROM articles")
    assert stored == [(len(http_server.url(long_path)),)]
    with rt.pool.connection() as conn:  # the unique key still holds for an 8 KB URL
        with pytest.raises(Exception, match="duplicate key"):
            conn.execute("INSERT INTO articles (url, canonical_url) SELECT url, canonical_url FROM articles")
    run(rt, path, NOW + timedelta(hours=2))
    assert one(rt, "SELECT count(*) FROM articles") == 1  # a second run adds nothing
    problems = {r[0]: r[1:] for r in q(rt, "SELECT kind, stage, url, reason, attempts FROM analytics.fetch_problems")}
    assert problems["url_too_long"][0] == "page" and "8,1" in problems["url_too_long"][2]
    assert problems["bad_scheme"][1].startswith("javascript:")
    health = q(rt, "SELECT url, entries_refused FROM analytics.feed_health")[0]
    assert health == (http_server.url("/feed.xml?token=***"), 2)


def test_refusals_and_failures_listed_with_their_reason_and_secrets_masked(rt, http_server, tmp_path):
    http_server.route("/robots.txt", Response(200, "User-agent: *\nDisallow: /*?print=\n"))
    items = [("robots", "Print", "/news/p?print=1"), ("pdf", "PDF", "/files/report"), ("gone", "Gone", "/news/gone"),
             ("big", "Big", "/news/big"), ("secret", "Secret", "/news/s?api_key=k3y&id=2")]
    http_server.route("/feed.xml", Response(200, rss(items), {"Content-Type": "application/rss+xml"}))
    http_server.route("/files/report", Response(200, b"%PDF-1.7", {"Content-Type": "application/pdf"}))
    http_server.route("/news/gone", Response(404, "no"))
    http_server.route("/news/big", Response(200, "<html>" + "x" * 5000 + "</html>", HTML))
    http_server.route("/news/s", Response(500, "err"))
    http_server.route("/down.xml", Response(503, "down"))
    path = write_feed_list(tmp_path / "feeds.yaml", {"outlet": http_server.url("/feed.xml"),
                                                      "broken": "http://user:pa55@" + http_server.url("/down.xml")[7:]})
    rt.settings = dataclasses.replace(rt.settings, max_page_bytes=2000)
    run(rt, path, NOW)
    rows = q(rt, "SELECT feed, stage, kind, status, url, reason, attempts, first_seen, last_seen "
                 "FROM analytics.fetch_problems ORDER BY stage, kind")
    kinds = {(r[1], r[2]): r for r in rows}
    assert set(kinds) == {("feed", "http_503"), ("page", "robots"), ("page", "wrong_type"), ("page", "http_404"),
                          ("page", "too_large"), ("page", "http_500")}
    assert kinds[("page", "robots")][3] == "skipped" and "disallows" in kinds[("page", "robots")][5]
    assert kinds[("page", "http_404")][3] == "failed"
    assert kinds[("page", "http_500")][3] == "pending"  # transient: retried after its backoff
    assert kinds[("page", "http_500")][4].endswith("api_key=***&id=2")
    feed_row = kinds[("feed", "http_503")]
    assert feed_row[0] == "broken" and feed_row[4].startswith("http://user:***@") and feed_row[6] == 1
    assert feed_row[7] == NOW and feed_row[8] == NOW
    text = repr(rows) + repr(q(rt, "SELECT * FROM analytics.feed_health"))
    assert "pa55" not in text and "k3y" not in text
    health = q(rt, "SELECT entries_refused, entries_failed, entries_pending, problems FROM analytics.feed_health "
                   "WHERE feed = 'outlet'")[0]
    assert health == (3, 1, 1, {"robots": 1, "wrong_type": 1, "too_large": 1, "http_404": 1, "http_500": 1})


def test_walls_are_counted_per_feed_and_listed(rt, outlet):
    server, page, path = outlet
    page.healthy = True
    run(rt, path, NOW)
    with rt.pool.connection() as conn:  # what the extraction records for a consent wall
        conn.execute("UPDATE articles SET extract_status = 'blocked', block_reason = 'consent', "
                     "extract_error = 'consent wall: 40 of 42 words'")
    assert one(rt, "SELECT pages_blocked FROM analytics.feed_health") == 1
    assert q(rt, "SELECT feed, stage, kind, reason FROM analytics.fetch_problems") == [
        ("outlet", "extract", "consent", "consent wall: 40 of 42 words")]


def test_mask_url_in_sql_matches_python(rt):
    from pipeline.infra.config import mask_url

    for url in ("postgresql://app:s3cret@db:5432/n?sslmode=require&PASSWORD=x&sslpassword=y",
                "https://api.example/v1?Token=abc&q=1&api_key=k#frag", "https://h.example/?keyword=1&key=2",
                "https://plain.example/a?b=c"):
        assert one(rt, "SELECT analytics.mask_url(%s)", url) == mask_url(url)
