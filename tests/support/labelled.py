"""The labelled set (tests/resources/labelled/articles.yaml) and the quality measures used by the
tests and by bench/: theme accuracy, pairwise precision/recall/F1, adjusted Rand index, and the
share of German/English event pairs that end up in one story."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence

import yaml

LABELLED_FILE = Path(__file__).resolve().parents[1] / "resources" / "labelled" / "articles.yaml"


@dataclass(frozen=True)
class LabelledArticle:
    id: str
    story: str  # the gold story; an article with `story: null` is a story of its own (its id)
    language: str
    published_at: datetime
    source: str
    theme: str
    alternatives: tuple[str, ...]
    title: str
    body: str

    def theme_ok(self, theme: str) -> bool:
        return theme == self.theme or theme in self.alternatives


def load_labelled(path: Path = LABELLED_FILE) -> list[LabelledArticle]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for a in data["articles"]:
        published = a["published_at"]
        if isinstance(published, str):
            published = datetime.fromisoformat(published.replace("Z", "+00:00"))
        out.append(LabelledArticle(
            id=a["id"], story=a["story"] or a["id"], language=a["language"], published_at=published,
            source=a["source"], theme=a["theme"], alternatives=tuple(a.get("alternatives") or ()),
            title=a["title"], body=" ".join(a["body"].split()),
        ))
    return out


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
