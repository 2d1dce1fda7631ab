"""Analytics benchmark: every example query of docs/analysts.md on 100,000 generated articles.

Starts its own embedded Postgres in a temporary folder (or uses --url), migrates it, generates
articles (German and English, with themes, stories, syndicated copies, embeddings, indicator
observations and feeds) with COPY, builds the embed stage's HNSW index, VACUUM ANALYZEs, then
runs each example of the guide as the newsmon_analyst role and prints the median of several
runs. Side by side, in the same run and on the same data, each query is also timed with the
indexes of sql/migrations/0007_analytics_indexes.sql dropped (inside a transaction that is
rolled back), so the table shows what those indexes buy.

    .venv/bin/python bench/analytics.py                 # 100,000 articles, 64-dim vectors
    .venv/bin/python bench/analytics.py --articles 20000 --dim 384
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.infra import db  # noqa: E402
from pipeline.infra.config import Settings  # noqa: E402
from pipeline.infra.db.roles import ANALYST_ROLE, apply_role_passwords, role_url  # noqa: E402
from tests.e2e.guide import parse_examples  # noqa: E402

TARGET_MS = 200.0
MODEL = "bench-model"
# A niche topic (as in real news: a few articles mention it), searched by example 7; the
# theme vocabularies above make every theme word very common (example 6's worst case).
RARE_TOPIC = ("Gallium", "Germanium")
RARE_TOPIC_SHARE = 0.03
# Titles the guide's examples look articles up by: given to generated English story articles.
ANCHOR_TITLES = ["Huawei's Ascend 910C closes part of the gap to Nvidia"]

VOCAB = {
    "chips": {
        "de": "Halbleiter Chip Chips Chipfabrik Nvidia TSMC Fertigung Wafer Grafikprozessoren Rechenzentrum "
              "Lithografie ASML Huawei Ascend Nanometer Speicherchips Inferenzleistung Chipindustrie".split(),
        "en": "semiconductor chip chips chipmaker Nvidia TSMC foundry fab wafer GPUs datacenter lithography "
              "ASML Huawei Ascend nanometre memory inference accelerator".split(),
    },
    "open_source": {
        "de": "Open-Source Sprachmodell Modellgewichte offen Lizenz Downloads Hugging Face Llama Qwen "
              "DeepSeek Mistral Entwickler Community Benchmark quelloffen".split(),
        "en": "open-source model weights open-weight licence downloads Hugging Face Llama Qwen DeepSeek "
              "Mistral developers community benchmark release".split(),
    },
    "sanctions": {
        "de": "Sanktionen Exportkontrollen Exportverbot Handelsministerium Embargo Zölle Lizenzpflicht "
              "Entity-Liste Strafen Ausfuhr Beschränkungen Handelsstreit".split(),
        "en": "sanctions export controls ban Commerce Department embargo tariffs licence entity list "
              "penalties restrictions trade dispute".split(),
    },
    "other": {
        "de": "Fußball Wetter Bahn Kartoffelchips Rezept Konzert Wahl Verkehr Urlaub Theater".split(),
        "en": "football weather rail crisps recipe concert election traffic holiday theatre".split(),
    },
}
FILLER = {
    "de": "der die das und mit für nach hat wird ein eine heute laut Bericht Regierung Unternehmen Markt "
          "Jahr China USA Europa neue weitere sagte Woche".split(),
    "en": "the and with for after has will a an today according report government company market year "
          "China US Europe new further said week".split(),
}
THEMES = ("chips", "open_source", "sanctions", "other")
THEME_WEIGHTS = (0.3, 0.2, 0.25, 0.25)
OUTLETS = {"de": [f"de-outlet-{i:02d}" for i in range(20)], "en": [f"en-outlet-{i:02d}" for i in range(20)]}
INDICATORS = [
    ("model_downloads", "downloads", "count", ["Qwen", "Llama", "DeepSeek", "Mistral"], None, None),
    ("china_chip_self_sufficiency", "self_sufficiency_target", "percent", ["China"], 70, 2028),
    ("domestic_chip_performance", "performance_ratio", "percent", ["Huawei Ascend 910C"], None, None),
    ("ai_chip_market_share", "market_share", "percent", ["Nvidia", "Huawei"], None, None),
    ("ai_investment", "investment", "usd", ["EU", "China", "USA"], None, None),
]


_WORDS: dict = {}


def _text(rng: np.random.Generator, theme: str, lang: str, n_words: int, theme_share: float) -> str:
    """Random words: ``theme_share`` of them from the theme's vocabulary, the rest filler."""
    key = (theme, lang)
    if key not in _WORDS:
        _WORDS[key] = (np.array(VOCAB[theme][lang], dtype=object), np.array(FILLER[lang], dtype=object))
    vocab, filler = _WORDS[key]
    n_theme = rng.binomial(n_words, theme_share)
    words = np.concatenate([vocab[rng.integers(0, len(vocab), n_theme)],
                            filler[rng.integers(0, len(filler), n_words - n_theme)]])
    rng.shuffle(words)
    return " ".join(words)


