"""The labelled sets (tests/resources/labelled/: articles.yaml + articles_dev.yaml = the dev half,
articles_test.yaml = the frozen test half; pipeline/data/labelled/ ships copies of the dev half)
and the quality measures used by the tests and by bench/: theme accuracy, pairwise precision/recall/F1, adjusted Rand index, and the
share of German/English event pairs that end up in one story."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pipeline.labelled import LabelledArticle, dev_articles
from pipeline.labelled import load_labelled as _load

LABELLED_DIR = Path(__file__).resolve().parents[1] / "resources" / "labelled"
LABELLED_FILE = LABELLED_DIR / "articles.yaml"
DEV_FILE = LABELLED_DIR / "articles_dev.yaml"
TEST_FILE = LABELLED_DIR / "articles_test.yaml"


def load_labelled(path: Path = LABELLED_FILE) -> list[LabelledArticle]:
    return _load(path)


def dev_half() -> list[LabelledArticle]:
    """Every dev file calibration fits on (pipeline.labelled.DEV_FILES, shipped in the package)."""
    return dev_articles()


def frozen_test_half() -> list[LabelledArticle]:
    """The frozen test half: only ever reported."""
    return load_labelled(TEST_FILE)


def theme_accuracy(articles: Sequence[LabelledArticle], predicted: Sequence[str]) -> float:
    return sum(a.theme_ok(p) for a, p in zip(articles, predicted)) / len(articles)


@dataclass
class PairScores:
    precision: float
    recall: float
    f1: float
    cross_lingual_recall: float  # share of same-event de/en pairs placed in one story
    ari: float


def pair_scores(gold: Sequence, predicted: Sequence, languages: Sequence[str]) -> PairScores:
    tp = fp = fn = xl_total = xl_hit = 0
    for i, j in itertools.combinations(range(len(gold)), 2):
        same_gold, same_pred = gold[i] == gold[j], predicted[i] == predicted[j]
        tp += same_gold and same_pred
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
        if same_gold and languages[i] != languages[j]:
            xl_total += 1
            xl_hit += same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(precision, recall, f1, xl_hit / xl_total if xl_total else 1.0,
                      adjusted_rand_index(gold, predicted))


def adjusted_rand_index(gold: Sequence, predicted: Sequence) -> float:
    """ARI (Hubert and Arabie), written out to keep the tests free of scikit-learn."""
    from collections import Counter
    from math import comb

    n = len(gold)
    pairs = Counter(zip(gold, predicted))
    sum_ij = sum(comb(c, 2) for c in pairs.values())
    sum_a = sum(comb(c, 2) for c in Counter(gold).values())
    sum_b = sum(comb(c, 2) for c in Counter(predicted).values())
    total = comb(n, 2)
    expected = sum_a * sum_b / total if total else 0.0
    maximum = (sum_a + sum_b) / 2
    if maximum == expected:
        return 1.0
    return (sum_ij - expected) / (maximum - expected)
