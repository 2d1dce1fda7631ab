"""Target years: "bis 2028", "by 2030", "bis Ende 2027", "2030 target", and "in/für 2030" when the
sentence speaks of the future."""

from __future__ import annotations

import re

from pipeline.indicators.text.closeness import Sentence
from pipeline.indicators.text.figures import Mention

_TARGET_EXPLICIT = re.compile(
    r"(?<![\w])(?:by|until|till|through|bis(?:\s+zum\s+Jahr|\s+Ende|\s+spätestens|\s+zum\s+Ende)?|"
    r"spätestens(?:\s+bis)?(?:\s+im\s+Jahr)?|by\s+the\s+end\s+of|by\s+end\s+of|by\s+year[\s\-]end|no\s+later\s+than|"
    r"target(?:ed)?\s+for|Ziel\s+für|goal\s+for|deadline\s+of)\s+(?:the\s+)?(?:year\s+|Jahres\s+)?"
    r"(?P<y>20\d\d)(?![\w])", re.IGNORECASE)
_TARGET_COMPOUND = re.compile(r"(?<![\w])(?P<y>20\d\d)(?:[\s\-](?:[\w\-]+\s+)?(?:target|goal|forecast|guidance|outlook|"
                              r"Ziel\w*|Vorgabe\w*|Prognose\w*))(?![\w])",
                              re.IGNORECASE)
_TARGET_SOFT = re.compile(r"(?<![\w])(?:in|im\s+Jahr|in\s+the\s+year|for|für|from|ab|im\s+Geschäftsjahr)\s+"
                         r"(?:(?:fiscal|financial\s+year)\s+)?(?P<y>20\d\d)(?![\w])",
                          re.IGNORECASE)
_FUTURE = re.compile(
    r"(?<![\w])(?:will|would|shall|should|could|may|might|soll\w*|will\b|wollen|wolle|möchte\w*|plan\w*|aim\w*|"
    r"expect\w*|forecast\w*|Plän\w*|geplant|project\w*|predict\w*|prognos\w*|erwart\w*|target\w*|Ziel\w*|anpeil\w*|peil\w*|angepeilt|"
    r"anstreb\w*|angestrebt|strebt|goal|ambition\w*|hopes?|hofft|dürfte\w*|könnte\w*|werden|wird|intend\w*|"
    r"seeks?|envisag\w*|vorgesehen|sehen\s+vor|sieht\s+vor|sees|rechne[nt]\s+(?:\S+\s+){0,4}?mit|rechne[nt]\s+damit|"
    r"(?:gehen|geht|gehe)\s+davon\s+aus|davon\s+ausgeh\w*|"
    # German speaks of the future in the present tense: "sinkt im Jahr 2026 auf 8 Prozent"
    r"steigt|sinkt|wächst|klettert|fällt|schrumpft|deckt)(?![\w])", re.IGNORECASE)
# "Huawei 2026 rund die Hälfte", "2025 capital spending": a year standing alone (no preposition) in a
# sentence about the future; not "since 2022", "from 2019", "2025-26", "2024er", nor a year that names
# something ("the 2022 Chips Act", "its 2024 annual report": a determiner, the year, a noun) or dates a past event ("die 2023 gegründete Firma", "founded in 2016")
_BARE_YEAR = re.compile(r"(?<![\w.,/#\-])(?<!since\s)(?!(?<=(?:its|the)\s)20\d\d\s+(?-i:[a-z]))(?<!seit\s)(?<!from\s)(?<!von\s)(?<!between\s)(?<!zwischen\s)"
                        r"(?P<y>20\d\d)(?![\w\-/#]|[.,]\d|\s+(?-i:[A-ZÄÖÜ])|\s+(?:gegründet|founded|established|eingeführt|"
                        r"beschlossen|verabschiedet|passed|enacted|launched|vorgestellt)\w*)", re.IGNORECASE)
