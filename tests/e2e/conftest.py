"""End-to-end fixtures: the demo pipeline, run once per session into its own database."""

from __future__ import annotations

import os

import psycopg
import pytest

from pipeline.infra.config import Settings


@pytest.fixture(scope="session")
def demo_db_url(pg_server, template_db, tmp_path_factory):
    """A database filled by the real demo pipeline (``run_demo``: bundled corpus served on
    127.0.0.1, every stage). Session-scoped: the demo runs once; tests must not write to it."""
    from pipeline.demo import run_demo

    name = "demo_e2e"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template_db}")
    url = pg_server.url(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update({
        "NEWSMON_DATABASE_URL": url,
        "NEWSMON_HOME": str(tmp_path_factory.mktemp("demohome")),
        "NEWSMON_HOST_DELAY": "0",
    })
    assert run_demo(Settings.from_env(env, dotenv=False)) == 0
    yield url
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
