"""Operator actions of the newsmon API (the plugin mounts them behind Airflow's login).

| path | what |
|---|---|
| ``POST /api/feeds/retry`` | after an outage: ``newsmon feeds retry`` (``feed`` repeated, or ``all_failed=true``; ``release_claims=true`` also releases claims of other hosts). Answers what was done. |

It writes, so it runs on the write connection (``newsmon_db``, role newsmon_app), never on the
read-only analyst one. The next ingest run does the fetching.
"""

from __future__ import annotations

from typing import Any, Callable

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

SettingsProvider = Callable[[], Any]


def ops_router(write_settings_provider: SettingsProvider) -> APIRouter:
    router = APIRouter()

    @router.post("/api/feeds/retry")
    def feeds_retry(
        feed: list[str] | None = Query(None, description="a feed name to retry (repeat for several)"),
        all_failed: bool = Query(False, description="every failing feed and every given-up page"),
        release_claims: bool = Query(False, description="also release extraction claims of other hosts"),
    ) -> JSONResponse:
        import psycopg

        from newsmon_api import _settings, _unavailable
        from pipeline.infra.config import UserError
        from pipeline.infra.db import connect
        from pipeline.ingest.recovery import UnknownFeedError, retry_failed_in

        if not feed and not all_failed:
            raise HTTPException(status_code=400, detail="name the feeds to retry (feed=...), or all_failed=true")
        settings = _settings(write_settings_provider)
        try:
            with connect(settings.database_url) as conn, conn.transaction():
                report = retry_failed_in(conn, None if all_failed else list(dict.fromkeys(feed or [])),
                                         release_all_claims=release_claims)
        except UnknownFeedError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except UserError as exc:
            raise _unavailable(exc) from None
        except psycopg.Error as exc:
            raise _unavailable(exc) from None
        return JSONResponse({"done": report.lines(), **report.as_dict()})

    return router
