"""Scale-out of the Celery stack: the same corpus ingested with 1 worker and with 2 workers,
side by side in one run.

Each configuration gets a fresh Airflow (CeleryExecutor, redis-server broker, Postgres
metadata, api-server, scheduler, dag-processor: tests/dags/airflow_cluster.py, the harness of
tests/dags/test_celery_cluster.py) and a fresh newsmon database, and ingests the generated
corpus of bench/ingest.py (N pages of ~140 KB from 40 feeds on 40 loopback hosts, 100 ms per
response) through newsmon_ingest, triggered by the REST API; then newsmon_stories runs from
the asset. Each worker runs with concurrency 1, NEWSMON_EXTRACT_WORKERS=1 and
NEWSMON_EMBED_THREADS=1, so a worker is one core's worth of work: "1 worker" vs "2 workers" on
this 2-core machine. As an ops team would, each configuration runs one task per worker slot in
every stage that fans out (fetch batches: NEWSMON_FEED_BATCH_SIZE = feeds / workers and
NEWSMON_FETCH_TASKS = workers; NEWSMON_EXTRACT_TASKS = NEWSMON_EMBED_TASKS = embed pool slots =
workers): more tasks than slots only add task start-ups, and the extra extraction or embedding
tasks find nothing left.

The ingest run starts once one warm-up task (a newsmon_alerts run) has run on the fresh cluster.
Prints pages/s of the ingest run for both, their ratio (target >= 1.7), each task's span and
busy time, where the rest of the run went (no task running: scheduler and Celery latency; a
task's own start-up: its busy time minus the time its newsmon stage recorded), the serial share
(Amdahl: the time in tasks that do not spread, plan, assign_themes and stories, plus the gaps
between tasks, over the 1-worker total) and the speed-up it allows for 8 and 32 workers. The
load average is printed with the figures: other work on the machine lowers the ratio.

    .venv/bin/python bench/scaleout.py              # 400 pages, about 4 minutes
    .venv/bin/python bench/scaleout.py --pages 2000
    .venv/bin/python bench/scaleout.py --pages 2000 --activity   # + CPU by statement and by process role
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SPREAD = {"fetch_feeds", "extract_articles", "embed_articles"}  # mapped tasks: they spread over workers
# stage_runs names recorded by each task's body (its busy time minus these is task start-up);
# assign_themes records a (normally empty) themes run too: counted with embed_articles
TASK_STAGES = {"plan_feed_batches": ("ingest_sync",), "fetch_feeds": ("ingest_fetch",),
               "extract_articles": ("ingest_extract",), "embed_articles": ("embed", "themes")}


def _corpus_module():
    """bench/ingest.py (corpus and server), importable by name: the server runs in a spawned process."""
    sys.path.insert(0, str(ROOT / "bench"))
    return importlib.import_module("ingest")


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _span(items: list[dict]) -> float:
    starts = [_when(t["start_date"]) for t in items if t.get("start_date")]
    ends = [_when(t["end_date"]) for t in items if t.get("end_date")]
    return (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0


def _gaps(items: list[dict]) -> list[tuple[str, str, float]]:
    """(task that ended, task that started next, seconds) for each stretch of the run's span in
    which no task was running: scheduling, queueing, Celery pickup, task process start-up before
    the task's start_date."""
    spans = sorted((_when(t["start_date"]), _when(t["end_date"]), t["task_id"]) for t in items
                   if t.get("start_date") and t.get("end_date"))
    gaps, reach, last = [], None, ""
    for start, end, task in spans:
        if reach is not None and start > reach:
            gaps.append((last, task, (start - reach).total_seconds()))
        if reach is None or end > reach:
            reach, last = end, task
    return gaps


def _queue_waits(items: list[dict]) -> list[tuple[dict, float]]:
    """(task instance, seconds from queued to running) of each that ran, in queue order."""
    started = [t for t in items if t.get("start_date") and t.get("queued_when")]
    return [(t, max(0.0, (_when(t["start_date"]) - _when(t["queued_when"])).total_seconds()))
            for t in sorted(started, key=lambda t: t["queued_when"])]


