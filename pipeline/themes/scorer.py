"""Theme scoring: themes for every article from its vector, its title, its lead and its language.

Evidence per theme, combined by a logistic model whose weights are fitted per embedding model on
the labelled development set (pipeline/themes/calibrate.py) and stored in ``model_calibration``:

- embedding margin: cosine to the theme's closest description (German and English sentences)
  minus cosine to the closest *background* description (consumer tech, markets, sport, courts,
  ...): a margin carries over between models better than a raw cosine;
- keywords in the article's language: distinct hits in title (counted twice) and text,
  ``1 - exp(-hits / 2)``; an ambiguous word ("chip", "licence") counts only near a context word;
- negative keywords in the article's language: ``1 - exp(-hits)``;
- spread: the share of the title and the lead's sentences that hold positive keyword evidence
  (a theme the article is about runs through it; a passing mention sits in one sentence), over at
  least SPREAD_MIN_UNITS units, so that a title-only item with a keyword is no full spread;
- neighbours: cosine to the article's nearest labelled reports of the theme minus cosine to its
  nearest labelled off-topic ones (pipeline/themes/exemplars.py).

Every theme whose probability reaches the threshold is kept (``themes``); the most probable one
is the primary theme. Below the threshold the article is ``other`` with
``theme_score = 1 - max probability``. An article in neither German nor English is ``other``
with reason ``language`` and is not scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from pipeline.text import split_sentences
from pipeline.themes.taxonomy import LANGUAGES, OTHER, Taxonomy

KEYWORD_TEXT_CHARS = 4000  # keywords are looked for in the title and the lead
FEATURES = ("margin", "keywords", "negative", "spread", "neighbours")
# the spread's denominator is never below this (title + three sentences): with an empty or one-line
# body, one hit would otherwise be the whole article (spread 1.0, the most of a long article)
SPREAD_MIN_UNITS = 4
REASON_LANGUAGE = "language"  # neither German nor English: no theme
# An outranking theme is primary only when it is at least half as probable as the best one, so
# that a chip-subsidy article whose sanctions probability merely clears the (low) abstain
# threshold stays `chips`. Out-of-fold on the dev half: always outranking put 11 chips articles
# under sanctions and kept 45 of 53 export-control articles sanctions-primary; half: 3 and 44.
OUTRANK_RATIO = 0.5


@dataclass(frozen=True)
class ThemeParams:
    """The fitted part: feature weights, a bias per theme, one probability threshold."""

    weights: dict[str, float]  # FEATURES -> weight (negative evidence has a negative weight)
    bias: dict[str, float]  # theme -> bias
    threshold: float
    taxonomy: str = ""  # digest of the themes file the weights were fitted with
    exemplars: str = ""  # digest of the labelled theme set they were fitted on (exemplars.theme_set)

    def to_json(self) -> dict:
        return {"weights": dict(self.weights), "bias": dict(self.bias), "threshold": self.threshold,
                "taxonomy": self.taxonomy, "exemplars": self.exemplars}

    @classmethod
    def from_json(cls, data: dict) -> "ThemeParams":
        return cls(weights={f: float(data["weights"][f]) for f in FEATURES},
                   bias={k: float(v) for k, v in data["bias"].items()}, threshold=float(data["threshold"]),
                   taxonomy=str(data.get("taxonomy") or ""), exemplars=str(data.get("exemplars") or ""))


@dataclass
class Assignment:
    theme: str  # the primary theme, or `other`
    theme_score: float
    scores: dict[str, float]
    themes: list[str] = field(default_factory=list)  # every theme over the threshold, primary first
    reason: str | None = None  # why the article was not scored (REASON_LANGUAGE)


class ThemeScorer:
    """Scores articles against a taxonomy with one encoder's prototype vectors."""

    def __init__(self, taxonomy: Taxonomy, encoder, params: ThemeParams | None = None, exemplars=None):
        self.taxonomy = taxonomy
        self.exemplars = exemplars  # pipeline/themes/exemplars.Exemplars of the encoder's model
        self.model = encoder.name
        self.keys = list(taxonomy.themes)
        texts = [d for k in self.keys for d in taxonomy.themes[k].descriptions]
        owners = [i for i, k in enumerate(self.keys) for _ in taxonomy.themes[k].descriptions]
        vecs = encoder.encode(texts + taxonomy.background)
        self.protos = vecs[: len(texts)]
        self.proto_owner = np.array(owners)
        self.background = vecs[len(texts):]
        self.params = params
        self.outranks = {k: tuple(taxonomy.themes[k].outranks) for k in self.keys}

    def features(self, vectors: np.ndarray, titles: Sequence[str], texts: Sequence[str],
                 languages: Sequence[str], own_stories: Sequence[str] | None = None) -> np.ndarray:
        """(n, themes, len(FEATURES)): embedding margin, keyword evidence, negative evidence, spread,
        neighbours (0 without exemplars; ``own_stories`` when the articles are exemplars themselves)."""
        n = len(titles)
        out = np.zeros((n, len(self.keys), len(FEATURES)), dtype=np.float64)
        if n == 0:
            return out
        leads = [(text or "")[:KEYWORD_TEXT_CHARS] for text in texts]
        sentences = [split_sentences(lead) for lead in leads]
        sims = vectors @ self.protos.T
        bg = (vectors @ self.background.T).max(axis=1)
        for t, key in enumerate(self.keys):
            out[:, t, 0] = sims[:, self.proto_owner == t].max(axis=1) - bg
            theme = self.taxonomy.themes[key]
            for i in range(n):
                pos, neg = theme.keyword_hits(titles[i] or "", leads[i], languages[i])
                out[i, t, 1] = 1.0 - math.exp(-pos / 2.0)
                out[i, t, 2] = 1.0 - math.exp(-neg)
                spread = theme.sentences_with_evidence(titles[i] or "", sentences[i], languages[i])
                out[i, t, 3] = spread / max(len(sentences[i]) + 1, SPREAD_MIN_UNITS)
        if self.exemplars is not None:
            out[:, :, 4] = self.exemplars.margins(vectors, self.keys, own_stories)
        return out

    def probabilities(self, features: np.ndarray, params: ThemeParams | None = None) -> np.ndarray:
        p = params or self.params
        z = sum(p.weights[f] * features[..., i] for i, f in enumerate(FEATURES))
        z = z + np.array([p.bias.get(k, min(p.bias.values())) for k in self.keys])
        return 1.0 / (1.0 + np.exp(-z))

    def assign(self, vectors: np.ndarray, titles: Sequence[str], texts: Sequence[str],
               languages: Sequence[str]) -> list[Assignment]:
        """One assignment per article; ``languages`` are 'de', 'en' or anything else (no theme)."""
        if self.exemplars is None or self.exemplars.model != self.model:
            raise ValueError(f"theme scoring with {self.model} needs that model's labelled exemplars")
        scored = [i for i, lang in enumerate(languages) if lang in LANGUAGES]
        out = [Assignment(OTHER, 1.0, {}, [], REASON_LANGUAGE) for _ in languages]
        if scored:
            feats = self.features(vectors[scored], [titles[i] for i in scored], [texts[i] for i in scored],
                                  [languages[i] for i in scored])
            for i, row in zip(scored, self.probabilities(feats)):
                out[i] = decide(self.keys, row, self.params.threshold, self.outranks)
        return out


