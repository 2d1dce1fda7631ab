"""
### newsmon_digest

Builds the daily digest (yesterday's volume per theme, top stories in German and English,
new figures, feed problems) and mails it to `NEWSMON_DIGEST_TO`.

Runs when the day's indicators are in (the asset `x-newsmon://indicators` of the 05:30
`newsmon_indicators` run), and at 07:00 Europe/Berlin (`NEWSMON_TIMEZONE`) at the latest:
without them by then, it goes out anyway and says so. It covers the previous local day: the
run at 07:00 on the 28th (or the indicators' run that morning) covers the 27th, also when it
runs late or is re-run. The run that comes second finds the mail sent and sends nothing. Trigger it with the param `day` (`YYYY-MM-DD`) to rebuild or
re-send one day. Sending is idempotent per (day, recipient): a retry or a re-run does not mail
anyone twice.

SMTP: Airflow connection `newsmon_smtp` (fallback `NEWSMON_SMTP_URL`); without one the digest
is written to `$NEWSMON_HOME/digests/` only. Database: connection `newsmon_db`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task
from newsmon_common import (
    INDICATORS_ASSET,
    dag_settings,
    digest_day,
    indicators_cover,
    interval_end,
    local_timezone,
)


@dag(
    **dag_settings(
        "digest",
        schedule=AssetOrTimeSchedule(
            timetable=CronTriggerTimetable("0 7 * * *", timezone=local_timezone(), interval=dt.timedelta(days=1)),
            assets=[INDICATORS_ASSET],
        ),
        timeout=dt.timedelta(hours=1),
        doc=__doc__,
        params={
            "day": Param(
                None, type=["null", "string"], format="date",
                description="Digest for this day (YYYY-MM-DD) instead of the day before the run.",
            ),
        },
    )
)
def newsmon_digest():
    @task(inlets=[INDICATORS_ASSET], execution_timeout=dt.timedelta(minutes=20))
    def send_digest() -> dict:
        """Render the previous day's digest and send it (or write it when SMTP is not set)."""
        from newsmon_airflow import run_task

        context = get_current_context()
        day = digest_day(context, local_timezone())
        ready = indicators_cover(context["inlet_events"][INDICATORS_ASSET], day, local_timezone())
        # send=None: send when SMTP is configured (connection newsmon_smtp or NEWSMON_SMTP_URL)
        return run_task("digest", day=day, send=None, as_of=interval_end(context), indicators_missing=not ready)

    send_digest()


newsmon_digest()
