"""The newsmon API plugin: routes against a real migrated database (rows inserted by SQL)."""

from __future__ import annotations


import psycopg
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def seeded(db_url):
    """Two days of articles in two themes and languages, one story, one figure, two feeds."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO feeds (name, url, language, last_status, last_success_at, consecutive_failures, last_error)
               VALUES ('heise', 'https://heise.example/rss', 'de', 200, '2026-11-27 08:00+00', 0, NULL),
                      ('broken', 'https://broken.example/rss', 'en', 503, NULL, 4, 'HTTP 503')""")
        ids = {}
        for key, lang, theme, published in [
            ("a1", "de", "chips", "2026-11-26 10:00+00"),
            ("a2", "en", "chips", "2026-11-27 10:00+00"),
            ("a3", "en", "sanctions", "2026-11-27 11:00+00"),
        ]:
            ids[key] = conn.execute(
                """INSERT INTO articles (url, canonical_url, title, language, published_at, body_text,
                                         extract_status, source, fetched_at)
                   VALUES (%s, %s, %s, %s, %s, 'text', 'ok', 'heise', %s) RETURNING article_id""",
                (f"https://n.example/{key}", f"https://n.example/{key}", f"Title {key}", lang, published, published),
            ).fetchone()[0]
            conn.execute("INSERT INTO article_themes (article_id, theme, theme_score) VALUES (%s, %s, 0.9)",
                         (ids[key], theme))
        story = conn.execute(
            """INSERT INTO stories (label, theme, first_seen, last_seen, article_count, languages)
               VALUES ('Chip export rules', 'chips', '2026-11-26 10:00+00', '2026-11-27 10:00+00', 2, '{de,en}')
               RETURNING story_id""").fetchone()[0]
        conn.execute("INSERT INTO story_members (article_id, story_id) VALUES (%s, %s), (%s, %s)",
                     (ids["a1"], story, ids["a2"], story))
        conn.execute(
            """INSERT INTO indicator_definitions (indicator, kind, unit) VALUES ('cn_chip_self_sufficiency',
               'self_sufficiency_target', 'percent') ON CONFLICT DO NOTHING""")
        conn.execute(
            """INSERT INTO indicator_observations (indicator, subject, value, unit, target_year, observed_at,
                   article_id, article_url, quote, source_kind)
               VALUES ('cn_chip_self_sufficiency', 'China', 70, 'percent', 2028, '2026-11-27 10:00+00', %s,
                   'https://n.example/a2', '70 %% by 2028', 'article')""", (ids["a2"],))
    return {"story_id": story, **ids}


@pytest.fixture
def client(settings, seeded):
    from newsmon_api import create_app

    with TestClient(create_app(lambda: settings)) as c:
        yield c


def test_theme_volumes(client):
    body = client.get("/api/theme-volumes").json()
    assert body["until"] == "2026-11-27" and body["since"] == "2026-10-29"
    got = {(r["day"], r["theme"], r["language"]): r["article_count"] for r in body["items"]}
    assert got == {("2026-11-26", "chips", "de"): 1, ("2026-11-27", "chips", "en"): 1,
                   ("2026-11-27", "sanctions", "en"): 1}
    only = client.get("/api/theme-volumes", params={"since": "2026-11-27", "theme": "chips"}).json()
    assert [(r["day"], r["theme"]) for r in only["items"]] == [("2026-11-27", "chips")]
    assert client.get("/api/theme-volumes", params={"since": "not-a-date"}).status_code == 422


def test_stories(client, seeded):
    body = client.get("/api/stories", params={"language": "de"}).json()
    assert body["count"] == 1
    (story,) = body["items"]
    assert story["story_id"] == seeded["story_id"]
    assert story["label"] == "Chip export rules" and sorted(story["languages"]) == ["de", "en"]
    assert client.get("/api/stories", params={"theme": "sanctions"}).json()["count"] == 0
    assert client.get("/api/stories", params={"limit": 0}).status_code == 422


def test_indicators(client):
    (obs,) = client.get("/api/indicators").json()["items"]
    assert obs["indicator"] == "cn_chip_self_sufficiency"
    assert obs["value"] == 70 and obs["unit"] == "percent" and obs["target_year"] == 2028
    assert obs["source_kind"] == "article"
    assert client.get("/api/indicators", params={"source_kind": "api"}).json()["count"] == 0
    assert client.get("/api/indicators", params={"source_kind": "bogus"}).status_code == 422


