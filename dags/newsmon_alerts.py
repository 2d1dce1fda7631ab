"""
### newsmon_alerts

Hourly: mails subscribers who opted in (`newsmon subscribers add EMAIL --alerts`) when a story
grows fast (articles in the hour against the story's own mean per hour over the week before;
`NEWSMON_ALERT_GROWTH`, `NEWSMON_ALERT_MIN_ARTICLES`) or when an indicator figure changes (a new
reading or a new target).

The hour is the run's data interval (a late or re-run covers the same hour). Each alert is sent
once per reader (ledger `alert_sends`): a retry or a re-run sends nothing twice; many alerts at
once travel in one summarised mail per reader.

SMTP: Airflow connection `newsmon_smtp` (fallback `NEWSMON_SMTP_URL`); without one the alerts
are counted, not sent. Database: connection `newsmon_db`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task
from newsmon_common import dag_settings, interval_end, local_timezone


@dag(
    **dag_settings(
        "alerts",
        # five past the hour: the hourly ingest run has usually stored the hour's articles by then
        schedule=CronTriggerTimetable("5 * * * *", timezone=local_timezone(), interval=dt.timedelta(hours=1)),
        timeout=dt.timedelta(minutes=50),
        doc=__doc__,
    )
)
def newsmon_alerts():
    @task(execution_timeout=dt.timedelta(minutes=20))
    def send_alerts() -> dict:
        """Detect the hour's alerts and mail the readers who opted in."""
        from newsmon_airflow import run_task

        return run_task("alerts", as_of=interval_end(get_current_context()))

    send_alerts()


newsmon_alerts()
