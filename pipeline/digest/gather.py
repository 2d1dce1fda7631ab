"""Gather: the day's numbers, stories, indicators and ops problems, from SQL into plain dataclasses.

Ranking of stories (per theme): coverage first, recency as a tie-breaker::

    score = articles + 2 * distinct outlets + 3 * (reported in both German and English)
            + fraction of the day elapsed at the story's latest article (0..1)

Articles that belong to no story (the stories stage has not run, or left them alone) are
treated as one-article stories, so the digest is still useful before clustering.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg

from pipeline.digest import figures
from pipeline.digest.model import (
    DailySeries,
    DigestData,
    FeedProblem,
    Headline,
    Observation,
    StageProblem,
    StoryItem,
    TargetProgress,
    ThemeSummary,
    Title,
)
from pipeline.infra.config import THEME_TITLES
from pipeline.infra.urls import canonical_url
from pipeline.infra.runs import PIPELINE_STAGES
from pipeline.store import digests as store
from pipeline.store.runs import StageRun, runs_between
from pipeline.text import has_hidden_characters, one_line, split_sentences

CHART_DAYS = 14
TRAILING_DAYS = 7
TOP_STORIES = 5
MAX_OBSERVATIONS = 15
OBSERVATION_ROWS = 200  # read to merge one figure's reports into one fact; MAX_OBSERVATIONS facts shown
MAX_READINGS = 8
MAX_PROGRESS = 10  # (a busy day's mail must stay under Gmail's 102 KB clipping limit)
LANGUAGE_ORDER = ("de", "en")
# Stages whose absence on the day is worth telling the readers (the digest itself is not one).
WATCHED_STAGES = PIPELINE_STAGES

# --------------------------------------------------------------------------- cleaning


def safe_url(value: Any) -> str | None:
    """The link if it is an absolute http(s) URL with a host and no whitespace; otherwise None."""
    if not value or not isinstance(value, str):
        return None
    url = value.strip()
    if len(url) > 2048 or has_hidden_characters(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    return url


def reader_link(row: dict[str, Any]) -> str | None:
    """The article's link for readers: its canonical URL (tracking parameters such as utm_* and
    fbclid removed), else the URL it was found under; None when no stored link is safe."""
    for key in ("canonical_url", "url", "final_url"):
        link = safe_url(row.get(key))
        if link:
            try:
                return safe_url(canonical_url(link)) or link
            except ValueError:
                return link
    return None


def _same_words(a: str, b: str) -> bool:
    def words(s: str) -> str:
        return " ".join(re.findall(r"\w+", s.casefold()))
    return bool(a) and words(a) == words(b)


# Short lead lines that are bylines or datelines, not prose: "Von Anna Lindqvist | 26.11.2026,
# 08:50 Uhr", "By Jane Doe", "Updated Nov 26, 2026 9:00 am".
_BYLINE = re.compile(
    r"^(?:(?:von|by|from|aktualisiert|updated|published|veröffentlicht)\b.{0,100}"
    r"|.{0,100}\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b.{0,40}|.{0,100}\|.{0,100})$",
    re.I,
)


# A wire dateline in front of the first sentence: "BERLIN (dpa) - ", "WASHINGTON, Nov 26 (Reuters) -".
_DATELINE = re.compile(r"^[A-ZÄÖÜ][A-ZÄÖÜ .'/-]{1,40}(?:,[^()\n]{1,30})?\s*\([^()\n]{1,30}\)\s*[-–—:]\s+")


def strip_bylines(text: str) -> str:
    """Drop leading short lines that are bylines/datelines, so an extract starts with prose."""
    lines = _DATELINE.sub("", text.lstrip()).split("\n")

    def is_byline(line: str) -> bool:
        line = line.strip()
        return len(line) <= 120 and not line.endswith((".", "!", "?", '"', "”")) and bool(_BYLINE.match(line))

    while len(lines) > 1 and (not lines[0].strip() or is_byline(lines[0])):
        lines.pop(0)
    return _DATELINE.sub("", "\n".join(lines).lstrip())


def short_description(text: Any, max_chars: int = 70) -> str:
    """The first clause of an indicator description: enough to name the figure in a list."""
    first = re.split(r"\s[(\[]|[.;:]\s|[.;:]$", one_line(text, 400), maxsplit=1)[0]
    return one_line(first, max_chars)


def first_sentences(text: Any, max_sentences: int = 2, max_chars: int = 280, *, title: str = "") -> str:
    """One or two sentences from the start of an article body, capped at ``max_chars``; a first
    sentence that only repeats the headline, and leading byline/dateline lines, are skipped."""
    if isinstance(text, str):
        text = strip_bylines(text)
    body = one_line(text, max_chars=4 * max_chars)
    if title and body:
        head = one_line(title, 400)
        if _same_words(body[: len(head) + 1], head):
            body = body[len(head):].lstrip(" .:!?-–—")
    if not body:
        return ""
    out: list[str] = []
    for sentence in split_sentences(body):
        out.append(sentence)
        if len(out) >= max_sentences or sum(map(len, out)) >= max_chars // 2:
            break
    while len(out) > 1 and len(" ".join(out)) > max_chars:
        out.pop()
    return one_line(" ".join(out), max_chars=max_chars)


def outlet_name(row: dict[str, Any]) -> str:
    for candidate in (row.get("source"), row.get("site_name")):
        name = one_line(candidate, 80)
        if name:
            return name
    for link in (row.get("final_url"), row.get("url"), row.get("canonical_url")):
        host = urlsplit(link or "").hostname if safe_url(link) else None
        if host:
            return host.removeprefix("www.")
    return "unknown outlet"


def theme_title(theme: str) -> str:
    return THEME_TITLES.get(theme, theme.replace("_", " ").capitalize())


def format_value(value: Decimal | float | int, unit: str) -> str:
    v = float(value)
    if unit == "percent":
        return f"{v:.4g} %"
    if unit == "usd" or (len(unit) == 3 and unit.isalpha() and unit not in {"ratio"}):  # a currency code
        for factor, suffix in ((1e12, " trn"), (1e9, " bn"), (1e6, " M")):
            if abs(v) >= factor:
                return f"{unit.upper()} {v / factor:.3g}{suffix}"
        return f"{unit.upper()} {v:,.0f}"
    if unit == "count":
        for factor, suffix in ((1e9, " bn"), (1e6, " M")):
            if abs(v) >= factor:
                return f"{v / factor:.3g}{suffix}"
        return f"{v:,.0f}"
    return f"{v:.3g}"


# --------------------------------------------------------------------------- time


def day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day as aware datetimes (23 or 25 hours on DST changes)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start, end


# --------------------------------------------------------------------------- stories


def _language_key(lang: str) -> tuple[int, str]:
    return (LANGUAGE_ORDER.index(lang) if lang in LANGUAGE_ORDER else len(LANGUAGE_ORDER), lang)


@dataclass
class StoryGroup:
    """A story of the day before its text is prepared: enough to rank it (cheap for thousands)."""

    key: str
    rows: list[dict[str, Any]]  # member articles of the day, ordered by time
    theme: str
    outlets: tuple[str, ...]
    languages: tuple[str, ...]
    latest: dt.datetime
    score: float


def rank_groups(rows: Iterable[dict[str, Any]], start: dt.datetime) -> list[StoryGroup]:
    """The day's articles grouped by live story (unclustered articles on their own), best first."""
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = f"s{row['story_id']}" if row.get("story_id") is not None else f"a{row['article_id']}"
        members.setdefault(key, []).append(row)
    outlet_cache: dict[tuple, str] = {}

    def outlet(row: dict[str, Any]) -> str:
        cache_key = (row.get("source"), row.get("site_name"))
        if cache_key == (None, None):
            return outlet_name(row)
        if cache_key not in outlet_cache:
            outlet_cache[cache_key] = outlet_name(row)
        return outlet_cache[cache_key]

    groups = []
    for key, rows_ in members.items():
        first = rows_[0]
        themes = Counter(r["theme"] for r in rows_)
        theme = first.get("story_theme") or max(themes, key=lambda t: (themes[t], t == first["theme"]))
        outlets = tuple(dict.fromkeys(outlet(r) for r in rows_))
        languages = tuple(sorted({r["language"] or "other" for r in rows_}, key=_language_key))
        latest = max(r["ts"] for r in rows_)
        both = {"de", "en"} <= set(languages)
        elapsed = min(max((latest - start).total_seconds() / 86400, 0.0), 1.0)
        score = round(len(rows_) + 2 * len(outlets) + (3 if both else 0) + elapsed, 3)
        groups.append(StoryGroup(key, rows_, theme, outlets, languages, latest, score))
    groups.sort(key=lambda g: (-g.score, -g.latest.timestamp(), g.key))
    return groups


