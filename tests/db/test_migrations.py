"""Migration runner against the real embedded Postgres."""

from __future__ import annotations

import shutil
import threading

import psycopg
import pytest

from pipeline.infra import db


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('public', 'analytics')"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_empty_database_creates_schema_and_views(empty_db_url):
    result = db.upgrade(empty_db_url)
    assert result.applied and result.applied[0] == "0001_initial.sql"
    tables = _tables(empty_db_url)
    for name in ("feeds", "articles", "feed_entries", "raw_pages", "embeddings", "article_themes",
                 "stories", "story_members", "indicator_definitions", "indicator_observations",
                 "digest_sends", "stage_runs", "schema_migrations"):
        assert f"public.{name}" in tables
    for view in ("articles", "stories", "theme_daily", "indicator_observations", "feed_health"):
        assert f"analytics.{view}" in tables
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        # the analytics contract's columns, in DESIGN.md's order
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' "
            "AND table_name = 'articles' ORDER BY ordinal_position")]
        assert cols[:13] == ["article_id", "url", "canonical_url", "title", "language", "published_at",
                             "body_text", "theme", "theme_score", "story_id", "duplicate_of", "source",
                             "fetched_at"]


def test_second_upgrade_is_a_noop(db_url):
    with psycopg.connect(db_url) as conn:
        before = conn.execute("SELECT name, applied_at FROM schema_migrations ORDER BY name").fetchall()
    result = db.upgrade(db_url)
    assert result.applied == []
    assert result.already == len(before)
    with psycopg.connect(db_url) as conn:
        after = conn.execute("SELECT name, applied_at FROM schema_migrations ORDER BY name").fetchall()
    assert before == after


def test_views_survive_reapply_with_data(db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO feeds (name, url, language) VALUES ('f', 'http://x/f', 'de')")
    db.upgrade(db_url)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT feed FROM analytics.feed_health").fetchall() == [("f",)]


def test_edited_applied_migration_is_refused(db_url, tmp_path):
    root = tmp_path / "sql"
    shutil.copytree(db.sql_dir(), root)
    first = sorted((root / "migrations").glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(db.MigrationError, match=rf"{first.name} was edited after it was applied"):
        db.upgrade(db_url, root)


def test_new_migration_is_applied_once_in_order(db_url, tmp_path):
    root = tmp_path / "sql"
    shutil.copytree(db.sql_dir(), root)
    (root / "migrations" / "9001_extra.sql").write_text("CREATE TABLE extra_a (x int);")
    (root / "migrations" / "9002_more.sql").write_text("ALTER TABLE extra_a ADD COLUMN y int;")
    result = db.upgrade(db_url, root)
    assert result.applied == ["9001_extra.sql", "9002_more.sql"]
    assert db.upgrade(db_url, root).applied == []


def test_failing_migration_rolls_back_completely(db_url, tmp_path):
    root = tmp_path / "sql"
    shutil.copytree(db.sql_dir(), root)
    (root / "migrations" / "9001_bad.sql").write_text("CREATE TABLE half_done (x int); SELECT 1/0;")
    with pytest.raises(db.MigrationError, match="9001_bad.sql failed"):
        db.upgrade(db_url, root)
    assert "public.half_done" not in _tables(db_url)
    with psycopg.connect(db_url) as conn:
        assert not conn.execute("SELECT 1 FROM schema_migrations WHERE name = '9001_bad.sql'").fetchone()


def test_two_concurrent_upgrades(empty_db_url):
    results, errors = [], []

    def go():
        try:
            results.append(db.upgrade(empty_db_url))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    applied = sorted(len(r.applied) for r in results)
    assert applied[0] == 0 and applied[1] == len(db.list_migrations())
    with psycopg.connect(empty_db_url) as conn:
        n = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    assert n == len(db.list_migrations())


def test_pending_migrations(empty_db_url, db_url):
    assert db.pending_migrations(empty_db_url) == [m.name for m in db.list_migrations()]
    assert db.pending_migrations(db_url) == []