# "which stood at 66 % in 2024": a year in a clause that reports a level in the past tense is when
# that level was reported, not a target
_PAST_CLAUSE = re.compile(
    r"(?<![\w])(?:stood|reached|hit|rose|fell|grew|slipped|climbed|dropped|totall?ed|amounted|held|had|controlled|"
    r"lag|lagen|erreichte\w*|stieg|stiegen|sank|sanken|fiel|fielen|wuchs|kletterte\w*|betrug|kam|kamen|"
    # "was 66 % in 2024", not "was raised to 40 % for 2030"
    r"(?:was|were|war|waren)(?=\s+(?:\S+\s+)?\d))(?![\w])", re.IGNORECASE)


_TARGET_YEAR_FIRST = re.compile(
    r"(?:^|[,;:]\s*|(?<![\w])(?:und|and)\s+)(?P<y>20\d\d)\s+(?:soll\w*|will|wollen|werden|wird|dürfte\w*|könnte\w*|"
    r"should|could|would|will|is\s+expected)(?![\w])"
    r"|(?<![\w])(?:soll|sollen|will|wollen|wird|werden|möchte|möchten)\s+(?:(?:bereits|schon|spätestens)\s+)?"
    r"(?P<y2>20\d\d)(?![\w])", re.IGNORECASE)


def find_target_markers(text: str, year_spans_ok: bool) -> list[tuple[int, int, int, bool]]:
    """(start, end, year, soft): soft markers ("in 2027") only count in a sentence about the future."""
    marks = [(m.start(), m.end(), int(m.group("y")), False) for m in _TARGET_EXPLICIT.finditer(text)]
    marks += [(m.start(), m.end(), int(m.group("y")), False) for m in _TARGET_COMPOUND.finditer(text)]
    # "; 2027 sollen es 55 Prozent sein": the marker starts at its year, not at the clause break
    marks += [(m.start("y") if m.group("y") else m.start(), m.end(), int(m.group("y") or m.group("y2")), False)
              for m in _TARGET_YEAR_FIRST.finditer(text)]
    if year_spans_ok and _FUTURE.search(text):
        soft = [m for m in _TARGET_SOFT.finditer(text) if not any(a <= m.start() < b for a, b, _, _ in marks)]
        soft += [m for m in _BARE_YEAR.finditer(text) if not any(a <= m.start() < b for a, b, _, _ in marks)
                 and not any(a.start() <= m.start() < a.end() for a in soft) and _FUTURE.search(_clause_of(text, m.start()))]
        marks += [(m.start(), m.end(), int(m.group("y")), True) for m in soft if not _in_past_clause(text, m.start())]
    return marks


_COMPLEMENT_OPENS = re.compile(r"\s*(?:dass|daß|that)(?![\w])", re.IGNORECASE)


def _clause_of(text: str, at: int) -> str:
    """"According to its 2024 annual report, ..., and AMD plans to": a bare year needs the future in its own clause."""
    start = max(text.rfind(c, 0, at) for c in ",;:") + 1
    if _COMPLEMENT_OPENS.match(text, start):  # "gehen davon aus, dass Huawei 2026 ...": the main clause governs it
        start = max(text.rfind(c, 0, start - 1) for c in ",;:") + 1
    ends = [i for i in (text.find(c, at) for c in ",;:") if i >= 0]
    return text[start:min(ends, default=len(text))]


def _in_past_clause(text: str, at: int) -> bool:
    clause_start = max(text.rfind(c, 0, at) for c in ",;:")
    return _PAST_CLAUSE.search(text, clause_start + 1, at) is not None


def pick_target_year(mention: Mention, live: list[Mention], marks, sent: Sentence) -> tuple[int | None, bool]:
    """The target year of one figure and whether it came from a soft marker."""
    if mention.previous or mention.current:
        return None, False
    best, best_score = (None, False), None
    span = (mention.start, mention.end)
    for a, b, year, soft in marks:
        lo, hi = (mention.end, a) if a >= mention.end else (b, mention.start)
        if any(o is not mention and lo <= o.start < hi for o in live):
            continue  # another figure sits between: the year is that figure's
        score = sent.distance(span, (a, b)) + (0 if a >= mention.end else 2)
        if a >= mention.end and any(o.start >= b and sent.distance((a, b), (o.start, o.end)) + 2 < score
                                    for o in live if o is not mention):
            continue  # "27 % (2025); bis 2030 sollen es 60 %": the year leads the next figure
        if score <= 15 and (best_score is None or score < best_score):
            best, best_score = (year, soft), score
    return best
