"""Subjects: gazetteer mentions of models, chips, companies and countries, and which one a figure is about."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.indicators.defs import Definitions, IndicatorDef
from pipeline.indicators.text.closeness import Sentence, without_overlaps
from pipeline.indicators.text.figures import Mention


@dataclass
class SubjectMention:
    start: int
    end: int
    name: str
    types: tuple[str, ...]
    attribution: bool = False
    reference: bool = False


class Gazetteer:
    def __init__(self, definitions: Definitions):
        self.entries: list[tuple[re.Pattern, str, tuple[str, ...]]] = []
        for s in definitions.subjects:
            for alias in s.aliases:
                flags = 0 if (len(alias) <= 4 or alias.isupper()) else re.IGNORECASE
                pat = rf"(?<![\w]){re.escape(alias)}(?:['’]s|['’]|s)?(?![\w])"
                self.entries.append((re.compile(pat, flags), s.name, s.types))
            for p in s.patterns:
                self.entries.append((re.compile(p + r"(?:['’]s|['’])?"), s.name, s.types))

    def find(self, text: str) -> list[SubjectMention]:
        found = [SubjectMention(m.start(), m.end(), name, types)
                 for pat, name, types in self.entries for m in pat.finditer(text) if m.end() > m.start()]
        out = without_overlaps(found)
        for s in out:
            before, after = text[max(0, s.start - 40):s.start], text[s.end:s.end + 30]
            if re.search(r"(?:according\s+to|laut|nach\s+Angaben(?:\s+(?:von|des|der))?|citing|zitiert)\s+"
                         r"(?:\S+\s+){0,2}$", before, re.IGNORECASE) or re.match(
                    r"^[\s,]*(?:said|says|sagte|sagt|reported|berichtet\w*|told|teilte|mitteilte|zufolge)\b",
                    after, re.IGNORECASE):
                s.attribution = True
        return out


_REFERENCE_BETWEEN = re.compile(r"(?<![\w])(?:of|der|des|von|vs\.?|versus|compared|gegenüber|verglichen|relative|"
                                r"wie|than|als|matches|erreicht|reaches)(?![\w])", re.IGNORECASE)
_REFERENCE_BEFORE = re.compile(r"(?:compared\s+(?:to|with)|gegenüber|verglichen\s+mit|relative\s+to|"
                               r"im\s+Vergleich\s+zu[mr]?|than|als|vs\.?|versus|wie)\s+(?:\S+\s+)?$",
                               re.IGNORECASE)


def mark_references(subjects: list[SubjectMention], mention: Mention, sent: Sentence) -> None:
    """In a performance comparison the chip after 'of/der/than' is the reference, not the subject."""
    for s in subjects:
        s.reference = False
        if "chip" not in s.types:
            continue
        if s.start >= mention.end and sent.distance((mention.start, mention.end), (s.start, s.end)) <= 8:
            if _REFERENCE_BETWEEN.search(sent.text[mention.end:s.start]):
                s.reference = True
        elif _REFERENCE_BEFORE.search(sent.text[max(0, s.start - 50):s.start]):
            s.reference = True


_RECIPIENT_BEFORE = re.compile(
    r"(?<![\w])(?:for|für|to|into|an|in|at|bei|nach)\s+(?:(?:the|den|die|das|der|dem|des)\s+)?$", re.IGNORECASE)


def pick_subject(ind: IndicatorDef, mention: Mention, subjects: list[SubjectMention],
                  sent: Sentence) -> str | None:
    """The closest subject of the first type group that has one; the actor is preferred over a
    recipient or place ("Japan earmarked $25bn for Rapidus": Japan)."""
    for group in ind.subject_types:
        best, best_score = None, None
        for s in subjects:
            if not set(group) & set(s.types) or s.attribution or s.reference:
                continue
            score = sent.distance((s.start, s.end), (mention.start, mention.end))
            if s.start > mention.start:
                score += 3  # the grammatical subject usually comes first (de and en)
            if _RECIPIENT_BEFORE.search(sent.text[max(0, s.start - 20):s.start]):
                score += 4
            if best_score is None or score < best_score:
                best, best_score = s, score
        if best is not None:
            return best.name
    return None
