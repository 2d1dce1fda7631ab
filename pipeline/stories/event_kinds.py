"""What kind of event a headline reports: results, a plant, a funding round, a release, a deal.

"Micron posts record quarter" and "Micron confirms Hiroshima HBM plant" two days apart, or "Lumen
raises $32 million" and "Lumen releases its 6B open model", share their company and much of their
wording, and the embedding puts them close; they are two events. A headline says which kind it
is in a few words, and those words are read per language ("plant" is a factory in English and
"plans" in German). A title may name several kinds ("profit jumps as it plans a new fab"); most
name none, and those decide nothing.

Kinds ride in an article's terms as role keys like the sanctioners (pipeline/stories/actors.py):
"!#results", and KIND_ANY once per title that names any, so a stored story counts them per title.
pipeline/stories/conflict.py reads them: a report and a story whose known kinds are disjoint are
in conflict.
"""

from __future__ import annotations

import re

from pipeline.stories.actors import TITLE_CHARS
from pipeline.stories.state import ROLE_PREFIX

KIND_PREFIX = ROLE_PREFIX + "#"
KIND_ANY = KIND_PREFIX + "*"  # counted once per title that names any kind

# whole words of a headline, per language; each list names its kind directly, not a topic near it
_KINDS = {
    "en": {
        # "for-profit" and "non-profit" are no results, nor "a quarter of" or "benchmark results"
        "results": r"revenues?|(?<!for-)(?<!non-)profits?|earnings|quarterly|(?:first|second|third|fourth|record)[- ]quarter"
                   r"|(?<!benchmark )(?<!test )results|forecasts?|guidance|outlook",
        # a capacity investment to come is a plant's news ("Samsung to spend $11 billion on display
        # lines"); "AI spending soars" in a results report is not, nor "invests in OpenAI" (funding)
        "plant": r"fabs?|plants?|factory|factories|megafab|gigafactory|(?:to|will) spend|production lines",
        # money raised, not a dividend or a price ("raises dividend", "raises DRAM prices")
        "funding": r"rais(?:es|ed)\s+(?:about\s+|another\s+|over\s+|more than\s+|up to\s+)?(?:[$€£]|eur\s?|usd\s?)?\d+"
                   r"|funding|(?-i:Series [A-E])",
        "release": r"releases?|released|open-sources?|open-sourced|publishes",
        "deal": r"buys(?!\s+back)|acquires|acquisition|takeover|merger",
    },
    "de": {
        # "gewinnt", "Gewinner", "zahlen" (to pay) and "zieht Bilanz" are no results
        "results": r"umsatz\w*|gewinn(?!t\b|en\b|er)\w*|quartal\w*|prognose\w*|(?:quartals|geschäfts|jahres)zahlen"
                   r"|(?-i:Zahlen)|(?<!zieht )(?<!ziehen )bilanz|rekordumsatz|rekordgewinn",
        "plant": r"\w*fabrik(?:en)?|(?:chip|halbleiter|speicher)?werke?n?s?|steckt\s+(?:\S+\s+){0,3}(?:milliarden|millionen|mrd)",
        # money collected, not data ("sammelt 18 Millionen Euro ein", not "sammelt Daten von Millionen")
        "funding": r"sammel[tn]\s+(?:\S+\s+){0,3}(?:euro|dollar|pfund|franken)|finanzierung\w*",
        "release": r"veröffentlicht|veröffentlichen",
        "deal": r"übernimmt(?!\s+(?:die\s+|den\s+)?(?:führung|spitze|leitung|vorsitz|verantwortung|spitzenplatz))"
                r"|übernahme\w*|kauft|fusion(?!s?energie|sreaktor)\w*",
    },
}
_KIND_RES = {language: {kind: re.compile(rf"\b(?:{words})\b", re.IGNORECASE) for kind, words in kinds.items()}
             for language, kinds in _KINDS.items()}


def kinds_in(title: str | None, language: str | None) -> frozenset[str]:
    """The kinds of event the headline names (often none; none for a language without lists)."""
    title = (title or "")[:TITLE_CHARS]
    return frozenset(kind for kind, regex in _KIND_RES.get(language or "", {}).items() if regex.search(title))


def kind_keys(title: str | None, language: str | None) -> dict[str, str]:
    """The kinds as role keys for an article's terms, each with its kind as the surface."""
    found = kinds_in(title, language)
    if not found:
        return {}
    return {KIND_PREFIX + kind: kind for kind in sorted(found)} | {KIND_ANY: ""}


def is_kind_key(key: str) -> bool:
    """A kind's role key ("!#results"), not the count of titles that name any (KIND_ANY)."""
    return key.startswith(KIND_PREFIX) and key != KIND_ANY


__all__ = ["kinds_in", "kind_keys", "is_kind_key", "KIND_PREFIX", "KIND_ANY"]
