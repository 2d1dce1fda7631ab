"""Rows for digest tests, inserted directly with SQL (the other stages are built in parallel).

``seed_day`` writes one realistic day: German and English articles on three themes, a
cross-lingual story, a story merged into another, a duplicate, a hostile title, an unsafe
link, indicator figures with a target, a failing feed and a failed stage run.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg

BERLIN = ZoneInfo("Europe/Berlin")
# the stories stage's term list: never shown to readers (the headline is)
STORY_LABEL = "Nvidia · H20 · liefern · Ausfuhr"
TOP_HEADLINE = "Nvidia darf H20-Chips wieder nach China liefern – Behörde prüft Ausfuhr"
HOSTILE_TITLE = '<script>alert("x")</script>"><img src=x onerror=alert(1)> Exportkontrolle'


def at(day: dt.date, hour: int, minute: int = 0, tz: ZoneInfo = BERLIN) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def add_feed(conn: psycopg.Connection, name: str, language: str = "de", *, failures: int = 0,
             last_success_at: dt.datetime | None = None, last_error: str | None = None,
             created_at: dt.datetime | None = None) -> int:
    return conn.execute(
        """INSERT INTO feeds (name, url, language, consecutive_failures, last_success_at, last_error, created_at)
           VALUES (%s, %s, %s, %s, %s, %s, coalesce(%s, now())) RETURNING feed_id""",
        (name, f"https://{name.lower().replace(' ', '-')}.example/feed.xml", language, failures,
         last_success_at, last_error, created_at),
    ).fetchone()[0]


def add_article(conn: psycopg.Connection, title: str, *, language: str, source: str, published_at: dt.datetime,
                theme: str | None = None, body: str | None = None, url: str | None = None,
                duplicate_of: int | None = None, extract_status: str = "ok") -> int:
    n = conn.execute("SELECT count(*) FROM articles").fetchone()[0] + 1
    url = url or f"https://{source.lower().replace(' ', '-')}.example/a/{n}"
    article_id = conn.execute(
        """INSERT INTO articles (url, canonical_url, title, source, language, published_at, body_text,
                                 duplicate_of, extract_status, fetched_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING article_id""",
        (url, f"{url}#{n}", title, source, language, published_at,
         body if body is not None else f"{title}. Second sentence of article {n}. Third sentence.",
         duplicate_of, extract_status, published_at),
    ).fetchone()[0]
    if theme:
        conn.execute("INSERT INTO article_themes (article_id, theme, theme_score) VALUES (%s, %s, 0.8)",
                     (article_id, theme))
    return article_id


def add_story(conn: psycopg.Connection, label: str | None, theme: str | None, article_ids: list[int], *,
              first_seen: dt.datetime | None = None, merged_into: int | None = None) -> int:
    story_id = conn.execute(
        """INSERT INTO stories (label, theme, first_seen, last_seen, article_count, merged_into)
           VALUES (%s, %s, %s, %s, %s, %s) RETURNING story_id""",
        (label, theme, first_seen, first_seen, len(article_ids), merged_into),
    ).fetchone()[0]
    for article_id in article_ids:
        conn.execute("INSERT INTO story_members (article_id, story_id, similarity) VALUES (%s, %s, 0.9)",
                     (article_id, story_id))
    return story_id


def add_indicator(conn: psycopg.Connection, indicator: str, kind: str, unit: str, *, description: str,
                  target_value: float | None = None, target_year: int | None = None) -> None:
    conn.execute(
        """INSERT INTO indicator_definitions (indicator, kind, unit, description, target_value, target_year)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (indicator, kind, unit, description, target_value, target_year),
    )


