"""Walls are not articles: consent dialogs, paywall teasers and "enable JavaScript"/bot-check
pages, in German and English.

trafilatura returns the text of whatever the page shows, so a page that holds only a cookie
dialog comes back as a 100-word "article" (trafilatura issue 569). A wall is recognised by two
things together:

- its VOCABULARY: each line of the extracted text is scored against the general words of each
  kind of wall (cookies, partners, consent, personal data ...; subscribe, Abo, per month, sign in
  ...; JavaScript, browser, enable, reload ...). A line is a wall line when those words are dense
  in it (three or more in a sentence, two in a heading, one in a button such as "Jetzt testen");
- the SHARE of the page's text that the wall lines are: a page is a wall when they are at least
  half of its words, or a sizeable part of them while what is left besides them is too little to
  be an article (a headline and a teaser paragraph).

So an article ABOUT cookies or paywalls (a few dense sentences in 300 words) stays an article,
and so does an article whose page also holds a cookie bar or a subscription box.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["WallVerdict", "detect_wall", "WALL_KINDS"]

WALL_KINDS = ("consent", "paywall", "javascript")

# General vocabulary of each kind, German and English; stems match compounds ("Datenschutz-
# Einstellungen", "Werbetracking", "Abonnentin"). Each pattern counts once per line.
_VOCABULARY: dict[str, tuple[str, ...]] = {
    "consent": (
        r"cookie", r"\bpartner", r"einwillig", r"\bzustimm", r"\bconsent", r"privacy", r"privatsphäre",
        r"datenschutz", r"personenbezogen", r"personal (?:data|information)", r"personali[sz]",
        r"tracking", r"\bwerb", r"advertis", r"\bads?\b", r"und/oder", r"and/or", r"gerät", r"\bdevice",
        r"kennung", r"identifier", r"berechtigte[sn]? interesse", r"legitimate interest", r"akzeptier",
        r"\baccept", r"ablehnen", r"\breject", r"einstellungen", r"preferences", r"settings",
        r"widerruf", r"withdraw", r"\bvendors?\b", r"\banbieter", r"\biab\b", r"\btcf\b", r"drittländer",
        r"third countr", r"ip-ad", r"ip address", r"\bspeicher", r"\bstore\b", r"messung", r"measure",
    ),
    "paywall": (
        r"\babo\b", r"\babo-", r"-abo\b", r"\babonn", r"jahresabo", r"subscri", r"weiterlesen",
        r"continue reading", r"keep reading", r"read (?:on|more) with", r"\btesten\b", r"\btrial\b",
        r"[€$£]\s?\d|\d\s?[€$£]", r"\bpro (?:monat|woche)", r"\bim monat\b", r"per (?:month|week|year)",
        r"kündbar", r"kündigen", r"cancel", r"\banmelden", r"sign in", r"log ?in", r"exklusiv für",
        r"only for", r"for subscribers", r"subscribers only", r"free articles?", r"kostenlose artikel",
        r"unlimited", r"unbegrenzt", r"digital access", r"digitalzugang", r"premium", r"\bplus\b",
        r"\bangebot", r"\boffer\b", r"\bbilled\b", r"bereits", r"already a", r"zugang zu allen",
        r"access to all", r"alle artikel", r"all articles", r"\bsparen\b", r"\bsave \d", r"\bmonate? für",
    ),
    "javascript": (
        r"javascript", r"\bjs\b", r"\bbrowser", r"\benable", r"aktivier", r"\breload", r"neu laden",
        r"\bbot\b", r"\bhuman", r"\bmensch", r"captcha", r"\bverif", r"überprüf", r"ad ?blocker",
        r"werbeblocker", r"redirect", r"weitergeleitet", r"\bchecking\b", r"\bthis app\b",
        r"diese seite anzuzeigen", r"reference id", r"protected by", r"up to \d+ seconds", r"\d+ sekunden",
        r"security check", r"sicherheitsprüfung", r"access denied", r"zugriff verweigert",
    ),
}
_PATTERNS = {kind: [re.compile(p, re.IGNORECASE) for p in words] for kind, words in _VOCABULARY.items()}
_WORD = re.compile(r"\w+", re.UNICODE)

BUTTON_WORDS = 6  # a button, a price: one wall word makes it a wall line
SHORT_LINE_WORDS = 12  # a heading, a prompt: two wall words
DENSE_HITS = 3  # in a longer line (a sentence): at least this many wall words ...
DENSE_SHARE = 0.08  # ... and at least this many per word of the line,
MANY_HITS = 5  # or this many in a long paragraph
WALL_SHARE = 0.5  # wall lines at least this share of the page's words: a wall
MIN_REST_WORDS = 80  # or fewer words than this besides the wall lines (a teaser over a wall) ...
MIN_SHARE_WITH_TEASER = 0.15  # ... when the wall lines are at least this share
MIN_WALL_WORDS = 5  # never a wall on less than this (a lone "Anmelden" link)


class WallVerdict(NamedTuple):
    kind: str | None  # consent | paywall | javascript, None for an article
    wall_words: int
    total_words: int


def _line_kind(line: str, words: int) -> str | None:
    """The wall kind this line belongs to, if its wall vocabulary is dense enough."""
    hits = {kind: sum(1 for p in patterns if p.search(line)) for kind, patterns in _PATTERNS.items()}
    kind = max(WALL_KINDS, key=lambda k: hits[k])  # ties: the earlier kind in WALL_KINDS
    n = hits[kind]
    if n == 0:
        return None
    if words <= BUTTON_WORDS or (words <= SHORT_LINE_WORDS and n >= 2) or n >= MANY_HITS:
        return kind
    if n >= DENSE_HITS and n / words >= DENSE_SHARE:
        return kind
    return None


def detect_wall(text: str) -> WallVerdict:
    """Whether this extracted text is a consent, paywall or JavaScript wall rather than an article."""
    total = 0
    per_kind = dict.fromkeys(WALL_KINDS, 0)
    for line in text.splitlines():
        words = len(_WORD.findall(line))
        if not words:
            continue
        total += words
        kind = _line_kind(line, words)
        if kind is not None:
            per_kind[kind] += words
    wall = sum(per_kind.values())
    if wall < MIN_WALL_WORDS or not total:
        return WallVerdict(None, wall, total)
    share = wall / total
    if share >= WALL_SHARE or (total - wall < MIN_REST_WORDS and share >= MIN_SHARE_WITH_TEASER):
        return WallVerdict(max(WALL_KINDS, key=lambda k: per_kind[k]), wall, total)
    return WallVerdict(None, wall, total)
