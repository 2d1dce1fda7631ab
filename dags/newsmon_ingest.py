"""
### newsmon_ingest

Fetches the news feeds and turns new entries into embedded, themed articles.

1. **plan_feed_batches** syncs the feed list (`NEWSMON_FEEDS`) into the database and splits
   the feeds that are due (not in backoff) into batches of `NEWSMON_FEED_BATCH_SIZE`.
2. **fetch_feeds** (one mapped task per batch) fetches the feeds with conditional GET, stores
   their entries and downloads the new article pages (kept compressed); a failing feed or page
   is recorded (`analytics.feed_health`, the entry's `fetch_error`), not raised.
3. **extract_articles** extracts the stored pages that are still pending (in processes).
4. **embed_articles** embeds new articles (pool `newsmon_embed` caps concurrent model loads).
5. **assign_themes** assigns a theme to each embedded article and publishes the asset
   `x-newsmon://articles`, which schedules `newsmon_stories`.

Schedule: `NEWSMON_INGEST_SCHEDULE` (default `@hourly`). Database: Airflow connection
`newsmon_db` (fallback `NEWSMON_DATABASE_URL`). Every stage resumes where the last run
stopped, so a re-run (or a retry) repeats nothing.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, task
from newsmon_common import (
    ARTICLES_ASSET,
    DEFAULT_ARGS,
    EMBED_POOL,
    START_DATE,
    TAGS,
    feed_batch_size,
    ingest_schedule,
)


@dag(
    dag_id="newsmon_ingest",
    schedule=ingest_schedule(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(hours=3),
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "ingest"],
    doc_md=__doc__,
)
def newsmon_ingest():
    @task(execution_timeout=dt.timedelta(minutes=5))
    def plan_feed_batches() -> list[list[str]]:
        """Sync the feed list; return the due feeds in batches."""
        from newsmon_airflow import feed_batches, open_runtime
        from pipeline.ingest.stage import sync_feeds

        with open_runtime() as rt:
            names = sync_feeds(rt)
        return feed_batches(names, feed_batch_size())

    @task(execution_timeout=dt.timedelta(minutes=30), max_active_tis_per_dag=4)
    def fetch_feeds(names: list[str]) -> dict:
        """Fetch one batch of feeds, store their entries and download new article pages."""
        from newsmon_airflow import run_task

        return run_task("ingest_fetch", names=names)

    # none_failed: with no feed due the mapped task is skipped, and pending entries of earlier
    # runs still get extracted.
    @task(trigger_rule="none_failed", execution_timeout=dt.timedelta(minutes=60))
    def extract_articles() -> dict:
        """Extract the stored pages whose extraction is pending."""
        from newsmon_airflow import run_task

        return run_task("ingest_extract")

    @task(pool=EMBED_POOL, execution_timeout=dt.timedelta(minutes=60))
    def embed_articles() -> dict:
        """Embed articles that have no vector for the active model."""
        from newsmon_airflow import run_task

        return run_task("embed")

    @task(pool=EMBED_POOL, outlets=[ARTICLES_ASSET], execution_timeout=dt.timedelta(minutes=30))
    def assign_themes() -> dict:
        """Assign a theme to each embedded article; publishes x-newsmon://articles."""
        from newsmon_airflow import run_task

        return run_task("themes")

    fetched = fetch_feeds.expand(names=plan_feed_batches())
    fetched >> extract_articles() >> embed_articles() >> assign_themes()


newsmon_ingest()
