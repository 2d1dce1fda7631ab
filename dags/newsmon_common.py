"""Shared definitions of the newsmon DAGs: defaults, assets, pools, schedules.

Parse-time code only reads environment variables (no database, no network, no Airflow
Variables, whose lookup would hit the metadata database on every parse). The runtime glue
(connections -> settings -> Runtime) is ``plugins/newsmon_airflow.py``.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import Asset

OWNER = "newsmon"
TAGS = ["newsmon"]

# catchup=False everywhere: a DAG switched on later runs from now, not from this date.
START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

# Each embedding task loads the model (the bundled one ~50 MB, a sentence-transformers model
# ~0.5-1 GB per process): this pool caps how many embedding tasks run at once across all
# workers, so with NEWSMON_EMBED_TASKS above its slots the rest wait. Create it before the
# first run (airflow-init does, with NEWSMON_EMBED_POOL_SLOTS):
#   airflow pools set newsmon_embed 2 "newsmon: concurrent embedding tasks"
EMBED_POOL = "newsmon_embed"

# Assets: the ingest DAG publishes "articles are stored, embedded and themed"; the stories
# DAG is scheduled on it and publishes "stories are up to date".
ARTICLES_ASSET = Asset(name="newsmon_articles", uri="x-newsmon://articles", group="newsmon")
STORIES_ASSET = Asset(name="newsmon_stories", uri="x-newsmon://stories", group="newsmon")
INDICATORS_ASSET = Asset(name="newsmon_indicators", uri="x-newsmon://indicators", group="newsmon")


def retry_delay() -> dt.timedelta:
    """The wait before a task's first retry (``NEWSMON_RETRY_DELAY`` seconds, default 120); it
    doubles with each retry, up to 30 min."""
    raw = os.environ.get("NEWSMON_RETRY_DELAY", "").strip() or "120"
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"NEWSMON_RETRY_DELAY: expected a positive integer, got {raw!r}")
    return dt.timedelta(seconds=int(raw))


# Runs of one DAG would work on the same rows: every DAG sets max_active_runs=1.
DEFAULT_ARGS = {
    "owner": OWNER,
    # A failed task is a systemic fault (database down, bad config): retry with backoff.
    "retries": 3,
    "retry_delay": retry_delay(),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=30),
    "execution_timeout": dt.timedelta(minutes=30),
}



def dag_settings(name: str, *, schedule, timeout: dt.timedelta, doc: str, **extra) -> dict:
    """What every newsmon DAG shares: one run at a time (runs of one DAG would work on the same
    rows), no catch-up (a DAG switched on later runs from now), retries with backoff, tags."""
    return dict(dag_id=f"newsmon_{name}", schedule=schedule, start_date=START_DATE, catchup=False,
                max_active_runs=1, dagrun_timeout=timeout, default_args=DEFAULT_ARGS,
                tags=[*TAGS, name], doc_md=doc, **extra)

def env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def ingest_schedule() -> str | None:
    """Cron expression or preset for newsmon_ingest (``NEWSMON_INGEST_SCHEDULE``, default hourly);
    ``none`` for triggered runs only."""
    value = env("NEWSMON_INGEST_SCHEDULE", "@hourly")
    return None if value.lower() in {"none", "manual"} else value


def local_timezone() -> str:
    """The digest's time zone (``NEWSMON_TIMEZONE``, default Europe/Berlin)."""
    return env("NEWSMON_TIMEZONE", "Europe/Berlin")


def feed_batch_size() -> int:
    """Feeds per mapped fetch task (``NEWSMON_FEED_BATCH_SIZE``, default 10); read at run time."""
    return _positive_int("NEWSMON_FEED_BATCH_SIZE", 10)


def _positive_int(name: str, default: int) -> int:
    raw = env(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}: expected a positive integer, got {raw!r}")
    return int(raw)


def fetch_tasks() -> int:
    """Fetch batches running at once across all workers (``NEWSMON_FETCH_TASKS``, default 4)."""
    return _positive_int("NEWSMON_FETCH_TASKS", 4)


def extract_tasks() -> int:
    """Extraction tasks per ingest run (``NEWSMON_EXTRACT_TASKS``, default 4): they share the
    pending pages through claims and spread over the Celery workers; each runs a process pool
    of ``NEWSMON_EXTRACT_WORKERS`` (default: one per core of its worker)."""
    return _positive_int("NEWSMON_EXTRACT_TASKS", 4)


def embed_tasks() -> int:
    """Embedding tasks per ingest run (``NEWSMON_EMBED_TASKS``, default 2): they share the new
    articles through claims, embed and theme them; each loads the model once, only when some
    work is left for it, and the pool ``newsmon_embed`` caps how many run at once."""
    return _positive_int("NEWSMON_EMBED_TASKS", 2)


def interval_end(context) -> dt.datetime:
    """The end of the run's data interval; for runs without one, the time the run was due.

    Stage time windows come from here, never from ``now()``.
    """
    end = context.get("data_interval_end")
    if end is None:
        dag_run = context.get("dag_run")
        end = getattr(dag_run, "run_after", None) or context.get("logical_date")
    if end is None:
        raise ValueError("this DAG run has neither a data interval nor a run time")
    return end


def digest_day(context, timezone: str) -> dt.date:
    """The day a digest run covers: the ``day`` param when given, else the local calendar day
    before the end of the data interval (the run at 07:00 on the 28th covers the 27th)."""
    params = context.get("params") or {}
    if params.get("day"):
        return dt.date.fromisoformat(str(params["day"]))
    from zoneinfo import ZoneInfo

    end = interval_end(context).astimezone(ZoneInfo(timezone))
    return end.date() - dt.timedelta(days=1)


def indicators_cover(events, day: dt.date, timezone: str) -> bool:
    """Whether the latest indicators asset event covers ``day`` to its (local) end: its
    ``until`` extra (the run's interval end; the event's time for events without one) is at
    or after the next local midnight."""
    from zoneinfo import ZoneInfo

    if not events:
        return False
    latest = events[-1]
    raw = (getattr(latest, "extra", None) or {}).get("until")
    until = dt.datetime.fromisoformat(raw) if raw else getattr(latest, "timestamp", None)
    if until is None:
        return False
    day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=ZoneInfo(timezone))
    return until >= day_end
