"""The alerts stage (``newsmon alerts``, DAG ``newsmon_alerts``, hourly): mail subscribers who
opted in (``subscribers add --alerts``) about stories growing fast and figures that changed in
the hour before ``as_of`` (see ``detect``).

One mail per reader and run, holding every new alert for them (a storm of 500 growing stories
is one mail that lists the biggest and counts the rest). Each (alert, reader) is recorded in
``alert_sends`` before the SMTP talk and marked sent after it, so a re-run or retry sends
nothing twice; a failed send is retried by the next run. Readers who chose themes get only the
stories of those themes (figures go to all of them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html

from pipeline.alerts.detect import Alert, fact_alerts, story_alerts
from pipeline.digest.mail import (
    DEFAULT_SENDER,
    DigestSendError,
    address_of,
    deliver,
    list_message,
    parse_smtp_url,
)
from pipeline.digest.readers import unsubscribe_link
from pipeline.infra.config import Settings
from pipeline.infra.ledger import committed, session_locked
from pipeline.infra.runs import StageResult, record_stage
from pipeline.store import alerts as store
from pipeline.store import locks
from pipeline.store import subscribers as subscriber_store
from pipeline.text import plural

MAX_LISTED = 20  # alerts listed in one mail; the rest are counted


def alert_subject(alerts: list[Alert]) -> str:
    if len(alerts) == 1:
        return f"newsmon alert: {alerts[0].title} — {alerts[0].detail.split(' (')[0]}"
    stories = sum(a.kind == "story_growth" for a in alerts)
    facts = len(alerts) - stories
    parts = [p for p in (stories and plural(stories, "story growing fast", "stories growing fast"),
                         facts and plural(facts, "figure changed", "figures changed")) if p]
    return f"newsmon alerts: {', '.join(parts)}; biggest: {alerts[0].title}"


def alert_bodies(alerts: list[Alert], as_of: dt.datetime, link: str | None) -> tuple[str, str]:
    """Plain text and HTML of one alert mail: the first ``MAX_LISTED`` alerts, the rest counted."""
    shown, rest = alerts[:MAX_LISTED], len(alerts) - MAX_LISTED
    lines = [f"newsmon alerts for the hour before {as_of:%Y-%m-%d %H:%M %Z}", ""]
    items = []
    for a in shown:
        lines.append(f"* {a.summary}" + (f"\n  <{a.url}>" if a.url else ""))
        title = (f'<a href="{html.escape(a.url)}">{html.escape(a.title)}</a>' if a.url else html.escape(a.title))
        items.append(f"<li><strong>{title}</strong> &mdash; {html.escape(a.detail)}</li>")
    if rest > 0:
        lines.append(f"... and {plural(rest, 'more alert', 'more alerts')} (see alert_sends).")
        items.append(f"<li>&hellip; and {plural(rest, 'more alert', 'more alerts')} (see alert_sends).</li>")
    footer = f"Unsubscribe: {link}" if link else "Reply with 'unsubscribe' to stop these mails."
    lines += ["", "--", footer]
    foot_html = f'<a href="{html.escape(link)}">Unsubscribe</a>' if link else html.escape(footer)
    body_html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"></head><body style="font-family:'
                 f'sans-serif;font-size:15px;"><p>{html.escape(lines[0])}</p><ul>{"".join(items)}</ul>'
                 f'<p style="font-size:12px;color:#57606a;">{foot_html}</p></body></html>')
    return "\n".join(lines) + "\n", body_html


def _message_id(keys: list[str], recipient: str, sender: str) -> str:
    """The same id for every attempt with the same alerts: a duplicate is recognisable."""
    digest = hashlib.sha256("\n".join([recipient.lower(), *sorted(keys)]).encode("utf-8")).hexdigest()[:24]
    return f"<alert-{digest}@{address_of(sender).rpartition('@')[2] or 'localhost'}>"


def run_alerts(rt, as_of: dt.datetime | None = None) -> StageResult:
    settings: Settings = rt.settings
    as_of = as_of or dt.datetime.now(dt.timezone.utc)
    with record_stage(rt.pool, "alerts") as result:
        with rt.pool.connection() as conn, conn.transaction():
            readers = [s for s in subscriber_store.list_all(conn) if s.alerts]
            alerts = story_alerts(conn, as_of, settings.tz, ratio=settings.alert_growth_ratio,
                                  min_articles=settings.alert_min_articles) + fact_alerts(conn, as_of)
        alerts.sort(key=lambda a: (-a.weight, a.key))
        result.add("alerts", len(alerts))
        result.add("readers", len(readers))
        if not alerts or not readers:
            result.notes.append("no alerts" if not alerts else "nobody opted in to alerts (subscribers add --alerts)")
            return result
        if not settings.smtp_url:
            result.notes.append(f"NEWSMON_SMTP_URL is not set: {len(alerts)} alert(s) not sent")
            return result
        _send(rt, settings, readers, alerts, as_of, result)
    return result


def _send(rt, settings: Settings, readers, alerts: list[Alert], as_of: dt.datetime, result: StageResult) -> None:
    target = parse_smtp_url(settings.smtp_url)
    sender = settings.digest_from or DEFAULT_SENDER
    with rt.pool.connection() as conn, session_locked(conn, locks.ALERT_SEND):
        batches: dict[str, list[Alert]] = {}
        for reader in readers:
            mine = [a for a in alerts if a.theme is None or not reader.themes or a.theme in reader.themes]
            with conn.transaction():
                done = store.sent_keys(conn, reader.email, [a.key for a in mine])
            batches[reader.email] = [a for a in mine if a.key not in done]
        pending = [r for r, batch in batches.items() if batch]
        result.add("already_sent", sum(1 for r in readers if not batches[r.email]))
        if not pending:
            result.notes.append("every alert was already sent to its readers")

        def message_for(recipient: str):
            batch = batches[recipient]
            link = unsubscribe_link(settings.unsubscribe_url, settings.unsubscribe_secret, recipient, as_of)
            msg = list_message(alert_subject(batch), sender=sender, to=recipient,
                               message_id=_message_id([a.key for a in batch], recipient, sender),
                               date=dt.datetime.now(dt.timezone.utc), reply_to=settings.digest_reply_to,
                               unsubscribe_link=link, list_name="alerts")
            text, body_html = alert_bodies(batch, as_of.astimezone(settings.tz), link)
            msg.set_content(text, charset="utf-8", cte="quoted-printable")
            msg.add_alternative(body_html, subtype="html", charset="utf-8", cte="quoted-printable")
            return msg

        outcome = deliver(
            target, sender, pending, message_for,
            on_attempt=lambda r, msg: committed(conn, store.record_attempt, r,
                                                [(a.key, a.kind, a.summary) for a in batches[r]],
                                                msg["Message-ID"], as_of),
            on_sent=lambda r: committed(conn, store.record_result, r, [a.key for a in batches[r]],
                                        sent_at=dt.datetime.now(dt.timezone.utc), error=None),
            on_failed=lambda r, why: committed(conn, store.record_result, r, [a.key for a in batches[r]],
                                               sent_at=None, error=why),
        )
    result.add("mails", len(outcome.sent))
    result.add("failed", len(outcome.failed))
    for recipient in outcome.sent:
        result.notes.append(f"alerted {recipient}: {len(batches[recipient])} alert(s)")
    for recipient, reason in outcome.failed.items():
        result.notes.append(f"alert mail to {recipient} failed (retried next run): {reason}")
    if outcome.unreachable:
        raise DigestSendError(outcome.unreachable)
