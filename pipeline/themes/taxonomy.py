"""The theme taxonomy: ``data/themes.yaml`` loaded and checked, and its keyword syntax.

Each theme has descriptions in German and English (embedding prototypes) and, per language,
keywords, ambiguous keywords that count only near a context word, and negative keywords;
``background`` describes off-topic news (in both languages). German lists run on German text
and English lists on English text. The weights that turn this evidence into a probability are
fitted per embedding model (``newsmon calibrate``, pipeline/themes/calibrate.py) and stored in
the database, not here.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import yaml

from pipeline.infra.config import DATA_DIR, OTHER_THEME, UserError

THEMES_FILE = DATA_DIR / "themes.yaml"
OTHER = OTHER_THEME
LANGUAGES = ("en", "de")
CONTEXT_WINDOW = 12  # words on either side of an ambiguous keyword in which a context word counts
# German hyphenates a compound whenever a part is a name or an acronym ("Infineon-Fabrik",
# "Russland-Sanktionen"), so in German text a hyphen ends a word, for keywords and for the context
# window alike. An English hyphen joins a modifier to its word ("blue-chip"), so there it does not.
HYPHEN_ENDS_WORD = {"de": True, "en": False}
# Part of the taxonomy digest: weights fitted while keywords matched differently are stale.
# 2: HYPHEN_ENDS_WORD (0.9.0).
KEYWORD_MATCHING = 2
_LISTS = ("keywords", "ambiguous_keywords", "context", "negative_keywords")
_THEME_FIELDS = {"label", "description_de", "description_en", "outranks"} | {f"{n}_{lang}" for n in _LISTS for lang in LANGUAGES}
# one letter of a word, by HYPHEN_ENDS_WORD: keywords and the context window agree on what a word is
_LETTER = {True: r"\w", False: r"[\w-]"}
_WORDS = {ends: re.compile(letter + "+", re.UNICODE) for ends, letter in _LETTER.items()}


class ThemeError(UserError):
    """The taxonomy file is malformed."""


@dataclass
class Lexicon:
    """One theme's keyword lists in one language, compiled."""

    keywords: re.Pattern | None
    ambiguous: re.Pattern | None
    context: re.Pattern | None
    negative: re.Pattern | None
    word: re.Pattern  # what one word is, for the context window

    def hits(self, title: str, text: str) -> tuple[int, int]:
        """(weighted positive hits, negative hits): distinct keywords, title hits count twice;
        an ambiguous keyword counts only with a context word within CONTEXT_WINDOW words."""
        pos = _hits(self.keywords, title, text)
        pos += _hits_in_context(self.ambiguous, self.context, self.word, title, text)
        return pos, _hits(self.negative, title, text)

    def sentences_with_evidence(self, title: str, sentences: Sequence[str]) -> int:
        """How many of the title and ``sentences`` hold positive evidence (a keyword, or an
        ambiguous keyword in context): a theme the article is about runs through several of
        them, a passing mention sits in one."""
        text = " ".join(sentences)
        bounds = list(itertools.accumulate((len(s) + 1 for s in sentences[:-1]), initial=0))
        offsets = [m.start() for m in self.keywords.finditer(text)] if self.keywords else []
        offsets += [m.start() for m in _in_context(self.ambiguous, self.context, self.word, text)]
        in_title = bool(self.keywords and self.keywords.search(title)) or bool(
            _in_context(self.ambiguous, self.context, self.word, title))
        return len({bisect.bisect_right(bounds, o) for o in offsets}) + in_title


@dataclass
class Theme:
    key: str
    label: str
    descriptions: list[str]
    lists: dict[str, dict[str, list[str]]]  # language -> list name -> keywords
    outranks: list[str] = field(default_factory=list)  # themes this one is primary over when both apply
    _lexicons: dict[str, Lexicon] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._lexicons = {lang: Lexicon(*(compile_keywords(self.lists[lang][n], HYPHEN_ENDS_WORD[lang])
                                          for n in _LISTS), word=_WORDS[HYPHEN_ENDS_WORD[lang]])
                          for lang in LANGUAGES}

    @property
    def keywords(self) -> list[str]:
        return [k for lang in LANGUAGES for k in self.lists[lang]["keywords"] + self.lists[lang]["ambiguous_keywords"]]

    @property
    def negative_keywords(self) -> list[str]:
        return [k for lang in LANGUAGES for k in self.lists[lang]["negative_keywords"]]

    def keyword_hits(self, title: str, text: str, language: str) -> tuple[int, int]:
        """Hits of this theme's lists in ``language`` (de or en) only."""
        lexicon = self._lexicons.get(language)
        return lexicon.hits(title, text) if lexicon else (0, 0)

    def sentences_with_evidence(self, title: str, sentences: Sequence[str], language: str) -> int:
        lexicon = self._lexicons.get(language)
        return lexicon.sentences_with_evidence(title, sentences) if lexicon else 0


@dataclass
class Taxonomy:
    themes: dict[str, Theme]
    background: list[str]
    digest: str = ""  # of the file's text and KEYWORD_MATCHING: which taxonomy a calibration was fitted with


def _hits(pattern: re.Pattern | None, title: str, text: str) -> int:
    if pattern is None:
        return 0
    in_title = {m.group(0).lower() for m in pattern.finditer(title)}
    in_text = {m.group(0).lower() for m in pattern.finditer(text)} - in_title
    return 2 * len(in_title) + len(in_text)