def _long_waits(items: list[dict], at_least: float = 1.0) -> list[str]:
    """The task instances that waited ``at_least`` seconds in the queue: which, where, how long
    (a free worker should take a queued task at once)."""
    return [f"{t['task_id']}[{t.get('map_index', -1)}] on {t.get('hostname')} waited {wait:.1f} s"
            for t, wait in _queue_waits(items) if wait >= at_least]


def _stage_seconds(url: str) -> dict[str, float]:
    """Seconds each newsmon stage recorded in stage_runs (all runs of this fresh database)."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT stage, sum(extract(epoch FROM finished_at - started_at)) FROM stage_runs "
                            "WHERE finished_at IS NOT NULL GROUP BY stage").fetchall()
    return {stage: float(seconds) for stage, seconds in rows}


TEMPLATE_DB = "scaleout_template"


def prepare_template(pg, tmp: Path) -> None:
    """A migrated newsmon database with the default model registered and calibrated, copied for
    each configuration: the first use of a model (calibration, when the shipped one does not fit
    the themes file) is a one-off cost that is not part of a run's throughput."""
    import psycopg

    from pipeline.calibrate import ensure_calibrated
    from pipeline.embed.stage import run_embed
    from pipeline.infra.config import Settings
    from pipeline.infra.db import migrations
    from pipeline.infra.runtime import Runtime

    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    url = pg.url(TEMPLATE_DB)
    migrations.upgrade(url)
    settings = Settings.from_env({"NEWSMON_DATABASE_URL": url, "NEWSMON_HOME": str(tmp / "home-template")})
    with Runtime.open(settings, url=url, auto_upgrade=False) as rt:
        run_embed(rt)  # registers the model (nothing to embed yet)
        ensure_calibrated(rt)


def warm_up(cluster) -> None:
    """One newsmon_alerts run (one cheap task) before the timed run. The first task of a fresh
    cluster pays the API server's first requests to its execution API (5-10 s measured in the
    Celery cluster test's task logs, against 0.5 s for later tasks): a one-off of a fresh
    stack, not part of a running one's throughput."""
    cluster.api("PATCH", "/api/v2/dags/newsmon_alerts", json={"is_paused": False})
    run = cluster.api("POST", "/api/v2/dags/newsmon_alerts/dagRuns", json={"logical_date": None, "conf": {}})
    cluster.wait_for_run("newsmon_alerts", run["dag_run_id"], timeout=600)
    cluster.api("PATCH", "/api/v2/dags/newsmon_alerts", json={"is_paused": True})


