"""The compose stack's executor for real: CeleryExecutor with a redis-server broker, Postgres
metadata, api-server, scheduler, dag-processor and two ``airflow celery worker`` processes
(prefork pool, concurrency 1 each), the newsmon settings of docker-compose.yml (default model,
default extraction workers). newsmon_ingest is triggered through the REST API; its task
instances run on both workers, extraction runs as several tasks each with worker processes
(in the daemonic prefork child's task process), then the asset triggers newsmon_stories."""

from __future__ import annotations

import shutil

import psycopg
import pytest

from tests.dags import news_site
from tests.dags.airflow_cluster import AirflowCluster, marked_pids

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server missing (make system-deps installs it)")

WORKERS = ("worker-1", "worker-2")


def compose_like_env(db_url: str, feeds, home) -> dict[str, str]:
    """The NEWSMON_* of docker-compose.yml: no model, extraction-worker or batch overrides."""
    return {
        "AIRFLOW_CONN_NEWSMON_DB": db_url,
        "NEWSMON_HOME": str(home),
        "NEWSMON_FEEDS": str(feeds),
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",  # the corpus is served on 127.0.0.1
        "NEWSMON_HOST_DELAY": "0",
        "NEWSMON_EXTRACT_TASKS": "2",
        # triggered runs only: unpausing must not start a scheduled run next to ours
        "NEWSMON_INGEST_SCHEDULE": "none",
    }


def xcom(cluster: AirflowCluster, dag_id: str, run_id: str, task_id: str, map_index: int) -> dict:
    entry = cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/"
                               f"return_value", params={"map_index": map_index, "deserialize": True})
    return entry["value"]


def task_instances(cluster: AirflowCluster, dag_id: str, run_id: str) -> list[dict]:
    return cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_celery_workers_share_ingest_then_stories_run_from_the_asset(pg_server, db_url, http_server, tmp_path):
    feeds = news_site.serve(http_server, tmp_path / "site")
    cluster = AirflowCluster(pg_server, tmp_path / "airflow", compose_like_env(db_url, feeds, tmp_path / "nm"),
                             celery_workers=len(WORKERS), worker_concurrency=1)
    try:
        cluster.start_newsmon()

        run_id = cluster.trigger("newsmon_ingest")
        done = cluster.wait_for_run("newsmon_ingest", run_id, timeout=240)
        tis = task_instances(cluster, "newsmon_ingest", run_id)
        states = cluster.task_states("newsmon_ingest", run_id)
        assert done["state"] == "success", f"{states}\n{cluster.logs()}"
        assert states == {"plan_feed_batches": "success", "fetch_feeds[0]": "success",
                          "extract_articles[0]": "success", "extract_articles[1]": "success",
                          "embed_articles[0]": "success", "embed_articles[1]": "success",
                          "assign_themes": "success"}
        # Celery workers ran them (only they carry these names), both of them
        assert {t["hostname"] for t in tis} == set(WORKERS), [(t["task_id"], t["hostname"]) for t in tis]

        # extraction: two tasks, and the one that got the pages extracted them in worker
        # processes started from the (daemonic) prefork child's task process, not inline
        extracted = [xcom(cluster, "newsmon_ingest", run_id, "extract_articles", i)["counts"] for i in (0, 1)]
        assert sum(c.get("extracted", 0) for c in extracted) == 4
        assert all(c.get("extract_processes", 0) >= 2 for c in extracted if c.get("extracted")), extracted
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT count(*) FROM articles WHERE extract_status = 'ok'").fetchone()[0] == 4
            assert conn.execute("SELECT count(*) FROM article_themes").fetchone()[0] == 4
            assert conn.execute("SELECT count(*) FROM stage_runs WHERE stage = 'ingest_extract' "
                                "AND status = 'ok'").fetchone()[0] == 2
        # embedding and theming: two mapped tasks sharing the backlog through claims; each
        # article embedded and themed once, and the asset counts what they themed
        embedded = [xcom(cluster, "newsmon_ingest", run_id, "embed_articles", i) for i in (0, 1)]
        assert sum(e["embed"]["counts"].get("embedded", 0) for e in embedded) == 4, embedded
        assert sum(e["themes"]["counts"].get("assigned", 0) for e in embedded) == 4, embedded
        assert xcom(cluster, "newsmon_ingest", run_id, "assign_themes", -1)["assigned_in_run"] == 4

        # the asset event of assign_themes schedules newsmon_stories, on a Celery worker too
        def stories_run():
            runs = cluster.api("GET", "/api/v2/dags/newsmon_stories/dagRuns")["dag_runs"]
            finished = [r for r in runs if r["state"] in {"success", "failed"}]
            return finished[0] if finished else None

        story_run = cluster.wait_until(stories_run, 150, "the asset-triggered newsmon_stories run", interval=2)
        assert story_run["run_type"] == "asset_triggered"
        assert story_run["state"] == "success", cluster.logs()
        (story_ti,) = task_instances(cluster, "newsmon_stories", story_run["dag_run_id"])
        assert story_ti["hostname"] in WORKERS
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT count(*) FROM story_members").fetchone()[0] >= 2
    finally:
        late = cluster.stop()
    assert marked_pids(cluster.marker) == []
    assert late == [], f"processes outlived their process group: {late}"
