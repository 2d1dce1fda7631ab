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
from newsmon_common import ARTICLES_ASSET, STORIES_ASSET, dag_settings, interval_end


@dag(
    **dag_settings(
        "stories",
        schedule=[ARTICLES_ASSET],
        timeout=dt.timedelta(hours=2),
        doc=__doc__,
    )
)
def newsmon_stories():
    @task(outlets=[STORIES_ASSET], execution_timeout=dt.timedelta(minutes=45))
    def update_stories() -> dict:
        """Cluster new articles into stories (window NEWSMON_STORY_WINDOW_DAYS)."""
        from newsmon_airflow import run_task

        return run_task("stories", until=interval_end(get_current_context()))

    update_stories()


newsmon_stories()