def decide(keys: Sequence[str], probs: np.ndarray, threshold: float,
           outranks: dict[str, Sequence[str]] | None = None) -> Assignment:
    """The most probable theme is primary unless another theme over the threshold outranks it
    (export controls on chips: `sanctions` outranks `chips`) and is comparably probable (at least
    OUTRANK_RATIO of the best: a chip-subsidy article that mentions export rules in passing
    stays `chips`); every theme over the threshold is kept."""
    scores = {k: round(float(p), 4) for k, p in zip(keys, probs)}
    best = int(np.argmax(probs)) if len(probs) else -1
    if best < 0 or probs[best] < threshold:
        top = float(probs[best]) if best >= 0 else 0.0
        return Assignment(OTHER, round(1.0 - top, 4), scores)
    over = sorted((i for i, p in enumerate(probs) if p >= threshold), key=lambda i: -probs[i])
    for i in over:
        if keys[best] in (outranks or {}).get(keys[i], ()) and probs[i] >= OUTRANK_RATIO * probs[best]:
            best = i
            break
    over.remove(best)
    return Assignment(keys[best], round(float(probs[best]), 4), scores, [keys[best]] + [keys[i] for i in over])


__all__ = ["ThemeScorer", "ThemeParams", "Assignment", "decide", "KEYWORD_TEXT_CHARS", "FEATURES",
           "REASON_LANGUAGE", "OUTRANK_RATIO"]