def generate(url: str, n_articles: int, dim: int, seed: int = 7) -> dict[str, float]:
    """Fill a migrated, empty database. Returns seconds per step."""
    from pgvector.psycopg import register_vector

    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    days = 365

    t0 = time.perf_counter()
    # stories first: each has a theme, a start and 2-12 members within 72 hours in both languages
    story_share = 0.4
    n_story_articles = int(n_articles * story_share)
    sizes = []
    while sum(sizes) < n_story_articles:
        sizes.append(int(min(12, 2 + rng.geometric(0.3))))
    sizes[-1] -= sum(sizes) - n_story_articles
    if sizes[-1] < 2:
        sizes.pop()
    rows = []  # (published_at, lang, theme, story_index or -1)
    for s, size in enumerate(sizes):
        theme = THEMES[rng.choice(3, p=(0.35, 0.25, 0.4))]  # stories are on-topic
        t_start = start + dt.timedelta(seconds=float(rng.uniform(0, days * 86400)))
        for _ in range(size):
            lang = "de" if rng.random() < 0.5 else "en"
            rows.append((t_start + dt.timedelta(hours=float(rng.exponential(18))), lang, theme, s))
    while len(rows) < n_articles:
        theme = THEMES[rng.choice(4, p=THEME_WEIGHTS)]
        lang = "de" if rng.random() < 0.5 else "en"
        rows.append((start + dt.timedelta(seconds=float(rng.uniform(0, days * 86400))), lang, theme, -1))
    rows.sort(key=lambda r: r[0])  # identity ids then follow publication order, as in real ingestion

    # vectors: story members near their story's centroid, others anywhere
    centroids = rng.standard_normal((len(sizes), dim)).astype(np.float32)
    vectors = rng.standard_normal((len(rows), dim)).astype(np.float32)
    story_idx = np.array([r[3] for r in rows])
    members = story_idx >= 0
    vectors[members] = centroids[story_idx[members]] + 0.35 * vectors[members]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    timings["plan"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        register_vector(conn)
        conn.execute("INSERT INTO feeds (name, url, language, last_status, last_checked_at, last_success_at,"
                     " consecutive_failures, last_error) SELECT name, 'https://' || name || '.example/feed', lang,"
                     " CASE WHEN i %% 13 = 0 THEN 503 ELSE 200 END, %s, %s - CASE WHEN i %% 13 = 0 THEN interval '3 days'"
                     " ELSE interval '0' END, CASE WHEN i %% 13 = 0 THEN 9 ELSE 0 END,"
                     " CASE WHEN i %% 13 = 0 THEN 'HTTP 503' END"
                     " FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS f(name, lang, i)",
                     (start + dt.timedelta(days=days), start + dt.timedelta(days=days),
                      OUTLETS["de"] + OUTLETS["en"], ["de"] * 20 + ["en"] * 20))
        dup_of = {}
        with conn.cursor().copy(
            "COPY articles (url, canonical_url, title, source, site_name, language, published_at, body_text, word_count,"
            " extract_status, fetched_at, duplicate_of) FROM STDIN"
        ) as copy:
            for i, (published, lang, theme, s) in enumerate(rows, start=1):
                outlet = OUTLETS[lang][int(rng.integers(0, 20))]
                title = _text(rng, theme, lang, int(rng.integers(6, 11)), 0.45)
                body = _text(rng, theme, lang, int(rng.integers(250, 550)), 0.2)  # 2-4 KB, like a news item
                if theme == "sanctions" and rng.random() < RARE_TOPIC_SHARE:
                    body += " " + " ".join(RARE_TOPIC)
                duplicate = None
                if i > 10 and rng.random() < 0.03:  # a syndicated copy of a recent article
                    duplicate = int(i - rng.integers(1, 10))
                    dup_of[i] = duplicate
                link = f"https://{outlet}.example/{published:%Y/%m/%d}/{i}"
                copy.write_row((link, link, title, outlet, outlet, lang, published, body, len(body.split()), "ok",
                                published + dt.timedelta(minutes=20), duplicate))
        for n, title in enumerate(ANCHOR_TITLES):
            conn.execute("UPDATE articles SET title = %s WHERE article_id = %s", (title, _anchor(rows, n)))
        timings["articles"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        # themes: mostly the generated theme, with a score
        with conn.cursor().copy("COPY article_themes (article_id, theme, theme_score, model) FROM STDIN") as copy:
            for i, (_, _, theme, _) in enumerate(rows, start=1):
                copy.write_row((i, theme, round(float(rng.uniform(0.45, 0.98)), 3), MODEL))
        # stories and members
        story_rows = {}
        for i, (published, lang, theme, s) in enumerate(rows, start=1):
            if s >= 0:
                story_rows.setdefault(s, []).append((i, published, lang, theme))
        with conn.cursor().copy("COPY stories (label, theme, first_seen, last_seen, article_count, languages,"
                                " model) FROM STDIN") as copy:
            order = sorted(story_rows)
            for s in order:
                m = story_rows[s]
                label = " ".join(VOCAB[m[0][3]]["de"][:2] + VOCAB[m[0][3]]["en"][:1]) + f" #{s}"
                copy.write_row((label, m[0][3], min(x[1] for x in m), max(x[1] for x in m), len(m),
                                sorted({x[2] for x in m}), MODEL))
        with conn.cursor().copy("COPY story_members (article_id, story_id, similarity) FROM STDIN") as copy:
            for story_id, s in enumerate(order, start=1):
                for (i, _, _, _) in story_rows[s]:
                    copy.write_row((i, story_id, round(float(rng.uniform(0.6, 0.95)), 3)))
        timings["themes+stories"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        conn.execute("INSERT INTO embedding_models (model, dims, backend, active) VALUES (%s, %s, 'bench', true)",
                     (MODEL, dim))
        with conn.cursor().copy("COPY embeddings (article_id, model, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "text", "vector"])
            for i in range(len(rows)):
                vec = vectors[dup_of[i + 1] - 1] if (i + 1) in dup_of else vectors[i]
                copy.write_row((i + 1, MODEL, vec))
        timings["embeddings"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        for key, kind, unit, subjects, target, year in INDICATORS:
            conn.execute("INSERT INTO indicator_definitions (indicator, kind, unit, subjects, target_value,"
                         " target_year, description) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         (key, kind, unit, subjects, target, year, f"generated {kind}"))
        with conn.cursor().copy("COPY indicator_observations (indicator, subject, value, unit, target_year,"
                                " observed_at, article_id, article_url, quote, source_kind, source_url)"
                                " FROM STDIN") as copy:
            for day in range(days):  # daily API readings of model downloads
                for j, subject in enumerate(INDICATORS[0][3]):
                    value = int(1_000_000 * (j + 1) + day * 25_000 * (j + 1))
                    copy.write_row(("model_downloads", subject, value, "count", None,
                                    start + dt.timedelta(days=day), None, None, None, "api",
                                    f"https://huggingface.co/api/models/{subject}"))
            for n in range(n_articles // 20):  # figures quoted in articles
                key, kind, unit, subjects, target, year = INDICATORS[1 + n % 4]
                i = int(rng.integers(1, len(rows) + 1))
                value = round(float(rng.uniform(5, 95)), 1) if unit == "percent" else int(rng.integers(1, 50)) * 10**8
                copy.write_row((key, subjects[n % len(subjects)], value, unit, year, rows[i - 1][0], i,
                                f"https://example/{i}", f"generated quote {n}", "article", None))
        timings["indicators"] = time.perf_counter() - t0
        conn.commit()

        t0 = time.perf_counter()
        from pipeline.store.embeddings import ensure_index

        conn.execute("SET maintenance_work_mem = '512MB'")
        ensure_index(conn, MODEL, dim)
        conn.commit()
        timings["hnsw index"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    timings["vacuum analyze"] = time.perf_counter() - t0
    return timings


def _anchor(rows, n: int) -> int:
    """The id of the n-th English article that belongs to a story (ids follow ``rows``)."""
    found = [i for i, r in enumerate(rows, start=1) if r[1] == "en" and r[3] >= 0]
    return found[len(found) // 2 + n]


def own_indexes() -> list[str]:
    text = (db.sql_dir() / "migrations" / "0007_analytics_indexes.sql").read_text()
    return re.findall(r"CREATE INDEX (?:IF NOT EXISTS )?(\w+)", text)


def time_query(conn, query: str, repeat: int) -> tuple[float, int]:
    """Median milliseconds over ``repeat`` runs (after one warm-up) and the row count."""
    rows = len(conn.execute(query).fetchall())
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        conn.execute(query).fetchall()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), rows


def run(url: str, n_articles: int, dim: int, repeat: int, skip_generate: bool = False) -> int:
    guide = ROOT / "docs" / "analysts.md"
    examples = parse_examples(guide.read_text(encoding="utf-8"))
    if not skip_generate:
        print(f"generating {n_articles:,} articles ({dim}-dim vectors) ...", flush=True)
        steps = generate(url, n_articles, dim)
        print("  " + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()), flush=True)

    password = secrets.token_urlsafe(16)
    apply_role_passwords(url, Settings(database_url=url, analyst_password=password))
    analyst = role_url(url, ANALYST_ROLE, password)
    indexes = own_indexes()

    results = []
    # Side by side, example by example: as the analyst (its own login), then the same query
    # without this area's indexes (dropped inside a transaction that is rolled back).
    with psycopg.connect(analyst, autocommit=True) as conn, psycopg.connect(url) as owner:
        for ex in examples:
            ms, n = time_query(conn, ex.sql, repeat)
            with owner.transaction(force_rollback=True):
                for name in indexes:
                    owner.execute(f"DROP INDEX {name}")
                owner.execute(f"SET LOCAL ROLE {ANALYST_ROLE}")
                ms_without, _ = time_query(owner, ex.sql, max(1, repeat // 2))
            results.append([ex.number, ex.title, n, ms, ms_without])

    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU(s)")
    print(f"{'#':>3}  {'example':<58} {'rows':>5} {'ms':>8} {'no 0007 idx':>12} {'speed-up':>9}")
    worst = 0.0
    for number, title, n, ms, ms_without in results:
        worst = max(worst, ms)
        print(f"{number:>3}  {title[:58]:<58} {n:>5} {ms:>8.1f} {ms_without:>12.1f} {ms_without / ms:>8.1f}x")
    status = "OK" if worst < TARGET_MS else "SLOW"
    print(f"\nslowest example: {worst:.1f} ms (target < {TARGET_MS:.0f} ms): {status}")
    return 0 if worst < TARGET_MS else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--url", help="an empty database to use (default: a temporary embedded Postgres)")
    p.add_argument("--skip-generate", action="store_true", help="reuse the data already in --url")
    args = p.parse_args(argv)
    if args.url:
        if not args.skip_generate:
            db.upgrade(args.url)
        return run(args.url, args.articles, args.dim, args.repeat, args.skip_generate)
    with tempfile.TemporaryDirectory(prefix="newsmon-bench-") as tmp:
        server = db.EmbeddedPostgres(Path(tmp))
        url = server.start()
        try:
            db.upgrade(url)
            return run(url, args.articles, args.dim, args.repeat)
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
