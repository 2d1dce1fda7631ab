"""Airflow glue for newsmon: settings from Airflow connections, one Runtime per task.

Used by the DAG files (``run_task`` is the body of every stage task) and by the newsmon API
plugin. Importing this module touches neither the database nor the network; everything
happens when a function is called.

The database URL comes from the Airflow connection ``newsmon_db`` (for example
``AIRFLOW_CONN_NEWSMON_DB=postgresql://user:pass@host:5432/newsmon``), falling back to
``NEWSMON_DATABASE_URL``; SMTP from ``newsmon_smtp`` falling back to ``NEWSMON_SMTP_URL``.
Every other setting is the usual ``NEWSMON_*`` environment (see the README).

It lives in ``plugins/`` because Airflow puts that folder on ``sys.path`` in every component
(API server, scheduler, DAG processor, workers), so the DAGs and the plugin share one copy.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import quote, urlencode, urlsplit

if TYPE_CHECKING:
    from pipeline.infra.config import Settings
    from pipeline.infra.runs import StageResult
    from pipeline.infra.runtime import Runtime

log = logging.getLogger("newsmon.airflow")

DB_CONN_ID = "newsmon_db"
SMTP_CONN_ID = "newsmon_smtp"

# libpq keywords that may travel in a connection's extras (anything else there, e.g. the
# postgres provider's "cursor" or "sqlalchemy_scheme", means nothing to libpq and is dropped).
_LIBPQ_EXTRAS = frozenset({
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslpassword", "sslnegotiation",
    "sslcompression", "sslsni", "requiressl", "gssencmode", "channel_binding", "connect_timeout",
    "application_name", "options", "target_session_attrs", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "client_encoding",
    "load_balance_hosts", "passfile", "require_auth",
})
_TRUE = {"1", "true", "yes", "on"}


def _airflow_connection(conn_id: str):
    """The Airflow connection, or None when it is not defined anywhere."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


def _userinfo(conn) -> str:
    if not conn.login:
        return ""
    info = quote(conn.login, safe="")
    if conn.password:
        info += ":" + quote(conn.password, safe="")
    return info + "@"


def _hostport(conn) -> str:
    host = conn.host or ""
    if ":" in host and not host.startswith("["):  # bare IPv6 address
        host = f"[{host}]"
    return host + (f":{conn.port}" if conn.port else "")


def database_url_from_connection(conn) -> str:
    """A ``postgresql://`` URL from an Airflow connection (libpq extras become query parameters)."""
    if not conn.host:
        raise _config_error(f"Airflow connection {conn.conn_id!r} has no host")
    query = {k: str(v) for k, v in (conn.extra_dejson or {}).items() if k in _LIBPQ_EXTRAS}
    url = f"postgresql://{_userinfo(conn)}{_hostport(conn)}/{quote(conn.schema or 'newsmon', safe='')}"
    return url + (f"?{urlencode(query)}" if query else "")


def smtp_url_from_connection(conn) -> str:
    """``smtp://``, ``smtp+starttls://`` or ``smtps://`` from an Airflow connection.

    The scheme follows the connection type (``smtps``, ``smtp+starttls``), else the extras
    ``{"ssl": true}`` or ``{"starttls": true}``; a plain ``smtp`` connection stays plain.
    """
    if not conn.host:
        raise _config_error(f"Airflow connection {conn.conn_id!r} has no host")
    extra = conn.extra_dejson or {}
    kind = (conn.conn_type or "smtp").lower().replace("_", "+")
    if kind == "smtps" or str(extra.get("ssl", "")).lower() in _TRUE:
        scheme = "smtps"
    elif kind == "smtp+starttls" or str(extra.get("starttls", "")).lower() in _TRUE:
        scheme = "smtp+starttls"
    else:
        scheme = "smtp"
    return f"{scheme}://{_userinfo(conn)}{_hostport(conn)}"


def _config_error(message: str):
    from pipeline.infra.config import ConfigError

    return ConfigError(message)


def _mask(url: str | None) -> None:
    """Register a URL's password with Airflow's secrets masker (env URLs are not known to it)."""
    if not url:
        return
    try:
        password = urlsplit(url).password
    except ValueError:
        return
    if password:
        from airflow.sdk.log import mask_secret

        mask_secret(password)


