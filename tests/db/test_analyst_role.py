"""The newsmon_analyst and newsmon_app roles, against the real embedded Postgres.

The embedded server trusts 127.0.0.1, so logging in proves nothing about the password: the
password itself is checked in pg_authid (as superuser), and every permission is checked by
connecting as the role and trying.
"""

from __future__ import annotations

import dataclasses
import secrets

import psycopg
import pytest
from psycopg import errors, sql

from pipeline.infra import db
from pipeline.infra.db.roles import ANALYST_ROLE, APP_ROLE, RoleError, apply_role_passwords, role_url


@pytest.fixture
def passwords(settings):
    return dataclasses.replace(
        settings, analyst_password="an-" + secrets.token_urlsafe(12), app_password="app-" + secrets.token_urlsafe(12)
    )


@pytest.fixture
def analyst_url(db_url, passwords):
    apply_role_passwords(db_url, passwords)
    return role_url(db_url, ANALYST_ROLE, passwords.analyst_password)


@pytest.fixture
def app_url(db_url, passwords):
    apply_role_passwords(db_url, passwords)
    return role_url(db_url, APP_ROLE, passwords.app_password)


def _seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO feeds (name, url, language) VALUES ('heise', 'http://h/feed', 'de');"
            "INSERT INTO articles (url, canonical_url, title, language, published_at, body_text, extract_status, source)"
            " VALUES ('http://h/1', 'http://h/1', 'Exportkontrollen', 'de', '2026-03-02 10:00+00', 'Text', 'ok', 'heise');"
            "INSERT INTO stories (label, theme, languages) VALUES ('export', 'sanctions', '{de}');"
            "INSERT INTO story_members (article_id, story_id) SELECT article_id, 1 FROM articles;"
            "INSERT INTO embedding_models (model, dims, backend, active) VALUES ('m', 2, 'test', true);"
            "INSERT INTO embeddings (article_id, model, embedding) SELECT article_id, 'm', '[1,0]' FROM articles;"
        )


def _public_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]


def _analytics_relations(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics' ORDER BY 1")]


def test_roles_exist_and_passwords_are_stored_hashed(db_url, passwords):
    result = apply_role_passwords(db_url, passwords)
    assert set(result.updated) == {APP_ROLE, ANALYST_ROLE}
    with psycopg.connect(db_url) as conn:
        rows = {r[0]: r[1:] for r in conn.execute(
            "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolpassword FROM pg_authid "
            "WHERE rolname IN (%s, %s)", (APP_ROLE, ANALYST_ROLE))}
    for role, secret in ((APP_ROLE, passwords.app_password), (ANALYST_ROLE, passwords.analyst_password)):
        canlogin, superuser, createrole, createdb, verifier = rows[role]
        assert canlogin and not superuser and not createrole and not createdb
        assert verifier is not None and verifier.startswith("SCRAM-SHA-256$")
        assert secret not in verifier


def test_no_configured_password_changes_nothing(db_url, settings):
    assert settings.analyst_password is None and settings.app_password is None
    result = apply_role_passwords(db_url, settings)
    assert result.updated == ()
    assert "none configured" in result.summary()


def test_password_for_missing_role_is_a_clear_error(empty_db_url, passwords, monkeypatch):
    monkeypatch.setattr("pipeline.infra.db.roles.ANALYST_ROLE", "newsmon_no_such_role")
    with pytest.raises(RoleError, match="role newsmon_no_such_role does not exist"):
        apply_role_passwords(empty_db_url, passwords)


def test_role_migration_is_idempotent_when_roles_exist(empty_db_url):
    # the roles already exist in this cluster (the template database created them)
    result = db.upgrade(empty_db_url)
    assert "0006_roles.sql" in result.applied
    with psycopg.connect(empty_db_url) as conn:
        settings = conn.execute(
            "SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
            "WHERE r.rolname = %s AND s.setdatabase = 0", (ANALYST_ROLE,)).fetchall()
    assert {"statement_timeout=60s", "default_transaction_read_only=on"} <= {r[0] for r in settings}


def test_analyst_session_has_timeout_and_is_read_only(analyst_url):
    with psycopg.connect(analyst_url) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == ANALYST_ROLE
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "1min"
        assert conn.execute("SHOW transaction_read_only").fetchone()[0] == "on"


def test_analyst_cannot_read_any_raw_table(db_url, analyst_url):
    _seed(db_url)
    tables = _public_tables(db_url)
    assert {"articles", "embeddings", "raw_pages", "feeds", "schema_migrations"} <= set(tables)
    for table in tables:
        with psycopg.connect(analyst_url) as conn:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql.SQL("SELECT * FROM public.{} LIMIT 1").format(sql.Identifier(table)))


