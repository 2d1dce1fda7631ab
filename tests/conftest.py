"""Shared fixtures: one embedded Postgres per session, a fresh database per test (from a
migrated template), local HTTP servers. Everything runs offline."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import psycopg
import pytest

from pipeline.infra import db
from pipeline.infra.config import Settings

RESOURCES = Path(__file__).parent / "resources"
TEMPLATE = "newsmon_template"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """The real embedded Postgres (PostgreSQL 18 + pgvector), started once for the session."""
    server = db.EmbeddedPostgres(tmp_path_factory.mktemp("pghome"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def template_db(pg_server) -> str:
    admin = pg_server.url("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    db.upgrade(pg_server.url(TEMPLATE))
    return TEMPLATE


def _create_db(pg_server, template: str | None) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return name


def _drop_db(pg_server, name: str) -> None:
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db_url(pg_server, template_db):
    """A fresh, fully migrated database for this test."""
    name = _create_db(pg_server, template_db)
    yield pg_server.url(name)
    _drop_db(pg_server, name)


@pytest.fixture
def empty_db_url(pg_server):
    """A fresh database with nothing in it (for migration tests)."""
    name = _create_db(pg_server, None)
    yield pg_server.url(name)
    _drop_db(pg_server, name)


@pytest.fixture
def settings(tmp_path, db_url) -> Settings:
    env = {
        "NEWSMON_DATABASE_URL": db_url,
        "NEWSMON_HOME": str(tmp_path / "home"),
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",
        "NEWSMON_HOST_DELAY": "0",
    }
    return Settings.from_env(env)


@pytest.fixture
def runtime(settings, db_url):
    from pipeline.infra.progress import NullReporter
    from pipeline.infra.runtime import Runtime

    rt = Runtime.open(settings, url=db_url, auto_upgrade=False, progress=NullReporter())
    yield rt
    rt.close()


@pytest.fixture
def http_server():
    from tests.support.httpserver import LocalServer

    server = LocalServer().start()
    yield server
    server.stop()
