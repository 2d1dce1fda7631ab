"""Render: the gathered ``DigestData`` to HTML and plain text with the Jinja2 templates.

The HTML environment autoescapes everything; links pass the ``http_url`` filter (http/https
only, anything else is shown as plain text); the chart is the only image and its source is
given by the caller (``cid:...`` in the mail, a ``data:`` URI in the file on disk), so the
digest never loads anything remote.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from pathlib import Path
from pipeline.digest.chart import theme_colour
from pipeline.digest.gather import safe_url
from pipeline.text import one_line
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
    return env


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def day_long(day: dt.date) -> str:
    """'Friday, 27 November 2026' whatever the process locale (strftime's %A would follow it)."""
    return f"{_WEEKDAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def subject_for(data: DigestData) -> str:
    """One line: the date, then the day's top story (or that the day was empty)."""
    head = f"newsmon digest {data.day.isoformat()}"
    if data.empty:
        return f"{head}: no articles"
    top = data.top_story
    lead = f"{data.total_articles} articles"
    return f"{head}: {one_line(top.label, 90)} (+{lead})" if top else f"{head}: {lead}"


def render(data: DigestData, chart_png: bytes | None, chart_cid: str | None = None) -> RenderedDigest:
    subject = subject_for(data)
    context = {
        "d": data,
        "subject": subject,
        "day_long": day_long(data.day),
        "colours": {t.theme: theme_colour(t.theme, i) for i, t in enumerate(data.themes)},
    }
    html_template = _environment(True).get_template("digest.html")
    cid = chart_cid if chart_png else None
    html = html_template.render(context, chart_src=f"cid:{cid}" if cid else None)
    data_uri = "data:image/png;base64," + base64.b64encode(chart_png).decode("ascii") if chart_png else None
    html_file = html_template.render(context, chart_src=data_uri)
    text = _environment(False).get_template("digest.txt").render(context)
    return RenderedDigest(subject, html, html_file, _tidy_text(text), chart_png, cid)


def _tidy_text(text: str) -> str:
    """Collapse the blank-line runs Jinja's block tags leave behind."""
    lines, blank = [], 0
    for line in text.splitlines():
        line = line.rstrip()
        blank = blank + 1 if not line else 0
        if blank <= 1:
            lines.append(line)
    return "\n".join(lines).strip() + "\n"
