"""The theme taxonomy: ``data/themes.yaml`` loaded and checked, and its keyword syntax.

Each theme has descriptions in German and English (embedding prototypes), keywords and
negative keywords; ``background`` describes off-topic news; ``scoring`` holds the weights that
bench/themes.py --fit finds per embedding model. Every theme but ``other`` is described here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import yaml

from pipeline.infra.config import DATA_DIR, OTHER_THEME, UserError

THEMES_FILE = DATA_DIR / "themes.yaml"
OTHER = OTHER_THEME
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


@lru_cache(maxsize=4)
def _cached_taxonomy(path: str, mtime: float) -> Taxonomy:
    return load_taxonomy(path)


def default_taxonomy() -> Taxonomy:
    return _cached_taxonomy(str(THEMES_FILE), THEMES_FILE.stat().st_mtime)


__all__ = ["Taxonomy", "Theme", "Scoring", "ThemeError", "load_taxonomy", "default_taxonomy", "compile_keywords",
           "OTHER", "THEMES_FILE"]
