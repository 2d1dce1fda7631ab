"""The newsmon web API: a FastAPI app the Airflow plugin mounts under ``/newsmon``.

Read-only views of the ``analytics`` schema for ops and analysts, plus the latest digest:

| path | what |
|---|---|
| ``/`` | an HTML overview linking everything below (the Airflow UI shows it in its menu) |
| ``/api/theme-volumes`` | ``analytics.theme_daily`` (``since``, ``until``, ``theme``, ``language``) |
| ``/api/stories`` | ``analytics.stories``, newest first (``theme``, ``language``, ``limit``) |
| ``/api/indicators`` | ``analytics.indicator_observations``, newest first (``indicator``, ``subject``, ``source_kind``) |
| ``/api/feed-health`` | ``analytics.feed_health``, failing feeds first (``failing_only``) |
| ``/digest`` | HTML of the latest digest file (or ``?day=YYYY-MM-DD``; rendered on demand when no file exists) |
| ``/api/stages`` | ``analytics.stage_status``: per stage the newest run and failure (``stage``, ``failing_only``) |
| ``/api/backlogs`` | ``analytics.backlogs``: pending extraction, pending embedding, unthemed, unplaced, stale vectors |
| ``/api/mail`` | ``analytics.mail_deliveries``: digest and alert mails per recipient (``recipient``, ``status``, ``kind``) |
| ``/api/api-fetches`` | ``analytics.api_fetches``: failed API reads (``status=failed|ok|all``, ``provider``, ``repo``) |
| ``/docs``, ``/redoc``, ``/openapi.json`` | the API's documentation, behind the same login |
| ``/health`` | database reachable? |
| ``POST /api/feeds/retry`` | after an outage (plugins/newsmon_ops.py): `newsmon feeds retry`, behind the login |
| ``/unsubscribe?token=...`` | public, token-guarded: GET asks, POST unsubscribes a digest reader (403 for a bad or expired token) |

The app opens one short read-only connection per request (traffic is a few people, not a
service); the SQL is in ``pipeline/store/analytics.py``. Nothing connects at import time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Sequence

from fastapi import APIRouter, FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse

log = logging.getLogger("newsmon.api")

SettingsProvider = Callable[[], Any]  # () -> pipeline.config.Settings
MAX_LIMIT = 1000
_DIGEST_FILE = re.compile(r"^digest-(\d{4}-\d{2}-\d{2})\.html$")


class _CachedSettings:
    """Settings resolved through Airflow connections, re-read at most once a minute."""

    def __init__(self, build: Callable[[], Any], ttl_s: float = 60.0):
        self._build, self._ttl = build, ttl_s
        self._value, self._at = None, 0.0

    def __call__(self):
        if self._value is None or time.monotonic() - self._at > self._ttl:
            self._value, self._at = self._build(), time.monotonic()
        return self._value


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def _unavailable(exc: Exception) -> HTTPException:
    """503 with one line: newsmon's own errors are already masked; a database error is cut to
    its first line (no URL in it)."""
    from pipeline.infra.config import UserError

    if isinstance(exc, UserError):
        return HTTPException(status_code=503, detail=str(exc))
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    log.warning("newsmon database error: %s", first)
    return HTTPException(status_code=503, detail=f"newsmon database error: {first}")


def _settings(settings_provider: SettingsProvider):
    from pipeline.infra.config import UserError

    try:
        return settings_provider()
    except UserError as exc:  # no or bad configuration
        raise _unavailable(exc) from None


def _read(settings_provider: SettingsProvider, read: Callable[..., Any], *args: Any) -> Any:
    """``read(conn, *args)`` (a function of ``pipeline.store.analytics``) on a read-only connection."""
    import psycopg

    from pipeline.infra.config import UserError
    from pipeline.infra.db import connect

    settings = _settings(settings_provider)
    try:
        with connect(settings.database_url) as conn:
            conn.read_only = True
            return read(conn, *args)
    except (UserError, psycopg.Error) as exc:  # unreachable, schema missing
        raise _unavailable(exc) from None


def _items(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Row dataclasses as JSON-able dicts."""
    return [{k: _json_value(v) for k, v in dataclasses.asdict(row).items()} for row in rows]


def _listing(rows: Sequence[Any], **meta: Any) -> JSONResponse:
    return JSONResponse({**{k: _json_value(v) for k, v in meta.items()}, "count": len(rows), "items": _items(rows)})