MAX_SOURCES = 8  # articles cited per story


def _cited(row: dict[str, Any], tz: ZoneInfo) -> Headline:
    return Headline(row["language"] or "other", one_line(row["title"], 200) or "(untitled)", reader_link(row),
                    outlet_name(row), row["ts"].astimezone(tz) if row.get("ts") else None)


def story_titles(first: dict[str, Any], headlines: list[Headline]) -> tuple[Title, ...]:
    """The headline per language: the stories stage's readable ones when it wrote them, else the
    earliest article's title in each language (never the term list)."""
    written = {lang: one_line(first.get(f"story_headline_{lang}"), 200) for lang in LANGUAGE_ORDER}
    titles = [Title(h.language, written.get(h.language) or h.title) for h in headlines]
    if not any(written.values()) and one_line(first.get("story_headline"), 200) and titles:
        titles[0] = Title(titles[0].language, one_line(first.get("story_headline"), 200))
    return tuple(titles)


def build_story(group: StoryGroup, day: dt.date, tz: ZoneInfo) -> StoryItem:
    """The story as shown: its headline per language, the articles that report it (outlet, time,
    canonical link), the lead sentence of the earliest article that has prose."""
    rows, first = group.rows, group.rows[0]
    headlines, representatives = [], []
    for lang in group.languages:
        article = next(r for r in rows if (r["language"] or "other") == lang)
        representatives.append(article)
        headlines.append(_cited(article, tz))
    extract, extract_language = "", headlines[0].language
    for row in representatives:
        extract = first_sentences(row["body"], title=row["title"] or "")
        if extract:
            extract_language = row["language"] or "other"
            break
    titles = story_titles(first, headlines)
    label = one_line(first.get("story_label"), 160) or titles[0].text
    first_seen = first.get("story_first_seen")
    first_day = first_seen.astimezone(tz).date() if first_seen else None
    return StoryItem(
        key=group.key, label=label, theme=group.theme, articles=len(rows), outlets=group.outlets,
        languages=group.languages, headlines=tuple(headlines), extract=extract,
        latest=group.latest.astimezone(tz), first_seen=first_day if first_day and first_day < day else None,
        total_articles=max(int(first.get("story_article_count") or 0), len(rows)), score=group.score,
        titles=titles, extract_language=extract_language,
        sources=tuple(_cited(r, tz) for r in rows[:MAX_SOURCES]),
    )


