"""The bundled demo corpus, served as `newsmon demo` serves it, ingests completely and cleanly."""

from __future__ import annotations

import dataclasses
from datetime import date

from pipeline.demo import DEMO_DIR, resolve_demo_feeds, serve_directory
from pipeline.ingest.extract import decode_html, detect_language
from pipeline.ingest.stage import run_ingest
from pipeline.infra.progress import NullReporter
from pipeline.infra.runtime import Runtime


def test_demo_corpus_ingests(settings, db_url, tmp_path):
    rt = Runtime.open(dataclasses.replace(settings, extract_workers=2), url=db_url, auto_upgrade=False,
                      progress=NullReporter())
    try:
        with serve_directory(DEMO_DIR / "site") as base:
            feeds_file = resolve_demo_feeds(base, tmp_path / "demo-feeds.yaml")
            result = run_ingest(rt, feeds_file)
            again = run_ingest(rt, feeds_file)
        with rt.pool.connection() as conn:
            rows = conn.execute(
                "SELECT canonical_url, source, language, published_at, extract_status, duplicate_of, word_count, title "
                "FROM articles ORDER BY article_id"
            ).fetchall()
            health = conn.execute("SELECT feed, last_status, consecutive_failures FROM analytics.feed_health").fetchall()
            two_feeds = conn.execute(
                "SELECT count(*) FROM feed_entries e JOIN articles a USING (article_id) "
                "WHERE a.canonical_url LIKE %s", ("%/dresden-packaging-plant-investment.html",)
            ).fetchone()[0]
    finally:
        rt.close()
    assert all(status == 304 and failures == 0 for _, status, failures in health), health
    assert len(rows) == 35 and result.counts["articles_new"] == 35
    assert all(r[4] == "ok" for r in rows), [r for r in rows if r[4] != "ok"]
    assert all("utm_" not in r[0] and "fbclid" not in r[0] for r in rows)
    assert {r[2] for r in rows} == {"de", "en"}
    assert sum(r[2] == "de" for r in rows) == 17  # 9 events + 5 on topic + 3 off topic
    assert {r[3].date() for r in rows} == {date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)}
    duplicates = [r for r in rows if r[5] is not None]
    assert len(duplicates) == 1 and duplicates[0][0].endswith("/valley/stories/beijing-chip-deadline.html")
    assert two_feeds == 2
    assert min(r[6] for r in rows) >= 50
    # second run: every feed answers 304 (the static server honours If-Modified-Since)
    assert again.counts.get("feeds_not_modified") == 5 and again.counts.get("articles_new", 0) == 0


def test_language_detector_on_demo_and_test_pages():
    """The language detector (py3langid) against the outlets' languages on every bundled page."""
    from pipeline.ingest.extract import compress, extract_page
    from pipeline.records import ExtractJob
    from datetime import datetime, timezone

    langs = {"harbour": "en", "dispatch": "en", "valley": "en", "bote": "de", "technikblatt": "de"}
    checked = 0
    for path in sorted((DEMO_DIR / "site").rglob("*.html")):
        expected = langs[path.relative_to(DEMO_DIR / "site").parts[0]]
        job = ExtractJob(1, "http://demo.invalid/" + path.name, compress(path.read_bytes()), None, None, None, None,
                         datetime(2026, 11, 27, tzinfo=timezone.utc))
        text = extract_page(job).body_text
        # no feed-language fallback: the text alone must decide
        assert detect_language(text) == expected, path
        checked += 1
    assert checked == 35
    french = "Le gouvernement a présenté mardi une stratégie pour les semi-conducteurs avec des investissements " \
             "importants dans les usines du pays et une aide pour les entreprises qui produisent des puces."
    assert detect_language(french, fallback="de") == "fr"  # named, not "other"; the feed's language does not win
    assert decode_html("Müller".encode("utf-8"), "iso-8859-1") == ("Müller", "utf-8")
