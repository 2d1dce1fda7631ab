"""Benchmark: build the daily digest for a day with 5,000 articles and 400 stories.

Starts a throw-away embedded Postgres, generates the rows with COPY (the day plus 13 days of
history for the chart and the 7-day mean, indicator figures, feeds, stage runs), then times
``run_digest`` (gather + chart + render + writing the .html and .eml) cold and warm, with the
phases side by side, against the 5 s target. Runs in well under a minute on 2 cores.

    .venv/bin/python bench/digest.py [--articles 5000] [--stories 400]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from pipeline.infra import db  # noqa: E402
from pipeline.infra.config import Settings  # noqa: E402

TARGET_S = 5.0
TZ = ZoneInfo("Europe/Berlin")
DAY = dt.date(2026, 11, 27)
THEMES = ("chips", "open_source", "sanctions", "other")
HISTORY_PER_DAY = 1000
WORDS = ("Halbleiter Exportkontrolle Nvidia China Chips Sanktionen Modell offene Gewichte TSMC Fabrik "
         "export controls open weights model licence tariff foundry Huawei Ascend Übernahme Größe").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def generate(url: str, articles: int, stories: int, seed: int = 7) -> int:
    """Rows for the day and its history; returns the number of articles stored."""
    rng = random.Random(seed)
    outlets = [(f"Outlet {i:02d}", "de" if i % 2 else "en") for i in range(40)]
    start = dt.datetime.combine(DAY, dt.time(0), tzinfo=TZ)
    rows = []
    for i in range(articles):
        name, lang = outlets[rng.randrange(len(outlets))]
        ts = start + dt.timedelta(seconds=rng.randrange(86400))
        rows.append((i, name, lang, ts, rng.choice(THEMES)))
    for k in range(1, 14):
        for j in range(HISTORY_PER_DAY):
            name, lang = outlets[rng.randrange(len(outlets))]
            ts = start - dt.timedelta(days=k) + dt.timedelta(seconds=rng.randrange(86400))
            rows.append((articles + k * HISTORY_PER_DAY + j, name, lang, ts, rng.choice(THEMES)))
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            "COPY articles (url, canonical_url, title, source, language, published_at, fetched_at, body_text, "
            "extract_status) FROM STDIN"
        ) as copy:
            for n, name, lang, ts, _ in rows:
                link = f"https://{name.replace(' ', '').lower()}.example/{n}"
                body = " ".join(_sentence(rng, 12) for _ in range(10))
                copy.write_row((link, link, _sentence(rng, 9)[:-1], name, lang, ts, ts, body, "ok"))
        conn.execute(
            "INSERT INTO article_themes (article_id, theme, theme_score) "
            "SELECT article_id, (ARRAY['chips','open_source','sanctions','other'])[1 + (article_id % 4)::int], 0.7 "
            "FROM articles")
        # stories: 80 % of the day's articles in `stories` clusters; the rest stand alone
        day_ids = [r[0] for r in conn.execute(
            "SELECT article_id FROM articles WHERE published_at >= %s AND published_at < %s ORDER BY article_id",
            (start, start + dt.timedelta(days=1))).fetchall()]
        clustered = day_ids[: int(len(day_ids) * 0.8)]
        story_ids = [r[0] for r in conn.execute(
            "INSERT INTO stories (label, theme, first_seen, last_seen, article_count, languages) "
            "SELECT 'Story ' || g, (ARRAY['chips','open_source','sanctions','other'])[1 + g %% 4], %s, %s, 0, "
            "'{de,en}' FROM generate_series(1, %s) g RETURNING story_id",
            (start - dt.timedelta(days=2), start, stories)).fetchall()]
        with conn.cursor().copy("COPY story_members (article_id, story_id, similarity) FROM STDIN") as copy:
            for i, article_id in enumerate(clustered):
                copy.write_row((article_id, story_ids[i % len(story_ids)], 0.8))
        conn.execute("UPDATE stories s SET article_count = m.n FROM (SELECT story_id, count(*) n FROM story_members "
                     "GROUP BY story_id) m WHERE m.story_id = s.story_id")
        for i, kind in enumerate(("self_sufficiency_target", "downloads", "market_share", "investment",
                                  "performance_ratio")):
            unit = {"downloads": "count", "investment": "usd", "performance_ratio": "ratio"}.get(kind, "percent")
            conn.execute("INSERT INTO indicator_definitions (indicator, kind, unit, target_value, description) "
                         "VALUES (%s, %s, %s, %s, %s)", (f"ind_{i}", kind, unit, 100, f"Indicator {i}"))
        for j, article_id in enumerate(day_ids[:200]):
            conn.execute(
                "INSERT INTO indicator_observations (indicator, subject, value, unit, observed_at, article_id, "
                "quote, source_kind) SELECT %s, %s, %s, unit, %s, %s, %s, 'article' FROM indicator_definitions "
                "WHERE indicator = %s",
                (f"ind_{j % 5}", f"Subject {j % 17}", rng.randrange(1, 100), start + dt.timedelta(minutes=j),
                 article_id, _sentence(rng, 15), f"ind_{j % 5}"))
        for i, (name, lang) in enumerate(outlets):
            failing = i % 10 == 0
            conn.execute(
                "INSERT INTO feeds (name, url, language, consecutive_failures, last_success_at, last_error, "
                "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (name, f"https://{name.replace(' ', '').lower()}.example/feed", lang, 9 if failing else 0,
                 start - dt.timedelta(days=3 if failing else 0), "HTTP 500" if failing else None,
                 start - dt.timedelta(days=60)))
        for stage in ("ingest", "embed", "themes", "stories", "indicators"):
            conn.execute("INSERT INTO stage_runs (stage, status, started_at, finished_at) VALUES (%s, 'ok', %s, %s)",
                         (stage, start + dt.timedelta(hours=7), start + dt.timedelta(hours=7, minutes=5)))
        conn.execute("ANALYZE")
    return len(rows)


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--stories", type=int, default=400)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="newsmon-bench-digest-") as tmp:
        home = Path(tmp)
        server = db.EmbeddedPostgres(home / "pg")
        url = server.start()
        try:
            db.upgrade(url)
            _, gen_s = timed(generate, url, args.articles, args.stories)
            settings = Settings.from_env({"NEWSMON_DATABASE_URL": url, "NEWSMON_HOME": str(home / "home")})
            as_of = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(6), tzinfo=TZ)

            from pipeline.infra.progress import NullReporter
            from pipeline.infra.runtime import Runtime

            with Runtime.open(settings, url=url, auto_upgrade=False, progress=NullReporter()) as rt:
                from pipeline.digest.stage import run_digest  # cold: imports matplotlib/jinja inside the timing below

                t0 = time.perf_counter()
                result = run_digest(rt, day=DAY, out=home / "out" / "digest", as_of=as_of)
                cold = time.perf_counter() - t0
                phases, html_bytes = measure_phases(rt, as_of)
                warm = min(timed(run_digest, rt, day=DAY, out=home / "out" / "digest", as_of=as_of)[1]
                           for _ in range(3))
            size = (home / "out" / "digest.eml").stat().st_size
        finally:
            server.stop()

    print(f"digest: day with {result.counts['articles']} articles, {args.stories} stories "
          f"(+{13 * HISTORY_PER_DAY} history articles; generated in {gen_s:.1f} s)")
    print(f"  run_digest cold (incl. imports) {cold:6.2f} s   = {cold / TARGET_S:.2f} x the {TARGET_S:.0f} s target")
    print(f"  run_digest warm (best of 3)     {warm:6.2f} s   = {warm / TARGET_S:.2f} x the target")
    total = sum(phases.values())
    for name, seconds in phases.items():
        print(f"    {name:<22} {seconds:6.3f} s   {seconds / total:5.0%} of a warm build")
    print(f"  mail {size / 1024:.0f} KiB, its HTML part {html_bytes / 1024:.0f} KiB "
          f"(Gmail clips above 102 KiB), {result.counts['stories']} stories shown")
    return 0 if cold < TARGET_S else 1


def measure_phases(rt, as_of) -> tuple[dict[str, float], int]:
    """The warm build's parts, side by side in this run, and the size of the HTML part."""
    from pipeline.digest.chart import render_chart
    from pipeline.digest.gather import gather
    from pipeline.digest.mail import build_message
    from pipeline.digest.render import render

    with rt.pool.connection() as conn:
        data, gather_s = timed(gather, conn, DAY, timezone=rt.settings.timezone,
                               themes=rt.settings.digest_themes, as_of=as_of)
    png, chart_s = timed(render_chart, data.series)
    rendered, render_s = timed(render, data, png, "chart@bench")
    msg, mime_s = timed(build_message, rendered, sender="a@b.c", to="d@e.f", message_id="<x@b.c>",
                        date=as_of, day=DAY)
    _, bytes_s = timed(msg.as_bytes)
    phases = {"gather (SQL + ranking)": gather_s, "chart (matplotlib)": chart_s, "render (Jinja2)": render_s,
              "MIME build + encode": mime_s + bytes_s}
    return phases, len(rendered.html.encode("utf-8"))


if __name__ == "__main__":
    sys.exit(main())
