"""Faults in the Celery stack, on one cluster shared by the three cases (each with its own
corpus and ingest run): the broker (redis-server) killed mid-run, a worker killed with SIGKILL
mid-extraction, the scheduler killed and restarted mid-DAG.

Each fault is set off at a point the test observes, never after a sleep: a page that answers
only when the test opens its gate (so the fetch task is known to be running), pages claimed and
partly written in the database, task states through the REST API and the scheduler's job rows
in the metadata database. The end state is what counts: the run succeeds (retries allowed),
every page of the corpus is exactly one extracted article, none lost or left claimed, none
extracted twice, and no process of the cluster survives it."""

from __future__ import annotations

import os
import random
import shutil
import signal
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

import psycopg
import pytest

from tests.dags.airflow_cluster import AirflowCluster, marked_pids
from tests.dags.celery_hostname import WORKER_NAME_VAR
from tests.dags.news_site import Article, rss
from tests.dags.test_celery_cluster import compose_like_env
from tests.support.httpserver import LocalServer, Response

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server missing (make system-deps installs it)")

WORKERS = ("worker-1", "worker-2")
INGEST = "newsmon_ingest"
# NEWSMON_CLAIM_LEASE: a killed worker's claims are retaken after this. Longer than the heartbeat
# timeout plus the retry delay (as in production: 900 s > 300 s + 120 s), so the killed task's
# retry still finds the claims live: the run must wait for them, not end without those pages.
LEASE_S = 60
HEARTBEAT_TIMEOUT_S = 30
HTML = {"Content-Type": "text/html; charset=utf-8"}
WORDS = ("export controls chips semiconductor lithography tools ministry officials said the new rules would "
         "affect suppliers in the Netherlands and Japan while Beijing promised countermeasures against what it "
         "called an attack on free trade analysts expect the measures to slow the construction of advanced "
         "factories and to raise prices for memory and logic chips across the region during the coming year "
         "companies reviewed orders and investors sold shares of equipment makers after the announcement").split()


class Gate:
    """A page that answers only once the test opens the gate: while a fetch task waits on it,
    the task is known to be running. ``requested`` is set by the first request."""

    def __init__(self, body: str):
        self.body = body
        self.requested = threading.Event()
        self.opened = threading.Event()

    def __call__(self, handler) -> Response:
        self.requested.set()
        self.opened.wait(300)
        return Response(200, self.body, HTML)


@dataclass
class Corpus:
    urls: list[str]
    paths: list[str]
    gate: Gate | None = None


@dataclass
class Stack:
    cluster: AirflowCluster
    db_url: str
    server: LocalServer
    feeds: Path

    def rows(self, query: str, *params) -> list[tuple]:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def publish(self, case: str, pages: int, paragraphs: int, *, gated: bool = False) -> Corpus:
        """A feed of ``pages`` new article pages (``paragraphs`` each, about 0.5 KB a paragraph),
        the only feed of the feed list; with ``gated`` its first page waits for the test."""
        start = datetime(2026, 11, 26, 8, tzinfo=timezone.utc)
        articles = [Article(f"{case}/story-{i}", "en", f"Chip story {i} of case {case}",
                            (start + timedelta(minutes=i)).isoformat(), tuple(article_text(f"{case}-{i}", paragraphs)))
                    for i in range(pages)]
        gate = None
        for i, a in enumerate(articles):
            html = article_html(a)
            if gated and i == 0:
                gate = Gate(html)
            self.server.route(f"/{a.slug}", gate if gated and i == 0 else Response(200, html, HTML))
        self.server.route(f"/feeds/{case}.xml", Response(200, rss(self.server.base, articles),
                                                         {"Content-Type": "application/rss+xml"}))
        self.feeds.write_text(f"- name: courier-{case}\n  url: {self.server.url(f'/feeds/{case}.xml')}\n"
                              "  language: en\n", encoding="utf-8")
        return Corpus([self.server.url(f"/{a.slug}") for a in articles], [f"/{a.slug}" for a in articles], gate)

    def run_until_fetching(self, case: str) -> tuple[Corpus, str]:
        """A gated corpus of 6 pages and an ingest run of it, once its fetch task is running
        (it has asked for the gated page)."""
        corpus = self.publish(case, pages=6, paragraphs=20, gated=True)
        run_id = self.cluster.trigger(INGEST)
        assert corpus.gate.requested.wait(180), self.cluster.logs()
        return corpus, run_id

    def pages(self, corpus: Corpus) -> list[tuple]:
        return self.rows("SELECT url, extract_status, extract_claimed_by, extract_attempts FROM articles "
                         "WHERE url = ANY(%s) ORDER BY url", corpus.urls)

    def assert_each_page_one_article(self, corpus: Corpus) -> dict[str, int]:
        """Every page of the corpus is exactly one extracted article, no claim left; the
        extraction attempts of each."""
        pages = self.pages(corpus)
        assert sorted(p[0] for p in pages) == sorted(corpus.urls), "a page is lost or stored twice"
        assert {(p[1], p[2]) for p in pages} == {("ok", None)}, pages
        assert self.rows("SELECT count(*) FROM articles WHERE extract_status = 'pending'") == [(0,)]
        return {p[0]: p[3] for p in pages}

    def extracted_by_tasks(self, run_id: str) -> list[dict]:
        """The counts of each extraction task's last try."""
        return [self.cluster.xcom(INGEST, run_id, "extract_articles", i)["counts"] for i in range(2)]

    def assert_fetched_and_extracted_once(self, corpus: Corpus, run_id: str) -> None:
        attempts = self.assert_each_page_one_article(corpus)
        assert set(attempts.values()) == {1}  # each page claimed and extracted once
        assert sum(c.get("extracted", 0) for c in self.extracted_by_tasks(run_id)) == len(corpus.urls)
        assert all(self.server.hits(path) == 1 for path in corpus.paths)  # and fetched once