def _in_context(ambiguous: re.Pattern | None, context: re.Pattern | None, word: re.Pattern,
                part: str) -> list[re.Match]:
    """The matches of ambiguous keywords with a context word within CONTEXT_WINDOW words (not in
    the same word: a word is no context of itself)."""
    if ambiguous is None or context is None:
        return []
    starts = [m.start() for m in word.finditer(part)]
    near = [bisect.bisect_right(starts, m.start()) for m in context.finditer(part)]
    found = []
    for m in ambiguous.finditer(part):
        at = bisect.bisect_right(starts, m.start())
        if any(abs(at - c) <= CONTEXT_WINDOW and c != at for c in near):
            found.append(m)
    return found


def _hits_in_context(ambiguous: re.Pattern | None, context: re.Pattern | None, word: re.Pattern,
                     title: str, text: str) -> int:
    counted: dict[str, int] = {}
    for weight, part in ((2, title), (1, text)):
        for m in _in_context(ambiguous, context, word, part):
            key = m.group(0).lower()
            counted[key] = max(counted.get(key, 0), weight)
    return sum(counted.values())


def compile_keywords(keywords: Sequence[str], hyphen_ends_word: bool = False) -> re.Pattern | None:
    """One regex for a keyword list: whole words, `*` = any letters, phrases across spaces. With
    ``hyphen_ends_word`` a hyphen is a word boundary ("infineon" in "Infineon-Fabrik"; `*` stops at
    it); a hyphen written in a keyword ("ki-chip*") still matches itself."""
    letter = _LETTER[hyphen_ends_word]
    parts = []
    for kw in keywords:
        words = [re.escape(w).replace(r"\*", letter + "*") for w in str(kw).lower().split()]
        if words:
            parts.append(r"\s+".join(words))
    if not parts:
        return None
    # Longest first, so "export controls" wins over "export" when both could match.
    parts.sort(key=len, reverse=True)
    return re.compile(f"(?<!{letter})(?:" + "|".join(parts) + f")(?!{letter})", re.IGNORECASE)


def _str_list(value, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ThemeError(f"themes file: {where} must be a list of strings")
    return [str(v) for v in value]


def _theme(key, spec) -> Theme:
    if key == OTHER or not re.fullmatch(r"[a-z][a-z0-9_]*", str(key)):
        raise ThemeError(f"themes file: bad theme key {key!r} (lower-case identifier, not 'other')")
    if not isinstance(spec, dict):
        raise ThemeError(f"themes file: theme {key} must be a mapping")
    unknown = set(spec) - _THEME_FIELDS
    if unknown:
        raise ThemeError(f"themes file: theme {key} has unknown key(s) {', '.join(sorted(unknown))}")
    descriptions = [d for lang in LANGUAGES for d in _str_list(spec.get(f"description_{lang}"),
                                                                f"{key}.description_{lang}")]
    if not descriptions:
        raise ThemeError(f"themes file: theme {key} needs description_en and/or description_de")
    lists = {lang: {n: _str_list(spec.get(f"{n}_{lang}"), f"{key}.{n}_{lang}") for n in _LISTS}
             for lang in LANGUAGES}
    for lang in LANGUAGES:
        if lists[lang]["ambiguous_keywords"] and not lists[lang]["context"]:
            raise ThemeError(f"themes file: theme {key} has ambiguous_keywords_{lang} but no context_{lang}")
    return Theme(key=key, label=str(spec.get("label") or key), descriptions=descriptions, lists=lists,
                 outranks=_str_list(spec.get("outranks"), f"{key}.outranks"))


def load_taxonomy(path: Path | str = THEMES_FILE) -> Taxonomy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise ThemeError(f"themes file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ThemeError(f"themes file {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("themes"), dict) or not data["themes"]:
        raise ThemeError(f"themes file {path}: expected a top-level `themes:` mapping")
    themes = {key: _theme(key, spec) for key, spec in data["themes"].items()}
    for theme in themes.values():
        unknown = set(theme.outranks) - set(themes)
        if unknown:
            raise ThemeError(f"themes file: theme {theme.key} outranks unknown theme(s) {', '.join(sorted(unknown))}")
    bg = data.get("background") or {}
    background = [s for lang in LANGUAGES for s in _str_list(bg.get(lang), f"background.{lang}")]
    if not background:
        raise ThemeError("themes file: `background:` needs en and/or de descriptions of off-topic news")
    digest = hashlib.sha1(f"keyword matching {KEYWORD_MATCHING}\n{text}".encode()).hexdigest()[:12]
    return Taxonomy(themes=themes, background=background, digest=digest)


@lru_cache(maxsize=4)
def _cached_taxonomy(path: str, mtime: float) -> Taxonomy:
    return load_taxonomy(path)


def default_taxonomy() -> Taxonomy:
    return _cached_taxonomy(str(THEMES_FILE), THEMES_FILE.stat().st_mtime)


__all__ = ["Taxonomy", "Theme", "Lexicon", "ThemeError", "load_taxonomy", "default_taxonomy", "compile_keywords",
           "OTHER", "THEMES_FILE", "LANGUAGES", "CONTEXT_WINDOW", "HYPHEN_ENDS_WORD", "KEYWORD_MATCHING"]
