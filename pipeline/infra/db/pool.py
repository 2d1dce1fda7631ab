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


# libpq's advice lines, which follow the actual reason and say nothing about it
_ADVICE_PREFIXES = ("Is the server running", "Multiple connection attempts failed", "All failures")


def driver_reason(exc: Exception) -> str:
    """Why libpq could not connect ("Connection refused", "database \"x\" does not exist"), each
    distinct reason once; the "connection to server at ... failed:" prefix and advice dropped."""
    reasons: list[str] = []
    for line in str(exc).splitlines():
        line = line.strip().lstrip("- ").strip()
        if not line or line.startswith(_ADVICE_PREFIXES):
            continue
        reason = line.rsplit("failed: ", 1)[-1].strip()
        if reason and reason not in reasons:
            reasons.append(reason)
    return "; ".join(reasons) or type(exc).__name__


def connect(url: str, **kwargs) -> psycopg.Connection:
    """One connection, with unreachable/auth errors turned into one masked line."""
    try:
        return psycopg.connect(url, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        reason = driver_reason(exc)
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