def article_text(seed: str, paragraphs: int) -> list[str]:
    """Paragraphs of news-like sentences, different for every seed (no two pages are copies)."""
    rng = random.Random(seed)
    return [" ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 22))).capitalize() + "."
                     for _ in range(rng.randint(3, 6)))
            for _ in range(paragraphs)]


def article_html(a: Article) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(a.title)}</title>"
            f"<meta property='article:published_time' content='{a.published}'></head>"
            f"<body><article><h1>{escape(a.title)}</h1>{body}</article></body></html>")


@pytest.fixture(scope="module")
def stack(pg_server, template_db, tmp_path_factory):
    """One Celery cluster (redis, api-server, scheduler, dag-processor, triggerer, two workers)
    for the three cases, with short fault timings: the claim lease, task heartbeat timeout,
    retry delay and the scheduler's orphan check."""
    tmp = tmp_path_factory.mktemp("faults")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template_db}")
    db_url = pg_server.url(name)
    server = LocalServer().start()
    feeds = tmp / "feeds.yaml"
    env = {
        **compose_like_env(db_url, feeds, tmp / "nm"),
        "NEWSMON_CLAIM_LEASE": str(LEASE_S),
        "NEWSMON_RETRY_DELAY": "5",
        "NEWSMON_HTTP_TIMEOUT": "300",  # a gated page waits for the test, not for the client
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120",
    }
    cluster = AirflowCluster(pg_server, tmp / "airflow", env, celery_workers=len(WORKERS), worker_concurrency=1)
    try:
        cluster.start_newsmon(dag_ids=(INGEST,))  # stories stay paused: they are not under test here
        yield Stack(cluster, db_url, server, feeds)
    finally:
        late = cluster.stop()
        server.stop()
        with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    assert marked_pids(cluster.marker) == [], "a process of the cluster survived it"
    assert late == [], f"processes outlived their process group: {late}"