def build_router(settings_provider: SettingsProvider,
                 write_settings_provider: SettingsProvider | None = None) -> APIRouter:
    """The login-guarded routes. Reads go through ``settings_provider``; an action that writes
    must use ``write_settings_provider or settings_provider`` (reads run as newsmon_analyst)."""
    from pipeline.store import analytics

    router = APIRouter()

    @router.get("/health")
    def health() -> JSONResponse:
        _read(settings_provider, analytics.ping)
        return JSONResponse({"status": "ok"})

    @router.get("/api/theme-volumes")
    def theme_volumes(
        since: dt.date | None = Query(None, description="first day (default: 30 days before `until`)"),
        until: dt.date | None = Query(None, description="last day (default: the newest day with articles)"),
        theme: str | None = None,
        language: str | None = None,
    ) -> JSONResponse:
        if until is None:
            until = _read(settings_provider, analytics.latest_theme_day)
        if since is None and until is not None:
            since = until - dt.timedelta(days=29)
        rows = _read(settings_provider, analytics.theme_volumes, since, until, theme, language)
        return _listing(rows, since=since, until=until)

    @router.get("/api/stories")
    def stories(
        theme: str | None = None,
        language: str | None = Query(None, description="stories with at least one article in this language"),
        limit: int = Query(50, ge=1, le=MAX_LIMIT),
    ) -> JSONResponse:
        return _listing(_read(settings_provider, analytics.stories, theme, language, limit))

    @router.get("/api/indicators")
    def indicators(
        indicator: str | None = None,
        subject: str | None = None,
        source_kind: str | None = Query(None, pattern="^(article|api)$"),
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
    ) -> JSONResponse:
        return _listing(_read(settings_provider, analytics.indicator_observations, indicator, subject,
                              source_kind, limit))

    @router.get("/api/feed-health")
    def feed_health(failing_only: bool = False) -> JSONResponse:
        return _listing(_read(settings_provider, analytics.feed_health, failing_only))

    @router.get("/api/stages")
    def stages(
        stage: str | None = None,
        failing_only: bool = Query(False, description="only stages whose newest run failed"),
    ) -> JSONResponse:
        return _listing(_read(settings_provider, analytics.stage_status, stage, failing_only))

    @router.get("/api/backlogs")
    def backlogs() -> JSONResponse:
        return JSONResponse(_items([_read(settings_provider, analytics.backlogs)])[0])

    @router.get("/api/mail")
    def mail(
        recipient: str | None = None,
        status: str | None = Query(None, pattern="^(pending|sent|failed)$"),
        kind: str | None = Query(None, pattern="^(digest|alert)$"),
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
    ) -> JSONResponse:
        return _listing(_read(settings_provider, analytics.mail_deliveries, recipient, status, kind, limit))

    @router.get("/api/api-fetches")
    def api_fetches(
        status: str = Query("failed", pattern="^(ok|failed|all)$", description="`all` for every read"),
        provider: str | None = Query(None, pattern="^(huggingface|github)$"),
        repo: str | None = None,
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
    ) -> JSONResponse:
        rows = _read(settings_provider, analytics.api_fetches, None if status == "all" else status, provider, repo,
                     limit)
        return _listing(rows, status=status)

    @router.get("/digest", response_class=HTMLResponse)
    def digest(day: dt.date | None = None) -> HTMLResponse:
        # rendering reads the raw tables (newsmon_analyst may not): the pipeline's connection, read-only
        return HTMLResponse(_digest_html(write_settings_provider or settings_provider, day))

    @router.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(_index_html(settings_provider))

    return router


def digest_files(digests_dir: Path) -> dict[dt.date, Path]:
    """Digest files written by ``run_digest`` (``digest-YYYY-MM-DD.html``) by day."""
    out = {}
    if digests_dir.is_dir():
        for path in digests_dir.iterdir():
            match = _DIGEST_FILE.match(path.name)
            if match and path.is_file():
                out[dt.date.fromisoformat(match.group(1))] = path
    return out


def _digest_html(settings_provider: SettingsProvider, day: dt.date | None) -> str:
    settings = _settings(settings_provider)
    files = digest_files(settings.digests_dir)
    if day is None:
        if not files:
            raise HTTPException(status_code=404, detail="no digest written yet (newsmon_digest has not run)")
        day = max(files)
    if day in files:
        return files[day].read_text(encoding="utf-8", errors="replace")
    return _render_digest(settings, day)