def add_observation(conn: psycopg.Connection, indicator: str, subject: str, value: float, unit: str,
                    observed_at: dt.datetime, *, article_id: int | None = None, article_url: str | None = None,
                    quote: str | None = None, source_kind: str = "article", source_url: str | None = None,
                    target_year: int | None = None, entity: str | None = None,
                    created_at: dt.datetime | None = None) -> None:
    """``entity``: the canonical entity (created when missing) the figure is about: a tracked one.
    ``created_at`` (when the row was recorded) defaults to ``observed_at``."""
    entity_id = None
    if entity:
        entity_id = conn.execute(
            """INSERT INTO entities (name, entity_type, types) VALUES (%s, 'country', '{country}')
               ON CONFLICT (name) DO UPDATE SET updated_at = entities.updated_at RETURNING entity_id""",
            (entity,),
        ).fetchone()[0]
    conn.execute(
        """INSERT INTO indicator_observations (indicator, subject, value, unit, observed_at, article_id,
                                               article_url, quote, source_kind, source_url, target_year, entity_id,
                                               created_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (indicator, subject, value, unit, observed_at, article_id, article_url, quote, source_kind,
         source_url, target_year, entity_id, created_at or observed_at),
    )


def add_stage_run(conn: psycopg.Connection, stage: str, status: str, started_at: dt.datetime,
                  error: str | None = None) -> None:
    conn.execute(
        "INSERT INTO stage_runs (stage, status, started_at, finished_at, error) VALUES (%s, %s, %s, %s, %s)",
        (stage, status, started_at, started_at + dt.timedelta(minutes=1), error),
    )


def seed_day(url: str, day: dt.date) -> dict[str, int]:
    """One realistic day (plus history for the chart and trailing mean); returns some ids."""
    ids: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        add_feed(conn, "Heise", "de")
        add_feed(conn, "Reuters Tech", "en")
        add_feed(conn, "Broken Feed", "en", failures=5, last_success_at=at(day - dt.timedelta(days=3), 6),
                 last_error="HTTP 503", created_at=at(day - dt.timedelta(days=30), 0))
        add_feed(conn, "Flaky Today", "de", failures=1, last_success_at=at(day, 20), last_error="timeout")

        # history: 2 chips articles a day for the 7 days before -> trailing mean 2.0
        for k in range(1, 14):
            past = day - dt.timedelta(days=k)
            for i in range(2 if k <= 7 else 1):
                add_article(conn, f"Chips history {k}-{i}", language="en", source="Reuters Tech",
                            published_at=at(past, 9 + i), theme="chips")

        # a cross-lingual chips story: 2 German + 2 English articles, 3 outlets, continuing
        de1 = add_article(conn, "Nvidia darf H20-Chips wieder nach China liefern – Behörde prüft Ausfuhr",
                          language="de", source="Heise", published_at=at(day, 8), theme="chips",
                          body="Die US-Regierung hat die Ausfuhr der H20-Chips wieder erlaubt. Für Nvidia "
                               "geht es um Milliarden. Ein dritter Satz, der nicht mehr erscheint.")
        de2 = add_article(conn, "Ausfuhrgenehmigung für H20: Was Händler jetzt wissen müssen", language="de",
                          source="Golem", published_at=at(day, 11), theme="chips")
        en1 = add_article(conn, "US lets Nvidia resume H20 chip sales to China", language="en",
                          source="Reuters Tech", published_at=at(day, 9), theme="chips")
        en2 = add_article(conn, "Nvidia H20 licences granted, sources say", language="en",
                          source="Reuters Tech", published_at=at(day, 15), theme="sanctions")
        ids["chips_story"] = add_story(conn, STORY_LABEL, "chips",
                                       [de1, de2, en1, en2], first_seen=at(day - dt.timedelta(days=2), 10))
        # its syndicated copy: not counted
        add_article(conn, "US lets Nvidia resume H20 chip sales to China (copy)", language="en",
                    source="Yahoo", published_at=at(day, 10), theme="chips", duplicate_of=en1)

        # a single-outlet chips story
        c1 = add_article(conn, "TSMC plant in Dresden on schedule", language="en", source="EE Times",
                         published_at=at(day, 13), theme="chips")
        ids["small_story"] = add_story(conn, "TSMC Dresden", "chips", [c1])

        # open source: one story merged into another; the member of the merged one must land in the root
        o1 = add_article(conn, "DeepSeek veröffentlicht neues offenes Modell", language="de", source="Heise",
                         published_at=at(day, 10), theme="open_source")
        o2 = add_article(conn, "DeepSeek releases new open-weights model", language="en", source="The Verge",
                         published_at=at(day, 12), theme="open_source")
        root = add_story(conn, "DeepSeek: neues offenes Modell", "open_source", [o1])
        ids["open_root"] = root
        ids["open_merged"] = add_story(conn, "DeepSeek open model (old)", "open_source", [o2], merged_into=root)

        # sanctions: the hostile title, with an unsafe link (not clustered)
        ids["hostile"] = add_article(conn, HOSTILE_TITLE, language="de", source="Unbekannt",
                                     published_at=at(day, 16), theme="sanctions",
                                     url="javascript:alert(document.cookie)",
                                     body='<b>Fett</b> & "zitiert". Zweiter Satz über Sanktionen.')
        # off-topic: counted in the total, not shown
        add_article(conn, "Fußball-Bundesliga: Ergebnisse", language="de", source="Sport", published_at=at(day, 18),
                    theme="other")
        # the next day: not part of this digest
        add_article(conn, "Tomorrow's chips news", language="en", source="Reuters Tech",
                    published_at=at(day + dt.timedelta(days=1), 0, 30), theme="chips")

        add_indicator(conn, "cn_chip_self_sufficiency", "self_sufficiency_target", "percent",
                      description="China chip self-sufficiency", target_value=70, target_year=2028)
        add_indicator(conn, "model_downloads", "downloads", "count", description="Model downloads (HF)")
        add_observation(conn, "cn_chip_self_sufficiency", "China", 30, "percent", at(day - dt.timedelta(days=20), 9),
                        article_url="https://heise.example/old", quote="30 % heute")
        add_observation(conn, "cn_chip_self_sufficiency", "China", 35, "percent", at(day, 8), article_id=de1,
                        article_url="https://heise.example/a/h20",
                        quote="Bis 2028 will China 70 % seiner Chips selbst herstellen; heute sind es 35 %.")
        # a per-subject target wins over the indicator-wide one
        conn.execute("INSERT INTO indicator_targets (indicator, subject, target_value, target_year) "
                     "VALUES ('cn_chip_self_sufficiency', 'China', 80, 2030)")
        # no declared target: the latest claim with a target year in the news is the target
        add_indicator(conn, "eu_market_share", "market_share", "percent", description="EU chip market share")
        add_observation(conn, "eu_market_share", "EU", 20, "percent", at(day - dt.timedelta(days=3), 9),
                        article_url="https://golem.example/eu", quote="heute 10 %, 2030 sollen es 20 % sein",
                        target_year=2030)
        add_observation(conn, "eu_market_share", "EU", 10, "percent", at(day - dt.timedelta(days=3), 9),
                        article_url="https://golem.example/eu", quote="heute 10 %, 2030 sollen es 20 % sein")
        add_observation(conn, "model_downloads", "deepseek-ai/DeepSeek-V3", 1234567, "count", at(day, 6),
                        source_kind="api", source_url="https://huggingface.co/deepseek-ai/DeepSeek-V3")

        for stage in ("ingest", "embed", "themes", "indicators"):
            add_stage_run(conn, stage, "ok", at(day, 7))
        add_stage_run(conn, "stories", "failed", at(day, 7, 30), error="RuntimeError: clustering blew up")
    return ids