def newsmon_settings(environ: dict[str, str] | None = None, *, require_database: bool = True) -> "Settings":
    """Settings from ``NEWSMON_*`` with the database and SMTP URLs taken from Airflow connections.

    Raises ``ConfigError`` (one line, no secret) when no database is configured: inside Airflow
    newsmon never falls back to its embedded Postgres.
    """
    from pipeline.infra.config import Settings, mask_url

    env = dict(os.environ if environ is None else environ)
    sources = {}
    for conn_id, var, build in (
        (DB_CONN_ID, "NEWSMON_DATABASE_URL", database_url_from_connection),
        (SMTP_CONN_ID, "NEWSMON_SMTP_URL", smtp_url_from_connection),
    ):
        conn = _airflow_connection(conn_id)
        if conn is not None:
            env[var] = build(conn)
            sources[var] = f"connection {conn_id}"
        elif env.get(var, "").strip():
            sources[var] = var
        _mask(env.get(var))
    settings = Settings.from_env(env)
    if require_database and settings.embedded:
        raise _config_error(
            f"no newsmon database: define the Airflow connection {DB_CONN_ID!r} "
            f"(AIRFLOW_CONN_{DB_CONN_ID.upper()}) or set NEWSMON_DATABASE_URL"
        )
    log.info(
        "newsmon database %s (from %s); SMTP %s",
        mask_url(settings.database_url), sources.get("NEWSMON_DATABASE_URL", "-"),
        f"{mask_url(settings.smtp_url)} (from {sources['NEWSMON_SMTP_URL']})" if settings.smtp_url else "not set",
    )
    return settings


@contextmanager
def open_runtime(settings: "Settings | None" = None) -> Iterator["Runtime"]:
    """One Runtime for one task: opened from the Airflow-resolved settings, always closed.

    The schema is never upgraded here (``newsmon db upgrade`` runs in ``airflow-init``);
    a schema that is behind fails the task with a one-line reason.
    """
    from pipeline.infra.runtime import Runtime

    settings = settings or newsmon_settings()
    rt = Runtime.open(settings, url=settings.database_url, auto_upgrade=False)
    try:
        yield rt
    finally:
        rt.close()


def stage_output(result: "StageResult | None") -> dict[str, Any]:
    """A stage's result as a small JSON-able value for XCom (logged too)."""
    if result is None:
        return {"stage": None, "counts": {}, "notes": []}
    for line in result.report_lines():
        log.info("%s", line)
    return {"stage": result.stage, "counts": dict(result.counts), "notes": list(result.notes)[:50]}


def run_task(stage: str, **kwargs: Any) -> dict[str, Any]:
    """The body of a stage task: run ``stage`` (a name of ``pipeline.stages``) with ``kwargs`` on
    a Runtime for this task; its result, for XCom."""
    from pipeline.stages import run_stage

    with open_runtime() as rt:
        return stage_output(run_stage(rt, stage, **kwargs))


def run_stages(*stages: str) -> dict[str, dict[str, Any]]:
    """Several stages one after another in one task, on one Runtime (an encoder is loaded once
    per process): each stage's result under its name, for XCom."""
    from pipeline.stages import run_stage

    with open_runtime() as rt:
        return {stage: stage_output(run_stage(rt, stage)) for stage in stages}


def themed_count(results: list[dict[str, Any]]) -> int:
    """Articles themed by these themes-stage results (``stage_output`` values)."""
    return sum(int((result or {}).get("counts", {}).get("assigned", 0)) for result in results)


def retry_failed_now(rt: "Runtime") -> dict[str, Any]:
    """The ``retry_failed`` param of newsmon_ingest: every failing feed and given-up page is
    retried on this run. Every extraction claim is released too: the DAG runs one at a time
    (max_active_runs=1), so no claim is held by a live task of it when its first task runs."""
    from pipeline.ingest.recovery import retry_failed

    report = retry_failed(rt, all_failed=True, release_all_claims=True)
    for line in report.lines():
        log.info("feeds retry: %s", line)
    return report.as_dict()


def host_batches(feeds: list[tuple[str, str]], size: int) -> list[list[str]]:
    """Split (name, url) feeds into batches of about ``size`` names, never splitting a host.

    The per-host delay and robots.txt are kept inside one fetch task; with a host's feeds in
    two batches, two workers would hit it at once. A host with more than ``size`` feeds gets
    a batch of its own; smaller hosts are packed largest first (first fit), so the batch
    count stays near ``len(feeds) / size``. Order within a batch follows the input."""
    size = max(1, int(size))
    by_host: dict[str, list[str]] = {}
    for name, url in feeds:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            host = ""
        by_host.setdefault(host or f"?{name}", []).append(name)
    batches: list[list[str]] = []
    for names in sorted(by_host.values(), key=len, reverse=True):
        room = next((b for b in batches if len(b) + len(names) <= size), None)
        if room is None:
            batches.append(list(names))
        else:
            room.extend(names)
    return batches


def due_feed_urls(rt: "Runtime", names: list[str]) -> list[tuple[str, str]]:
    """(name, url) of the named feeds, in the order of ``names``: read from the feeds table that
    sync_feeds has just written, not from the feed list file a second time."""
    from datetime import datetime, timezone

    from pipeline.store import feeds as feed_store

    with rt.pool.connection() as conn:
        urls = {feed.name: feed.url for feed in feed_store.get_feeds(conn, names, datetime.now(timezone.utc))}
    return [(name, urls.get(name, "")) for name in names]