def run_config(pg, workers: int, feeds_file: Path, feeds: int, tmp: Path, activity: bool = False) -> dict:
    import contextlib

    import psycopg

    from pg_activity import ActivitySampler
    from proc_cpu import ProcessCpu

    from tests.dags.airflow_cluster import AirflowCluster

    name = f"scaleout_{workers}w"
    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    url = pg.url(name)
    env = {
        "AIRFLOW_CONN_NEWSMON_DB": url,
        "NEWSMON_HOME": str(tmp / f"home-{workers}"),
        "NEWSMON_FEEDS": str(feeds_file),
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",
        "NEWSMON_HOST_DELAY": "0.05",
        "NEWSMON_EXTRACT_WORKERS": "1",
        "NEWSMON_EMBED_THREADS": "1",
        # the fan-out an ops team sets for its worker slots: one task per slot and stage
        "NEWSMON_FEED_BATCH_SIZE": str(math.ceil(feeds / workers)),
        "NEWSMON_FETCH_TASKS": str(workers),
        "NEWSMON_EXTRACT_TASKS": str(workers),
        "NEWSMON_EMBED_TASKS": str(workers),
        "NEWSMON_INGEST_SCHEDULE": "none",
    }
    cluster = AirflowCluster(pg, tmp / f"airflow-{workers}", env, celery_workers=workers, worker_concurrency=1)
    try:
        cluster.start()
        cluster.wait_ready(timeout=240)
        cluster.api("POST", "/api/v2/pools", json={"name": "newsmon_embed", "slots": workers, "description": "bench"})
        cluster.wait_for_dags(["newsmon_ingest", "newsmon_stories", "newsmon_alerts"], timeout=240)
        warm_up(cluster)
        for dag_id in ("newsmon_ingest", "newsmon_stories"):
            cluster.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        load_before = os.getloadavg()[0]
        sampler = ActivitySampler(pg.url("postgres")) if activity else contextlib.nullcontext()
        cpu = ProcessCpu() if activity else contextlib.nullcontext()
        started = time.monotonic()
        with sampler, cpu:
            run = cluster.api("POST", "/api/v2/dags/newsmon_ingest/dagRuns", json={"logical_date": None, "conf": {}})
            done = cluster.wait_for_run("newsmon_ingest", run["dag_run_id"], timeout=3600)
        if activity:
            sampler.report(f"ingest run, {workers} worker(s)")
            cpu.report(f"ingest run, {workers} worker(s)", time.monotonic() - started)
        tis = cluster.api("GET", f"/api/v2/dags/newsmon_ingest/dagRuns/{run['dag_run_id']}/taskInstances")[
            "task_instances"]
        if done["state"] != "success":
            raise SystemExit(f"{workers} worker(s): ingest run {done['state']}\n{cluster.logs()}")

        def stories_run():
            runs = cluster.api("GET", "/api/v2/dags/newsmon_stories/dagRuns")["dag_runs"]
            return next((r for r in runs if r["state"] in {"success", "failed"}), None)

        story = cluster.wait_until(stories_run, 900, "newsmon_stories", interval=2)
        load_after = os.getloadavg()[0]
        story_tis = cluster.api("GET", f"/api/v2/dags/newsmon_stories/dagRuns/{story['dag_run_id']}/"
                                       "taskInstances")["task_instances"]
        with psycopg.connect(url) as conn:
            extracted = conn.execute("SELECT count(*) FROM articles WHERE extract_status = 'ok'").fetchone()[0]
            themed = conn.execute("SELECT count(*) FROM article_themes").fetchone()[0]
        stage_s = _stage_seconds(url)
    finally:
        cluster.stop()
    by_task: dict[str, list[dict]] = {}
    for t in tis:
        by_task.setdefault(t["task_id"], []).append(t)
    ingest_s = _span(tis)
    embed_hosts = sorted({t["hostname"] for t in by_task.get("embed_articles", []) if t.get("hostname")})
    return {
        "workers": workers, "extracted": extracted, "themed": themed, "ingest_s": ingest_s,
        "stories_s": _span(story_tis), "gaps": _gaps(tis),
        "idle_s": sum(g[2] for g in _gaps(tis)), "queue_wait_s": sum(wait for _, wait in _queue_waits(tis)),
        "waits": _long_waits(tis),
        "tasks": {k: (_span(v), sum(t["duration"] or 0 for t in v), len(v)) for k, v in by_task.items()},
        "stage_s": stage_s, "hosts": sorted({t["hostname"] for t in tis}), "embed_hosts": embed_hosts,
        "pages_per_s": extracted / ingest_s if ingest_s else 0.0, "load": (load_before, load_after),
    }


def amdahl(serial: float, n: int) -> float:
    return 1.0 / (serial + (1.0 - serial) / n)


def _row(label: str, one, two, fmt: str = ">12.1f") -> None:
    print(f"{label:34}{one:{fmt}}{two:{fmt}}")


