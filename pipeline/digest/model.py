"""Plain data the digest is built from: ``gather`` fills these, the templates read them.

Everything here is already cleaned (control characters removed, lengths capped, links
checked to be http(s) or ``None``), so the renderers never see raw database text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Headline:
    """One article of a story as the digest cites it: outlet (the feed's name), time and link."""

    language: str
    title: str
    url: str | None  # the canonical link (no utm_*/fbclid), http(s) only; None when unsafe or missing
    outlet: str
    published: dt.datetime | None = None  # local time


@dataclass(frozen=True)
class Title:
    language: str
    text: str


@dataclass(frozen=True)
class StoryItem:
    key: str  # "s<story_id>" for a clustered story, "a<article_id>" for an article on its own
    label: str  # the stories stage's term list (shown to nobody; the titles are the headline)
    theme: str
    articles: int  # articles of the day in this story
    outlets: tuple[str, ...]
    languages: tuple[str, ...]
    headlines: tuple[Headline, ...]  # one per language
    extract: str  # the lead sentence(s), bylines and datelines removed
    latest: dt.datetime
    first_seen: dt.date | None  # earlier than the day: a continuing story
    total_articles: int  # all articles of the story so far (>= articles)
    score: float
    titles: tuple[Title, ...] = ()  # the headline, one per language (German first) when both exist
    extract_language: str = "en"
    sources: tuple[Headline, ...] = ()  # every article of the day (capped), in time order

    @property
    def title(self) -> str:
        return self.titles[0].text if self.titles else self.label


@dataclass(frozen=True)
class ThemeSummary:
    theme: str
    title: str
    count: int
    by_language: dict[str, int]
    trailing_mean: float  # mean daily count over the 7 days before the day
    stories: tuple[StoryItem, ...]
    more_stories: int  # stories of the day beyond the ones shown

    @property
    def low_baseline(self) -> bool:
        """Under one article a day before: a percentage would exaggerate (+1900 % from 0.1)."""
        return self.trailing_mean < 1

    @property
    def change_pct(self) -> int | None:
        if self.low_baseline:
            return None
        return round(100 * (self.count - self.trailing_mean) / self.trailing_mean)


@dataclass(frozen=True)
class Observation:
    indicator: str
    description: str
    subject: str
    value: str  # formatted with unit
    target_year: int | None
    approximate: bool
    observed_at: dt.datetime
    quote: str
    url: str | None
    source_kind: str


@dataclass(frozen=True)
class FactSource:
    outlet: str
    url: str | None
    quote: str
    language: str | None


@dataclass(frozen=True)
class Fact:
    """One figure of the day, reported once or by several articles (all of them listed)."""

    indicator: str
    description: str
    subject: str
    value: str
    target_year: int | None
    approximate: bool
    observed_at: dt.datetime
    sources: tuple[FactSource, ...]
    source_kind: str  # article | api


@dataclass(frozen=True)
class Reading:
    """The latest API reading of a series (downloads, stars), with its recent history."""

    indicator: str
    description: str
    subject: str
    value: str
    observed_at: dt.datetime
    url: str | None
    sparkline: str  # "" below 3 points


@dataclass(frozen=True)
class TargetProgress:
    indicator: str
    description: str
    subject: str
    value: str
    target: str
    target_year: int | None
    progress_pct: int  # latest value as a percentage of the target
    previous: str | None  # latest value before the day, when it differs
    observed_at: dt.datetime
    target_source: str = "definition"  # or "article": the target was stated in the news
    sparkline: str = ""  # the readings so far, "" below 3 points


@dataclass(frozen=True)
class FeedProblem:
    name: str
    failures: int
    last_success_at: dt.datetime | None
    last_error: str


@dataclass(frozen=True)
class StageProblem:
    stage: str
    problem: str  # "did not run", "failed", "still running"
    detail: str


@dataclass(frozen=True)
class DailySeries:
    """Articles per theme and day, for the chart."""

    days: tuple[dt.date, ...]
    counts: dict[str, tuple[int, ...]]  # theme -> one count per day


@dataclass
class DigestData:
    day: dt.date
    timezone: str
    as_of: dt.datetime
    total_articles: int  # all themes, 'other' included
    themes: list[ThemeSummary] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    more_facts: int = 0
    readings: list[Reading] = field(default_factory=list)
    more_readings: int = 0
    series: DailySeries | None = None
    observations: list[Observation] = field(default_factory=list)
    more_observations: int = 0
    progress: list[TargetProgress] = field(default_factory=list)
    more_progress: int = 0
    failing_feeds: list[FeedProblem] = field(default_factory=list)
    stage_problems: list[StageProblem] = field(default_factory=list)
    # the Airflow digest's 07:00 deadline came before the day's indicators run finished
    indicators_missing: bool = False

    @property
    def empty(self) -> bool:
        return self.total_articles == 0

    @property
    def themed_articles(self) -> int:
        """Articles on the themes the table shows; the rest of ``total_articles`` is ``unshown_articles``."""
        return sum(t.count for t in self.themes)

    @property
    def unshown_articles(self) -> int:
        return self.total_articles - self.themed_articles

    @property
    def top_line(self) -> list[StoryItem]:
        """The day's three biggest stories, over all themes shown."""
        stories = [s for t in self.themes for s in t.stories]
        return sorted(stories, key=lambda s: (-s.score, s.key))[:3]

    @property
    def story_count(self) -> int:
        return sum(len(t.stories) for t in self.themes)

    @property
    def top_story(self) -> StoryItem | None:
        stories = [s for t in self.themes for s in t.stories]
        return max(stories, key=lambda s: s.score) if stories else None

    @property
    def needs_attention(self) -> bool:
        return bool(self.failing_feeds or self.stage_problems)