def test_feed_health(client):
    items = client.get("/api/feed-health").json()["items"]
    assert [f["feed"] for f in items] == ["broken", "heise"]  # failing first
    assert items[0]["consecutive_failures"] == 4 and items[0]["last_error"] == "HTTP 503"
    assert [f["feed"] for f in client.get("/api/feed-health", params={"failing_only": True}).json()["items"]] == ["broken"]


def test_digest_preview_serves_the_newest_file(client, settings):
    assert client.get("/digest").status_code == 404  # nothing written yet
    settings.digests_dir.mkdir(parents=True)
    (settings.digests_dir / "digest-2026-11-26.html").write_text("<html>older</html>")
    (settings.digests_dir / "digest-2026-11-27.html").write_text("<html>newest</html>")
    (settings.digests_dir / "notes.txt").write_text("ignored")
    resp = client.get("/digest")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert resp.text == "<html>newest</html>"
    assert client.get("/digest", params={"day": "2026-11-26"}).text == "<html>older</html>"


def test_digest_rendered_on_demand_for_a_day_without_file(client):
    resp = client.get("/digest", params={"day": "2026-11-27"})
    assert resp.status_code == 200
    assert "<html" in resp.text.lower() and "Title a2" in resp.text


def test_index_page(client):
    page = client.get("/").text
    assert "Chip export rules" in page and "broken" in page and "api/theme-volumes" in page


def test_unreachable_database_is_503_without_secret(tmp_path):
    from newsmon_api import create_app
    from pipeline.infra.config import Settings

    bad = Settings.from_env({"NEWSMON_DATABASE_URL": "postgresql://u:topsecret@127.0.0.1:9/newsmon",
                             "NEWSMON_HOME": str(tmp_path)})
    with TestClient(create_app(lambda: bad)) as c:
        resp = c.get("/api/stories")
    assert resp.status_code == 503
    assert "topsecret" not in resp.text and "127.0.0.1" in resp.text


def test_plugin_registration():
    """The plugin mounts the app under /newsmon behind Airflow's authentication and adds a menu link."""
    from airflow import plugins_manager
    from newsmon_plugin import NewsmonPlugin, newsmon_app

    (app_spec,) = NewsmonPlugin.fastapi_apps
    assert app_spec["url_prefix"] == "/newsmon" and app_spec["app"] is newsmon_app
    (view,) = NewsmonPlugin.external_views
    assert view["href"] == "/newsmon/" and view["url_route"] == "newsmon"
    from fastapi.routing import APIRoute

    for route in (r for r in newsmon_app.routes if isinstance(r, APIRoute)):
        # every route requires_authenticated, but the unsubscribe link (a signed token guards it)
        assert bool(route.dependencies) == (route.path != "/unsubscribe"), route.path
    paths = {r.path for r in newsmon_app.routes}
    assert {"/api/theme-volumes", "/api/stories", "/api/indicators", "/api/feed-health", "/digest", "/",
            "/api/stages", "/api/backlogs", "/api/mail", "/api/api-fetches", "/docs", "/redoc", "/openapi.json"} <= paths
    plugins, errors = plugins_manager._get_plugins()
    assert "newsmon" in {p.name for p in plugins}
    assert not errors


def test_missing_schema_and_missing_configuration_are_503(tmp_path, empty_db_url):
    from newsmon_api import create_app
    from pipeline.infra.config import ConfigError, Settings

    blank = Settings.from_env({"NEWSMON_DATABASE_URL": empty_db_url, "NEWSMON_HOME": str(tmp_path)})
    with TestClient(create_app(lambda: blank)) as c:
        resp = c.get("/api/feed-health")
    assert resp.status_code == 503 and "analytics" in resp.json()["detail"]

    def unconfigured():
        raise ConfigError("no newsmon database: define the Airflow connection 'newsmon_db'")

    with TestClient(create_app(unconfigured)) as c:
        for path in ("/", "/digest", "/api/stories"):
            resp = c.get(path)
            assert resp.status_code == 503 and "newsmon_db" in resp.json()["detail"], path


def test_503_body_masks_password_query_parameters(tmp_path):
    from newsmon_api import create_app
    from pipeline.infra.config import Settings

    bad = Settings.from_env({
        "NEWSMON_DATABASE_URL": "postgresql://u:topsecret@127.0.0.1:9/newsmon?password=pw2&sslpassword=pw3&sslmode=disable",
        "NEWSMON_HOME": str(tmp_path)})
    with TestClient(create_app(lambda: bad)) as c:
        for resp in (c.get("/api/feed-health"), c.post("/api/feeds/retry?all_failed=true")):
            assert resp.status_code == 503
            assert not any(s in resp.text for s in ("topsecret", "pw2", "pw3")) and "password=***" in resp.text


