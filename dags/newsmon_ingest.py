"""
### newsmon_ingest

Fetches the news feeds and turns new entries into embedded, themed articles.

1. **plan_feed_batches** syncs the feed list (`NEWSMON_FEEDS`) into the database and splits
   the feeds that are due (not in backoff) into batches of about `NEWSMON_FEED_BATCH_SIZE`,
   never splitting a host (its delay and robots.txt hold across workers).
2. **fetch_feeds** (one mapped task per batch, `NEWSMON_FETCH_TASKS` at once, default 4)
   fetches the feeds with conditional GET, stores their entries and downloads the new article
   pages (kept compressed); a failing feed or page is recorded (`analytics.feed_health`, the
   entry's `fetch_error`), not raised.
3. **extract_articles** (`NEWSMON_EXTRACT_TASKS` mapped tasks, default 4) extracts the stored
   pages that are still pending; the tasks share them through claims, each with a process pool
   (also under Celery's prefork workers). It runs when some fetch batch failed too.
4. **embed_articles** (`NEWSMON_EMBED_TASKS` mapped tasks, default 2) embed the new articles,
   then theme them; they share the backlog through SKIP LOCKED claims, and a task that finds
   nothing left loads no model (pool `newsmon_embed` caps concurrent model loads).
5. **assign_themes** themes what the embedding tasks left (normally nothing) and, when the run
   themed any article, publishes the asset `x-newsmon://articles`, which schedules
   `newsmon_stories` (with nothing new it ends as skipped).

Schedule: `NEWSMON_INGEST_SCHEDULE` (default `@hourly`). Database: Airflow connection
`newsmon_db` (fallback `NEWSMON_DATABASE_URL`). Every stage resumes where the last run
stopped, so a re-run (or a retry) repeats nothing.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, task
from newsmon_common import (
    ARTICLES_ASSET,
    EMBED_POOL,
    dag_settings,
    embed_tasks,
    extract_tasks,
    feed_batch_size,
    fetch_tasks,
    ingest_schedule,
)


@dag(
    **dag_settings(
        "ingest",
        schedule=ingest_schedule(),
        timeout=dt.timedelta(hours=3),
        doc=__doc__,
        params={
            "retry_failed": Param(False, type="boolean", title="Outage over: retry failed feeds and pages now",
                                  description="`newsmon feeds retry --all-failed --release-claims` before this run"),
        },
    )
)
def newsmon_ingest():
    @task(execution_timeout=dt.timedelta(minutes=5))
    def plan_feed_batches(**context) -> list[list[str]]:
        """Sync the feed list; return the due feeds (and those with pages to retry) in batches.
        With the param ``retry_failed``: first take every failing feed and page out of backoff."""
        from newsmon_airflow import due_feed_urls, host_batches, open_runtime, retry_failed_now
        from pipeline.ingest.stage import sync_feeds

        with open_runtime() as rt:
            if (context.get("params") or {}).get("retry_failed"):
                retry_failed_now(rt)
            names = sync_feeds(rt)
            feeds = due_feed_urls(rt, names)
        return host_batches(feeds, feed_batch_size())

    @task(execution_timeout=dt.timedelta(minutes=30), max_active_tis_per_dag=fetch_tasks())
    def fetch_feeds(names: list[str]) -> dict:
        """Fetch one batch of feeds, store their entries and download new article pages."""
        from newsmon_airflow import run_task

        return run_task("ingest_fetch", names=names)

    # all_done: a fetch batch that failed (after its retries) does not hold up the pages the
    # other batches stored; with no feed due the mapped fetch is skipped, and pending pages of
    # earlier runs still get extracted. The failed batch stays red in the run's grid.
    # Mapped over shard numbers: the tasks claim pending pages CLAIM_CHUNK at a time with
    # SKIP LOCKED, so they share the work wherever they run, each with its process pool.
    @task(trigger_rule="all_done", execution_timeout=dt.timedelta(minutes=60))
    def extract_articles(shard: int) -> dict:
        """Extract the stored pages whose extraction is pending (one of several claimers)."""
        from newsmon_airflow import run_task

        return run_task("ingest_extract")

    # none_failed_min_one_success: embed what the extraction tasks that succeeded stored.
    # Mapped like extraction: the tasks claim batches of the backlog with SKIP LOCKED, so they
    # share it wherever they run; each embeds, then themes (the model is loaded once per task,
    # and only when something is left for it). The pool caps model loads across the workers.
    @task(pool=EMBED_POOL, trigger_rule="none_failed_min_one_success", execution_timeout=dt.timedelta(minutes=60))
    def embed_articles(shard: int) -> dict:
        """Embed the articles that have no vector for the active model, then theme them
        (one of several claimers)."""
        from newsmon_airflow import run_stages

        return run_stages("embed", "themes")

    @task(pool=EMBED_POOL, outlets=[ARTICLES_ASSET], execution_timeout=dt.timedelta(minutes=30))
    def assign_themes(shards: list[dict]) -> dict:
        """Theme what the embedding tasks left (normally nothing: no model is loaded then);
        publishes x-newsmon://articles only when this run themed some articles (else the task
        is skipped: no stories run for nothing)."""
        from airflow.sdk.exceptions import AirflowSkipException
        from newsmon_airflow import run_task, themed_count

        result = run_task("themes")
        assigned = themed_count([result, *(shard["themes"] for shard in shards)])
        if not assigned:
            raise AirflowSkipException("no new articles themed: x-newsmon://articles not published")
        return {**result, "assigned_in_run": assigned}

    fetched = fetch_feeds.expand(names=plan_feed_batches())
    extracted = fetched >> extract_articles.expand(shard=list(range(extract_tasks())))
    embedded = embed_articles.expand(shard=list(range(embed_tasks())))
    extracted >> embedded
    assign_themes(embedded)


newsmon_ingest()
