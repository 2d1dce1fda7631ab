"""Themes per embedding model: fitted on the theme set (the dev files and the held-out sets of
earlier rounds: what `newsmon calibrate` does), reported on the frozen test half: accuracy
(acceptable alternatives allowed), off-topic articles given an on-topic theme, precision and recall
per theme, each evidence alone, and the time per 1,000 articles (encoding, and scoring on its own).
The theme set is shown in-sample and out-of-fold (each article scored by weights fitted without its
story), the honest figure on the fitting side.

    .venv/bin/python bench/themes.py [--model NAME ...]

Never tune on what this prints for the test half: it is the report, not the objective.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from intervals import rate_interval  # noqa: E402  (bench/intervals.py)
from pipeline.embed.encoders import E5_MODEL, MINILM_MODEL, USE_MODEL, CachedEncoder, load_encoder  # noqa: E402
from pipeline.embed.stage import encode_articles  # noqa: E402
from pipeline.themes.calibrate import fit_themes, fit_weights, measure  # noqa: E402
from pipeline.themes.exemplars import exemplars_of  # noqa: E402
from pipeline.themes.scorer import FEATURES, ThemeParams, ThemeScorer, decide  # noqa: E402
from pipeline.themes.taxonomy import default_taxonomy  # noqa: E402
from tests.support.labelled import frozen_test_half  # noqa: E402


def line(name: str, figures: dict, keys) -> str:
    per_theme = "  ".join(f"{k} P {figures[k]['precision']:.3f} R {figures[k]['recall']:.3f}"
                          for k in keys if k in figures)
    low, high = rate_interval(figures["off_topic_given_theme"], figures["off_topic"])
    return (f"  {name:<22} accuracy {figures['accuracy']:.3f}  off-topic given a theme "
            f"{figures['off_topic_given_theme']}/{figures['off_topic']} (95 % {low:.1%}-{high:.1%})  {per_theme}")


def bench(model: str) -> None:
    encoder = CachedEncoder(load_encoder(model, fallback=False))
    exemplars, test = exemplars_of(encoder), frozen_test_half()
    dev = exemplars.articles
    fit = fit_themes(encoder, exemplars)
    scorer = ThemeScorer(default_taxonomy(), encoder, fit.params, exemplars)
    t0 = time.perf_counter()
    vectors = encode_articles(encoder, [(a.title, a.body) for a in test])
    t1 = time.perf_counter()
    assigned = scorer.assign(vectors, [a.title for a in test], [a.body for a in test], [a.language for a in test])
    t2 = time.perf_counter()
    keys = scorer.keys + ["other"]
    print(f"model {encoder.name}: threshold {fit.params.threshold:.2f}, weights "
          + ", ".join(f"{k} {v:.2f}" for k, v in fit.params.weights.items()))
    print(line("theme set (in-sample)", fit.figures, keys))
    print(line("theme set (out-of-fold)", fit.figures["out_of_fold"], keys))
    print(line("test half", measure(test, assigned), keys))
    feats = scorer.features(vectors, [a.title for a in test], [a.body for a in test], [a.language for a in test])
    dev_feats = scorer.features(exemplars.vectors, [a.title for a in dev], [a.body for a in dev],
                                [a.language for a in dev], own_stories=exemplars.stories)
    lexical = [FEATURES.index(f) for f in ("keywords", "negative", "spread")]
    for name, cols in (("descriptions only", [FEATURES.index("margin")]),
                       ("neighbours only", [FEATURES.index("neighbours")]),
                       ("embedding only", [FEATURES.index("margin"), FEATURES.index("neighbours")]),
                       ("keywords only", lexical)):
        masked, dev_masked = feats.copy(), dev_feats.copy()
        for f in (masked, dev_masked):
            f[..., [c for c in range(len(FEATURES)) if c not in cols]] = 0.0
        weights, bias = fit_weights(dev_masked, [a.theme for a in dev], [a.alternatives for a in dev], scorer.keys)
        probs = scorer.probabilities(masked, ThemeParams(weights, bias, fit.params.threshold))
        print(line(f"test, {name}", measure(test, [decide(scorer.keys, p, fit.params.threshold, scorer.outranks)
                                                   for p in probs]), keys))
    per_1000 = 1000 / len(test)
    print(f"  time per 1,000 articles: encoding {(t1 - t0) * per_1000:.1f}s, scoring {(t2 - t1) * per_1000:.2f}s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", help=f"model(s) to measure (default: {E5_MODEL}, {USE_MODEL}, {MINILM_MODEL})")
    for model in ap.parse_args().model or [E5_MODEL, USE_MODEL, MINILM_MODEL]:
        bench(model)


if __name__ == "__main__":
    main()
