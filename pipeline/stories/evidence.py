"""Language-independent story evidence: entities and figures written differently in German and
English reduced to one key each, so that the lexical overlap of a German report and an English
one counts them.

- Entities: the gazetteer (pipeline/data/entities.yaml) names each company, chip, model, country
  and bloc with its German and English aliases and patterns. "Niederlande", "Dutch", "Den Haag"
  and "niederländische" all become ``@netherlands``; "Peking" and "Beijing" ``@china``.
- Figures: "2,5 Milliarden" and "2.5 billion" become ``#2500000000``, "50.000" and "50,000"
  ``#50000``, "8,9 Millimeter" and "8.9 millimetres" ``#8.9`` (the article's language decides
  which separator is the decimal one). Bare numbers under 100 say too little and are left out,
  as the term extraction always did.

Both kinds of key start with a character no word token has, so labels can leave them out (a
label shows words; these keys are evidence).
"""

from __future__ import annotations

import re
from decimal import InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Sequence

from pipeline.entities import ALIAS_ENDINGS, ENTITIES_FILE, Subject, alias_is_exact, load_entities
from pipeline.numbers import DIGITS, SCALE_WORD, parse_number, scale_value
from pipeline.text import without_overlaps

ENTITY_PREFIX = "@"
FIGURE_PREFIX = "#"
SUBJECT_TYPES = frozenset({"company", "model", "chip"})
STATE_TYPES = frozenset({"country", "bloc"})
MIN_BARE_NUMBER = 100  # a number without a scale word below this is no evidence ("10 percent")

# a number, then maybe a scale word ("2,5 Milliarden"); not next to a hyphen or a letter, so
# "5-nm", "2nm", "i5-8500" and "Req ID 24-0871" stay words
_NUMBER = re.compile(rf"(?<!-){DIGITS}(?:\s+{SCALE_WORD}(?![A-Za-zäöüß]))?(?![\w\-])", re.IGNORECASE)


class Evidence(NamedTuple):
    key: str  # @entity or #figure
    surface: str  # as written
    start: int
    end: int
    replaces_words: bool = True  # False for a pattern match ("Qwen3-Coder" is @qwen and keeps its own code)


def figures_in(text: str, language: str) -> list[Evidence]:
    """The figures of ``text`` as ``#value`` keys, with their spans."""
    out = []
    for m in _NUMBER.finditer(text):
        try:
            number = parse_number(m.group("num"), language)
        except (InvalidOperation, ValueError):
            continue
        scale_word = m.group("scale")
        value = float(number) * (scale_value(scale_word, language) if scale_word else 1)
        if not scale_word and value < MIN_BARE_NUMBER:
            continue
        canonical = str(int(value)) if value == int(value) else f"{value:.6g}"
        out.append(Evidence(FIGURE_PREFIX + canonical, m.group(0), m.start(), m.end()))
    return out


class EntityMatcher:
    """Every alias and pattern of the gazetteer in three compiled expressions (exact case for
    short and all-caps aliases, any case for the rest, the patterns as written)."""

    def __init__(self, entities: Sequence[Subject]):
        exact: dict[str, str] = {}
        folded: dict[str, str] = {}
        patterns: list[tuple[str, str]] = []
        # an entity shows under its gazetteer name: "Taiwanese", "Dutch" or "Nvidias" would put
        # adjectives and inflections into labels
        self.names: dict[str, str] = {}
        # the entities that name what a report is about (a company, a model, a chip), as opposed
        # to where it happens (a country, a bloc): two reports headlined with different ones are
        # two events (pipeline/stories/cluster.py: subject conflict)
        self.subjects: frozenset[str] = frozenset(
            ENTITY_PREFIX + e.name.lower() for e in entities if set(e.types) & SUBJECT_TYPES)
        # the states and blocs (pipeline/stories/actors.py: who imposes a sanction)
        self.states: frozenset[str] = frozenset(
            ENTITY_PREFIX + e.name.lower() for e in entities if set(e.types) & STATE_TYPES)
        for entity in entities:
            key = ENTITY_PREFIX + entity.name.lower()
            self.names[key] = entity.name
            for alias in entity.aliases:
                if alias_is_exact(alias):
                    exact.setdefault(alias, key)
                else:
                    folded.setdefault(alias.lower(), key)
            patterns.extend((p, key) for p in entity.patterns)
        self._exact, self._folded = exact, folded
        self._pattern_keys = [key for _, key in patterns]
        self._exact_re = self._alternation(exact, 0)
        self._folded_re = self._alternation(folded, re.IGNORECASE)
        self._patterns_re = re.compile("|".join(f"(?P<p{i}>{p})" for i, (p, _) in enumerate(patterns))) if patterns else None

    @staticmethod
    def _alternation(aliases: dict[str, str], flags: int) -> re.Pattern | None:
        if not aliases:
            return None
        body = "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
        return re.compile(rf"(?<![\w])({body})(?:{ALIAS_ENDINGS})?(?![\w])", flags)

    def find(self, text: str) -> list[Evidence]:
        """Entity mentions, leftmost-longest, without overlaps."""
        found = []
        for regex, table, fold in ((self._exact_re, self._exact, False), (self._folded_re, self._folded, True)):
            if regex is None:
                continue
            for m in regex.finditer(text):
                alias = m.group(1).lower() if fold else m.group(1)
                found.append(Evidence(table[alias], self.names[table[alias]], m.start(), m.end()))
        if self._patterns_re is not None:
            for m in self._patterns_re.finditer(text):
                if m.end() > m.start():
                    key = self._pattern_keys[int(m.lastgroup[1:])]
                    found.append(Evidence(key, self.names[key], m.start(), m.end(), replaces_words=False))
        return without_overlaps(found)


@lru_cache(maxsize=4)
def _matcher_for(path: str, _mtime: int) -> EntityMatcher:
    return EntityMatcher(load_entities(path))


def entity_matcher(path: Path | None = None) -> EntityMatcher:
    """The matcher of the shipped gazetteer (rebuilt when the file changes); an empty one when
    the file is missing, so that stories still work without it."""
    path = Path(path or ENTITIES_FILE)
    if not path.is_file():
        return EntityMatcher(())
    return _matcher_for(str(path), path.stat().st_mtime_ns)


def evidence_in(text: str, language: str) -> list[Evidence]:
    """Entities and figures of ``text``, without overlaps (an entity wins over a figure in it)."""
    return without_overlaps(entity_matcher().find(text) + figures_in(text, language))


def subject_keys() -> frozenset[str]:
    """The entity keys of companies, models and chips (EntityMatcher.subjects)."""
    return entity_matcher().subjects


def state_keys() -> frozenset[str]:
    """The entity keys of countries and blocs (EntityMatcher.states)."""
    return entity_matcher().states


def is_evidence_key(key: str) -> bool:
    return key[:1] in (ENTITY_PREFIX, FIGURE_PREFIX)


__all__ = ["Evidence", "EntityMatcher", "entity_matcher", "evidence_in", "figures_in", "is_evidence_key", "subject_keys", "state_keys",
           "ENTITY_PREFIX", "FIGURE_PREFIX"]