@pytest.mark.parametrize("statement", [
    "INSERT INTO analytics.stories (label) VALUES ('x')",   # an auto-updatable view
    "UPDATE analytics.stories SET label = 'x'",
    "DELETE FROM analytics.stories",
    "INSERT INTO public.feeds (name, url, language) VALUES ('x', 'http://x', 'en')",
    "UPDATE public.articles SET title = 'x'",
    "CREATE TABLE analytics.mine (x int)",
    "CREATE TABLE public.mine (x int)",
    "CREATE VIEW analytics.mine AS SELECT 1",
    "CREATE SCHEMA mine",
    "SELECT setval('stories_story_id_seq', 1000)",
])
def test_analyst_cannot_write(db_url, analyst_url, statement):
    _seed(db_url)
    with psycopg.connect(analyst_url) as conn:
        with pytest.raises((errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction)):
            conn.execute(statement)
    # read-only sessions are only the outer fence (an analyst may switch them off): the
    # missing privileges must stop the write on their own
    with psycopg.connect(analyst_url) as conn:
        conn.execute("SET default_transaction_read_only = off")
        conn.commit()
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(statement)
    with psycopg.connect(db_url) as conn:  # and nothing changed
        assert conn.execute("SELECT title FROM articles").fetchall() == [("Exportkontrollen",)]
        assert conn.execute("SELECT count(*) FROM stories").fetchone()[0] == 1


def test_analyst_reads_every_analytics_view_and_calls_the_functions(db_url, analyst_url):
    _seed(db_url)
    relations = _analytics_relations(db_url)
    assert {"articles", "stories", "theme_daily", "indicator_observations", "feed_health"} <= set(relations)
    with psycopg.connect(analyst_url) as conn:
        for name in relations:
            conn.execute(sql.SQL("SELECT * FROM analytics.{} LIMIT 5").format(sql.Identifier(name))).fetchall()
        assert conn.execute("SELECT title FROM analytics.articles").fetchall() == [("Exportkontrollen",)]
        assert conn.execute("SELECT title FROM analytics.search('Exportkontrolle', 'de')").fetchall() == [
            ("Exportkontrollen",)]
        # the only article has no neighbour; the call itself must be allowed
        assert conn.execute("SELECT * FROM analytics.similar_articles(1, 5)").fetchall() == []
        assert [r[0] for r in conn.execute("SELECT source FROM analytics.story_timeline(1)")] == ["heise"]


def test_every_analytics_function_is_executable_by_the_analyst(db_url, analyst_url):
    with psycopg.connect(db_url) as conn:
        functions = conn.execute(
            "SELECT p.oid::regprocedure::text, p.prosecdef, p.proconfig FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'analytics'").fetchall()
        assert {"analytics.search(text,text,integer,boolean)", "analytics.similar_articles(bigint,integer)",
                "analytics.story_timeline(bigint)"} <= {f[0] for f in functions}
        for signature, secdef, config in functions:
            allowed = conn.execute("SELECT has_function_privilege(%s, %s, 'EXECUTE')",
                                   (ANALYST_ROLE, signature)).fetchone()[0]
            assert allowed, signature
            assert not conn.execute("SELECT has_function_privilege('public', %s, 'EXECUTE')",
                                    (signature,)).fetchone()[0], signature
            if secdef:  # a definer function must not resolve names through the caller's path
                assert any(c.startswith("search_path=") for c in config or []), signature


def test_grants_survive_a_second_upgrade(db_url, analyst_url):
    _seed(db_url)
    db.upgrade(db_url)  # drops and rebuilds the analytics schema
    with psycopg.connect(analyst_url) as conn:
        assert conn.execute("SELECT count(*) FROM analytics.articles").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM analytics.search('Exportkontrollen', NULL)").fetchone()[0] == 1


def test_app_role_writes_raw_tables_but_no_schema(db_url, app_url):
    with psycopg.connect(app_url) as conn:
        conn.execute("INSERT INTO feeds (name, url, language) VALUES ('a', 'http://a/feed', 'en')")
        conn.execute("UPDATE feeds SET enabled = false WHERE name = 'a'")
        conn.execute("INSERT INTO stage_runs (stage, status) VALUES ('ingest', 'ok')")
        assert conn.execute("SELECT count(*) FROM analytics.feed_health").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] > 0
    for statement in ("DELETE FROM schema_migrations", "CREATE TABLE public.mine (x int)",
                      "DROP TABLE articles CASCADE", "CREATE TABLE analytics.mine (x int)"):
        with psycopg.connect(app_url) as conn:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
