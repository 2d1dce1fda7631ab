"""Ingest under Airflow/Celery conditions: several extraction tasks at once (each page extracted
exactly once, nothing lost, a dead task's claims retaken), a worker process that dies on a
page, and attribution and duplicate roots that do not depend on the order of fetching."""

from __future__ import annotations

import dataclasses
import functools
import threading
from datetime import datetime, timedelta, timezone

import pytest

import pipeline.ingest.stage
from pipeline.demo import DEMO_DIR, resolve_demo_feeds, serve_directory
from pipeline.ingest.dedup import mark_duplicates
from pipeline.ingest.extract import extract_page, fingerprint, simhash
from pipeline.ingest.pool import ExtractionPool
from pipeline.ingest.stage import extract_pending, fetch_feeds, sync_feeds
from pipeline.infra.progress import NullReporter
from pipeline.infra.runtime import Runtime
from pipeline.records import Extracted
from pipeline.store import articles as article_store
from tests.support.crashing_extractor import MARKER, crash_on_marker
from tests.support.httpserver import Response
from tests.support.ingest_site import RES, atom, rss, write_feed_list

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def rt(settings, db_url):
    runtime = Runtime.open(dataclasses.replace(settings, http_timeout_s=3, extract_workers=1), url=db_url,
                           auto_upgrade=False, progress=NullReporter())
    yield runtime
    runtime.close()


def q(rt, query, *params):
    with rt.pool.connection() as conn:
        return conn.execute(query, params).fetchall()


def one(rt, query, *params):
    return q(rt, query, *params)[0][0]


@pytest.fixture
def demo_pending(rt, tmp_path):
    """The 35 demo pages fetched and stored, extraction pending."""
    with serve_directory(DEMO_DIR / "site") as base:
        feeds = resolve_demo_feeds(base, tmp_path / "demo-feeds.yaml")
        fetch_feeds(rt, sync_feeds(rt, feeds, now=NOW), now=NOW)
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_status = 'pending'") == 35
    return rt


def test_concurrent_extract_tasks_extract_each_page_once(demo_pending, monkeypatch):
    rt = demo_pending
    monkeypatch.setattr(pipeline.ingest.stage, "CLAIM_CHUNK", 4)  # many small claims: the tasks interleave
    start = threading.Barrier(2)
    results, errors = [], []

    def task():
        try:
            start.wait()
            results.append(extract_pending(rt))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=task) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(results) == 2
    # every page extracted exactly once over both tasks, none lost, no claim left behind
    assert sum(r.counts.get("extracted", 0) + r.counts.get("extract_failed", 0) for r in results) == 35
    assert sum(r.counts.get("extracted", 0) for r in results) == 35
    assert not any(r.counts.get("extract_claims_lost") for r in results)
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_status = 'ok'") == 35
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_claimed_by IS NOT NULL") == 0
    # the syndicated pair is found even when its two halves were written by different tasks
    assert one(rt, "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL") == 1
    assert sum(r.counts.get("duplicates", 0) for r in results) == 1
    assert q(rt, "SELECT status, count(*) FROM stage_runs WHERE stage = 'ingest_extract' GROUP BY 1") == [("ok", 2)]


