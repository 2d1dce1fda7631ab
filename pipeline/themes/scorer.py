"""Theme scoring: one theme per article from its vector, its title and its lead.

Evidence per theme, combined by a logistic model whose weights are fitted on the labelled set
(``bench/themes.py --fit``) and stored in the YAML:

- embedding margin: cosine to the theme's closest description (German and English sentences)
  minus cosine to the closest *background* description (sport, food, local news, ...);
- keywords: distinct keyword hits in title (counted twice) and text, ``1 - exp(-hits / 2)``;
- negative keywords (potato chips, a library's open day, doping bans): ``1 - exp(-hits)``.

``theme_score`` is the winning theme's probability; below the threshold the article is
``other`` with ``theme_score = 1 - max probability``. ``scores`` keeps every theme's value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from pipeline.themes.taxonomy import OTHER, Scoring, Taxonomy

KEYWORD_TEXT_CHARS = 4000  # keywords are looked for in the title and the lead


@dataclass
class Assignment:
    theme: str
    theme_score: float
    scores: dict[str, float]


class ThemeScorer:
    """Scores articles against a taxonomy with one encoder's prototype vectors."""

    def __init__(self, taxonomy: Taxonomy, encoder):
        self.taxonomy = taxonomy
        self.model = encoder.name
        self.keys = list(taxonomy.themes)
        texts = [d for k in self.keys for d in taxonomy.themes[k].descriptions]
        owners = [i for i, k in enumerate(self.keys) for _ in taxonomy.themes[k].descriptions]
        vecs = encoder.encode(texts + taxonomy.background)
        self.protos = vecs[: len(texts)]
        self.proto_owner = np.array(owners)
        self.background = vecs[len(texts):]
        self.scoring = taxonomy.scoring_for(encoder.name)

    def features(self, vectors: np.ndarray, titles: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """(n, themes, 3): embedding margin, keyword evidence, negative evidence."""
        n = len(titles)
        out = np.zeros((n, len(self.keys), 3), dtype=np.float64)
        if n == 0:
            return out
        sims = vectors @ self.protos.T
        bg = (vectors @ self.background.T).max(axis=1)
        for t, key in enumerate(self.keys):
            out[:, t, 0] = sims[:, self.proto_owner == t].max(axis=1) - bg
            theme = self.taxonomy.themes[key]
            for i in range(n):
                pos, neg = theme.keyword_hits(titles[i] or "", (texts[i] or "")[:KEYWORD_TEXT_CHARS])
                out[i, t, 1] = 1.0 - math.exp(-pos / 2.0)
                out[i, t, 2] = 1.0 - math.exp(-neg)
        return out

    def probabilities(self, features: np.ndarray, scoring: Scoring | None = None) -> np.ndarray:
        s = scoring or self.scoring
        z = s.margin * features[..., 0] + s.keywords * features[..., 1] - s.negative * features[..., 2] + s.bias
        return 1.0 / (1.0 + np.exp(-z))

    def assign(self, vectors: np.ndarray, titles: Sequence[str], texts: Sequence[str]) -> list[Assignment]:
        probs = self.probabilities(self.features(vectors, titles, texts))
        return [decide(self.keys, row, self.scoring.threshold) for row in probs]


def decide(keys: Sequence[str], probs: np.ndarray, threshold: float) -> Assignment:
    scores = {k: round(float(p), 4) for k, p in zip(keys, probs)}
    best = int(np.argmax(probs)) if len(probs) else -1
    if best < 0 or probs[best] < threshold:
        top = float(probs[best]) if best >= 0 else 0.0
        return Assignment(OTHER, round(1.0 - top, 4), scores)
    return Assignment(keys[best], round(float(probs[best]), 4), scores)


__all__ = ["ThemeScorer", "Assignment", "decide", "KEYWORD_TEXT_CHARS"]
