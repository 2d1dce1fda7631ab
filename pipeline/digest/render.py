"""Render: the gathered ``DigestData`` to HTML and plain text with the Jinja2 templates.

The HTML environment autoescapes everything; links pass the ``http_url`` filter (http/https
only, anything else is shown as plain text); the chart is the only image and its source is
given by the caller (``cid:...`` in the mail, a ``data:`` URI in the file on disk), so the
digest never loads anything remote.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from pathlib import Path
from pipeline.digest.chart import theme_colour
from pipeline.digest.gather import safe_url
from pipeline.text import one_line, plural
from pipeline.digest.model import DigestData

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    html: str  # chart referenced by Content-ID (for the mail)
    html_file: str  # the same page with the chart inline as a data: URI (for the file on disk)
    text: str
    chart_png: bytes | None
    chart_cid: str | None  # without angle brackets


def _host(url: str | None) -> str:
    url = safe_url(url)
    return (urlsplit(url).hostname or "").removeprefix("www.") if url else ""


@jinja2.pass_context
def _when(ctx, value: dt.datetime | None) -> str:
    if value is None:
        return ""
    data: DigestData = ctx["d"]
    return value.astimezone(ZoneInfo(data.timezone)).strftime("%Y-%m-%d %H:%M %Z")


def _clock(value: dt.datetime | None) -> str:
    """'08:00' (the time is already local: gather converts it)."""
    return value.strftime("%H:%M") if value else ""


@functools.cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["http_url"] = safe_url
    env.filters["host"] = _host
    env.filters["when"] = _when
    env.filters["clock"] = _clock
    return env


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def day_long(day: dt.date) -> str:
    """'Friday, 27 November 2026' whatever the process locale (strftime's %A would follow it)."""
    return f"{_WEEKDAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def subject_for(data: DigestData) -> str:
    """One line: the date, the top story's headline, then the day's counts spelled out
    ("· 4 stories, 9 articles": never "+9", which reads as nine more stories)."""
    head = f"newsmon digest {data.day.isoformat()}"
    if data.empty:
        return f"{head}: no articles"
    top = data.top_line[0] if data.top_line else None
    counts = f"{plural(data.story_count, 'story', 'stories')}, {plural(data.total_articles, 'article')}"
    return f"{head}: {one_line(top.title, 90)} · {counts}" if top else f"{head}: {counts}"


# Gmail clips an HTML part over 102 KB ("[Message clipped]", hiding the rest and the unsubscribe
# link); a margin covers the mail's transfer encoding of non-ASCII text.
HTML_BUDGET = 90 * 1024


def _shortened(data: DigestData) -> DigestData | None:
    """``data`` with one item fewer from the longest list (stories of the fullest theme, then
    figures, then cited articles per story); None when nothing is left to shorten."""
    fullest = max(data.themes, key=lambda t: len(t.stories), default=None)
    if fullest is not None and len(fullest.stories) > 1:
        themes = [dataclasses.replace(t, stories=t.stories[:-1], more_stories=t.more_stories + 1)
                  if t is fullest else t for t in data.themes]
        return dataclasses.replace(data, themes=themes)
    if len(data.facts) > 3:
        return dataclasses.replace(data, facts=data.facts[:-1], more_facts=data.more_facts + 1)
    if any(len(s.sources) > 2 for t in data.themes for s in t.stories):
        themes = [dataclasses.replace(t, stories=tuple(dataclasses.replace(s, sources=s.sources[:2])
                                                       for s in t.stories)) for t in data.themes]
        return dataclasses.replace(data, themes=themes)
    return None


def render(data: DigestData, chart_png: bytes | None, chart_cid: str | None = None, *,
           unsubscribe_url: str | None = None, reader_note: str = "") -> RenderedDigest:
    """The digest's subject, HTML and text; a day too busy for Gmail's clipping limit shows fewer
    items (the rest counted as "more"). Only the mail's HTML is measured, so only it is rendered
    while shortening; the file copy and the text part are rendered once, for the final data."""
    cid = chart_cid if chart_png else None
    context, html = _mail_html(data, cid, unsubscribe_url, reader_note)
    while len(html.encode("utf-8")) > HTML_BUDGET and (shorter := _shortened(data)) is not None:
        data = shorter
        context, html = _mail_html(data, cid, unsubscribe_url, reader_note)
    data_uri = "data:image/png;base64," + base64.b64encode(chart_png).decode("ascii") if chart_png else None
    html_file = _environment(True).get_template("digest.html").render(context, chart_src=data_uri)
    text = _environment(False).get_template("digest.txt").render(context)
    return RenderedDigest(context["subject"], html, html_file, _tidy_text(text), chart_png, cid)


def _mail_html(data: DigestData, cid: str | None, unsubscribe_url: str | None,
               reader_note: str) -> tuple[dict, str]:
    """The template context for ``data`` and the mail's HTML (chart referenced by Content-ID)."""
    context = {
        "d": data,
        "subject": subject_for(data),
        "day_long": day_long(data.day),
        "colours": {t.theme: theme_colour(t.theme, i) for i, t in enumerate(data.themes)},
        "unsubscribe_url": safe_url(unsubscribe_url),
        "reader_note": reader_note,
    }
    html = _environment(True).get_template("digest.html").render(context, chart_src=f"cid:{cid}" if cid else None)
    return context, html


def _tidy_text(text: str) -> str:
    """Collapse the blank-line runs Jinja's block tags leave behind."""
    lines, blank = [], 0
    for line in text.splitlines():
        line = line.rstrip()
        blank = blank + 1 if not line else 0
        if blank <= 1:
            lines.append(line)
    return "\n".join(lines).strip() + "\n"
