"""The newsmon API plugin: routes against a real migrated database (rows inserted by SQL)."""

from __future__ import annotations

import datetime as dt

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
    assert newsmon_app.router.dependencies  # every route: requires_authenticated
    paths = {r.path for r in newsmon_app.routes}
    assert {"/api/theme-volumes", "/api/stories", "/api/indicators", "/api/feed-health", "/digest", "/"} <= paths
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
