"""SQL of the migration runner's bookkeeping: ``schema_migrations`` (one row per applied file,
with its checksum) and the rebuild of the ``analytics`` schema. The runner
(``pipeline/infra/db/migrations.py``) owns the connection, the lock and the transactions."""

from __future__ import annotations


def ensure_migrations_table(conn) -> None:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               name text PRIMARY KEY,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )


def applied_checksums(conn) -> dict[str, str]:
    """Applied migration file name -> its checksum when applied."""
    return dict(conn.execute("SELECT name, checksum FROM schema_migrations").fetchall())


def applied_names(conn) -> set[str]:
    """Names of the applied migrations; empty before the first upgrade (no table yet)."""
    if conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone()[0] is None:
        return set()
    return {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}


def record_migration(conn, name: str, checksum: str) -> None:
    conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)", (name, checksum))


def run_script(conn, script: str) -> None:
    """Execute a file from ``sql/`` (several statements, no parameters)."""
    conn.execute(script)


def reset_analytics_schema(conn) -> None:
    """An empty ``analytics`` schema: the view files then re-create every view in it."""
    conn.execute("DROP SCHEMA IF EXISTS analytics CASCADE")
    conn.execute("CREATE SCHEMA analytics")
