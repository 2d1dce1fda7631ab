"""Ingest end to end against a local site: every kind of bad input is recorded on its row,
the good feeds of the same run are fully ingested, re-runs add nothing, 304s cost nothing."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.ingest.stage import extract_pending, fetch_feeds, run_ingest, sync_feeds
from pipeline.infra.progress import NullReporter
from pipeline.infra.runtime import Runtime
from tests.support.ingest_site import build_site, write_feed_list

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def rt(settings, db_url):
    fast = dataclasses.replace(settings, http_timeout_s=1.5, extract_workers=2)
    runtime = Runtime.open(fast, url=db_url, auto_upgrade=False, progress=NullReporter())
    yield runtime
    runtime.close()


@pytest.fixture
def site(http_server, tmp_path):
    feeds = build_site(http_server)
    path = write_feed_list(tmp_path / "feeds.yaml", feeds, {"bozo": "de"})
    return http_server, feeds, path


def q(rt, query, *params):
    with rt.pool.connection() as conn:
        return conn.execute(query, params).fetchall()


def one(rt, query, *params):
    return q(rt, query, *params)[0][0]


def test_bad_input_recorded_good_feeds_fully_ingested(rt, site):
    server, feeds, path = site
    result = run_ingest(rt, path, now=NOW)
    health = {r[0]: r[1:] for r in q(rt, "SELECT feed, last_status, consecutive_failures, last_error, enabled, parse_warning FROM analytics.feed_health")}
    # good feeds: fetched, healthy
    for name in ("good-rss", "good-atom", "bozo"):
        assert health[name][0] == 200 and health[name][1] == 0, (name, health[name])
    assert health["bozo"][4], "recoverable malformed feed keeps a warning"
    assert one(rt, "SELECT count(*) FROM feed_entries e JOIN feeds f USING (feed_id) WHERE f.name = 'bozo'") == 1
    # bad feeds: each recorded with a clear reason, none crashed the run
    expect = {
        "html-page": "HTML page",
        "broken-xml": "not a feed",
        "server-error": "HTTP 500",
        "gone": "HTTP 410",
        "hangs": "timeout",
        "redirect-loop": "redirects",
        "not-found": "HTTP 404",
        "pdf-feed": "application/pdf",
    }
    for name, fragment in expect.items():
        status, failures, error, enabled, _ = health[name]
        assert failures == 1 and fragment in (error or ""), (name, health[name])
    assert health["gone"][3] is False and health["server-error"][3] is True
    assert one(rt, "SELECT disabled_reason FROM feeds WHERE name = 'gone'") == "gone: HTTP 410"
    # backoff: failed feeds are not due again right away, good ones are
    assert set(sync_feeds(rt, path, now=NOW + timedelta(minutes=1))) == {"good-rss", "good-atom", "bozo"}
    assert "gone" not in sync_feeds(rt, path, now=NOW + timedelta(days=2))

    # articles: the four real pages (one is a syndicated copy), each once
    arts = {r[0]: r[1:] for r in q(rt, "SELECT canonical_url, source, language, extract_status, duplicate_of, title, published_at, body_text FROM articles")}
    b = server.base
    assert set(arts) == {
        f"{b}/articles/export-rules-chip-tools", f"{b}/de/halbleiter-selbstversorgung",
        f"{b}/science/open-model-downloads", f"{b}/partner/export-rules.html",
    }
    chips = arts[f"{b}/articles/export-rules-chip-tools"]
    german = arts[f"{b}/de/halbleiter-selbstversorgung"]
    copy = arts[f"{b}/partner/export-rules.html"]
    assert all(a[2] == "ok" for a in arts.values())
    assert chips[0] == "good-atom"  # both feeds on the article's host: the smallest name
    assert german[1] == "de" and chips[1] == "en"
    assert "Selbstversorgungsgrad von 70 Prozent" in german[6] and "Düsseldorf" in german[6]  # ISO-8859-1 decoded
    assert "Ã" not in german[6]
    assert copy[3] == one(rt, "SELECT article_id FROM articles WHERE canonical_url = %s", f"{b}/articles/export-rules-chip-tools")
    assert chips[3] is None
    assert german[5] == datetime(2026, 11, 24, 9, 15, tzinfo=timezone.utc)
    # the same article in two feeds: one article, two entry links
    links = q(rt, "SELECT f.name FROM feed_entries e JOIN feeds f USING (feed_id) JOIN articles a USING (article_id) "
                  "WHERE a.canonical_url = %s ORDER BY 1", f"{b}/articles/export-rules-chip-tools")
    assert [r[0] for r in links] == ["good-atom", "good-rss"]
    # the redirected entry (huge NUL title) landed on the German article; its title was cleaned
    title = one(rt, "SELECT title FROM feed_entries WHERE entry_key = 'g-10'")
    assert "\x00" not in title and len(title) <= 500
    # bad pages: recorded on their entries
    entries = {r[0]: r[1:] for r in q(rt, "SELECT entry_key, fetch_status, fetch_error FROM feed_entries")}
    assert entries["g-3"][0] == "skipped" and "pdf" in entries["g-3"][1]
    assert entries["g-4"][0] == "skipped" and "image/png" in entries["g-4"][1]
    assert entries["g-5"][0] == "skipped" and "cap" in entries["g-5"][1]  # oversized: refused, recorded
    assert entries["g-6"][0] == "skipped" and "robots.txt" in entries["g-6"][1]
    assert entries["g-7"][0] == "failed" and "404" in entries["g-7"][1]
    assert entries["g-8"][0] == "pending" and "timeout" in entries["g-8"][1]  # transient: retried next run
    # a javascript: link is never fetched, and recorded with its reason (nothing dropped silently)
    assert entries["g-9"][0] == "skipped" and "javascript" in entries["g-9"][1]
    assert entries["g-10"][0] == "fetched"
    assert server.hits("/private/leak.html") == 0
    assert result.counts["articles_new"] == 4 and result.counts["extracted"] == 4
    assert result.counts["duplicates"] == 1

    # idempotent re-run: every good feed answers 304, nothing new, nothing duplicated
    before = q(rt, "SELECT article_id, canonical_url, body_text FROM articles ORDER BY 1")
    hits = server.hits("/articles/export-rules-chip-tools")
    again = run_ingest(rt, path, now=NOW + timedelta(hours=1))
    assert q(rt, "SELECT article_id, canonical_url, body_text FROM articles ORDER BY 1") == before
    assert again.counts.get("feeds_not_modified") == 2 and again.counts.get("articles_new", 0) == 0
    assert server.hits("/articles/export-rules-chip-tools") == hits
    assert one(rt, "SELECT last_status FROM feeds WHERE name = 'good-rss'") == 304
    stages = q(rt, "SELECT stage, status FROM stage_runs ORDER BY run_id")
    assert ("ingest", "ok") in stages and ("ingest_extract", "ok") in stages


def test_crash_after_fetch_resumes_without_loss_or_duplicates(rt, site, tmp_path, monkeypatch):
    import pipeline.ingest.stage

    monkeypatch.setattr(pipeline.ingest.stage, "PAGE_BATCH", 1)  # commit page by page
    server, feeds, _ = site
    path = write_feed_list(tmp_path / "good.yaml", {k: feeds[k] for k in ("good-rss", "good-atom")})
    due = sync_feeds(rt, path, now=NOW)

    class Killed(Exception):
        pass

    def die(stored_now):
        if stored_now:
            raise Killed

    # killed right after the first batch of pages was committed, before any extraction
    with pytest.raises(Killed):
        fetch_feeds(rt, due, now=NOW, on_stored=die)
    assert one(rt, "SELECT status FROM stage_runs WHERE stage = 'ingest_fetch'") == "failed"
    stored = one(rt, "SELECT count(*) FROM articles")
    assert stored == 1 and one(rt, "SELECT count(*) FROM articles WHERE extract_status = 'pending'") == stored
    # the feeds' validators were saved with their entries: the next run gets 304 but still
    # fetches the entries left pending, then extracts everything
    result = run_ingest(rt, path, now=NOW + timedelta(minutes=5))
    assert result.counts.get("feeds_not_modified") == 2
    rows = q(rt, "SELECT canonical_url, extract_status FROM articles")
    assert len(rows) == len({r[0] for r in rows}) == 4
    assert all(r[1] == "ok" for r in rows)
    assert one(rt, "SELECT count(*) FROM raw_pages") == 4


def test_extract_pending_limit_and_reextract(rt, site, tmp_path):
    server, feeds, _ = site
    path = write_feed_list(tmp_path / "good.yaml", {"good-atom": feeds["good-atom"]})
    fetch_feeds(rt, sync_feeds(rt, path, now=NOW), now=NOW)
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_status = 'pending'") == 3
    first = extract_pending(rt, limit=1)
    assert first.counts["extracted"] == 1 and "extract_failed" not in first.counts
    extract_pending(rt)
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_status = 'ok'") == 3
    with rt.pool.connection() as conn:
        conn.execute("UPDATE articles SET body_text = 'stale', word_count = 1")
    again = run_ingest(rt, path, reextract=True, now=NOW + timedelta(hours=1))
    assert again.counts["extracted"] == 3
    assert one(rt, "SELECT count(*) FROM articles WHERE body_text = 'stale'") == 0


def test_retry_after_defers_host_and_feed(rt, http_server, tmp_path):
    from tests.support.httpserver import Response

    http_server.route("/feed.xml", Response(429, "slow down", {"Retry-After": "7200"}))
    path = write_feed_list(tmp_path / "f.yaml", {"busy": http_server.url("/feed.xml")})
    result = fetch_feeds(rt, sync_feeds(rt, path, now=NOW), now=NOW)
    assert result.counts == {"feeds_failed": 1, "entries_new": 0, "entries_linked": 0}
    next_check = one(rt, "SELECT next_check_at FROM feeds WHERE name = 'busy'")
    assert next_check >= NOW + timedelta(hours=2)
    assert sync_feeds(rt, path, now=NOW + timedelta(hours=1)) == []
    assert sync_feeds(rt, path, now=NOW + timedelta(hours=3)) == ["busy"]


def test_feed_list_changes(rt, site, tmp_path):
    server, feeds, _ = site
    both = write_feed_list(tmp_path / "both.yaml", {k: feeds[k] for k in ("good-rss", "good-atom")})
    assert sync_feeds(rt, both, now=NOW) == ["good-atom", "good-rss"]
    only = write_feed_list(tmp_path / "only.yaml", {"good-rss": feeds["good-rss"]})
    assert sync_feeds(rt, only, now=NOW) == ["good-rss"]
    assert q(rt, "SELECT enabled, disabled_reason FROM feeds WHERE name = 'good-atom'") == [(False, "removed from the feed list")]
    assert sync_feeds(rt, both, now=NOW) == ["good-atom", "good-rss"]
