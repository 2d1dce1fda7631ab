"""``newsmon subscribers add | list | remove``: the digest's readers, stored in Postgres.

``add`` subscribes an address (or changes its choices, or subscribes it again after an
unsubscribe); ``remove`` unsubscribes it (the row stays, marked, so a fallback address from
``NEWSMON_DIGEST_TO`` is not mailed either); ``list`` prints the readers. The next digest
and alert runs follow the change.
"""

from __future__ import annotations

import argparse
import datetime as dt

from pipeline.digest.readers import LANGUAGES, normalise_address
from pipeline.infra.config import UserError, known_themes
from pipeline.store import subscribers as store


def _themes(chosen: list[str] | None) -> list[str]:
    if not chosen:
        return []
    names = [t.strip() for item in chosen for t in item.split(",") if t.strip()]
    valid = known_themes()
    unknown = [t for t in names if t not in valid]
    if unknown:
        raise UserError(f"unknown theme(s) {', '.join(unknown)} (known: {', '.join(valid)})")
    return list(dict.fromkeys(names))


def describe(sub: store.Subscriber) -> str:
    themes = ",".join(sub.themes) or "all themes"
    state = "" if sub.active else f"  (unsubscribed {sub.unsubscribed_at:%Y-%m-%d} via {sub.unsubscribed_via})"
    return f"{sub.email}  {themes}  language {sub.language}  alerts {'on' if sub.alerts else 'off'}{state}"


def add(conn, email: str, themes: list[str] | None, language: str, alerts: bool) -> store.Subscriber:
    if language not in LANGUAGES:
        raise UserError(f"language must be de, en or both, got {language!r}")
    return store.upsert(conn, normalise_address(email), _themes(themes), language, alerts)


def remove(conn, email: str, via: str, at: dt.datetime) -> bool:
    return store.unsubscribe(conn, normalise_address(email), via, at)


def run_subscribers_command(rt, args: argparse.Namespace) -> int:
    if args.action in ("add", "remove") and not args.email:
        raise UserError(f"subscribers {args.action}: an EMAIL is required")
    with rt.pool.connection() as conn, conn.transaction():
        if args.action == "add":
            print("subscribed: " + describe(add(conn, args.email, args.themes, args.language, args.alerts)))
        elif args.action == "remove":
            address = normalise_address(args.email)
            changed = store.unsubscribe(conn, address, "cli", dt.datetime.now(dt.timezone.utc))
            print(f"unsubscribed: {address}" if changed else f"{address} was already unsubscribed")
        else:
            rows = store.list_all(conn, include_unsubscribed=args.all)
            for row in rows:
                print(describe(row))
            print(f"{sum(r.active for r in rows)} subscriber(s)" + (f", {len(rows)} in all" if args.all else ""))
    return 0
