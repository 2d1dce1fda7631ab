"""The lines news sites put above an article's first sentence, removed from ``body_text``.

trafilatura keeps, on many outlets, a repeated headline, a byline ("Von Anna Lindqvist |
26.11.2026, 08:50 Uhr", "By Jane Doe | Nov 26, 2026"), a date line ("Updated 26 Nov 2026 ·
4 min read", "Aktualisiert am ..."), an agency credit ("dpa/Reuters") and a reading time
("Lesezeit: 3 Min."); the digest would quote them as the article's first words. Only the
leading lines are looked at, each must be short and of one of those shapes, and the first line
that is not ends the search: a real first sentence that starts with "Von" or "By" ("Von den 40
Milliarden Euro, die ...", "By 2030, China wants ...") is a sentence, not a byline, and stays.
The byline's names are kept as the author when the page's metadata names none.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["LeadStripped", "strip_lead"]

MAX_LEAD_LINES = 6  # headline, kicker, byline, date, agency, reading time
MAX_LEAD_WORDS = 16  # a byline or date line is short; a sentence usually is not

_NAME = r"[A-ZÄÖÜ][\w'’.\-]+"  # capitalised: case matters here, "Von den 40 Milliarden" is no byline
_PERSON = rf"{_NAME}(?:\s+{_NAME}){{1,3}}"  # two to four capitalised words
_BYLINE = re.compile(
    rf"^(?i:von|by)\s+(?P<names>{_PERSON}(?:\s+(?i:und|and|&)\s+{_PERSON})*)"
    r"\s*(?:$|[|·•,–—/]|\s+(?:in|aus|from)\s)",
)
_NAME_SPLIT = re.compile(r"\s+(?:und|and|&)\s+", re.IGNORECASE)
_MONTHS = (
    r"jan(?:uary|uar)?|feb(?:ruary|ruar)?|m(?:ar(?:ch)?|ärz)|apr(?:il)?|ma[iy]|jun[ei]?|jul[iy]?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|o[ck]t(?:ober)?|nov(?:ember)?|de[cz](?:ember)?"
)
_DATE = re.compile(
    rf"\b\d{{1,2}}\.\s?\d{{1,2}}\.\s?(?:19|20)\d\d\b|\b\d{{4}}-\d\d-\d\d\b"
    rf"|\b\d{{1,2}}\.?\s+(?:{_MONTHS})\.?\s+(?:19|20)\d\d\b|\b(?:{_MONTHS})\.?\s+\d{{1,2}},?\s+(?:19|20)\d\d\b",
    re.IGNORECASE,
)
_DATE_WORDS = re.compile(
    r"^(?:updated|published|posted|last updated|aktualisiert|veröffentlicht|erschienen|stand)\b", re.IGNORECASE
)
_READ_TIME = re.compile(r"\b\d+\s*(?:min(?:ute)?s?\.?\s*(?:read|lesezeit)?)\b|\blesezeit\b|\breading time\b", re.IGNORECASE)
_AGENCY = re.compile(
    r"^(?:(?:dpa|reuters|afp|ap|kna|epd|apa|sda|ddp|dts|bloomberg|associated press)(?:\s*[/,&]\s*|\s+(?:und|and)\s+|$))+$",
    re.IGNORECASE,
)
_NORMALISE = re.compile(r"[\W_]+", re.UNICODE)


class LeadStripped(NamedTuple):
    text: str
    byline_author: str | None  # the names of a removed byline ("A; B"), if any


def _same_words(a: str, b: str) -> bool:
    return bool(a) and _NORMALISE.sub(" ", a).strip().lower() == _NORMALISE.sub(" ", b).strip().lower()


def _byline_names(line: str) -> str | None:
    match = _BYLINE.match(line)
    if match is None or len(line.split()) > MAX_LEAD_WORDS:
        return None
    if line.rstrip().endswith((".", "!", "?")):
        return None  # a sentence ("Von Dienstag an gilt die Regel.")
    return "; ".join(n.strip() for n in _NAME_SPLIT.split(match.group("names")))


def _is_date_or_credit(line: str) -> bool:
    if len(line.split()) > MAX_LEAD_WORDS or line.rstrip().endswith((".", "!", "?")) and not _READ_TIME.search(line):
        return False
    return bool(_DATE.search(line) or _DATE_WORDS.match(line) or _READ_TIME.search(line) or _AGENCY.match(line.strip()))


def strip_lead(text: str, titles: tuple[str | None, ...] = ()) -> LeadStripped:
    """``text`` without the headline, byline, date, agency and reading-time lines above its first
    sentence; and the names of the byline removed, if any."""
    lines = text.split("\n")
    author: str | None = None
    drop = 0
    for line in lines[:MAX_LEAD_LINES]:
        stripped = line.strip()
        if not stripped:
            drop += 1
            continue
        if any(_same_words(t or "", stripped) for t in titles):
            drop += 1
            continue
        names = _byline_names(stripped)
        if names is not None:
            author = author or names
            drop += 1
            continue
        if _is_date_or_credit(stripped):
            drop += 1
            continue
        break
    if drop == 0:
        return LeadStripped(text, None)
    rest = "\n".join(lines[drop:]).strip()
    return LeadStripped(rest or text, author)