def group_stories(rows: Iterable[dict[str, Any]], start: dt.datetime, day: dt.date,
                  tz: ZoneInfo) -> list[StoryItem]:
    """Every story of the day, fully built, best first (``gather`` builds only the ones it shows)."""
    return [build_story(g, day, tz) for g in rank_groups(rows, start)]


# --------------------------------------------------------------------------- the rest


def _observation(row: dict[str, Any]) -> Observation:
    url = safe_url(row["article_url"]) if row["source_kind"] == "article" else None
    return Observation(
        indicator=one_line(row["indicator"], 80),
        description=short_description(row["description"]),
        subject=one_line(row["subject"], 80),
        value=format_value(row["value"], row["unit"]),
        target_year=row["target_year"],
        approximate=bool(row["approximate"]),
        observed_at=row["observed_at"],
        quote=one_line(row["quote"], 300),
        url=url or safe_url(row["source_url"]) or safe_url(row["article_url"]),
        source_kind=row["source_kind"],
    )


def _progress(row: dict[str, Any]) -> TargetProgress | None:
    target = row["target_value"]
    if not target:
        return None
    previous = row["previous"]
    return TargetProgress(
        indicator=one_line(row["indicator"], 80),
        description=short_description(row["description"]),
        subject=one_line(row["subject"], 80),
        value=format_value(row["value"], row["unit"]),
        target=format_value(target, row["unit"]),
        target_year=row["target_year"],
        progress_pct=round(100 * float(row["value"]) / float(target)),
        previous=format_value(previous, row["unit"]) if previous is not None and previous != row["value"] else None,
        observed_at=row["observed_at"],
        target_source=row["target_source"],
    )


def stage_problems(runs: list[StageRun], start: dt.datetime, tz: ZoneInfo) -> list[StageProblem]:
    """Watched stages with no successful run since the day began (runs: newest first)."""
    problems = []
    for stage in WATCHED_STAGES:
        mine = [r for r in runs if r.stage == stage]
        if any(r.status == "ok" for r in mine):
            continue
        if not mine:
            problems.append(StageProblem(stage, "did not run", f"no run since {start:%Y-%m-%d %H:%M %Z}"))
        elif mine[0].status == "failed":
            problems.append(StageProblem(stage, "failed", one_line(mine[0].error, 200) or "no error recorded"))
        else:
            started = mine[0].started_at.astimezone(tz)
            problems.append(StageProblem(stage, "did not finish", f"started {started:%Y-%m-%d %H:%M %Z}"))
    return problems