def _render_digest(settings, day: dt.date) -> str:
    """Render a day's digest from the database without writing or sending anything."""
    import psycopg

    from pipeline.infra.config import UserError
    from pipeline.infra.db import connect
    from pipeline.digest.stage import build_digest
    from pipeline.digest.gather import gather

    try:
        with connect(settings.database_url) as conn:
            conn.read_only = True
            data = gather(conn, day, timezone=settings.timezone, themes=settings.digest_themes,
                          as_of=dt.datetime.now(dt.timezone.utc))
    except (UserError, psycopg.Error) as exc:
        raise _unavailable(exc) from None
    return build_digest(data).html_file


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if r.get(c) is None else str(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _index_html(settings_provider: SettingsProvider) -> str:
    from pipeline.store import analytics

    settings = _settings(settings_provider)
    volumes = _items(_read(settings_provider, analytics.recent_theme_totals))
    top = _items(_read(settings_provider, analytics.stories, None, None, 10))
    failing = _items(_read(settings_provider, analytics.feed_health, True, 20))
    stage_rows = _items(_read(settings_provider, analytics.stage_status))
    backlog = _items([_read(settings_provider, analytics.backlogs)])
    failed_mail = _items(_read(settings_provider, analytics.mail_deliveries, None, "failed", None, 20))
    failed_fetches = _items(_read(settings_provider, analytics.api_fetches, "failed", None, None, 20))
    days = sorted(digest_files(settings.digests_dir), reverse=True)[:7]
    digest_links = " ".join(f'<a href="digest?day={d.isoformat()}">{d.isoformat()}</a>' for d in days) or "none yet"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>newsmon</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5rem;max-width:70rem}}
table{{border-collapse:collapse;margin-bottom:1rem}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}}
th{{background:#f3f3f3}}</style></head><body>
<h1>newsmon</h1>
<p>JSON: <a href="api/theme-volumes">theme volumes</a> · <a href="api/stories">stories</a> ·
<a href="api/indicators">indicators</a> · <a href="api/feed-health">feed health</a> ·
digests: <a href="digest">latest</a> {digest_links}</p>
<h2>Articles per theme, last 7 days</h2>{_table(volumes, ["theme", "articles", "last_day"])}
<h2>Latest stories</h2>{_table(top, ["label", "theme", "article_count", "languages", "last_seen"])}
<h2>Failing feeds</h2>{_table(failing, ["feed", "last_status", "consecutive_failures", "last_error"])}
<form method="post" action="api/feeds/retry?all_failed=true"><button>Outage over: retry failed feeds and pages
on the next run</button></form>
<h2>Stages</h2>
<p>JSON: <a href="api/stages">all</a> · <a href="api/stages?failing_only=true">failing</a></p>
{_table(stage_rows, ["stage", "last_status", "last_started_at", "last_finished_at", "last_failure_at",
                     "last_failure_error", "failures"])}
<h2>Backlogs</h2>
<p>JSON: <a href="api/backlogs">backlogs</a></p>
{_table(backlog, ["pending_extraction", "oldest_pending_extraction", "pending_embedding", "unthemed", "unplaced", "stale_embedding"])}
<h2>Failed mail</h2>
<p>JSON: <a href="api/mail">every delivery</a> · <a href="api/mail?status=failed">failed</a> ·
<a href="api/mail?kind=alert">alerts</a> (filters: recipient, status, kind)</p>
{_table(failed_mail, ["kind", "item", "recipient", "attempts", "last_error", "updated_at"])}
<h2>Failed API fetches</h2>
<p>JSON: <a href="api/api-fetches">failed</a> · <a href="api/api-fetches?status=all">all</a>
(filters: status, provider, repo)</p>
{_table(failed_fetches, ["provider", "repo", "observed_at", "http_status", "attempts", "error"])}
</body></html>"""


def _unsubscribe_page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title></head>'
        f'<body style="font-family:system-ui,sans-serif;margin:2rem;max-width:36rem">'
        f"<h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status_code,
    )


def _unsubscribe_address(settings_provider: SettingsProvider, token: str) -> tuple[Any, str]:
    """(settings, address) of a valid token; 403 for a tampered or expired one (nothing changes)."""
    from pipeline.digest.readers import TokenError, verify_token

    settings = _settings(settings_provider)
    if not settings.unsubscribe_secret:
        raise HTTPException(status_code=404, detail="unsubscribe links are not configured")
    try:
        return settings, verify_token(settings.unsubscribe_secret, token, dt.datetime.now(dt.timezone.utc))
    except TokenError as exc:
        raise HTTPException(status_code=403, detail=f"{exc}: nothing was changed") from None


def unsubscribe_router(settings_provider: SettingsProvider) -> APIRouter:
    """``/unsubscribe?token=...``, public (a reader is no Airflow user; the signed token is the
    proof): GET shows a confirmation button (mail scanners follow links, so GET changes nothing);
    POST unsubscribes, also as RFC 8058 one-click from the List-Unsubscribe-Post header."""
    router = APIRouter()

    @router.get("/unsubscribe", response_class=HTMLResponse)
    def confirm(token: str = Query("", max_length=2000)) -> HTMLResponse:
        _, address = _unsubscribe_address(settings_provider, token)
        return _unsubscribe_page(
            "Unsubscribe from newsmon",
            f"<p>Stop the newsmon digest and alerts for <strong>{html.escape(address)}</strong>?</p>"
            f'<form method="post" action="unsubscribe?token={html.escape(token)}">'
            '<button type="submit">Unsubscribe</button></form>',
        )

    @router.post("/unsubscribe", response_class=HTMLResponse)
    def unsubscribe(token: str = Query("", max_length=2000)) -> HTMLResponse:
        import psycopg

        from pipeline.infra.config import UserError
        from pipeline.infra.db import connect
        from pipeline.subscribers import remove

        settings, address = _unsubscribe_address(settings_provider, token)
        try:
            with connect(settings.database_url) as conn, conn.transaction():
                remove(conn, address, "link", dt.datetime.now(dt.timezone.utc))
        except (UserError, psycopg.Error) as exc:
            raise _unavailable(exc) from None
        log.info("unsubscribed a reader through the signed link")
        return _unsubscribe_page("Unsubscribed", f"<p>{html.escape(address)} will get no more newsmon mail.</p>")

    return router


def docs_router(app: FastAPI) -> APIRouter:
    """``/docs``, ``/redoc`` and ``/openapi.json``, added as ordinary routes so the same login
    guards them (FastAPI's built-in ones answer everyone). Relative URLs: the app is mounted
    under ``/newsmon``."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs", response_class=HTMLResponse)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="openapi.json", title="newsmon API")

    @router.get("/redoc", response_class=HTMLResponse)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="openapi.json", title="newsmon API")

    return router