def test_retry_action_writes_through_the_write_connection(settings, seeded, tmp_path):
    import dataclasses

    from newsmon_api import create_app

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("UPDATE feeds SET next_check_at = now() + interval '1 day' WHERE name = 'broken'")
    reads = dataclasses.replace(settings, database_url="postgresql://nobody@127.0.0.1:9/none")  # never used to write
    with TestClient(create_app(lambda: reads, write_settings_provider=lambda: settings)) as c:
        assert c.post("/api/feeds/retry").status_code == 400  # names or all_failed
        unknown = c.post("/api/feeds/retry?feed=nope")
        assert unknown.status_code == 400 and "nope" in unknown.json()["detail"]
        done = c.post("/api/feeds/retry?feed=broken")
    assert done.status_code == 200 and done.json()["feeds_cleared"] == ["broken"]
    assert any("1 taken out of backoff (broken)" in line for line in done.json()["done"])
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute("SELECT next_check_at FROM feeds WHERE name = 'broken'").fetchone()[0] is None


# --------------------------------------------------------------------------- ops pages


@pytest.fixture
def ops_seeded(db_url, seeded):
    """Stage runs (one stage failing now, one that failed before and recovered), an article
    waiting for extraction, a failed digest mail and a failed API read."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO stage_runs (stage, status, started_at, finished_at, error) VALUES
               ('embed', 'failed', '2026-11-27 06:00+00', '2026-11-27 06:01+00', 'model missing'),
               ('embed', 'ok',     '2026-11-27 07:00+00', '2026-11-27 07:02+00', NULL),
               ('themes', 'ok',    '2026-11-27 06:00+00', '2026-11-27 06:01+00', NULL),
               ('themes', 'failed','2026-11-27 08:00+00', '2026-11-27 08:01+00', 'database went away')""")
        conn.execute("""INSERT INTO articles (url, canonical_url, title, language, extract_status, source)
                        VALUES ('https://n.example/p', 'https://n.example/p', NULL, 'de', 'pending', 'heise')""")
        conn.execute("""INSERT INTO digest_sends (day, recipient, status, attempts, last_error) VALUES
                        ('2026-11-27', 'ana@example.org', 'failed', 3, 'SMTP 550 mailbox unavailable'),
                        ('2026-11-27', 'bo@example.org', 'sent', 1, NULL)""")
        conn.execute("""INSERT INTO indicator_api_fetches (provider, repo, observed_at, status, http_status, error,
                            source_url) VALUES
                        ('huggingface', 'Qwen/Qwen3-8B', '2026-11-27 06:00+00', 'failed', 429, 'rate limited',
                         'https://huggingface.co/api/models/Qwen/Qwen3-8B'),
                        ('github', 'deepseek-ai/DeepSeek-V3', '2026-11-27 06:00+00', 'ok', 200, NULL,
                         'https://api.github.com/repos/deepseek-ai/DeepSeek-V3')""")
    return seeded


@pytest.fixture
def analyst_client(settings, ops_seeded, db_url):
    """The app as the plugin runs it: reads as newsmon_analyst, the digest rendered through the
    pipeline's own connection."""
    import dataclasses
    import secrets

    from newsmon_api import create_app
    from pipeline.infra.db.roles import ANALYST_ROLE, apply_role_passwords, role_url

    password = secrets.token_urlsafe(12)
    apply_role_passwords(db_url, dataclasses.replace(settings, analyst_password=password))
    analyst = dataclasses.replace(settings, database_url=role_url(db_url, ANALYST_ROLE, password))
    with TestClient(create_app(lambda: analyst, write_settings_provider=lambda: settings)) as c:
        yield c


def test_stages_last_run_and_last_failure(analyst_client):
    items = {s["stage"]: s for s in analyst_client.get("/api/stages").json()["items"]}
    assert items["themes"]["last_status"] == "failed" and items["themes"]["last_failure_error"] == "database went away"
    assert items["embed"]["last_status"] == "ok"  # recovered, but its last failure is still shown
    assert items["embed"]["last_failure_error"] == "model missing"
    assert items["embed"]["last_failure_at"].startswith("2026-11-27T06:00")
    assert items["embed"]["runs"] == 2 and items["embed"]["failures"] == 1
    failing = analyst_client.get("/api/stages", params={"failing_only": True}).json()["items"]
    assert [s["stage"] for s in failing] == ["themes"]
    assert analyst_client.get("/api/stages", params={"stage": "embed"}).json()["count"] == 1


def test_backlogs(analyst_client):
    body = analyst_client.get("/api/backlogs").json()
    # the seeded articles have text but no vector yet; one page waits for extraction
    assert body["pending_extraction"] == 1 and body["pending_embedding"] == 3
    assert body["unthemed"] == 0 and body["unplaced"] == 0 and body["embedding_model"] is None
    assert body["stale_embedding"] == 0