def test_claims_skip_each_other_and_a_dead_tasks_claims_are_retaken(demo_pending):
    rt = demo_pending
    with rt.pool.connection() as first, rt.pool.connection() as second:
        taken = article_store.claim_pending(first, "worker-a", 5)  # transaction still open: rows locked
        other = article_store.claim_pending(second, "worker-b", 10)
        second.commit()
        first.commit()
    assert len(taken) == 5 and len(other) == 10 and not set(taken) & set(other)
    with rt.pool.connection() as conn:
        rest = article_store.claim_pending(conn, "worker-c", 100)
    assert len(rest) == 20 and not set(rest) & (set(taken) | set(other))
    with rt.pool.connection() as conn:
        assert article_store.claim_pending(conn, "worker-d", 100) == []  # nothing left unclaimed
        # worker-a died an hour ago: its claims are past the lease; worker-c released its own
        conn.execute("UPDATE articles SET extract_claimed_at = extract_claimed_at - interval '1 hour' "
                     "WHERE extract_claimed_by = 'worker-a'")
        conn.execute("UPDATE articles SET extract_claimed_by = NULL, extract_claimed_at = NULL "
                     "WHERE extract_claimed_by = 'worker-c'")
    seen_in_wait = []

    def worker_b_finishes(seconds):
        # worker-b is alive: this task waits for its claims instead of ending with them pending;
        # meanwhile worker-b's results are written (it holds the claims), a result from a task
        # whose claim was lost is dropped
        extracted = {r[0] for r in q(rt, "SELECT article_id FROM articles WHERE extract_status = 'ok'")}
        seen_in_wait.append(set(other) & extracted)
        with rt.pool.connection() as conn:
            jobs = article_store.extract_jobs(conn, other)
            lost = article_store.write_extractions(conn, [Extracted(jobs[1].article_id, "failed", "x")], "worker-z")
            written = article_store.write_extractions(conn, [extract_page(j) for j in jobs], "worker-b")
        seen_in_wait.append((len(lost), len(written)))

    result = extract_pending(rt, sleep=worker_b_finishes)
    assert result.counts["extracted"] == 25  # worker-a's 5 and the 20 released ones
    # worker-b's live claims were respected, then written by worker-b alone
    assert seen_in_wait == [set(), (0, 10)] and result.counts["claim_waits"] == 1
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_status = 'ok'") == 35


def test_worker_crash_retries_page_alone_then_fails_it(rt, http_server, tmp_path):
    b = http_server.base
    html = lambda name: Response(200, (RES / name).read_bytes(), {"Content-Type": "text/html; charset=utf-8"})
    http_server.route("/a/chips", html("en_chips.html"))
    http_server.route("/a/open", html("en_open_source.html"))
    http_server.route("/a/latin", Response(200, (RES / "de_latin1.html").read_bytes(),
                                           {"Content-Type": "text/html; charset=ISO-8859-1"}))
    crash = (RES / "en_open_source.html").read_bytes().replace(b"</body>", b"<!-- " + MARKER + b" --></body>")
    http_server.route("/a/crash", Response(200, crash.replace(b"open-model-downloads", b"crash"),
                                           {"Content-Type": "text/html; charset=utf-8"}))
    http_server.route("/feed.rss", Response(200, rss([(k, f"Item {k}", f"{b}/a/{k}") for k in ("chips", "crash", "open", "latin")]),
                                            {"Content-Type": "application/rss+xml"}))
    path = write_feed_list(tmp_path / "f.yaml", {"crashy": http_server.url("/feed.rss")})
    fetch_feeds(rt, sync_feeds(rt, path, now=NOW), now=NOW)
    ids = dict(q(rt, "SELECT entry_key, article_id FROM feed_entries"))
    assert len(set(ids.values())) == 4
    log = tmp_path / "calls.log"
    with ExtractionPool(rt, workers=2, extract_fn=functools.partial(crash_on_marker, str(log))) as ex:
        result = extract_pending(rt, extractor=ex)
    rows = {r[0]: r[1:] for r in q(rt, "SELECT article_id, extract_status, extract_error, word_count FROM articles")}
    assert rows[ids["crash"]][:2] == ("failed", "extraction process crashed on this page")
    for page in ("chips", "open", "latin"):  # the rest of the batch is stored
        assert rows[ids[page]][0] == "ok" and rows[ids[page]][2] > 50, page
    calls = log.read_text().split()
    assert calls.count(str(ids["crash"])) == 2  # once in the pool, once alone
    assert one(rt, "SELECT extract_attempts FROM articles WHERE article_id = %s", ids["crash"]) == 2
    assert result.counts["extracted"] == 3 and result.counts["extract_failed"] == 1
    assert result.counts["extract_retried_alone"] >= 1
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_claimed_by IS NOT NULL") == 0


