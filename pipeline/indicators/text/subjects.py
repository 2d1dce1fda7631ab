"""Subjects: gazetteer mentions of entities (models, chips, companies, countries, funds ...), which
one a figure is about, which chip it is compared against, and a guessed phrase when none is known."""

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
    # every entity this span can be, in gazetteer order: (name, types, counts_as). An alias that
    # collides across types ("Ascend" chip vs company) resolves to the type the indicator asks for.
    alternatives: tuple[tuple[str, tuple[str, ...], str | None], ...] = ()

    def resolve(self, wanted: set[str]) -> str | None:
        """The entity the figure is recorded on: a fund or agency counts for its state."""
        for name, types, counts_as in self.alternatives or ((self.name, self.types, None),):
            if wanted & set(types):
                return counts_as or name
        return None


class Gazetteer:
    def __init__(self, definitions: Definitions):
        self.entries: list[tuple[re.Pattern, str, tuple[str, ...], str | None]] = []
        for s in definitions.subjects:
            for alias in s.aliases:
                flags = 0 if (len(alias) <= 4 or alias.isupper()) else re.IGNORECASE
                pat = rf"(?<![\w]){re.escape(alias)}(?:['’]s|['’]|s)?(?![\w])"
                self.entries.append((re.compile(pat, flags), s.name, s.types, s.counts_as))
            for p in s.patterns:
                self.entries.append((re.compile(p + r"(?:['’]s|['’])?"), s.name, s.types, s.counts_as))

    def find(self, text: str) -> list[SubjectMention]:
        found = [SubjectMention(m.start(), m.end(), name, types, alternatives=((name, types, counts_as),))
                 for pat, name, types, counts_as in self.entries for m in pat.finditer(text) if m.end() > m.start()]
        out = without_overlaps(found)
        for s in out:
            same = [f.alternatives[0] for f in found if (f.start, f.end) == (s.start, s.end)]
            s.alternatives = tuple(dict.fromkeys(same))
            s.types = tuple(dict.fromkeys(t for _, types, _ in same for t in types))
            before, after = text[max(0, s.start - 40):s.start], text[s.end:s.end + 30]
            if re.search(r"(?:according\s+to|laut|nach\s+Angaben(?:\s+(?:von|des|der))?|citing|zitiert)\s+"
                         r"(?:(?:the|der|die|des|dem|den|einer?)\s+)?(?:\w+\s+)?$", before, re.IGNORECASE) or re.match(
                    r"^[\s,]*(?:said|says|sagte|sagt|reported|berichtet\w*|told|teilte|mitteilte|zufolge|"
                    r"estimates|schätzt|figures\s+show|data\s+show)\b", after, re.IGNORECASE):
                s.attribution = True
        return out


_REFERENCE_BETWEEN = re.compile(r"(?<![\w])(?:of|der|des|von|vs\.?|versus|compared|gegenüber|verglichen|relative|"
                                r"wie|than|als|matches|erreicht|reaches)(?![\w])", re.IGNORECASE)
_REFERENCE_BEFORE = re.compile(r"(?:compared\s+(?:to|with)|gegenüber|verglichen\s+mit|relative\s+to|"
                               r"im\s+Vergleich\s+zu[mr]?|than|als|vs\.?|versus|wie|(?<![\w])of|(?<![\w])der|"
                               r"(?<![\w])des|(?<![\w])eines)\s+(?:(?:the|a|an|den|dem|die|das)\s+)?$",
                               re.IGNORECASE)


def mark_references(subjects: list[SubjectMention], mentions: list[Mention], sent: Sentence) -> None:
    """In a performance comparison the chip after 'of/der/than' is the reference, not the subject
    ("60 % of H100 performance, but only 40 % of the H200's": both H100 and H200 are references)."""
    for s in subjects:
        s.reference = False
        if "chip" not in s.types:
            continue
        for mention in mentions:
            if s.start >= mention.end and sent.distance((mention.start, mention.end), (s.start, s.end)) <= 8 \
                    and _REFERENCE_BETWEEN.search(sent.text[mention.end:s.start]):
                s.reference = True
        if _REFERENCE_BEFORE.search(sent.text[max(0, s.start - 50):s.start]) and any(
                m.end <= s.start for m in mentions):
            s.reference = True


