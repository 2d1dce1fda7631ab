"""Figure claims from German and English news text: number grammar + cue words + a subject gazetteer.

How a claim is found, sentence by sentence:

1. *Figures*: numbers in German or English notation ("1,6 Millionen", "1.600.000", "1,600,000",
   "$1.2bn", "1,2 Mrd. US-Dollar", "70 %", "70 Prozent", "2,5-mal so schnell") become mentions
   with a form (percent, currency, count, ratio), a normalised value and an approximation flag.
   A figure needs a unit or a count noun; years, dates, phone numbers and bare numbers are never
   figures.
2. *Indicator*: among the indicators that accept the figure's form, the one with a cue word
   closest to the figure (within its window, counted in words, clause boundaries counting extra)
   wins, unless a negative cue (price, poll, inflation, benchmark score, ...) is at least as close.
   Figures that describe a change ("up 20 %", "um 20 Prozent", "30 % faster") or an old value
   ("from 95 % to 50 %") are dropped.
3. *Subject*: the closest gazetteer mention of the indicator's preferred subject type (preceding
   mentions preferred; sources such as "according to X" and the reference chip of a comparison
   excluded). No subject, no claim.
4. *Target year*: "bis 2028", "by 2030", "bis Ende 2027", "2030 target", and "in/für 2030" when the
   sentence speaks of the future.

The rules read everything topical (cues, subjects, targets) from indicators.yaml.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from pipeline.text import split_sentences
from pipeline.indicators.defs import Definitions, IndicatorDef, load_definitions

MAX_QUOTE_CHARS = 1000
_SEP = r"[\s\u00a0\u202f\u2009\-]*"
_SEP_ONE = r"[\s\u00a0\u202f\u2009]?"


@dataclass(frozen=True)
class Claim:
    indicator: str
    kind: str
    subject: str
    value: float
    unit: str
    target_year: int | None
    approximate: bool
    quote: str


# --------------------------------------------------------------------------- figures

_DIGITS = (r"(?<![\w.,/])(?P<num>\d{1,3}(?:(?:\.\d{3})+|(?:,\d{3})+|(?:[\u00a0\u202f\u2009]\d{3})+)(?:[.,]\d+)?"
           r"|\d+(?:[.,]\d+)?)(?!\d)(?![.,]\d)")
_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "ein": 1, "eine": 1, "einer": 1, "einem": 1, "einen": 1,
    "two": 2, "zwei": 2, "three": 3, "drei": 3, "four": 4, "vier": 4, "five": 5, "fünf": 5,
    "six": 6, "sechs": 6, "seven": 7, "sieben": 7, "eight": 8, "acht": 8, "nine": 9, "neun": 9,
    "ten": 10, "zehn": 10, "hundreds of": 100, "hunderte": 100,
}
_WORD_NUM = r"(?<![\w])(?P<word>" + "|".join(sorted(map(re.escape, _WORD_NUMBERS), key=len, reverse=True)) + r")"

# scale words; "Billion" is 10^12 in German and 10^9 in English (handled in _scale_value)
_SCALE_WORD = (r"(?P<scale>thousand|tausend|Tsd\.?|millions?|Millionen|Million|Mio\.?|mn\b|mln\.?|"
               r"billions?|Billionen|bn\b|bln\.?|Milliarden|Milliarde|Mrd\.?|Mia\.?|trillions?|tn\b)")
_SCALE_ATTACHED = r"(?P<ascale>[kKmMbB]|bn|mn|tn)(?![A-Za-zäöüÄÖÜß])"
_CURRENCY_SUFFIX = (r"(?P<cur>(?i:US[\s\-]?dollars?|U\.S\.\s?dollars?|dollars?|euros?|yuan|renminbi)|US-\$|US\$|USD|\$|"
                    r"EUR|€|RMB|CNY)(?![A-Za-zäöüÄÖÜ])")
_CURRENCY_PREFIX = re.compile(r"(?:(?<![A-Za-z])(?P<p1>US\$|US-\$|USD|EUR|RMB|CNY)\s?|(?<![A-Za-z])(?P<p2>\$|€)\s?)$")
_PERCENT = r"(?P<pct>%|Prozent|prozent|percent|per\s?cent|pct\b|v\.\s?H\.)(?![A-Za-zäöüß])"
_RATIO = (r"(?P<ratio>x|×|times|fach(?:e[nrms]?)?|mal)(?![A-Za-zäöüß])")
_COUNT_NOUN = r"(?P<cnoun>downloads?|Downloads?|times|Mal|mal)(?![A-Za-zäöüß])"
_RATIO_WORDS = re.compile(
    r"(?<![\w])(?P<rword>twice|double|doubled|doppelt|doppelte[nrms]?|zweimal|half|halb|halbe[nrms]?|"
    r"thrice|dreimal|three\s+times|four\s+times|viermal|ten\s+times|zehnmal)(?![\w])", re.IGNORECASE)
_RATIO_WORD_VALUES = {"twice": 2, "double": 2, "doubled": 2, "doppelt": 2, "zweimal": 2, "half": 0.5,
                      "halb": 0.5, "thrice": 3, "dreimal": 3, "three times": 3, "four times": 4,
                      "viermal": 4, "ten times": 10, "zehnmal": 10}
_COMPARISON_AFTER = re.compile(
    r"^[\s\-]*(?:(?:as|so|more|faster|higher|greater|better|stronger|larger|bigger|the|that|those|schneller|"
    r"höher|größer|besser|stärker|mehr|leistungs\w*|so\s+\w+|wie|als|des|der|die|the\s+\w+)\b)", re.IGNORECASE)

_APPROX_BEFORE = re.compile(
    r"(?:(?<![\w])(?:rund|etwa|ca\.|circa|zirka|knapp|fast|nahezu|annähernd|ungefähr|schätzungsweise|gut|"
    r"mehr\s+als|über|weit\s+über|bis\s+zu|mindestens|weniger\s+als|unter|more\s+than|over|about|around|roughly|"
    r"approximately|approx\.|nearly|almost|some|close\s+to|an\s+estimated|estimated|up\s+to|upwards\s+of|"
    r"just\s+(?:under|over|below|above)|at\s+least|less\s+than|fewer\s+than|in\s+excess\s+of|well\s+(?:over|above)|"
    r"north\s+of|beyond|nearly|roughly)|~|≈|\+/-)\s*$", re.IGNORECASE)
_CHANGE_BEFORE = re.compile(r"(?:(?<![\w])(?:by|um|up|down|plus|minus|gained|lost|verloren|gewonnen)\s*|[+\-−]\s?)$",
                            re.IGNORECASE)
_CHANGE_AFTER = re.compile(
    r"^[\s,]*(?:\w+\s+)?(?:more|less|fewer|higher|lower|faster|slower|cheaper|better|worse|larger|smaller|bigger|"
    r"mehr|weniger|höher|niedriger|schneller|langsamer|günstiger|billiger|besser|schlechter|größer|kleiner|"
    r"increase|decrease|rise|drop|jump|gain|growth|Anstieg|Zuwachs|Rückgang|Wachstum|Steigerung|year[\s\-]on[\s\-]year|"
    r"year[\s\-]over[\s\-]year|yoy|a\s+year\b|per\s+year|annually|pro\s+Jahr|jährlich|im\s+Jahresvergleich|"
    r"gegenüber\s+dem\s+Vorjahr|im\s+Vergleich\s+zum\s+Vorjahr|points?\b|Punkte?\b)",
    re.IGNORECASE)
_PREVIOUS_BEFORE = re.compile(
    r"(?<![\w])(?:down\s+from|up\s+from|compared\s+(?:with|to)|gegenüber|nach\s+zuvor|zuvor|previously|vorher|"
    r"verglichen\s+mit|versus|vs\.?|from\s+(?:a\s+)?(?:peak\s+of\s+)?|von\s+(?:einst\s+|früher\s+|zuvor\s+)?)\s*$",
    re.IGNORECASE)
_FROM_TO_AFTER = re.compile(r"^\s*(?:\S+\s+){0,3}?(?:to|auf|bis\s+auf|zu)\s", re.IGNORECASE)
_PAST_AFTER = re.compile(
    r"^[\s,]*(?:\S+\s+){0,2}?(?:(?:a|one)\s+year\s+(?:earlier|ago|before)|last\s+year|im\s+Vorjahr|vor\s+einem\s+Jahr|"
    r"im\s+Jahr\s+zuvor|previously|zuvor|in\s+(?:the\s+)?previous\s+year)",
    re.IGNORECASE)
_CURRENT_NEAR = re.compile(
    r"(?<![\w])(?:today|currently|now|heute|derzeit|aktuell|zurzeit|jetzt|bislang|bisher)(?![\w])", re.IGNORECASE)

_MASKS = [
    re.compile(r"(?<![\w.])\d{1,2}\.\s?\d{1,2}\.\s?(?:\d{4}|\d{2})?(?![\w])"),       # 12.03.2025, 3.5.
    re.compile(r"(?<![\w])\d{4}-\d{2}-\d{2}(?:T[\d:]+)?"),                          # ISO dates
    re.compile(r"(?<![\w])\d{1,2}/\d{1,2}/\d{2,4}(?![\w])"),                        # 3/12/2025
    re.compile(r"(?<![\w])\d{1,2}:\d{2}(?::\d{2})?(?![\w])"),                       # times
    re.compile(r"(?:\+|(?<![\w])00)\d{1,3}[\s\-/]?(?:\(0\)\s?)?\d{2,5}(?:[\s\-/]?\d{2,})+"),  # phone numbers
    re.compile(r"(?:Tel\.?|Telefon|Phone|Fax)\s*:?\s*[\d\s\-/()+]{6,}", re.IGNORECASE),
    re.compile(r"(?<![\w])(?:ISBN|DOI|arXiv)[:\s]*[\w.\-/]+", re.IGNORECASE),
]


@dataclass
class Mention:
    start: int
    end: int
    value: float
    form: str          # percent, currency, count, ratio
    unit: str          # percent, usd, eur, cny, count, ratio
    approximate: bool = False
    change: bool = False
    previous: bool = False
    current: bool = False
    counted: bool = False   # a count noun (downloads, times, Mal) is attached
    noun: tuple[int, int] | None = None  # the word a bare count counts: an indicator cue must be it


def parse_number(raw: str, language: str) -> Decimal:
    """A digit string in German or English notation; the language settles '1,600' vs '1.600'."""
    s = raw.replace("\u00a0", "").replace("\u202f", "").replace("\u2009", "")
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        dec = "." if s.rfind(".") > s.rfind(",") else ","
        thou = "," if dec == "." else "."
        return Decimal(s.replace(thou, "").replace(dec, "."))
    if not dots and not commas:
        return Decimal(s)
    sep = "." if dots else ","
    if dots + commas > 1:
        return Decimal(s.replace(sep, ""))
    whole, frac = s.split(sep)
    if len(frac) != 3 or whole == "0":
        return Decimal(f"{whole}.{frac}")
    decimal_sep = "," if language == "de" else "."
    return Decimal(f"{whole}.{frac}") if sep == decimal_sep else Decimal(whole + frac)


def _scale_value(word: str, language: str) -> int:
    w = word.lower().rstrip(".")
    if w in {"thousand", "tausend", "tsd", "k"}:
        return 10**3
    if w in {"million", "millions", "millionen", "mio", "mn", "mln", "m"}:
        return 10**6
    if w in {"milliarde", "milliarden", "mrd", "mia", "bn", "bln", "b"}:
        return 10**9
    if w in {"billion", "billions"}:
        return 10**12 if (language == "de" and word[0] == "B") else 10**9
    if w in {"billionen", "trillion", "trillions", "tn"}:
        return 10**12
    return 1


def _currency_unit(token: str) -> str:
    t = token.lower()
    if "eur" in t or "€" in t:
        return "eur"
    if t in {"yuan", "renminbi", "rmb", "cny"}:
        return "cny"
    return "usd"


def _as_float(d: Decimal) -> float:
    return float(d.normalize()) if d == d.to_integral_value() else float(d)


def _find_mentions(text: str, language: str) -> list[Mention]:
    """Every figure with a unit or count noun in a (masked) sentence."""
    mentions: list[Mention] = []
    starts = [(m.start(), m.end(), m.group("num"), None) for m in re.finditer(_DIGITS, text)]
    starts += [(m.start(), m.end(), None, m.group("word")) for m in re.finditer(_WORD_NUM, text, re.IGNORECASE)]
    for start, end, digits, word in starts:
        rest = text[end:]
        scale, scale_end = 1, end
        if digits is not None:
            try:
                value = parse_number(digits, language)
            except (InvalidOperation, ValueError):
                continue
            m = re.match(_SCALE_ATTACHED, rest)
            m = m or re.match(_SEP + _SCALE_WORD + r"(?![A-Za-zäöüß])", rest, re.IGNORECASE)
        else:
            value = Decimal(_WORD_NUMBERS[word.lower()])
            m = re.match(r"\s+" + _SCALE_WORD + r"(?![A-Za-zäöüß])", rest, re.IGNORECASE)
            if not m:
                continue  # number words only count with a scale: "eine Million", "a billion"
        if m:
            scale = _scale_value(m.group(m.lastgroup), language)
            scale_end = end + m.end()
        rest2 = text[scale_end:]
        prefix = _CURRENCY_PREFIX.search(text[max(0, start - 6):start])
        mention = None
        if m and m.lastgroup == "ascale" and len(m.group("ascale")) == 1 and not prefix \
                and not re.match(_SEP + _COUNT_NOUN, rest2):
            continue  # "7B", "910B", "80M" are model sizes and chip names unless money or a count
        if digits is not None and prefix:
            unit = _currency_unit(prefix.group("p1") or prefix.group("p2"))
            mstart = start - len(prefix.group(0))
            cur = re.match(_SEP + _CURRENCY_SUFFIX, rest2)  # "$1.2 billion US dollars" is one figure
            mend = scale_end + (cur.end() if cur else 0)
            mention = Mention(mstart, mend, _as_float(value * scale), "currency", unit)
        elif (cur := re.match(_SEP + _CURRENCY_SUFFIX, rest2)) and not (cur.group("cur") == "$" and scale == 1
                                                                             and re.match(r"\s", rest2)):
            mention = Mention(start, scale_end + cur.end(), _as_float(value * scale), "currency",
                              _currency_unit(cur.group("cur")))
        elif scale == 1 and (pct := re.match(_SEP + _PERCENT, rest2)):
            mention = Mention(start, scale_end + pct.end(), _as_float(value), "percent", "percent")
        elif scale == 1 and (rt := re.match(_SEP + _RATIO, rest2)) and (
                rt.group("ratio") in {"x", "×"} or rt.group("ratio").startswith("fach")
                or _COMPARISON_AFTER.match(rest2[rt.end():])):
            if rt.group("ratio") in {"x", "×"} and re.match(r"[\s\-]*\d", rest2[rt.end():]):
                continue  # "8 x 80 GB" is a product, not a ratio
            mention = Mention(start, scale_end + rt.end(), _as_float(value), "ratio", "ratio")
        elif (cn := re.match(_SEP + r"(?:[A-Za-zäöüß]{3,}\s+)?" + _COUNT_NOUN, rest2)) and not _is_year(digits, scale):
            mention = Mention(start, scale_end + cn.end(), _as_float(value * scale), "count", "count",
                              counted=True)
        elif digits is None and scale > 1 or digits is not None and (scale > 1 or value >= 1000) \
                and not _is_year(digits, scale):
            mention = Mention(start, scale_end, _as_float(value * scale), "count", "count",
                              noun=_counted_noun(rest2, scale_end))
        if mention is not None:
            mentions.append(mention)
    for m in _RATIO_WORDS.finditer(text):
        if _COMPARISON_AFTER.match(text[m.end():]) or m.group("rword").lower().startswith(("doppelt", "halb")):
            key = " ".join(m.group("rword").lower().split())
            key = "doppelt" if key.startswith("doppelt") else "halb" if key.startswith("halb") else key
            mentions.append(Mention(m.start(), m.end(), float(_RATIO_WORD_VALUES[key]), "ratio", "ratio"))
    mentions = _drop_overlaps(mentions)
    for mention in mentions:
        _flag(mention, text, mentions)
    return mentions


_FUNCTION_WORDS = {
    "in", "within", "on", "at", "since", "after", "before", "by", "and", "or", "last", "this", "so", "far",
    "already", "now", "alone", "times", "across", "over", "per", "each", "a", "the", "according", "from",
    "bei", "auf", "im", "seit", "nach", "vor", "und", "oder", "allein", "bereits", "schon", "bisher", "inzwischen",
    "mittlerweile", "pro", "je", "laut", "über", "innerhalb", "binnen", "insgesamt", "total", "overall", "ist",
    "sind", "war", "waren", "is", "was", "were", "has", "have", "had", "hat", "haben", "wurde", "wurden",
}


def _counted_noun(rest: str, offset: int) -> tuple[int, int] | None:
    """'90.000 abgeleitete Modelle', '10 million users': the word a bare number counts (None when
    the number stands alone: 'liegt bei 800.000.', 'topped 10 million within a month')."""
    m = re.match(r"[\s\u00a0]*([A-Za-zÄÖÜäöüß][\w\-]*)", rest)
    if not m or m.group(1).lower() in _FUNCTION_WORDS:
        return None
    return offset + m.start(1), offset + m.end(1)


def mask_non_figures(text: str) -> str:
    """Dates, times, phone numbers and identifiers blanked out (same length, so offsets hold)."""
    for pat in _MASKS:
        text = pat.sub(lambda m: "#" * len(m.group(0)), text)
    return text


def find_mentions(text: str, language: str) -> list[Mention]:
    """The figures of one sentence (public for tests and debugging)."""
    return _find_mentions(mask_non_figures(text), language)


def _is_year(digits: str | None, scale: int) -> bool:
    return digits is not None and scale == 1 and re.fullmatch(r"(?:19|20)\d\d", digits) is not None


def _drop_overlaps(mentions: list[Mention]) -> list[Mention]:
    mentions.sort(key=lambda m: (m.start, -(m.end - m.start)))
    out: list[Mention] = []
    for m in mentions:
        if out and m.start < out[-1].end:
            continue
        out.append(m)
    return out


def _flag(m: Mention, text: str, mentions: list[Mention]) -> None:
    before = text[max(0, m.start - 60):m.start]
    approx = _APPROX_BEFORE.search(before)
    if approx:
        m.approximate = True
        before = before[:approx.start()]
    after = text[m.end:m.end + 60]
    if m.form == "percent":
        if _CHANGE_BEFORE.search(before) and not re.search(r"\d\s?$", before) or _CHANGE_AFTER.match(after):
            m.change = True
        if re.search(r"\d\s?[-–]\s?$", text[max(0, m.start - 8):m.start]) or re.search(
                r"(?<![\w])(?:bis|to|and|und)\s+$", before) and re.search(r"\d\s*(?:bis|to|and|und)\s+$", before):
            m.approximate = True  # a range "60-70 %", "60 bis 70 Prozent": the upper bound, flagged
            m.change = False
    if re.search(_CURRENT_NEAR.pattern + r"\s*$", before, re.IGNORECASE) or _CURRENT_NEAR.match(after.lstrip(" ,")):
        m.current = True
        return
    if _PREVIOUS_BEFORE.search(before):
        word = _PREVIOUS_BEFORE.search(before).group(0).strip().lower()
        earlier = any(o is not m and o.form == m.form and o.end <= m.start for o in mentions)
        if word.startswith(("from", "von")):
            later = [o for o in mentions if o.start >= m.end and o.form == m.form]
            if later and _FROM_TO_AFTER.match(text[m.end:later[0].start + 1]) or (earlier and word.startswith("from")):
                m.previous = True
        elif any(o is not m and o.form == m.form and o.end <= m.start for o in mentions):
            m.previous = True
    if _PAST_AFTER.match(after) and any(o is not m and o.form == m.form for o in mentions):
        m.previous = True  # "50 %, after 80 % a year earlier": the old value of a comparison


# --------------------------------------------------------------------------- closeness

_BOUNDARY = re.compile(r";|\s[–—-]\s|\((?=[^)]*\))|(?<![\w])(?:while|whereas|während|but|aber|jedoch|however|"
                       r"doch|wobei|whilst|meanwhile|indes|derweil)(?![\w])", re.IGNORECASE)
_BOUNDARY_COST = 6


class _Sentence:
    """Word positions of one sentence, to measure how far two spans are apart."""

    def __init__(self, text: str):
        self.text = text
        self.word_starts = [m.start() for m in re.finditer(r"\S+", text)]
        self.boundaries = [m.start() for m in _BOUNDARY.finditer(text)]

    def word(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.word_starts, pos) - 1)

    def distance(self, a: tuple[int, int], b: tuple[int, int]) -> int:
        """Words strictly between two spans (0 when adjacent or overlapping), plus clause boundaries."""
        if a[0] < b[1] and b[0] < a[1]:
            return 0
        first, second = (a, b) if a[0] <= b[0] else (b, a)
        words = max(0, self.word(second[0]) - self.word(max(first[0], first[1] - 1)) - 1)
        crossed = sum(1 for p in self.boundaries if first[1] <= p < second[0])
        return words + _BOUNDARY_COST * crossed


# --------------------------------------------------------------------------- subjects

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
        found.sort(key=lambda s: (s.start, -(s.end - s.start)))
        out: list[SubjectMention] = []
        for s in found:
            if out and s.start < out[-1].end:
                continue
            out.append(s)
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


def _mark_references(subjects: list[SubjectMention], mention: Mention, sent: _Sentence) -> None:
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


def _pick_subject(ind: IndicatorDef, mention: Mention, subjects: list[SubjectMention],
                  sent: _Sentence) -> str | None:
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


# --------------------------------------------------------------------------- target years

_TARGET_EXPLICIT = re.compile(
    r"(?<![\w])(?:by|until|till|through|bis(?:\s+zum\s+Jahr|\s+Ende|\s+spätestens|\s+zum\s+Ende)?|"
    r"spätestens(?:\s+bis)?(?:\s+im\s+Jahr)?|by\s+the\s+end\s+of|by\s+end\s+of|by\s+year[\s\-]end|no\s+later\s+than|"
    r"target(?:ed)?\s+for|Ziel\s+für|goal\s+for|deadline\s+of)\s+(?:the\s+)?(?:year\s+|Jahres\s+)?"
    r"(?P<y>20\d\d)(?![\w])", re.IGNORECASE)
_TARGET_COMPOUND = re.compile(r"(?<![\w])(?P<y>20\d\d)(?:[\s\-](?:target|goal|Ziel\w*|Vorgabe\w*))(?![\w])",
                              re.IGNORECASE)
_TARGET_SOFT = re.compile(r"(?<![\w])(?:in|im\s+Jahr|in\s+the\s+year|for|für|from|ab)\s+(?P<y>20\d\d)(?![\w])",
                          re.IGNORECASE)
_FUTURE = re.compile(
    r"(?<![\w])(?:will|would|shall|should|could|may|might|soll\w*|will\b|wollen|wolle|möchte\w*|plan\w*|aim\w*|"
    r"expect\w*|forecast\w*|project\w*|predict\w*|prognos\w*|erwart\w*|target\w*|Ziel\w*|anpeil\w*|peil\w*|angepeilt|"
    r"anstreb\w*|angestrebt|strebt|goal|ambition\w*|hopes?|hofft|dürfte\w*|könnte\w*|werden|wird|intend\w*|"
    r"seeks?|envisag\w*|vorgesehen|sehen\s+vor|sieht\s+vor)(?![\w])", re.IGNORECASE)


_TARGET_YEAR_FIRST = re.compile(
    r"(?:^|[,;:]\s*|(?<![\w])(?:und|and)\s+)(?P<y>20\d\d)\s+(?:soll\w*|will|wollen|werden|wird|dürfte\w*|könnte\w*|"
    r"should|could|would|will|is\s+expected)(?![\w])"
    r"|(?<![\w])(?:soll|sollen|will|wollen|wird|werden|möchte|möchten)\s+(?:(?:bereits|schon|spätestens)\s+)?"
    r"(?P<y2>20\d\d)(?![\w])", re.IGNORECASE)


def _target_markers(text: str, year_spans_ok: bool) -> list[tuple[int, int, int]]:
    marks = [(m.start(), m.end(), int(m.group("y"))) for m in _TARGET_EXPLICIT.finditer(text)]
    marks += [(m.start(), m.end(), int(m.group("y"))) for m in _TARGET_COMPOUND.finditer(text)]
    marks += [(m.start(), m.end(), int(m.group("y") or m.group("y2"))) for m in _TARGET_YEAR_FIRST.finditer(text)]
    if year_spans_ok and _FUTURE.search(text):
        marks += [(m.start(), m.end(), int(m.group("y"))) for m in _TARGET_SOFT.finditer(text)
                  if not any(a <= m.start() < b for a, b, _ in marks)]
    return marks


def _target_year(mention: Mention, live: list[Mention], marks, sent: _Sentence) -> int | None:
    if mention.previous or mention.current:
        return None
    best, best_score = None, None
    for a, b, year in marks:
        lo, hi = (mention.end, a) if a >= mention.end else (b, mention.start)
        if any(o is not mention and lo <= o.start < hi for o in live):
            continue  # another figure sits between: the year is that figure's
        score = sent.distance((mention.start, mention.end), (a, b)) + (0 if a >= mention.end else 2)
        if score <= 15 and (best_score is None or score < best_score):
            best, best_score = year, score
    return best


# --------------------------------------------------------------------------- claims

class Extractor:
    """Compiled rules for one set of definitions (build once, call for many texts)."""

    def __init__(self, definitions: Definitions | None = None):
        self.defs = definitions or load_definitions()
        self.gazetteer = Gazetteer(self.defs)
        self.indicators = self.defs.text_indicators

    def sentence_claims(self, sentence: str, language: str) -> list[Claim]:
        quote = sentence.strip()[:MAX_QUOTE_CHARS]
        masked = mask_non_figures(sentence)
        mentions = _find_mentions(masked, language)
        if not mentions:
            return []
        sent = _Sentence(masked)
        # subjects are looked up with the figures blanked out ("US$", "Mrd." are not subjects)
        blank = list(masked)
        for m in mentions:
            blank[m.start:m.end] = " " * (m.end - m.start)
        subjects = self.gazetteer.find("".join(blank))
        if not subjects:
            return []
        cue_spans = {ind.key: [(m.start(), m.end()) for c in ind.cues for m in c.finditer(masked)]
                     for ind in self.indicators}
        positive = [span for spans in cue_spans.values() for span in spans]
        negative = [(m.start(), m.end()) for c in self.defs.negative_cues for m in c.finditer(masked)]
        negative = [n for n in negative if not any(n[0] < p[1] and p[0] < n[1] for p in positive)
                    and not any(n[0] < m.end and m.start < n[1] for m in mentions)]
        live = [m for m in mentions if not m.change]
        marks = _target_markers(masked, True)
        claims: list[Claim] = []
        for mention in live:
            if mention.previous:
                continue
            span = (mention.start, mention.end)
            neg = min((sent.distance(span, n) for n in negative), default=None)
            ranked = []
            for order, ind in enumerate(self.indicators):
                if mention.form not in ind.values:
                    continue
                if mention.form == "percent" and ind.kind in ("market_share", "self_sufficiency_target") \
                        and not 0 < mention.value <= 100:
                    continue
                if mention.form == "count" and ind.kind == "downloads" and not mention.counted \
                        and mention.value < 1000:
                    continue
                if mention.noun and not any(c[0] <= mention.noun[0] < c[1] or mention.noun[0] <= c[0] < mention.noun[1]
                                            for c in cue_spans[ind.key]):
                    continue  # "90.000 abgeleitete Modelle" counts models, not downloads
                dist = min((sent.distance(span, c) for c in cue_spans[ind.key]), default=None)
                if dist is None or dist > ind.window or (neg is not None and neg <= dist):
                    continue
                ranked.append((dist, order, ind))
            for _, _, ind in sorted(ranked, key=lambda r: (r[0], r[1])):
                if ind.requires_type and not any(ind.requires_type in s.types and not s.attribution
                                                 for s in subjects):
                    continue
                if ind.kind == "performance_ratio":
                    _mark_references(subjects, mention, sent)
                subject = _pick_subject(ind, mention, subjects, sent)
                for s in subjects:
                    s.reference = False
                if subject is None:
                    continue
                claims.append(Claim(ind.key, ind.kind, subject, mention.value, mention.unit,
                                    _target_year(mention, live, marks, sent), mention.approximate, quote))
                break
        return _dedupe(claims)

    def extract(self, text: str, language: str) -> list[Claim]:
        language = (language or "en").lower()[:2]
        out: list[Claim] = []
        for sentence in split_sentences(text or ""):
            out.extend(self.sentence_claims(sentence, language))
        return out


def _dedupe(claims: list[Claim]) -> list[Claim]:
    seen, out = set(), []
    usd = {(c.indicator, c.subject) for c in claims if c.unit == "usd"}
    for c in claims:
        if c.unit in ("eur", "cny") and (c.indicator, c.subject) in usd:
            continue  # "344 Mrd. Yuan (47,5 Mrd. Dollar)": keep the dollar figure only
        key = (c.indicator, c.subject, c.value, c.unit)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


_default: Extractor | None = None


def default_extractor() -> Extractor:
    global _default
    if _default is None or _default.defs is not load_definitions():
        _default = Extractor()
    return _default


def extract_claims(text: str, language: str, definitions: Definitions | None = None) -> list[Claim]:
    """Figure claims in a German ('de') or English ('en') text; pure (no I/O beyond the cached YAML)."""
    extractor = Extractor(definitions) if definitions is not None else default_extractor()
    return extractor.extract(text, language)