def wait_for_state(stack: Stack, run_id: str, states: set[str], what: str, timeout: float = 120) -> dict:
    def found():
        return next((t for t in stack.cluster.task_instances(INGEST, run_id) if t["state"] in states), None)

    return stack.cluster.wait_until(found, timeout, what, interval=0.5)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_redis_killed_mid_run_tasks_fail_to_queue_retry_and_nothing_is_lost(stack):
    cluster = stack.cluster
    corpus, run_id = stack.run_until_fetching("redis")
    try:
        cluster.kill("redis")
        corpus.gate.opened.set()  # the fetch task ends with the broker gone: extraction cannot be queued
        failed = wait_for_state(stack, run_id, {"up_for_retry", "failed"}, "a task that could not be queued")
        assert failed["task_id"] == "extract_articles", failed
        cluster.start_redis()  # a fresh, empty broker on the same port: the workers reconnect
        done = cluster.wait_for_run(INGEST, run_id, timeout=300)
    finally:
        corpus.gate.opened.set()
        if "redis" not in cluster.procs:
            cluster.start_redis()
        cluster.end_run(INGEST, run_id)
    tis = cluster.task_instances(INGEST, run_id)
    assert done["state"] == "success", f"{cluster.task_states(INGEST, run_id)}\n{cluster.logs()}"
    # the tasks that could not be queued ran on their retry; the fetch ran once
    tries = {(t["task_id"], t["map_index"]): t["try_number"] for t in tis}
    assert tries[("fetch_feeds", 0)] == 1 and max(tries.values()) >= 2, tries
    stack.assert_fetched_and_extracted_once(corpus, run_id)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_worker_killed_mid_extraction_its_claims_are_retaken_after_the_lease(stack):
    cluster = stack.cluster
    corpus = stack.publish("sigkill", pages=24, paragraphs=200)  # about 100 KB, 0.4 s of extraction a page
    run_id = cluster.trigger(INGEST)
    try:
        def partly_extracted():
            pages = stack.pages(corpus)
            held = [p[2] for p in pages if p[1] == "pending" and p[2]]
            # a few pages still claimed: the task cannot finish them all before it is frozen
            return set(held) if len(held) >= 4 and any(p[1] == "ok" for p in pages) else None

        (claimer,) = cluster.wait_until(partly_extracted, 240, "pages claimed and partly extracted", interval=0.1)
        pid = int(claimer.rsplit(":", 2)[1])  # host:pid:token, the extraction task's process
        # Freeze the task's process at once (its writer thread with it), so that nothing more is
        # written while the test finds and kills the rest of the worker (under a loaded CI run
        # that took long enough for the task to finish its claims first: a flake seen once).
        os.kill(pid, signal.SIGSTOP)
        worker = cluster.component_of(pid)
        assert worker in WORKERS, (claimer, worker)
        killed_ti = next(t for t in cluster.task_instances(INGEST, run_id)
                         if t["task_id"] == "extract_articles" and t["hostname"] == worker and t["state"] == "running")
        killed = cluster.kill_worker(worker)  # returns once every one of them is gone
        assert pid in killed and len(killed) >= 5, killed  # worker, pool child, task, fork server, extractors
        assert marked_pids(cluster.marker, f"{WORKER_NAME_VAR}={worker}") == []
        pages = stack.pages(corpus)
        written = {p[0] for p in pages if p[1] == "ok"}
        orphaned = {p[0] for p in pages if p[2] == claimer}
        assert written and orphaned and written | orphaned == set(corpus.urls), pages  # killed mid-extraction
        cluster.start_worker(worker)  # the container restarts
        done = cluster.wait_for_run(INGEST, run_id, timeout=400)
    finally:
        cluster.end_run(INGEST, run_id)
    assert done["state"] == "success", f"{cluster.task_states(INGEST, run_id)}\n{cluster.logs()}"
    retried = next(t for t in cluster.task_instances(INGEST, run_id)
                   if (t["task_id"], t["map_index"]) == ("extract_articles", killed_ti["map_index"]))
    assert retried["try_number"] == 2 and retried["state"] == "success"  # failed on the heartbeat timeout, retried
    attempts = stack.assert_each_page_one_article(corpus)
    # the orphaned pages were claimed once more and extracted then; the written ones never again
    assert {u for u, n in attempts.items() if n == 2} == orphaned
    assert {u for u, n in attempts.items() if n == 1} == written
    counts = stack.extracted_by_tasks(run_id)
    assert sum(c.get("extracted", 0) for c in counts) == len(orphaned), counts
    assert not any(c.get("extract_claims_lost") for c in counts), counts


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_scheduler_killed_and_restarted_mid_dag_adopts_the_running_task(stack):
    cluster = stack.cluster
    corpus, run_id = stack.run_until_fetching("scheduler")
    try:
        (old_job,) = cluster.metadata("SELECT max(id) FROM job WHERE job_type = 'SchedulerJob'")[0]
        cluster.kill("scheduler")
        cluster.start_scheduler()

        def adopted():
            rows = cluster.metadata(
                "SELECT ti.queued_by_job_id FROM task_instance ti JOIN job j ON j.id = ti.queued_by_job_id "
                "WHERE ti.dag_id = %s AND ti.run_id = %s AND ti.task_id = 'fetch_feeds' AND j.id > %s "
                "AND j.job_type = 'SchedulerJob'", INGEST, run_id, old_job)
            return rows

        # the new scheduler takes over the fetch task still running on its worker
        cluster.wait_until(adopted, 180, "the new scheduler to adopt the running fetch task")
        corpus.gate.opened.set()
        done = cluster.wait_for_run(INGEST, run_id, timeout=300)
    finally:
        corpus.gate.opened.set()
        if "scheduler" not in cluster.procs:
            cluster.start_scheduler()
        cluster.end_run(INGEST, run_id)
    assert done["state"] == "success", f"{cluster.task_states(INGEST, run_id)}\n{cluster.logs()}"
    tis = cluster.task_instances(INGEST, run_id)
    assert {t["try_number"] for t in tis} == {1}, [(t["task_id"], t["try_number"]) for t in tis]  # nothing re-run
    stack.assert_fetched_and_extracted_once(corpus, run_id)
