"""The digest's figures: one line per fact (a figure and every article that reported it), the
latest API readings, and text sparklines for series with at least three points.

Sparklines are characters, not images: they cost a few bytes in the mail (Gmail clips at
102 KB), read in the plain-text part too, and need no remote or inline image.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

import psycopg

from pipeline.digest.model import Fact, FactSource, Observation, Reading
from pipeline.store import digests as digest_store
from pipeline.store import indicators as indicator_store
from pipeline.text import one_line

SPARK_BARS = "▁▂▃▄▅▆▇█"
SPARK_POINTS = 12
MIN_SPARK_POINTS = 3


def sparkline(values: Iterable[float]) -> str:
    """``▁▃▅█`` for the values (oldest first); "" for fewer than three points."""
    values = [float(v) for v in values]
    if len(values) < MIN_SPARK_POINTS:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return SPARK_BARS[len(SPARK_BARS) // 2] * len(values)
    top = len(SPARK_BARS) - 1
    return "".join(SPARK_BARS[round((v - low) / (high - low) * top)] for v in values)


def day_facts(conn, start: dt.datetime, end: dt.datetime, observations: list[Observation],
              rows: list[dict[str, Any]], *, describe, format_value, link, outlet_of) -> list[Fact]:
    """Figures in the news during the day from ``analytics.indicator_facts`` (one figure across
    languages and spellings, every report listed; API readings have their own section). On a
    schema without that view, the day's article observations grouped here instead."""
    try:
        with conn.transaction():  # a savepoint: an older schema has no facts view
            lines = indicator_store.facts_between(conn, start, end)
    except psycopg.errors.UndefinedTable:
        news = [(o, r) for o, r in zip(observations, rows, strict=True) if o.source_kind == "article"]
        return group_facts([o for o, _ in news], [r for _, r in news], outlet_of)
    descriptions = digest_store.indicator_descriptions(conn)
    facts = [
        Fact(indicator=one_line(f.indicator, 80), description=describe(descriptions.get(f.indicator)),
             subject=one_line(f.entity, 80), value=format_value(f.value, f.unit), target_year=f.target_year,
             approximate=bool(f.approximate), observed_at=f.first_reported_at,
             sources=tuple(FactSource(one_line(s.get("outlet"), 80) or "unknown outlet", link(s.get("article_url")),
                                      one_line(s.get("quote"), 300), s.get("language"))
                           for s in _one_per_article(f.sources)),
             source_kind="article")
        for f in sorted(lines, key=lambda f: (f.indicator, f.entity, f.first_reported_at))
    ]
    return facts


def _one_per_article(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for source in sources or ():
        seen.setdefault(source.get("article_url") or source.get("outlet") or "", source)
    return list(seen.values())


def group_facts(observations: list[Observation], rows: list[dict[str, Any]], outlet_of) -> list[Fact]:
    """Observations of one figure (indicator, subject, value, target year) merged into one fact
    that lists every source: the same number in a German and an English article is one line."""
    facts: dict[tuple, dict[str, Any]] = {}
    for obs, row in zip(observations, rows, strict=True):
        key = (obs.indicator, obs.subject, obs.value, obs.target_year, obs.source_kind)
        entry = facts.setdefault(key, {"obs": obs, "sources": {}})
        outlet = outlet_of(row) if obs.source_kind == "article" else "API"
        source_key = obs.url or outlet
        if source_key not in entry["sources"]:
            entry["sources"][source_key] = FactSource(outlet, obs.url, obs.quote, row.get("language"))
        entry["obs"] = entry["obs"] if entry["obs"].observed_at <= obs.observed_at else obs
    return [
        Fact(indicator=e["obs"].indicator, description=e["obs"].description, subject=e["obs"].subject,
             value=e["obs"].value, target_year=e["obs"].target_year, approximate=e["obs"].approximate,
             observed_at=e["obs"].observed_at, sources=tuple(e["sources"].values()),
             source_kind=e["obs"].source_kind)
        for e in facts.values()
    ]


def readings(rows: list[dict[str, Any]], series: dict[tuple[str, str], list[float]], *,
             describe, format_value, safe_url) -> list[Reading]:
    return [
        Reading(indicator=one_line(r["indicator"], 80), description=describe(r["description"]),
                subject=one_line(r["subject"], 80), value=format_value(r["value"], r["unit"]),
                observed_at=r["observed_at"], url=safe_url(r["source_url"]),
                sparkline=sparkline(series.get((r["indicator"], r["subject"]), ())))
        for r in rows
    ]
