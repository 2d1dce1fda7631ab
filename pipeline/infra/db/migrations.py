"""The migration runner: ``sql/migrations`` applied once each, in its own transaction, under
an advisory lock, with checksums; ``sql/views`` re-applied after every upgrade."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg

from pipeline.infra.config import PACKAGE_DIR
from pipeline.infra.db.errors import MigrationError
from pipeline.infra.db.pool import connect
from pipeline.store import locks
from pipeline.store import schema as store

log = logging.getLogger(__name__)


def sql_dir() -> Path:
    """``sql/`` of the source tree; ``NEWSMON_SQL_DIR`` overrides (installed images)."""
    override = os.environ.get("NEWSMON_SQL_DIR")
    if override:
        return Path(override)
    return PACKAGE_DIR.parent / "sql"


@dataclass(frozen=True)
class Migration:
    name: str
    path: Path
    checksum: str


def list_migrations(root: Path | None = None) -> list[Migration]:
    root = root or sql_dir()
    out = []
    for path in sorted((root / "migrations").glob("*.sql")):
        if not path.name[:4].isdigit():
            raise MigrationError(f"migration file name must start with NNNN_: {path.name}")
        out.append(Migration(path.name, path, hashlib.sha256(path.read_bytes()).hexdigest()))
    return out


def list_views(root: Path | None = None) -> list[Path]:
    return sorted(((root or sql_dir()) / "views").glob("*.sql"))


@dataclass
class UpgradeResult:
    applied: list[str]
    already: int
    views: int

    def summary(self) -> str:
        if self.applied:
            return f"applied {len(self.applied)} migration(s): {', '.join(self.applied)}; {self.views} view file(s)"
        return f"schema up to date ({self.already} migration(s)); {self.views} view file(s) re-applied"


def upgrade(url: str, root: Path | None = None) -> UpgradeResult:
    """Apply pending migrations (each in its own transaction) and re-apply all views.

    An advisory lock serialises concurrent upgrades; an applied migration whose file
    changed is refused.
    """
    migrations = list_migrations(root)
    views = list_views(root)
    with connect(url, autocommit=True) as conn:
        locks.session_lock(conn, locks.MIGRATIONS)
        try:
            store.ensure_migrations_table(conn)
            applied = store.applied_checksums(conn)
            known = {m.name for m in migrations}
            for name in applied:
                if name not in known:
                    raise MigrationError(f"migration {name} is applied in the database but missing from {sql_dir()}")
            done: list[str] = []
            for m in migrations:
                if m.name in applied:
                    if applied[m.name] != m.checksum:
                        raise MigrationError(
                            f"migration {m.name} was edited after it was applied "
                            f"(checksum {applied[m.name][:12]} in the database, {m.checksum[:12]} on disk); "
                            "add a new migration instead"
                        )
                    continue
                try:
                    with conn.transaction():
                        store.run_script(conn, m.path.read_text(encoding="utf-8"))
                        store.record_migration(conn, m.name, m.checksum)
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {m.name} failed: {str(exc).strip().splitlines()[0]}") from exc
                log.info("applied migration %s", m.name)
                done.append(m.name)
            _apply_views(conn, views)
        finally:
            locks.session_unlock(conn, locks.MIGRATIONS)
    return UpgradeResult(done, len(migrations) - len(done), len(views))


def _apply_views(conn: psycopg.Connection, views: list[Path]) -> None:
    """Rebuild the ``analytics`` schema from ``sql/views`` in one transaction.

    Dropping and re-creating lets a view file change its columns freely; the last view
    file re-grants access.
    """
    with conn.transaction():
        store.reset_analytics_schema(conn)
        for path in views:
            try:
                store.run_script(conn, path.read_text(encoding="utf-8"))
            except psycopg.Error as exc:
                raise MigrationError(f"view file {path.name} failed: {str(exc).strip().splitlines()[0]}") from exc


def pending_migrations(url: str, root: Path | None = None) -> list[str]:
    with connect(url) as conn:
        applied = store.applied_names(conn)
    return [m.name for m in list_migrations(root) if m.name not in applied]
