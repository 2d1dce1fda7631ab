"""Themes: the taxonomy in ``data/themes.yaml`` and the assignment of one theme per article.

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

import json
import logging
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from pipeline.infra.config import DATA_DIR, UserError
from pipeline.infra.runs import StageResult, record_stage

log = logging.getLogger(__name__)

THEMES_FILE = DATA_DIR / "themes.yaml"
OTHER = "other"
KEYWORD_TEXT_CHARS = 4000  # keywords are looked for in the title and the lead
_THEME_FIELDS = {"label", "description_de", "description_en", "keywords_de", "keywords_en",
                 "negative_keywords_de", "negative_keywords_en"}
_SCORING_FIELDS = ("margin", "keywords", "negative", "bias", "threshold")


class ThemeError(UserError):
    """The taxonomy file is malformed."""


@dataclass(frozen=True)
class Scoring:
    margin: float
    keywords: float
    negative: float
    bias: float
    threshold: float


@dataclass
class Theme:
    key: str
    label: str
    descriptions: list[str]
    keywords: list[str]
    negative_keywords: list[str]
    _pos: re.Pattern | None = field(default=None, repr=False)
    _neg: re.Pattern | None = field(default=None, repr=False)

    def __post_init__(self):
        self._pos = compile_keywords(self.keywords)
        self._neg = compile_keywords(self.negative_keywords)

    def keyword_hits(self, title: str, text: str) -> tuple[int, int]:
        """(weighted positive hits, negative hits): distinct keywords; title hits count twice."""
        return _hits(self._pos, title, text), _hits(self._neg, title, text)


@dataclass
class Taxonomy:
    themes: dict[str, Theme]
    background: list[str]
    scoring: dict[str, Scoring]

    def scoring_for(self, model: str) -> Scoring:
        return self.scoring.get(model) or self.scoring["default"]


def _hits(pattern: re.Pattern | None, title: str, text: str) -> int:
    if pattern is None:
        return 0
    in_title = {m.group(0).lower() for m in pattern.finditer(title)}
    in_text = {m.group(0).lower() for m in pattern.finditer(text)} - in_title
    return 2 * len(in_title) + len(in_text)


def compile_keywords(keywords: Sequence[str]) -> re.Pattern | None:
    """One regex for a keyword list: whole words, `*` = any letters, phrases across spaces."""
    parts = []
    for kw in keywords:
        words = [re.escape(w).replace(r"\*", r"[\w-]*") for w in str(kw).lower().split()]
        if words:
            parts.append(r"\s+".join(words))
    if not parts:
        return None
    # Longest first, so "export controls" wins over "export" when both could match.
    parts.sort(key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])", re.IGNORECASE)


def _str_list(value, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ThemeError(f"themes file: {where} must be a list of strings")
    return [str(v) for v in value]


def load_taxonomy(path: Path | str = THEMES_FILE) -> Taxonomy:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeError(f"themes file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ThemeError(f"themes file {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("themes"), dict) or not data["themes"]:
        raise ThemeError(f"themes file {path}: expected a top-level `themes:` mapping")
    themes = {}
    for key, spec in data["themes"].items():
        if key == OTHER or not re.fullmatch(r"[a-z][a-z0-9_]*", str(key)):
            raise ThemeError(f"themes file: bad theme key {key!r} (lower-case identifier, not 'other')")
        if not isinstance(spec, dict):
            raise ThemeError(f"themes file: theme {key} must be a mapping")
        unknown = set(spec) - _THEME_FIELDS
        if unknown:
            raise ThemeError(f"themes file: theme {key} has unknown key(s) {', '.join(sorted(unknown))}")
        descriptions = _str_list(spec.get("description_en"), f"{key}.description_en") + _str_list(
            spec.get("description_de"), f"{key}.description_de")
        if not descriptions:
            raise ThemeError(f"themes file: theme {key} needs description_en and/or description_de")
        themes[key] = Theme(
            key=key,
            label=str(spec.get("label") or key),
            descriptions=descriptions,
            keywords=_str_list(spec.get("keywords_en"), key) + _str_list(spec.get("keywords_de"), key),
            negative_keywords=_str_list(spec.get("negative_keywords_en"), key)
            + _str_list(spec.get("negative_keywords_de"), key),
        )
    bg = data.get("background") or {}
    background = [s for lang in ("en", "de") for s in _str_list(bg.get(lang), f"background.{lang}")]
    if not background:
        raise ThemeError("themes file: `background:` needs en and/or de descriptions of off-topic news")
    scoring = {}
    for model, spec in (data.get("scoring") or {}).items():
        try:
            scoring[str(model)] = Scoring(**{f: float(spec[f]) for f in _SCORING_FIELDS})
        except (KeyError, TypeError, ValueError):
            raise ThemeError(f"themes file: scoring.{model} needs numbers {', '.join(_SCORING_FIELDS)}") from None
    if "default" not in scoring:
        raise ThemeError("themes file: `scoring:` needs a `default` entry")
    return Taxonomy(themes=themes, background=background, scoring=scoring)


# --------------------------------------------------------------------------- scoring


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


@lru_cache(maxsize=4)
def _cached_taxonomy(path: str, mtime: float) -> Taxonomy:
    return load_taxonomy(path)


def default_taxonomy() -> Taxonomy:
    return _cached_taxonomy(str(THEMES_FILE), THEMES_FILE.stat().st_mtime)


# --------------------------------------------------------------------------- the stage


def run_themes(rt, batch_size: int = 1000, *, encoder=None, taxonomy: Taxonomy | None = None) -> StageResult:
    """Assign a theme to every article that has a vector for the active model and no theme from
    that model yet (so a re-embed re-themes). Idempotent: re-running assigns nothing new."""
    from pipeline.embed.stage import load_encoder
    from pipeline.store import embeddings as emb_store
    from pipeline.store import stories as story_store

    taxonomy = taxonomy or default_taxonomy()
    with record_stage(rt.pool, "themes") as result:
        with rt.pool.connection() as conn:
            active = emb_store.active_model(conn)
        if active is None:
            result.notes.append("no embedding model registered yet: run `newsmon embed` first")
            return result
        model = active[0]
        with rt.pool.connection() as conn:
            total = story_store.count_unthemed(conn, model)
        if not total:
            return result
        encoder = encoder if encoder is not None and encoder.name == model else load_encoder(model, fallback=False)
        scorer = ThemeScorer(taxonomy, encoder)
        with rt.progress.task("themes", total) as tracker:
            for batch in story_store.iter_unthemed(rt.pool, model, batch_size):
                ids = [r[0] for r in batch]
                vectors = emb_store.stack_vectors([r[3] for r in batch])
                assignments = scorer.assign(vectors, [r[1] or "" for r in batch], [r[2] or "" for r in batch])
                with rt.pool.connection() as conn:
                    story_store.write_themes(
                        conn, model,
                        [(i, a.theme, a.theme_score, json.dumps(a.scores)) for i, a in zip(ids, assignments)],
                    )
                for a in assignments:
                    result.add(f"theme_{a.theme}")
                result.add("assigned", len(ids))
                tracker.advance(len(ids))
    return result


__all__ = ["Taxonomy", "Theme", "Scoring", "ThemeScorer", "Assignment", "ThemeError", "load_taxonomy",
           "default_taxonomy", "compile_keywords", "decide", "run_themes", "OTHER"]