def create_app(settings_provider: SettingsProvider, dependencies: Sequence[Any] = (),
               write_settings_provider: SettingsProvider | None = None) -> FastAPI:
    """The app; ``dependencies`` guard every route (Airflow's authentication inside Airflow) but
    ``/unsubscribe``, which a signed token guards. ``settings_provider`` is for reads (inside
    Airflow: the read-only newsmon_analyst role); ``write_settings_provider`` (default: the same)
    for the few actions that change something (unsubscribing)."""
    app = FastAPI(
        title="newsmon", version="1",
        description="Read-only views of the newsmon analytics schema and the daily digest.",
        docs_url=None, redoc_url=None, openapi_url=None,
    )
    app.include_router(build_router(settings_provider, write_settings_provider), dependencies=list(dependencies))
    app.include_router(docs_router(app), dependencies=list(dependencies))
    app.include_router(unsubscribe_router(write_settings_provider or settings_provider))
    from newsmon_ops import ops_router  # POST /api/feeds/retry: writes, behind the same login

    app.include_router(ops_router(write_settings_provider or settings_provider), dependencies=list(dependencies))
    return app


ANALYST_CONN_ID = "newsmon_analyst_db"


def analyst_settings(connection_lookup: Callable[[str], Any] | None = None):
    """Settings whose database URL is the Airflow connection ``newsmon_analyst_db`` (the read-only
    newsmon_analyst role: the pages cannot change anything even through a bug); without that
    connection, ``newsmon_db`` as before, with a warning."""
    from newsmon_airflow import database_url_from_connection, newsmon_settings

    conn = (connection_lookup or _airflow_connection)(ANALYST_CONN_ID)
    if conn is None:
        log.warning("Airflow connection %r is not defined: the newsmon plugin reads through newsmon_db "
                    "(read-write); define it as the newsmon_analyst role", ANALYST_CONN_ID)
        return newsmon_settings()
    settings = newsmon_settings(require_database=False)
    return dataclasses.replace(settings, database_url=database_url_from_connection(conn))


def _airflow_connection(conn_id: str):
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


def airflow_settings_provider() -> SettingsProvider:
    """Settings for reads: the ``newsmon_analyst_db`` connection (else ``newsmon_db``), cached
    for a minute."""
    return _CachedSettings(analyst_settings)


def airflow_write_settings_provider() -> SettingsProvider:
    """Settings for the actions that write (``newsmon_db``), cached for a minute."""
    from newsmon_airflow import newsmon_settings

    return _CachedSettings(newsmon_settings)
