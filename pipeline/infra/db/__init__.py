"""Database access, one module per job: ``server`` (the embedded Postgres), ``pool``
(connections), ``migrations`` (the schema runner), ``roles`` (login roles). This face names
the public API, so callers write ``db.upgrade(url)``."""

from pipeline.infra.db.errors import DatabaseError, MigrationError
from pipeline.infra.db.migrations import UpgradeResult, list_migrations, list_views, pending_migrations, sql_dir, upgrade
from pipeline.infra.db.pool import connect, describe_target, open_pool
from pipeline.infra.db.server import (
    DATABASE_NAME, EmbeddedPostgres, NoDatabaseError, database_url, embedded_for, psql_command, psql_environment,
    wait_until,
)

__all__ = [
    "DATABASE_NAME", "DatabaseError", "EmbeddedPostgres", "MigrationError", "NoDatabaseError", "UpgradeResult", "connect",
    "database_url", "describe_target", "embedded_for", "list_migrations", "list_views", "open_pool",
    "pending_migrations", "psql_command", "psql_environment", "sql_dir", "upgrade", "wait_until",
]
