"""DagBag integrity: every DAG file imports cleanly and follows the house rules."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from tests.dags.conftest import DAGS_FOLDER, load_dagbag

EXPECTED = {"newsmon_ingest", "newsmon_stories", "newsmon_indicators", "newsmon_digest", "newsmon_alerts"}


@pytest.fixture(scope="module")
def dagbag():
    return load_dagbag()


def test_no_import_errors_and_all_dags_present(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_house_rules(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert "newsmon" in dag.tags and len(dag.tags) >= 2
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.doc_md and dag_id in dag.doc_md
    assert dag.owner == "newsmon"
    for t in dag.tasks:
        assert t.owner == "newsmon", t.task_id
        assert t.retries >= 2, t.task_id
        assert t.retry_exponential_backoff and t.retry_exponential_backoff > 1, t.task_id
        assert t.execution_timeout is not None and t.execution_timeout <= dt.timedelta(hours=2), t.task_id
        if not getattr(t, "_is_mapped", False):  # a mapped task keeps its docstring on the callable only
            assert t.doc_md, t.task_id


def test_ingest_structure(dagbag):
    dag = dagbag.dags["newsmon_ingest"]
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == {"plan_feed_batches", "fetch_feeds", "extract_articles", "embed_articles", "assign_themes"}
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    assert isinstance(tasks["fetch_feeds"], MappedOperator)  # fan-out over feed batches
    assert tasks["fetch_feeds"].max_active_tis_per_dag == 4  # NEWSMON_FETCH_TASKS
    assert isinstance(tasks["extract_articles"], MappedOperator)  # fan-out over claim shards
    assert tasks["extract_articles"].op_kwargs_expand_input.value == {"shard": [0, 1, 2, 3]}  # NEWSMON_EXTRACT_TASKS
    # embedding and theming fan out too (claims over one backlog); the pool caps model loads
    assert isinstance(tasks["embed_articles"], MappedOperator)
    assert tasks["embed_articles"].op_kwargs_expand_input.value == {"shard": [0, 1]}  # NEWSMON_EMBED_TASKS
    assert tasks["embed_articles"].pool == "newsmon_embed"
    assert not isinstance(tasks["assign_themes"], MappedOperator)  # one asset event per run
    # a failed fetch batch does not block extracting what the other batches stored
    assert tasks["extract_articles"].trigger_rule == "all_done"
    assert tasks["embed_articles"].trigger_rule == "none_failed_min_one_success"
    assert tasks["extract_articles"].upstream_task_ids == {"fetch_feeds"}
    assert tasks["embed_articles"].upstream_task_ids == {"extract_articles"}
    assert tasks["assign_themes"].upstream_task_ids == {"embed_articles"}
    assert [o.uri for o in tasks["assign_themes"].outlets] == ["x-newsmon://articles"]


def test_fan_out_settings_from_environment(monkeypatch):
    monkeypatch.setenv("NEWSMON_FETCH_TASKS", "9")
    monkeypatch.setenv("NEWSMON_EXTRACT_TASKS", "2")
    tasks = {t.task_id: t for t in load_dagbag(DAGS_FOLDER / "newsmon_ingest.py").dags["newsmon_ingest"].tasks}
    assert tasks["fetch_feeds"].max_active_tis_per_dag == 9
    assert tasks["extract_articles"].op_kwargs_expand_input.value == {"shard": [0, 1]}
    monkeypatch.setenv("NEWSMON_EMBED_TASKS", "3")
    tasks = {t.task_id: t for t in load_dagbag(DAGS_FOLDER / "newsmon_ingest.py").dags["newsmon_ingest"].tasks}
    assert tasks["embed_articles"].op_kwargs_expand_input.value == {"shard": [0, 1, 2]}
    monkeypatch.setenv("NEWSMON_EXTRACT_TASKS", "0")
    bag = load_dagbag(DAGS_FOLDER / "newsmon_ingest.py")
    assert "NEWSMON_EXTRACT_TASKS: expected a positive integer" in str(bag.import_errors)


def test_retry_delay_from_environment(monkeypatch, dagbag):
    from newsmon_common import retry_delay

    assert dagbag.dags["newsmon_ingest"].default_args["retry_delay"] == dt.timedelta(minutes=2)
    monkeypatch.setenv("NEWSMON_RETRY_DELAY", "5")
    assert retry_delay() == dt.timedelta(seconds=5)
    monkeypatch.setenv("NEWSMON_RETRY_DELAY", "soon")
    with pytest.raises(ValueError, match="NEWSMON_RETRY_DELAY: expected a positive integer"):
        retry_delay()


def test_stories_scheduled_on_articles_asset(dagbag):
    dag = dagbag.dags["newsmon_stories"]
    assert [a.uri for a in dag.timetable.asset_condition.objects] == ["x-newsmon://articles"]
    (task,) = dag.tasks
    assert [o.uri for o in task.outlets] == ["x-newsmon://stories"]


def _first_run_after(dag, earliest: dt.datetime):
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    import pendulum

    timetable = coerce_to_core_timetable(dag.timetable)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=pendulum.instance(earliest), latest=None, catchup=True),
    )
    return info


@pytest.mark.parametrize(
    ("earliest", "run_at_utc", "day"),
    [
        # winter (CET, UTC+1): 07:00 Berlin is 06:00 UTC
        (dt.datetime(2026, 11, 27, 12, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 28, 6, tzinfo=dt.timezone.utc),
         dt.date(2026, 11, 27)),
        # summer (CEST, UTC+2): 05:00 UTC
        (dt.datetime(2026, 7, 1, 5, 30, tzinfo=dt.timezone.utc), dt.datetime(2026, 7, 2, 5, tzinfo=dt.timezone.utc),
         dt.date(2026, 7, 1)),
    ],
)
def test_digest_runs_0700_berlin_for_the_previous_day(dagbag, earliest, run_at_utc, day):
    from newsmon_common import digest_day

    info = _first_run_after(dagbag.dags["newsmon_digest"], earliest)
    assert info.run_after == run_at_utc
    assert info.data_interval.end == run_at_utc
    assert info.data_interval.end - info.data_interval.start == dt.timedelta(days=1)
    context = {"data_interval_end": info.data_interval.end, "params": {"day": None}}
    assert digest_day(context, "Europe/Berlin") == day
    # the param overrides the interval (re-send one day)
    assert digest_day({**context, "params": {"day": "2026-01-05"}}, "Europe/Berlin") == dt.date(2026, 1, 5)


def test_alerts_hourly_over_the_past_hour(dagbag):
    info = _first_run_after(dagbag.dags["newsmon_alerts"], dt.datetime(2026, 11, 27, 12, 10, tzinfo=dt.timezone.utc))
    assert info.run_after == dt.datetime(2026, 11, 27, 13, 5, tzinfo=dt.timezone.utc)  # 14:05 Berlin
    assert info.data_interval.end - info.data_interval.start == dt.timedelta(hours=1)
    assert [t.task_id for t in dagbag.dags["newsmon_alerts"].tasks] == ["send_alerts"]


def test_digest_starts_on_the_indicators_asset_or_at_0700(dagbag):
    dag = dagbag.dags["newsmon_digest"]
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert [a.uri for a in dag.timetable.asset_condition.objects] == ["x-newsmon://indicators"]
    (task,) = dag.tasks
    assert [a.uri for a in task.inlets] == ["x-newsmon://indicators"]
    (collect,) = dagbag.dags["newsmon_indicators"].tasks
    assert [a.uri for a in collect.outlets] == ["x-newsmon://indicators"]


def test_indicators_cover_the_digest_day_only_up_to_its_local_end():
    from types import SimpleNamespace

    from newsmon_common import indicators_cover

    day = dt.date(2026, 11, 27)

    def event(until=None, timestamp=None):
        return SimpleNamespace(extra={"until": until} if until else {}, timestamp=timestamp)

    # the 05:30 Berlin run of the 28th (04:30 UTC) covers the 27th; the run of the 27th does not
    assert indicators_cover([event("2026-11-28T04:30:00+00:00")], day, "Europe/Berlin")
    assert not indicators_cover([event("2026-11-28T04:30:00+00:00"), event("2026-11-27T04:30:00+00:00")],
                                day, "Europe/Berlin")  # the latest event counts
    assert not indicators_cover([event("2026-11-27T22:59:00+00:00")], day, "Europe/Berlin")  # 23:59 local
    assert indicators_cover([event("2026-11-27T23:00:00+00:00")], day, "Europe/Berlin")  # midnight local
    assert indicators_cover([event(timestamp=dt.datetime(2026, 11, 28, 5, tzinfo=dt.timezone.utc))], day,
                            "Europe/Berlin")  # no extra: the event's time
    assert not indicators_cover([], day, "Europe/Berlin")


def test_indicators_daily_before_the_digest(dagbag):
    info = _first_run_after(dagbag.dags["newsmon_indicators"], dt.datetime(2026, 11, 27, 12, tzinfo=dt.timezone.utc))
    assert info.run_after == dt.datetime(2026, 11, 28, 4, 30, tzinfo=dt.timezone.utc)


def test_ingest_hourly_by_default(dagbag):
    info = _first_run_after(dagbag.dags["newsmon_ingest"], dt.datetime(2026, 11, 27, 12, 10, tzinfo=dt.timezone.utc))
    assert info.run_after == dt.datetime(2026, 11, 27, 13, tzinfo=dt.timezone.utc)


def test_ingest_schedule_from_environment(monkeypatch):
    monkeypatch.setenv("NEWSMON_INGEST_SCHEDULE", "*/15 * * * *")
    bag = load_dagbag(DAGS_FOLDER / "newsmon_ingest.py")
    info = _first_run_after(bag.dags["newsmon_ingest"], dt.datetime(2026, 11, 27, 12, 10, tzinfo=dt.timezone.utc))
    assert info.run_after == dt.datetime(2026, 11, 27, 12, 15, tzinfo=dt.timezone.utc)
    monkeypatch.setenv("NEWSMON_INGEST_SCHEDULE", "none")
    assert type(load_dagbag(DAGS_FOLDER / "newsmon_ingest.py").dags["newsmon_ingest"].timetable).__name__ == "NullTimetable"


PARSE_PROBE = """
import socket, sys
def refuse(*args, **kwargs):
    raise AssertionError(f"network access at parse time: {args!r}")
socket.socket.connect = refuse
socket.create_connection = refuse
from airflow.dag_processing.dagbag import BundleDagBag
bag = BundleDagBag(dag_folder=sys.argv[1], bundle_path=sys.argv[1], bundle_name="dags-folder")
assert bag.import_errors == {}, bag.import_errors
print("DAGS=" + " ".join(sorted(bag.dag_ids)))
"""


def test_parse_needs_no_database_or_network(tmp_path):
    """Parsing opens no socket and never reads the metadata database (it does not exist here),
    so no connection, Variable or newsmon database is looked up at parse time."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/missing/dir/airflow.db",
        "AIRFLOW_CONN_NEWSMON_DB": "postgresql://u:secret@127.0.0.1:9/newsmon",
        "NEWSMON_DATABASE_URL": "postgresql://u:secret@127.0.0.1:9/newsmon",
    }
    proc = subprocess.run([sys.executable, "-c", PARSE_PROBE, str(DAGS_FOLDER)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("DAGS=")]
    assert line.removeprefix("DAGS=").split() == sorted(EXPECTED)
