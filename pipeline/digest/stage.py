"""The daily digest: gather (SQL -> dataclasses) -> render (Jinja2 + chart) -> send (SMTP).

``run_digest`` is the stage function (CLI ``newsmon digest``, ``run --digest``, the demo and
the Airflow DAG). It always writes the HTML to ``$NEWSMON_HOME/digests/digest-YYYY-MM-DD.html``
and then, depending on the mode:

- ``demo=True``: the day is the latest one with articles; the ``.eml`` goes next to the HTML;
  nothing is sent.
- ``out=PATH``: ``PATH.html`` and ``PATH.eml`` are written; nothing is sent.
- ``send=True`` (``None``: when ``NEWSMON_SMTP_URL`` is set): one message per reader, with their
  own ``To:``: every active subscriber (``newsmon subscribers``), the digest cut to their themes
  and language, plus the ``NEWSMON_DIGEST_TO`` fallback addresses that have no subscriber row
  (the whole digest). A subscriber whose choice matched no story that day gets no mail; that is
  recorded (status ``skipped``, the reason in ``last_error``). Idempotent per (day, recipient) through ``digest_sends``: a recipient
  already sent to is skipped; a failed send is recorded (status ``failed``, ``last_error``,
  ``attempts``) and retried by the next run. Delivery is at-least-once: a crash between the
  server's OK and the ledger update re-sends on the next run, with the same Message-ID.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

from pipeline.infra.config import ConfigError, Settings
from pipeline.digest.chart import render_chart
from pipeline.digest.gather import gather, theme_title
from pipeline.digest.mail import (
    DEFAULT_SENDER,
    DigestSendError,
    SmtpTarget,
    address_of,
    build_message,
    deliver,
    message_id_for,
    parse_smtp_url,
)
from pipeline.digest.model import DigestData
from pipeline.digest.readers import Reader, digest_for, only_themes, resolve_readers, unsubscribe_link
from pipeline.digest.render import RenderedDigest, render
from pipeline.infra.ledger import committed, session_locked
from pipeline.infra.runs import StageResult, record_stage
from pipeline.store import digests as store
from pipeline.store import subscribers as subscriber_store
from pipeline.store import locks

__all__ = ["run_digest", "build_digest", "resolve_day", "DigestSendError", "output_paths"]


def resolve_day(day: dt.date | dt.datetime | str | None, settings: Settings, as_of: dt.datetime) -> dt.date:
    """The local date to summarise: given (date, ISO string, or datetime converted to the digest's
    time zone), else yesterday relative to ``as_of``."""
    if day is None:
        return as_of.astimezone(settings.tz).date() - dt.timedelta(days=1)
    if isinstance(day, dt.datetime):
        return (day.astimezone(settings.tz) if day.tzinfo else day).date()
    if isinstance(day, dt.date):
        return day
    try:
        return dt.date.fromisoformat(str(day).strip()[:10])
    except ValueError:
        raise ConfigError(f"digest day: expected a date like 2026-11-27, got {day!r}") from None


def build_digest(data: DigestData) -> RenderedDigest:
    """Chart + templates for gathered data (no database, no network)."""
    chart = render_chart(data.series) if data.series and data.series.counts else None
    return render(data, chart, chart_cid=f"chart-{data.day.isoformat()}@newsmon")


def output_paths(out: Path) -> tuple[Path, Path]:
    """``--out FILE``: FILE.html and FILE.eml (a given .html/.htm/.eml suffix is replaced)."""
    out = Path(out)
    base = out.with_suffix("") if out.suffix.lower() in {".html", ".htm", ".eml"} else out
    return base.with_name(base.name + ".html"), base.with_name(base.name + ".eml")


def _write(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, so a reader never sees half a digest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _check_send_settings(settings: Settings) -> SmtpTarget:
    if not settings.smtp_url:
        raise ConfigError("NEWSMON_SMTP_URL is not set: cannot send the digest (use --out FILE to write it)")
    return parse_smtp_url(settings.smtp_url)


def load_readers(rt) -> list[Reader]:
    """Active subscribers plus the NEWSMON_DIGEST_TO fallback addresses without a subscriber row."""
    with rt.pool.connection() as conn, conn.transaction():
        subscribers = subscriber_store.list_all(conn, include_unsubscribed=True)
    return resolve_readers(subscribers, rt.settings.digest_to)


def _reader_note(reader: Reader) -> str:
    if not reader.subscribed or reader.choice == ((), "both"):
        return ""
    themes = ", ".join(theme_title(t) for t in reader.themes) or "all themes"
    language = {"de": "German", "en": "English"}.get(reader.language, "German and English")
    return f"Your selection: {themes}; {language} coverage."


class ReaderDigests:
    """The digest rendered once per distinct choice (themes, language) of the readers."""

    def __init__(self, data: DigestData, settings: Settings, now: dt.datetime, chart_png: bytes | None,
                 wide: DigestData | None = None):
        # wide: gathered with every theme some reader chose (a reader without a choice gets ``data``);
        # chart_png: the chart build_digest drew for ``data`` (every reader's mail shows that one)
        self.data, self.wide, self.settings, self.now = data, wide or data, settings, now
        self._chart = chart_png

    def for_reader(self, reader: Reader) -> tuple[DigestData, RenderedDigest]:
        link = unsubscribe_link(self.settings.unsubscribe_url, self.settings.unsubscribe_secret,
                                reader.address, self.now)
        data = digest_for(self.wide if reader.themes else self.data, reader.themes, reader.language)
        return data, render(data, self._chart, chart_cid=f"chart-{data.day.isoformat()}@newsmon",
                            unsubscribe_url=link, reader_note=_reader_note(reader))

    def message(self, reader: Reader, rendered: RenderedDigest, sender: str, date: dt.datetime):
        link = unsubscribe_link(self.settings.unsubscribe_url, self.settings.unsubscribe_secret,
                                reader.address, self.now)
        return build_message(rendered, sender=sender, to=reader.mailbox,
                             message_id=message_id_for(self.data.day, reader.mailbox, sender), date=date,
                             day=self.data.day, reply_to=self.settings.digest_reply_to, unsubscribe_link=link)


def run_digest(rt, day=None, send: bool | None = False, out: Path | None = None, demo: bool = False, *,
               as_of: dt.datetime | None = None, indicators_missing: bool = False) -> StageResult:
    """Build the digest for ``day`` and write / send it (see the module docstring).
    ``indicators_missing``: the day's indicators run had not finished (the Airflow digest's
    07:00 deadline); said in the result's notes and the mail's footer."""
    settings: Settings = rt.settings
    as_of = as_of or dt.datetime.now(dt.timezone.utc)
    if send is None:
        send = settings.smtp_url is not None
    sending = send and not demo and out is None
    target = _check_send_settings(settings) if sending else None  # fail before doing any work
    readers = load_readers(rt)
    if sending and not readers:
        raise ConfigError("nobody to send the digest to: add readers with `newsmon subscribers add EMAIL` "
                          "or set NEWSMON_DIGEST_TO")
    sender = settings.digest_from or DEFAULT_SENDER

    with record_stage(rt.pool, "digest") as result:
        if indicators_missing:
            result.notes.append("sent without the day's indicators: their run had not finished by the deadline")
        with rt.pool.connection() as conn, conn.transaction():
            if demo and day is None:
                day = store.latest_article_day(conn, settings.timezone, as_of)
            the_day = resolve_day(day, settings, as_of)
            themes = tuple(dict.fromkeys([*settings.digest_themes, *(t for r in readers for t in r.themes)]))
            # gathered once, with every theme some reader chose; the default digest is cut from it
            wide = gather(conn, the_day, timezone=settings.timezone, themes=themes, as_of=as_of)
            data = only_themes(wide, settings.digest_themes)
        if indicators_missing:  # said in the mail's footer
            data = dataclasses.replace(data, indicators_missing=True)
            wide = dataclasses.replace(wide, indicators_missing=True)
        rendered = build_digest(data)
        result.add("articles", data.total_articles)
        result.add("stories", data.story_count)
        result.add("observations", len(data.observations) + data.more_observations)

        html_path = settings.digests_dir / f"digest-{the_day.isoformat()}.html"
        _write(html_path, rendered.html_file.encode("utf-8"))
        result.notes.append(f"digest: {html_path}")
        if data.empty:
            result.notes.append(f"no articles for {the_day.isoformat()}: the digest says so")

        if demo or out is not None:
            eml_path = html_path.with_suffix(".eml")
            if out is not None:
                out_html, eml_path = output_paths(out)
                _write(out_html, rendered.html_file.encode("utf-8"))
                result.notes.append(f"html: {out_html}")
            # a preview is addressed to the first reader, else to the sender: never "undisclosed-recipients"
            reader = readers[0] if readers else Reader(address_of(sender).lower(), sender)
            msg = ReaderDigests(data, settings, as_of, rendered.chart_png).message(reader, rendered, sender, as_of)
            _write(eml_path, msg.as_bytes())
            result.notes.append(f"eml: {eml_path} (to {reader.mailbox})")
        elif sending:
            _send(rt, the_day, ReaderDigests(data, settings, as_of, rendered.chart_png, wide), target, sender,
                  readers, result)
        else:
            result.notes.append("not sent (use --send, or --out FILE for the .eml)")
    return result


def _send(rt, day: dt.date, digests: ReaderDigests, target: SmtpTarget, sender: str,
          readers: list[Reader], result: StageResult) -> None:
    # a concurrent sender of the same day waits, then sees what was sent (infra/ledger.py)
    with rt.pool.connection() as conn, session_locked(conn, locks.DIGEST_SEND, day.toordinal()):
        with conn.transaction():
            done = store.sent_recipients(conn, day)
        pending = [r for r in readers if r.mailbox not in done]
        result.add("already_sent", len(readers) - len(pending))
        if not pending:
            result.notes.append(f"already sent to all {len(readers)} recipient(s) for {day.isoformat()}")
            return
        rendered: dict[str, RenderedDigest] = {}
        for reader in pending:
            data, rendered[reader.mailbox] = digests.for_reader(reader)
            if reader.subscribed and data.story_count == 0:
                reason = ("no articles that day" if data.empty
                          else f"no stories matched ({_reader_note(reader) or 'all themes'})")
                committed(conn, store.record_skipped, day, reader.mailbox, reason)
                result.add("skipped")
                result.notes.append(f"no mail to {reader.mailbox}: {reason}")
                del rendered[reader.mailbox]
        by_mailbox = {r.mailbox: r for r in pending}

        def message_for(mailbox: str):
            return digests.message(by_mailbox[mailbox], rendered[mailbox], sender, dt.datetime.now(dt.timezone.utc))

        outcome = deliver(
            target, sender, list(rendered), message_for,
            on_attempt=lambda r, msg: committed(conn, store.record_attempt, day, r, msg["Message-ID"]),
            on_sent=lambda r: committed(conn, store.record_sent, day, r, dt.datetime.now(dt.timezone.utc)),
            on_failed=lambda r, why: committed(conn, store.record_failed, day, r, why),
        )
    result.add("sent", len(outcome.sent))
    result.add("failed", len(outcome.failed))
    if outcome.sent:
        result.notes.append(f"sent to {len(outcome.sent)} recipient(s) via {target.describe()}")
    for recipient, reason in outcome.failed.items():
        result.notes.append(f"send to {recipient} failed (retried next run): {reason}")
    if outcome.unreachable:
        # systemic: the run fails (Airflow retries); what failed is already in digest_sends
        raise DigestSendError(outcome.unreachable)