def report(one: dict, two: dict) -> None:
    print(f"\n{'':34}{'1 worker':>12}{'2 workers':>12}")
    _row("pages extracted", one["extracted"], two["extracted"], ">12")
    _row("articles themed", one["themed"], two["themed"], ">12")
    _row("ingest run (s)", one["ingest_s"], two["ingest_s"])
    _row("pages/s", one["pages_per_s"], two["pages_per_s"], ">12.2f")
    for task in one["tasks"]:
        a, b = one["tasks"][task], two["tasks"].get(task, (0.0, 0.0, 0))
        _row(f"{task} x{a[2]}/x{b[2]} span s", a[0], b[0])
        _row("  busy s (summed over tasks)", a[1], b[1])
        stages = TASK_STAGES.get(task)
        if stages:  # task time outside its newsmon stage: process start, imports, DAG parse
            _row("  of it outside the stage s", a[1] - sum(one["stage_s"].get(x, 0.0) for x in stages),
                 b[1] - sum(two["stage_s"].get(x, 0.0) for x in stages))
    _row("no task running (s)", one["idle_s"], two["idle_s"])
    for config in (one, two):
        print(f"  {config['workers']} worker(s): " + ", ".join(
            f"{after} -> {before} {seconds:.1f}" for after, before, seconds in config["gaps"] if seconds >= 0.3))
    _row("queued -> running, summed (s)", one["queue_wait_s"], two["queue_wait_s"])
    for config in (one, two):
        if config["waits"]:
            print(f"  {config['workers']} worker(s): " + "; ".join(config["waits"]))
    _row("stories run (s)", one["stories_s"], two["stories_s"])
    _row("  stories stage (s)", one["stage_s"].get("stories", 0.0), two["stage_s"].get("stories", 0.0))
    print(f"{'task hosts':34}{','.join(one['hosts']):>12}  {','.join(two['hosts'])}")
    print(f"{'embed_articles hosts':34}{','.join(one['embed_hosts']):>12}  {','.join(two['embed_hosts'])}")
    print(f"{'load average before/after':34}{'%.2f/%.2f' % one['load']:>12}{'%.2f/%.2f' % two['load']:>12}")
    ratio = two["pages_per_s"] / one["pages_per_s"] if one["pages_per_s"] else 0.0
    print(f"\nthroughput ratio 2 workers / 1 worker: {ratio:.2f} (target >= 1.7)")
    # Amdahl on the 1-worker run: what spreads is the mapped tasks' busy time; the rest of the
    # ingest run (serial tasks, scheduling gaps) and the stories run do not.
    total = one["ingest_s"] + one["stories_s"]
    if not total:
        return
    spread = sum(one["tasks"][t][1] for t in SPREAD if t in one["tasks"])
    serial = max(0.0, min(1.0, (total - spread) / total))
    print(f"serial share (1 worker, ingest + stories): {serial:.1%}, of the 1-worker total {total:.1f} s:")
    parts = {t: one["tasks"][t][1] for t in one["tasks"] if t not in SPREAD}
    parts["no task running (scheduling, start-up)"] = one["idle_s"]
    parts["newsmon_stories run"] = one["stories_s"]
    for label, seconds in parts.items():
        print(f"  {label:44}{seconds / total:>7.1%}")
    spread_parts = ", ".join(f"{t} {one['tasks'][t][1] / total:.1%}" for t in SPREAD if t in one["tasks"])
    print(f"  (spread: {spread_parts})")
    for n in (2, 8, 32):
        print(f"  Amdahl speed-up with {n:>2} workers: {amdahl(serial, n):.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=400)
    ap.add_argument("--activity", action="store_true",
                    help="during the ingest runs, sample pg_stat_activity and /proc: Postgres CPU by statement, "
                         "and every process's CPU by role (scheduler, worker, task, ...)")
    args = ap.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is missing: `make system-deps` installs it")

    from pipeline.infra import db

    corpus = _corpus_module()
    tmp = Path(tempfile.mkdtemp(prefix="newsmon-scaleout-"))
    files = corpus.generate(tmp / "site", args.pages)
    server, feeds_file = corpus.serve_corpus(tmp)
    print(f"corpus: {len(files)} pages, {corpus.FEEDS} feeds on {corpus.FEEDS} hosts, "
          f"{corpus.LATENCY_S * 1000:.0f} ms per response; CeleryExecutor, concurrency 1 per worker, "
          f"NEWSMON_EXTRACT_WORKERS=1, NEWSMON_EMBED_THREADS=1; load average {os.getloadavg()[0]:.2f}")
    pg = db.EmbeddedPostgres(tmp / "pg")
    pg.start()
    results = []
    try:
        started = time.monotonic()
        prepare_template(pg, tmp)
        print(f"  newsmon database migrated, model registered and calibrated in {time.monotonic() - started:.0f} s "
              "(not timed below)")
        for workers in (1, 2):
            started = time.monotonic()
            results.append(run_config(pg, workers, feeds_file, corpus.FEEDS, tmp, args.activity))
            print(f"  {workers} worker(s) done in {time.monotonic() - started:.0f} s (with Airflow start-up)")
    finally:
        pg.stop()
        server.terminate()
        shutil.rmtree(tmp, ignore_errors=True)
    report(*results)


if __name__ == "__main__":
    main()
