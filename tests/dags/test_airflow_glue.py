"""plugins/newsmon_airflow.py: settings from Airflow connections, with env fallbacks."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from newsmon_airflow import (
    database_url_from_connection,
    host_batches,
    newsmon_settings,
    run_stages,
    run_task,
    smtp_url_from_connection,
    themed_count,
)

pytestmark = pytest.mark.usefixtures("airflow_db")


def conn(uri: str, conn_id: str = "x"):
    from airflow.sdk import Connection

    return Connection.from_uri(uri, conn_id=conn_id)


def test_database_url_from_uri_connection():
    c = conn("postgresql://app%40corp:p%3Ass%2Fw@db.internal:6543/news?sslmode=require&cursor=realdictcursor")
    assert database_url_from_connection(c) == \
        "postgresql://app%40corp:p%3Ass%2Fw@db.internal:6543/news?sslmode=require"  # libpq extras only


def test_database_url_from_json_connection():
    from airflow.sdk import Connection

    c = Connection.from_json(json.dumps({"conn_type": "postgres", "host": "db", "login": "newsmon",
                                         "password": "pw", "schema": "newsmon", "port": 5432}), conn_id="newsmon_db")
    assert database_url_from_connection(c) == "postgresql://newsmon:pw@db:5432/newsmon"


@pytest.mark.parametrize(("uri", "expected"), [
    ("smtp://mailpit:1025", "smtp://mailpit:1025"),
    ("smtps://u:p@mail.example:465", "smtps://u:p@mail.example:465"),
    ("smtp://u:p@mail.example:587?starttls=true", "smtp+starttls://u:p@mail.example:587"),
    ("smtp://mail.example:465?ssl=true", "smtps://mail.example:465"),
])
def test_smtp_url_from_connection(uri, expected):
    assert smtp_url_from_connection(conn(uri)) == expected


def test_connection_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMON_DB", "postgresql://conn:pw@conn-host:5432/newsmon")
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMON_SMTP", "smtp://mail-conn:25")
    env = {"NEWSMON_DATABASE_URL": "postgresql://env:pw@env-host/newsmon", "NEWSMON_SMTP_URL": "smtp://env:25",
           "NEWSMON_HOME": str(tmp_path)}
    settings = newsmon_settings(env)
    assert settings.database_url == "postgresql://conn:pw@conn-host:5432/newsmon"
    assert settings.smtp_url == "smtp://mail-conn:25"


def test_environment_fallback(monkeypatch, tmp_path):
    monkeypatch.delenv("AIRFLOW_CONN_NEWSMON_DB", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_NEWSMON_SMTP", raising=False)
    settings = newsmon_settings({"NEWSMON_DATABASE_URL": "postgresql://env:pw@env-host/newsmon",
                                 "NEWSMON_HOME": str(tmp_path)})
    assert settings.database_url == "postgresql://env:pw@env-host/newsmon"
    assert settings.smtp_url is None


def test_no_database_is_a_one_line_config_error(monkeypatch, tmp_path):
    from pipeline.infra.config import ConfigError

    monkeypatch.delenv("AIRFLOW_CONN_NEWSMON_DB", raising=False)
    with pytest.raises(ConfigError, match="newsmon_db.*NEWSMON_DATABASE_URL"):
        newsmon_settings({"NEWSMON_HOME": str(tmp_path)})


def test_bad_setting_names_the_variable(monkeypatch, tmp_path):
    from pipeline.infra.config import ConfigError

    monkeypatch.setenv("AIRFLOW_CONN_NEWSMON_DB", "postgresql://u:pw@h/newsmon")
    with pytest.raises(ConfigError, match="NEWSMON_HTTP_TIMEOUT"):
        newsmon_settings({"NEWSMON_HTTP_TIMEOUT": "soon", "NEWSMON_HOME": str(tmp_path)})


def test_passwords_are_never_logged(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMON_DB", "postgresql://u:db-s3cret@h/newsmon")
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMON_SMTP", "smtps://mailer:mail-s3cret@mail.example:465")
    with caplog.at_level(logging.DEBUG):
        settings = newsmon_settings({"NEWSMON_HOME": str(tmp_path)})
    assert "db-s3cret" in settings.database_url
    text = caplog.text + repr(settings)
    assert "h/newsmon" in caplog.text and "mail.example" in caplog.text
    assert "db-s3cret" not in text and "mail-s3cret" not in text


def test_host_batches_keep_a_host_in_one_batch():
    feeds = [("a1", "https://a.example/rss"), ("b1", "https://b.example/x"), ("a2", "https://A.example/de"),
             ("c1", "https://c.example/"), ("a3", "http://a.example:8080/f"), ("bad", "http://[::1/")]
    batches = host_batches(feeds, 2)
    assert sorted(n for b in batches for n in b) == sorted(n for n, _ in feeds)
    assert ["a1", "a2", "a3"] in batches  # bigger than the batch size: a batch of its own
    assert all(len(b) <= 2 for b in batches if "a1" not in b)
    assert len(batches) == 3
    assert host_batches([], 5) == []


def test_run_task_runs_a_stage_through_the_registry(monkeypatch, tmp_path, db_url):
    """The one task body: a Runtime from the Airflow connection, the stage by name, its result for XCom."""
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMON_DB", db_url)
    monkeypatch.delenv("AIRFLOW_CONN_NEWSMON_SMTP", raising=False)
    monkeypatch.delenv("NEWSMON_SMTP_URL", raising=False)
    monkeypatch.setenv("NEWSMON_HOME", str(tmp_path))
    out = run_task("digest", day=dt.date(2026, 11, 27), send=None,
                   as_of=dt.datetime(2026, 11, 28, 6, tzinfo=dt.timezone.utc))
    assert out["stage"] == "digest" and out["counts"]["articles"] == 0
    assert any(note.startswith("not sent") for note in out["notes"])  # no SMTP configured: written only
    assert (tmp_path / "digests" / "digest-2026-11-27.html").is_file()
    with pytest.raises(KeyError, match="unknown stage 'bogus'"):
        run_task("bogus")


def test_embed_task_body_embeds_then_themes_and_counts_for_the_asset(monkeypatch, tmp_path, db_url):
    """The body of a mapped embed_articles task: embed, then theme, on one Runtime; a second
    task finding nothing left loads no model, and its results count nothing for the asset."""
    import psycopg

    from tests.support.newsdata import insert_article

    monkeypatch.setenv("AIRFLOW_CONN_NEWSMON_DB", db_url)
    monkeypatch.setenv("NEWSMON_HOME", str(tmp_path))
    with psycopg.connect(db_url) as db:
        for i, title in enumerate(["US widens export controls on AI chips", "EU sanctions Chinese chip makers"]):
            insert_article(db, key=f"glue-{i}", title=title, body="Officials announced the rules on Monday.")
    first = run_stages("embed", "themes")
    assert first["embed"]["counts"]["embedded"] == 2 and first["themes"]["counts"]["assigned"] == 2
    second = run_stages("embed", "themes")
    assert any("not loaded" in note for note in second["embed"]["notes"])
    assert themed_count([second["themes"], run_task("themes")]) == 0
    assert themed_count([first["themes"], second["themes"], {"counts": {}}, None]) == 2


def test_ingest_retry_failed_param_retries_before_planning(monkeypatch, tmp_path, db_url):
    """The newsmon_ingest param ``retry_failed``: its first task takes failing feeds out of
    backoff and releases stale claims, then plans the (now due) feeds."""
    import psycopg

    from tests.dags.conftest import load_dagbag

    feeds = tmp_path / "feeds.yaml"
    feeds.write_text('- name: outlet\n  url: "http://127.0.0.1:9/feed.xml"\n  language: en\n', encoding="utf-8")
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMON_DB", db_url)
    monkeypatch.delenv("AIRFLOW_CONN_NEWSMON_SMTP", raising=False)
    monkeypatch.setenv("NEWSMON_HOME", str(tmp_path))
    monkeypatch.setenv("NEWSMON_FEEDS", str(feeds))
    dag = load_dagbag().dags["newsmon_ingest"]
    assert dag.params["retry_failed"] is False
    plan = dag.get_task("plan_feed_batches").python_callable
    assert plan(params={"retry_failed": False}) == [["outlet"]]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE feeds SET consecutive_failures = 3, next_check_at = now() + interval '1 day'")
        conn.execute("INSERT INTO articles (url, canonical_url, extract_claimed_by, extract_claimed_at) "
                     "VALUES ('https://a.example/1', 'https://a.example/1', 'gone-host:1:x', now())")
    assert plan(params={"retry_failed": False}) == []  # in backoff
    assert plan(params={"retry_failed": True}) == [["outlet"]]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM articles WHERE extract_claimed_by IS NOT NULL").fetchone()[0] == 0
