"""
### newsmon_stories

Places newly themed articles into cross-lingual stories (German and English reports of one
event) and refreshes story labels.

Scheduled on the asset `x-newsmon://articles` (published by `newsmon_ingest` after themes),
so it runs once after each ingest run that finished. Articles up to the triggering asset
event's time are considered. Publishes `x-newsmon://stories`.

Database: Airflow connection `newsmon_db` (fallback `NEWSMON_DATABASE_URL`).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, get_current_context, task
from newsmon_common import ARTICLES_ASSET, DEFAULT_ARGS, START_DATE, STORIES_ASSET, TAGS, interval_end


@dag(
    dag_id="newsmon_stories",
    schedule=[ARTICLES_ASSET],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(hours=2),
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "stories"],
    doc_md=__doc__,
)
def newsmon_stories():
    @task(outlets=[STORIES_ASSET], execution_timeout=dt.timedelta(minutes=45))
    def update_stories() -> dict:
        """Cluster new articles into stories (window NEWSMON_STORY_WINDOW_DAYS)."""
        from newsmon_airflow import run_task

        return run_task("stories", until=interval_end(get_current_context()))

    update_stories()


newsmon_stories()
