"""Connections: one pool per process with pgvector registered; unreachable or refused
connections become one masked line."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool

from pipeline.infra.config import mask_url
from pipeline.infra.db.errors import DatabaseError


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