def pick_reference(mention: Mention, subjects: list[SubjectMention], sent: Sentence) -> str | None:
    """The reference chip of one comparison: the nearest one after the figure, else before it."""
    refs = [s for s in subjects if s.reference]
    after = [s for s in refs if s.start >= mention.end]
    pool = after or refs
    if not pool:
        return None
    best = min(pool, key=lambda s: sent.distance((mention.start, mention.end), (s.start, s.end)))
    return best.name


_RECIPIENT_BEFORE = re.compile(
    r"(?<![\w])(?:(?:for|für|to|into|an|in|at|bei|nach)\s+(?:(?:the|den|die|das|der|dem|des)\s+)?|"
    r"dem\s+(?:[\w\-]+\s+)?)$", re.IGNORECASE)  # "schießt dem Chiphersteller Rapidus ... zu": the recipient
_OWNER_BEFORE = re.compile(r"(?<![\w])(?:for|für|with|mit)\s+$", re.IGNORECASE)


def pick_subject(ind: IndicatorDef, mention: Mention, subjects: list[SubjectMention], sent: Sentence,
                 segment: tuple[int, int]) -> str | None:
    """The closest subject of the first type group that has one; the actor is preferred over a
    recipient or place ("Japan earmarked $25bn for Rapidus": Japan), and a subject in the figure's
    own segment (between the neighbouring figures) over one that belongs to another figure
    ("385 million downloads against Llama's 350 million")."""
    lo, hi = segment
    for group in ind.subject_types:
        wanted = set(group)
        best, best_score = None, None
        for s in subjects:
            name = s.resolve(wanted)
            if name is None or s.attribution or s.reference:
                continue
            score = sent.distance((s.start, s.end), (mention.start, mention.end))
            inside = lo <= s.start and s.end <= hi
            if s.start > mention.start:
                score += 3  # the grammatical subject usually comes first (de and en)
                if inside and _OWNER_BEFORE.search(sent.text[max(0, s.start - 10):s.start]):
                    score -= 3  # "64 million for Kimi K2", "with Cambricon at around 12 %"
            elif _RECIPIENT_BEFORE.search(sent.text[max(0, s.start - 20):s.start]):
                score += 4
            if not inside:
                score += 8
            if best_score is None or score < best_score:
                best, best_score = name, score
        if best is not None:
            return best
    return None


def carried_subject(ind: IndicatorDef, carried: list[SubjectMention]) -> str | None:
    """The subject of an earlier sentence, when this one names none ("The rate currently stands at
    about 23 %"): the first fitting entity there (the grammatical subject of that sentence)."""
    for group in ind.subject_types:
        for s in carried:
            if not s.attribution and not s.reference and (name := s.resolve(set(group))):
                return name
    return None


_PHRASE = re.compile(r"(?<![\w])(?:(?:the|The|der|die|das|Der|Die|Das)\s+)?[A-ZÄÖÜ][\w\-&.]*[\w]"
                     r"(?:\s+(?:of\s+|für\s+|de\s+)?[A-ZÄÖÜ][\w\-&.]*[\w])*")
_NOT_A_NAME = re.compile(r"^(?:The|Der|Die|Das|Ein|Eine|A|An|In|Im|Am|Auf|Bis|By|For|Für|Mit|With|This|That|It|Es|"
                         r"Sie|Er|Laut|According|Insgesamt|Nach|Rund|About|Around|Over|Über|Davon|Of|Its|Their|Ihr)$")


def guess_subject_phrase(text: str, mention: Mention) -> str | None:
    """For a figure whose subject is not a known entity: the capitalised phrase nearest before it
    (else after it), so that an analyst sees what the gazetteer misses."""
    before = [m for m in _PHRASE.finditer(text[:mention.start]) if not _NOT_A_NAME.match(m.group(0))]
    if before:
        return before[-1].group(0)[:120]
    after = [m for m in _PHRASE.finditer(text, mention.end) if not _NOT_A_NAME.match(m.group(0))]
    return after[0].group(0)[:120] if after else None
