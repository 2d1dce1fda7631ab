"""The runtime every stage receives: settings, the one connection pool, a progress reporter."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from psycopg_pool import ConnectionPool

from pipeline.infra import db
from pipeline.infra.config import Settings
from pipeline.infra.progress import LogReporter, Reporter

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    pool: ConnectionPool
    url: str
    progress: Reporter = field(default_factory=LogReporter)

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        url: str | None = None,
        progress: Reporter | None = None,
        auto_upgrade: bool | None = None,
    ) -> "Runtime":
        """Connect (starting the embedded server if that is the database) and check the schema.

        The embedded database is upgraded automatically; an external one must be upgraded
        on purpose (``newsmon db upgrade``), so a stale schema is an error there.
        """
        settings = settings or Settings.from_env()
        url = url or db.database_url(settings)
        if auto_upgrade is None:
            auto_upgrade = settings.embedded
        if auto_upgrade:
            db.upgrade(url)
        else:
            pending = db.pending_migrations(url)
            if pending:
                raise db.DatabaseError(
                    f"database schema at {db.describe_target(url)} is behind ({len(pending)} pending "
                    f"migration(s), first {pending[0]}): run `newsmon db upgrade`"
                )
        pool = db.open_pool(url, max_size=settings.pool_max_size)
        return cls(settings=settings, pool=pool, url=url, progress=progress or LogReporter())

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
