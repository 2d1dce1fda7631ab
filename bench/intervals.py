"""95 % intervals for the bench's figures. The labelled sets are small: 0 of 93 off-topic articles
themed still allows a true rate of 3.9 %, so a set of that size cannot show the issue's 0.5 %; and
the pairwise F1 of the 27-event test half (0.940) has an interval of 0.81-1.00. The reports print
the interval beside each figure so that a difference inside it is not read as a result."""

from __future__ import annotations

import numpy as np
from scipy.stats import beta

LEVEL = 0.95


def rate_interval(hits: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a rate seen as ``hits`` of ``n``."""
    if n == 0:
        return 0.0, 1.0
    tail = (1 - level) / 2
    low = 0.0 if hits == 0 else float(beta.ppf(tail, hits, n - hits + 1))
    high = 1.0 if hits == n else float(beta.ppf(1 - tail, hits + 1, n - hits))
    return low, high


def f1_interval(gold, predicted, rounds: int = 4000, seed: int = 0, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of the pairwise F1 when the gold stories (the events, not the articles,
    are the sample) are drawn again with replacement. Pair counts split by story: a story's own
    pairs are found or missed (TP, FN), and a pair of stories shares wrong pairs (FP) when
    their reports sit in one predicted story; a story drawn k times counts its own pairs k times
    and its wrong pairs with each other drawn story."""
    stories = sorted(set(gold), key=str)
    index = {s: i for i, s in enumerate(stories)}
    together = np.zeros((len(stories), len(set(predicted))))  # reports of story s in cluster p
    clusters = {p: j for j, p in enumerate(dict.fromkeys(predicted))}
    for g, p in zip(gold, predicted):
        together[index[g], clusters[p]] += 1
    found = (together * (together - 1) / 2).sum(axis=1)
    sizes = together.sum(axis=1)
    missed = sizes * (sizes - 1) / 2 - found
    shared = together @ together.T
    np.fill_diagonal(shared, 0)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(stories), np.full(len(stories), 1 / len(stories)), size=rounds)
    tp, fn = weights @ found, weights @ missed
    fp = np.einsum("rs,st,rt->r", weights, shared, weights) / 2
    denominator = 2 * tp + fp + fn
    scores = np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 1.0)
    tail = (1 - level) / 2
    return float(np.quantile(scores, tail)), float(np.quantile(scores, 1 - tail))


__all__ = ["rate_interval", "f1_interval", "LEVEL"]
