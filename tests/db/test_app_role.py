"""The pipeline's role (newsmon_app) can do what the stages need without owning the tables."""

from __future__ import annotations

import psycopg
import pytest

from pipeline.store import embeddings as store


@pytest.fixture
def app_url(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ALTER ROLE newsmon_app LOGIN")
    return db_url.replace("postgresql://postgres@", "postgresql://newsmon_app@")


def test_app_role_creates_the_model_index_through_the_owner_function(app_url, db_url):
    with psycopg.connect(app_url, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "newsmon_app"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE INDEX nope ON embeddings (model)")
        assert store.ensure_index(conn, "demo/model-x", 8) is True
        assert store.ensure_index(conn, "demo/model-x", 8) is False  # idempotent
        with pytest.raises(psycopg.errors.RaiseException):
            conn.execute("SELECT newsmon_ensure_embedding_index('articles_pkey; drop', 'm', 8)")
    with psycopg.connect(db_url) as conn:
        indexdef = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s", (store.index_name("demo/model-x"),)
        ).fetchone()[0]
    assert "hnsw" in indexdef and "vector(8)" in indexdef and "demo/model-x" in indexdef


def test_app_role_writes_raw_tables_but_not_the_schema(app_url):
    with psycopg.connect(app_url, autocommit=True) as conn:
        conn.execute("INSERT INTO feeds (name, url, language) VALUES ('f', 'http://x/f', 'en')")
        assert conn.execute("SELECT count(*) FROM feeds").fetchone()[0] == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE feeds")