def _feeds_site(server):
    """One article, linked by feeds on its own host and by feeds on another host name."""
    b = server.base
    other = b.replace("127.0.0.1", "localhost")
    server.route("/articles/chips", Response(200, (RES / "en_chips.html").read_bytes(), {"Content-Type": "text/html"}))
    server.route("/articles/open", Response(200, (RES / "en_open_source.html").read_bytes(), {"Content-Type": "text/html"}))
    links = [("1", "Chips", f"{b}/articles/chips"), ("2", "Open", f"{b}/articles/open")]
    for name in ("own", "agg", "blog"):
        server.route(f"/feeds/{name}.xml", Response(200, rss(links) if name != "blog" else atom(links),
                                                    {"Content-Type": "application/xml"}))
    return {
        "z-outlet": f"{b}/feeds/own.xml",  # the articles' own host, but the largest name
        "a-aggregator": f"{other}/feeds/agg.xml",
        "m-blog": f"{other}/feeds/blog.xml",
    }


@pytest.mark.parametrize("order", [["a-aggregator", "m-blog", "z-outlet"], ["z-outlet", "m-blog", "a-aggregator"],
                                   ["m-blog", "a-aggregator"], ["a-aggregator", "m-blog"], "together"])
def test_source_does_not_depend_on_fetch_order(rt, http_server, tmp_path, order):
    feeds = _feeds_site(http_server)
    path = write_feed_list(tmp_path / "f.yaml", feeds)
    sync_feeds(rt, path, now=NOW)
    if order == "together":
        fetch_feeds(rt, list(feeds), now=NOW)
    else:
        for i, name in enumerate(order):  # one feed per run, as separate tasks would
            fetch_feeds(rt, [name], now=NOW + timedelta(minutes=i))
    fetched = set(feeds) if order == "together" else set(order)
    expected = "z-outlet" if "z-outlet" in fetched else "a-aggregator"
    assert [r[0] for r in q(rt, "SELECT source FROM articles")] == [expected, expected]
    assert one(rt, "SELECT count(*) FROM feed_entries WHERE article_id IS NOT NULL") == 2 * len(fetched)
    assert http_server.hits("/articles/chips") == 1  # later feeds link the stored article


def test_duplicate_root_is_earliest_then_smallest_url(rt):
    text = " ".join(f"Sentence {i} about export controls on chip tools and their effect on makers." for i in range(12))
    when = datetime(2026, 11, 25, 8, tzinfo=timezone.utc)

    def insert(conn, url, published):
        return conn.execute(
            """INSERT INTO articles (url, canonical_url, extract_status, body_text, word_count, fingerprint,
                                     simhash, published_at, fetched_at)
               VALUES (%s, %s, 'ok', %s, %s, %s, %s, %s, %s) RETURNING article_id""",
            (url, url, text, len(text.split()), fingerprint(text), simhash(text), published, NOW),
        ).fetchone()[0]

    with rt.pool.connection() as conn:
        late = insert(conn, "https://c.example/copy", when + timedelta(hours=1))
        second = insert(conn, "https://b.example/story", when)  # same time as first, larger URL
        first = insert(conn, "https://a.example/story", when)  # stored last
        assert mark_duplicates(conn, [late, second, first]) == 2
        rows = dict(conn.execute("SELECT article_id, duplicate_of FROM articles").fetchall())
    assert rows == {first: None, second: first, late: first}


def test_a_failed_extract_task_gives_its_claims_back(demo_pending, monkeypatch):
    """A task that fails after its claims are committed (here: handing the third page to the
    pool breaks) releases them at once, so its Airflow retry extracts the pages instead of
    waiting out the 15-minute lease; the retry then extracts every page."""
    rt = demo_pending
    real_submit = ExtractionPool.submit
    calls = []

    def breaks_on_the_third(self, job):
        calls.append(job)
        if len(calls) == 3:
            raise RuntimeError("worker pipe broke")
        return real_submit(self, job)

    monkeypatch.setattr(ExtractionPool, "submit", breaks_on_the_third)
    with pytest.raises(RuntimeError, match="worker pipe broke"):
        extract_pending(rt)
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_claimed_by IS NOT NULL") == 0
    monkeypatch.setattr(ExtractionPool, "submit", real_submit)
    extract_pending(rt)
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_status = 'pending'") == 0
    assert one(rt, "SELECT count(*) FROM articles WHERE extract_status IN ('ok', 'blocked')") == 35
