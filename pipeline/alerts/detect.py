"""What is worth an alert in the hour before ``as_of``.

- A story grows fast when it got at least ``NEWSMON_ALERT_MIN_ARTICLES`` articles in the hour and
  at least ``NEWSMON_ALERT_GROWTH`` times its own mean per hour over the week before (from its first
  article when younger: a brand-new story with enough articles in one hour is breaking news).
  Key ``story:<id>:<local day>``: one alert per story and day, however long it keeps growing.
- A figure changed when the news report a new value (other than the last one) or a new target
  (value or year) of an indicator for a tracked entity (one of ``entities``, data/entities.yaml).
  API readings are left to the digest (they change every day).
  Key ``fact:<indicator>:<entity>:<value|target>:<unit>:<value>:<year>``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pipeline.digest.gather import format_value, safe_url, short_description
from pipeline.store import alerts as store
from pipeline.text import one_line

WINDOW = dt.timedelta(hours=1)
HISTORY = dt.timedelta(days=7)


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str  # story_growth | fact_change
    theme: str | None  # a story's theme (readers who chose themes get only theirs); None for figures
    title: str
    detail: str
    url: str | None
    weight: float  # order in a mail: the biggest first

    @property
    def summary(self) -> str:
        return f"{self.title} — {self.detail}"


def story_alerts(conn, end: dt.datetime, tz: ZoneInfo, *, ratio: float, min_articles: int) -> list[Alert]:
    start = end - WINDOW
    day = (end - dt.timedelta(microseconds=1)).astimezone(tz).date().isoformat()
    out = []
    for g in store.story_growth(conn, start, end, HISTORY):
        per_hour = g.before / g.history_hours
        if g.recent < min_articles or g.recent < ratio * per_hour:
            continue
        title = one_line(g.headline or g.first_title or g.label, 160) or f"story {g.story_id}"
        usual = f"usually {per_hour:.1f} an hour" if g.before else "new story"
        out.append(Alert(f"story:{g.story_id}:{day}", "story_growth", g.theme, title,
                         f"{g.recent} articles in the last hour ({usual}; {g.total} in all)", None,
                         float(g.recent)))
    return out


def fact_alerts(conn, end: dt.datetime) -> list[Alert]:
    out = []
    for f in store.fact_changes(conn, end - WINDOW, end):
        value = format_value(f.value, f.unit)
        name = short_description(f.description) or f.indicator
        if f.change == "target":
            before = (f" (was {format_value(f.previous, f.unit)} by {f.previous_target_year})"
                      if f.previous is not None else "")
            detail = f"new target {value} by {f.target_year}{before}"
        else:
            before = f" (was {format_value(f.previous, f.unit)})" if f.previous is not None else " (first report)"
            detail = f"now {value}{before}"
        source = f"; source: {one_line(f.outlet, 80)}" if f.outlet else ""
        key = f"fact:{f.indicator}:{f.subject}:{f.change}:{f.unit}:{f.value:g}:{f.target_year or ''}"
        out.append(Alert(key, "fact_change", None, f"{one_line(f.subject, 80)} · {name}", detail + source,
                         safe_url(f.url), 0.5))
    return out
