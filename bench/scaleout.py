"""Scale-out of the Celery stack: the same corpus ingested with 1 worker and with 2 workers,
side by side in one run.

Each configuration gets a fresh Airflow (CeleryExecutor, redis-server broker, Postgres
metadata, api-server, scheduler, dag-processor: tests/dags/airflow_cluster.py, the harness of
tests/dags/test_celery_cluster.py) and a fresh newsmon database, and ingests the generated
corpus of bench/ingest.py (N pages of ~140 KB from 40 feeds on 40 loopback hosts, 100 ms per
response) through newsmon_ingest, triggered by the REST API; then newsmon_stories runs from
the asset. Each worker runs with concurrency 1 and NEWSMON_EXTRACT_WORKERS=1, so a worker is
one core's worth of work: "1 worker" vs "2 workers" on this 2-core machine.

Prints pages/s of the ingest run for both, their ratio (target >= 1.7), each task's busy time,
the serial share (Amdahl: the time in tasks that do not spread: plan, embed, themes, and
stories, plus the gaps between tasks, over the 1-worker total) and the speed-up it allows
for 8 and 32 workers.

    .venv/bin/python bench/scaleout.py              # 400 pages, about 8 minutes
    .venv/bin/python bench/scaleout.py --pages 800
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPREAD = {"fetch_feeds", "extract_articles"}  # the mapped tasks: they spread over workers


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


def run_config(pg, workers: int, feeds_file: Path, pages: int, tmp: Path) -> dict:
    import psycopg

    from pipeline.infra.db import migrations
    from tests.dags.airflow_cluster import AirflowCluster

    name = f"scaleout_{workers}w"
    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    url = pg.url(name)
    migrations.upgrade(url)
    env = {
        "AIRFLOW_CONN_NEWSMON_DB": url,
        "NEWSMON_HOME": str(tmp / f"home-{workers}"),
        "NEWSMON_FEEDS": str(feeds_file),
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",
        "NEWSMON_HOST_DELAY": "0.05",
        "NEWSMON_EXTRACT_WORKERS": "1",
        "NEWSMON_INGEST_SCHEDULE": "none",
    }
    cluster = AirflowCluster(pg, tmp / f"airflow-{workers}", env, celery_workers=workers, worker_concurrency=1)
    try:
        cluster.start()
        cluster.wait_ready(timeout=240)
        cluster.api("POST", "/api/v2/pools", json={"name": "newsmon_embed", "slots": 1, "description": "bench"})
        cluster.wait_for_dags(["newsmon_ingest", "newsmon_stories"], timeout=240)
        for dag_id in ("newsmon_ingest", "newsmon_stories"):
            cluster.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        run = cluster.api("POST", "/api/v2/dags/newsmon_ingest/dagRuns", json={"logical_date": None, "conf": {}})
        done = cluster.wait_for_run("newsmon_ingest", run["dag_run_id"], timeout=1800)
        tis = cluster.api("GET", f"/api/v2/dags/newsmon_ingest/dagRuns/{run['dag_run_id']}/taskInstances")[
            "task_instances"]
        if done["state"] != "success":
            raise SystemExit(f"{workers} worker(s): ingest run {done['state']}\n{cluster.logs()}")

        def stories_run():
            runs = cluster.api("GET", "/api/v2/dags/newsmon_stories/dagRuns")["dag_runs"]
            return next((r for r in runs if r["state"] in {"success", "failed"}), None)

        story = cluster.wait_until(stories_run, 900, "newsmon_stories", interval=2)
        story_tis = cluster.api("GET", f"/api/v2/dags/newsmon_stories/dagRuns/{story['dag_run_id']}/"
                                       "taskInstances")["task_instances"]
        with psycopg.connect(url) as conn:
            extracted = conn.execute("SELECT count(*) FROM articles WHERE extract_status = 'ok'").fetchone()[0]
    finally:
        cluster.stop()
    by_task: dict[str, list[dict]] = {}
    for t in tis:
        by_task.setdefault(t["task_id"], []).append(t)
    ingest_s = _span(tis)
    return {
        "workers": workers, "extracted": extracted, "ingest_s": ingest_s, "stories_s": _span(story_tis),
        "tasks": {k: (_span(v), sum(t["duration"] or 0 for t in v), len(v)) for k, v in by_task.items()},
        "hosts": sorted({t["hostname"] for t in tis}),
        "pages_per_s": extracted / ingest_s if ingest_s else 0.0,
    }


def amdahl(serial: float, n: int) -> float:
    return 1.0 / (serial + (1.0 - serial) / n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=400)
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
          f"NEWSMON_EXTRACT_WORKERS=1")
    pg = db.EmbeddedPostgres(tmp / "pg")
    pg.start()
    results = []
    try:
        for workers in (1, 2):
            started = time.monotonic()
            results.append(run_config(pg, workers, feeds_file, args.pages, tmp))
            print(f"  {workers} worker(s) done in {time.monotonic() - started:.0f} s (with Airflow start-up)")
    finally:
        pg.stop()
        server.terminate()
        shutil.rmtree(tmp, ignore_errors=True)

    one, two = results
    print(f"\n{'':28}{'1 worker':>12}{'2 workers':>12}")
    print(f"{'pages extracted':28}{one['extracted']:>12}{two['extracted']:>12}")
    print(f"{'ingest run (s)':28}{one['ingest_s']:>12.1f}{two['ingest_s']:>12.1f}")
    print(f"{'pages/s':28}{one['pages_per_s']:>12.2f}{two['pages_per_s']:>12.2f}")
    for task in one["tasks"]:
        a, b = one["tasks"][task], two["tasks"].get(task, (0.0, 0.0, 0))
        print(f"{task + f' x{a[2]} (span s)':28}{a[0]:>12.1f}{b[0]:>12.1f}")
    print(f"{'stories run (s)':28}{one['stories_s']:>12.1f}{two['stories_s']:>12.1f}")
    print(f"{'task hosts':28}{','.join(one['hosts']):>12}{','.join(two['hosts']):>12}")
    ratio = two["pages_per_s"] / one["pages_per_s"] if one["pages_per_s"] else 0.0
    print(f"\nthroughput ratio 2 workers / 1 worker: {ratio:.2f} (target >= 1.7)")
    # Amdahl on the 1-worker run: what spreads is the mapped tasks' busy time; the rest of the
    # ingest run (serial tasks, scheduling gaps) and the stories run do not.
    total = one["ingest_s"] + one["stories_s"]
    spread = sum(one["tasks"][t][1] for t in SPREAD if t in one["tasks"])
    serial = max(0.0, min(1.0, (total - spread) / total)) if total else 1.0
    print(f"serial share (1 worker, ingest + stories): {serial:.1%}; of it stories {one['stories_s'] / total:.1%}")
    for n in (2, 8, 32):
        print(f"  Amdahl speed-up with {n:>2} workers: {amdahl(serial, n):.2f}x")


if __name__ == "__main__":
    main()