def test_mail_deliveries_per_recipient_with_filters(analyst_client):
    items = analyst_client.get("/api/mail").json()["items"]
    assert {(m["recipient"], m["status"]) for m in items} == {("ana@example.org", "failed"), ("bo@example.org", "sent")}
    (failed,) = analyst_client.get("/api/mail", params={"status": "failed"}).json()["items"]
    assert failed["kind"] == "digest" and failed["item"] == "2026-11-27" and failed["attempts"] == 3
    assert failed["last_error"] == "SMTP 550 mailbox unavailable"
    assert analyst_client.get("/api/mail", params={"recipient": "bo@example.org"}).json()["count"] == 1
    assert analyst_client.get("/api/mail", params={"kind": "alert"}).json()["count"] == 0
    assert analyst_client.get("/api/mail", params={"status": "lost"}).status_code == 422


def test_api_fetch_failures_with_filters(analyst_client):
    (failed,) = analyst_client.get("/api/api-fetches").json()["items"]  # failed ones by default
    assert failed["repo"] == "Qwen/Qwen3-8B" and failed["http_status"] == 429 and failed["error"] == "rate limited"
    assert analyst_client.get("/api/api-fetches", params={"status": "all"}).json()["count"] == 2
    assert analyst_client.get("/api/api-fetches", params={"status": "all", "provider": "github"}).json()["count"] == 1
    assert analyst_client.get("/api/api-fetches", params={"provider": "gitlab"}).status_code == 422


def test_overview_page_shows_ops_sections_as_analyst(analyst_client):
    page = analyst_client.get("/").text
    for text in ("Stages", "database went away", "Backlogs", "Failed mail", "SMTP 550 mailbox unavailable",
                 "Failed API fetches", "rate limited"):
        assert text in page, text


def test_digest_renders_through_the_pipeline_connection(analyst_client):
    resp = analyst_client.get("/digest", params={"day": "2026-11-27"})
    assert resp.status_code == 200 and "Title a2" in resp.text


def test_analyst_connection_cannot_read_raw_tables(settings, db_url, ops_seeded):
    """The pages' role really is the read-only one: a raw table is refused to it."""
    import dataclasses
    import secrets

    from pipeline.infra.db.roles import ANALYST_ROLE, apply_role_passwords, role_url

    password = secrets.token_urlsafe(12)
    apply_role_passwords(db_url, dataclasses.replace(settings, analyst_password=password))
    with psycopg.connect(role_url(db_url, ANALYST_ROLE, password)) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM public.stage_runs")


def test_docs_and_openapi_need_the_login(settings, seeded):
    from fastapi import Header, HTTPException

    from newsmon_api import create_app

    def login(authorization: str | None = Header(None)) -> None:
        if authorization != "Bearer ok":
            raise HTTPException(status_code=401, detail="login required")

    from fastapi import Depends

    with TestClient(create_app(lambda: settings, dependencies=[Depends(login)])) as c:
        for path in ("/docs", "/redoc", "/openapi.json", "/api/stages", "/"):
            assert c.get(path).status_code == 401, path
        auth = {"Authorization": "Bearer ok"}
        assert "swagger" in c.get("/docs", headers=auth).text.lower()
        assert "redoc" in c.get("/redoc", headers=auth).text.lower()
        spec = c.get("/openapi.json", headers=auth).json()
        assert {"/api/stages", "/api/backlogs", "/api/mail", "/api/api-fetches"} <= set(spec["paths"])
        assert "/docs" not in spec["paths"]


def test_plugin_reads_through_the_analyst_connection(monkeypatch):
    import newsmon_api
    from airflow.models.connection import Connection

    monkeypatch.setenv("NEWSMON_DATABASE_URL", "postgresql://app:apppw@db:5432/newsmon")
    analyst = Connection(conn_id="newsmon_analyst_db", conn_type="postgres", host="db", login="newsmon_analyst",
                         password="anpw", schema="newsmon", port=5432)
    monkeypatch.setattr("newsmon_airflow._airflow_connection", lambda conn_id: None)
    settings = newsmon_api.analyst_settings(lambda conn_id: analyst if conn_id == "newsmon_analyst_db" else None)
    assert settings.database_url == "postgresql://newsmon_analyst:anpw@db:5432/newsmon"
    fallback = newsmon_api.analyst_settings(lambda conn_id: None)  # no analyst connection: newsmon_db / env
    assert fallback.database_url == "postgresql://app:apppw@db:5432/newsmon"