def gather(conn: psycopg.Connection, day: dt.date, *, timezone: str, themes: tuple[str, ...],
           as_of: dt.datetime, top_stories: int = TOP_STORIES,
           max_observations: int = MAX_OBSERVATIONS) -> DigestData:
    """Everything the digest shows for ``day`` (a local date in ``timezone``), as of ``as_of``."""
    tz = ZoneInfo(timezone)
    start, end = day_bounds(day, tz)
    window_start, _ = day_bounds(day - dt.timedelta(days=CHART_DAYS - 1), tz)
    trailing_start = min(window_start, day_bounds(day - dt.timedelta(days=TRAILING_DAYS), tz)[0])

    per_day: dict[tuple[dt.date, str], int] = {}
    by_language: dict[str, dict[str, int]] = {}
    for d, theme, lang, n in store.daily_theme_counts(conn, timezone, trailing_start, end):
        per_day[(d, theme)] = per_day.get((d, theme), 0) + n
        if d == day:
            by_language.setdefault(theme, {})
            by_language[theme][lang] = by_language[theme].get(lang, 0) + n
    total = sum(n for (d, _), n in per_day.items() if d == day)

    groups = rank_groups(store.day_articles(conn, start, end), start)
    summaries = []
    for theme in themes:
        mine = [g for g in groups if g.theme == theme]
        trailing = [per_day.get((day - dt.timedelta(days=k), theme), 0) for k in range(1, TRAILING_DAYS + 1)]
        summaries.append(ThemeSummary(
            theme=theme, title=theme_title(theme), count=per_day.get((day, theme), 0),
            by_language=dict(sorted(by_language.get(theme, {}).items(), key=lambda kv: _language_key(kv[0]))),
            trailing_mean=round(sum(trailing) / TRAILING_DAYS, 1),
            stories=tuple(build_story(g, day, tz) for g in mine[:top_stories]),
            more_stories=max(len(mine) - top_stories, 0),
        ))

    days = tuple(day - dt.timedelta(days=k) for k in range(CHART_DAYS - 1, -1, -1))
    series = DailySeries(days, {t: tuple(per_day.get((d, t), 0) for d in days) for t in themes})

    obs_rows, obs_total = store.day_observations(conn, start, end, OBSERVATION_ROWS)
    observations = [_observation(r) for r in obs_rows]
    facts = figures.day_facts(conn, start, end, observations, obs_rows, describe=short_description,
                              format_value=format_value, link=lambda url: reader_link({"url": url}),
                              outlet_of=lambda r: outlet_name({"source": r.get("outlet"), "url": r.get("article_url")}))
    # figures that moved today first, then the rest by indicator and subject
    progress_rows = [r for r in store.target_progress(conn, start, end) if r["target_value"]]
    api_rows = store.api_readings(conn, end, OBSERVATION_ROWS)
    more_readings, api_rows = max(len(api_rows) - MAX_READINGS, 0), api_rows[:MAX_READINGS]
    history = store.reading_series(conn, end, [(r["indicator"], r["subject"]) for r in progress_rows + api_rows],
                                  figures.SPARK_POINTS)
    progress = [dataclasses.replace(p, sparkline=figures.sparkline(history.get((r["indicator"], r["subject"]), ())))
                for r in progress_rows if (p := _progress(r))]
    progress.sort(key=lambda p: (p.observed_at < start, p.indicator, p.subject))
    readings = figures.readings(api_rows, history, describe=short_description, format_value=format_value,
                                safe_url=safe_url)

    feeds = [
        FeedProblem(one_line(r["name"], 80), r["consecutive_failures"], r["last_success_at"],
                    one_line(r["last_error"], 200))
        for r in store.failing_feeds(conn, as_of)
    ]
    runs = runs_between(conn, WATCHED_STAGES, start, as_of)
    return DigestData(
        day=day, timezone=timezone, as_of=as_of, total_articles=total, themes=summaries, series=series,
        observations=observations[:max_observations],
        more_observations=max(obs_total - min(len(observations), max_observations), 0),
        facts=facts[:max_observations], more_facts=max(len(facts) - max_observations, 0)
        + max(obs_total - len(obs_rows), 0), readings=readings, more_readings=more_readings,
        progress=progress[:MAX_PROGRESS], more_progress=max(len(progress) - MAX_PROGRESS, 0),
        failing_feeds=feeds, stage_problems=stage_problems(runs, start, tz),
    )
