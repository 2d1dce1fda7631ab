"""
### newsmon_indicators

Extracts the tracked figures from the stored articles (self-sufficiency targets, performance
ratios, market shares, investments; German and English) and collects API readings (model
downloads, repository stars). Observations land in `analytics.indicator_observations`.

Runs daily at 05:30 (`NEWSMON_TIMEZONE`, default Europe/Berlin), before the digest at 07:00.
Articles and readings up to the end of the run's data interval are considered; already
processed articles are not read again. Publishes `x-newsmon://indicators` (extra `until`),
which starts the digest.

Database: Airflow connection `newsmon_db` (fallback `NEWSMON_DATABASE_URL`).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task
from newsmon_common import INDICATORS_ASSET, dag_settings, interval_end, local_timezone


@dag(
    **dag_settings(
        "indicators",
        schedule=CronTriggerTimetable("30 5 * * *", timezone=local_timezone(), interval=dt.timedelta(days=1)),
        timeout=dt.timedelta(hours=2),
        doc=__doc__,
    )
)
def newsmon_indicators():
    @task(outlets=[INDICATORS_ASSET], execution_timeout=dt.timedelta(minutes=45))
    def collect_indicators() -> dict:
        """Figures from article text and public APIs, up to the data interval's end; the asset
        event says up to when (``until``), which the digest checks against its day."""
        from newsmon_airflow import run_task

        context = get_current_context()
        until = interval_end(context)
        result = run_task("indicators", until=until)
        context["outlet_events"][INDICATORS_ASSET].extra = {"until": until.isoformat()}
        return result

    collect_indicators()


newsmon_indicators()
