"""Figures in one sentence: numbers in German or English notation with a unit or a count noun.

"1,6 Millionen", "1.600.000", "1,600,000", "$1.2bn", "1,2 Mrd. US-Dollar", "70 %", "70 Prozent",
"2,5-mal so schnell" become mentions with a form (percent, currency, count, ratio), a normalised
value and flags (approximate, a change, an old value, a current value). Years, dates, phone
numbers and bare numbers are never figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise

from pipeline.numbers import DIGITS, SCALE_WORD, parse_number, scale_value
from pipeline.text import without_overlaps

_SEP = r"[\s\u00a0\u202f\u2009\-]*"

_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "ein": 1, "eine": 1, "einer": 1, "einem": 1, "einen": 1,
    "two": 2, "zwei": 2, "three": 3, "drei": 3, "four": 4, "vier": 4, "five": 5, "fünf": 5,
    "six": 6, "sechs": 6, "seven": 7, "sieben": 7, "eight": 8, "acht": 8, "nine": 9, "neun": 9,
    "ten": 10, "zehn": 10, "hundreds of": 100, "hunderte": 100,
    "eleven": 11, "elf": 11, "twelve": 12, "zwölf": 12, "fifteen": 15, "fünfzehn": 15, "twenty": 20, "zwanzig": 20,
    "thirty": 30, "dreißig": 30, "fifty": 50, "fünfzig": 50, "hundred": 100, "hundert": 100,
    "one and a half": 1.5, "anderthalb": 1.5, "eineinhalb": 1.5, "half a": 0.5, "eine halbe": 0.5,
    "einer halben": 0.5, "einen halben": 0.5,
}
_WORD_NUM = r"(?<![\w])(?P<word>" + "|".join(sorted(map(re.escape, _WORD_NUMBERS), key=len, reverse=True)) + r")"

_SCALE_ATTACHED = r"(?P<ascale>[kKmMbB]|bn|mn|tn)(?![A-Za-zäöüÄÖÜß])"
_CURRENCY_SUFFIX = (r"(?P<cur>(?i:US[\s\-]?dollars?|U\.S\.\s?dollars?|(?:New\s+)?Taiwan(?:[\s\-]Dollars?|\s+dollars?)|"
                    r"dollars?|euros?|yuan|renminbi|pounds?(?:\s+sterling)?|Pfund(?:\s+Sterling)?|yen|won)|"
                    r"Yen|Won|US-\$|US\$|NT\$|USD|\$|EUR|€|£|GBP|¥|JPY|₩|KRW|TWD|RMB|CNY)(?![A-Za-zäöüÄÖÜ])")
_CURRENCY_PREFIX = re.compile(r"(?:(?<![A-Za-z])(?P<p1>US\$|US-\$|NT\$|USD|EUR|GBP|JPY|KRW|TWD|RMB|CNY)\s?|"
                              r"(?<![A-Za-z])(?P<p2>\$|€|£|¥|₩)\s?)$")
_PERCENT = r"(?P<pct>%|Prozent|prozent|percent|per\s?cent|pct\b|v\.\s?H\.)(?![A-Za-zäöüß])"
_RATIO = (r"(?P<ratio>x|×|times|(?i:fach(?:e[nrms]?)?)|mal)(?![A-Za-zäöüß])")  # "1,3-Fache", "2,5-fach"
_COUNT_NOUN = r"(?P<cnoun>downloads?|Downloads?|times|Mal|mal)(?![A-Za-zäöüß])"
# word fractions are percent figures: "die Hälfte", "roughly a third of", "zwei Drittel", "three quarters"
_FRACTIONS = re.compile(
    r"(?<![\w])(?P<frac>(?:die\s+|der\s+)?Hälfte|half(?=\s+of\b)|(?:ein(?:e[mnr]?)?|one|a)\s+(?:Drittel|third|Viertel|quarter|"
    r"Fünftel|fifth)|(?:zwei|two)[\s\-](?:Drittel|thirds)|(?:drei|three)[\s\-](?:Viertel|quarters))(?![\w])"
    r"(?!\s+(?:earlier|ago|later|before|after|früher|zuvor|später)\b)",  # "a quarter earlier" is a time
    re.IGNORECASE)
_FRACTION_VALUES = {"hälfte": 50.0, "half": 50.0, "drittel": 100 / 3, "third": 100 / 3, "viertel": 25.0,
                    "quarter": 25.0, "fünftel": 20.0, "fifth": 20.0, "thirds": 200 / 3, "quarters": 75.0}
_RATIO_WORDS = re.compile(
    r"(?<![\w])(?P<rword>twice|double|doubled|doppelt|doppelte[nrms]?|zweimal|half|halb|halbe[nrms]?|"
    r"thrice|dreimal|three\s+times|four\s+times|viermal|ten\s+times|zehnmal|"
    r"(?P<fold>zwei|drei|vier|fünf|sechs|acht|zehn|zwanzig|hundert|two|three|four|five|six|eight|ten|twenty|hundred)"
    r"(?:fach(?:e[nrms]?)?|fold))(?![\w])", re.IGNORECASE)
# "die zehnfache Leistung", "a tenfold speed-up": a multiple by its word
_FOLD_VALUES = {"zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "acht": 8, "zehn": 10, "zwanzig": 20,
                "hundert": 100, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "ten": 10,
                "twenty": 20, "hundred": 100}
_RATIO_WORD_VALUES = {"twice": 2, "double": 2, "doubled": 2, "doppelt": 2, "zweimal": 2, "half": 0.5,
                      "halb": 0.5, "thrice": 3, "dreimal": 3, "three times": 3, "four times": 4,
                      "viermal": 4, "ten times": 10, "zehnmal": 10}
_COMPARISON_AFTER = re.compile(
    r"^[\s\-]*(?:(?:as|so|more|faster|higher|greater|better|stronger|larger|bigger|the|that|those|schneller|"
    r"höher|größer|besser|stärker|mehr|leistungs\w*|so\s+\w+|wie|als|des|der|die|the\s+\w+)\b)", re.IGNORECASE)

_ELLIPTIC_PERCENT = re.compile(r"^\s*(?:,|und|and|sowie)\s+(?:[A-ZÄÖÜ][\w\-]*\s+){1,3}(?:auf\s+|with\s+|mit\s+)?"
                               r"\d{1,3}(?:[.,]\d+)?\s*(?:%|Prozent|percent|per\s?cent)(?![\w])")
_MORE_THAN = re.compile(r"^\s*(?:\S+\s+){0,1}?(?:more|faster|higher|greater|mehr|schneller|höher)\s+(?:\S+\s+){0,3}?"
                        r"(?:than|als)\s", re.IGNORECASE)
_PAST_BEFORE = re.compile(r"(?<![\w])(?:einst|once|formerly|früher|back\s+in|noch\s+(?:19|20)\d\d|vor\s+\w+\s+Jahren|"
                          r"\w+\s+(?:years?|months?)\s+ago)"
                          r"(?![\w])", re.IGNORECASE)
_APPROX_BEFORE = re.compile(
    r"(?:(?<![\w])(?:rund|etwa|ca\.|circa|zirka|knapp|fast|nahezu|annähernd|ungefähr|schätzungsweise|gut|"
    r"mehr\s+als|über|weit\s+über|bis\s+zu|mindestens|weniger\s+als|unter|more\s+than|over|about|around|roughly|"
    r"approximately|approx\.|nearly|almost|some|close\s+to|an\s+estimated|estimated|up\s+to|upwards\s+of|"
    r"just\s+(?:under|over|below|above)|at\s+least|less\s+than|fewer\s+than|in\s+excess\s+of|well\s+(?:over|above)|"
    r"north\s+of|beyond|nearly|roughly|under|below)|~|≈|\+/-)\s*$", re.IGNORECASE)
_CHANGE_BEFORE = re.compile(r"(?:(?<![\w])(?:by|um|(?<!make\s)(?<!makes\s)(?<!made\s)(?<!making\s)up|down|plus|minus|"
                            r"gained|lost|verloren|gewonnen)\s*|[+\-−]\s?)$",  # "make up 30 %" is a level
                            re.IGNORECASE)
_CHANGE_AFTER = re.compile(
    r"^[\s,]*(?:(?!within|in|over|binnen|innerhalb)\w+\s+)?(?:more|less|fewer|higher|lower|faster|slower|cheaper|better|worse|larger|smaller|bigger|"
    r"mehr|weniger|höher|niedriger|schneller|langsamer|günstiger|billiger|besser|schlechter|größer|kleiner|"
    r"increase|decrease|rise|drop|jump|gain|growth|Anstieg|Zuwachs|Rückgang|Wachstum|Steigerung|year[\s\-]on[\s\-]year|"
    r"year[\s\-]over[\s\-]year|yoy|a\s+year\b|per\s+year|annually|pro\s+Jahr|jährlich|im\s+Jahresvergleich|"
    r"gegenüber\s+dem\s+Vorjahr|im\s+Vergleich\s+zum\s+Vorjahr|points?\b|Punkte?\b)",
    re.IGNORECASE)
_PREVIOUS_BEFORE = re.compile(
    r"(?<![\w])(?:down\s+from|up\s+from|compared\s+(?:with|to)|gegenüber|nach\s+zuvor|zuvor|previously|vorher|"
    r"verglichen\s+mit|versus|vs\.?|from\s+(?:a\s+)?(?:peak\s+of\s+)?|von\s+(?:einst\s+|früher\s+|zuvor\s+)?)\s*$",
    re.IGNORECASE)
# "von 30 auf 20 Prozent": a path within one clause ("30 Prozent, andere Anbieter auf 20 Prozent" is none)
_FROM_TO_AFTER = re.compile(r"^\s*(?:[^\s,;]+\s+){0,3}?(?:to|auf|bis\s+auf|zu)\s", re.IGNORECASE)
_PAST_AFTER = re.compile(
    r"^[\s,]*(?:[^\d\s]\S*\s+){0,2}?(?:(?:a|one)\s+(?:year|quarter|month)\s+(?:earlier|ago|before)|last\s+(?:year|quarter)|"
    r"im\s+Vor(?:jahr|quartal|monat)\w*|vor\s+einem\s+Jahr|"
    r"im\s+Jahr\s+zuvor|previously|zuvor|in\s+(?:the\s+)?previous\s+(?:year|quarter)|\w+\s+(?:years?|months?)\s+ago)",
    re.IGNORECASE)
_CHANGED_BY = re.compile(r"(?<![\w])(?:increas|rais|lift|boost|cut|reduc|trim|lower|erhöh|aufstock|senk|kürz|steiger)\w*"
                         r"\s+(?:\S+\s+){0,4}?(?:by|um)\s+$", re.IGNORECASE)
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


_CURRENCY_WORDS = {"€": "eur", "£": "gbp", "¥": "jpy", "₩": "krw", "yuan": "cny", "renminbi": "cny", "rmb": "cny",
                   "cny": "cny", "yen": "jpy", "jpy": "jpy", "won": "krw", "krw": "krw", "gbp": "gbp", "twd": "twd",
                   "nt$": "twd"}


def _currency_unit(token: str) -> str:
    t = " ".join(token.lower().split())
    if t in _CURRENCY_WORDS:
        return _CURRENCY_WORDS[t]
    if "eur" in t:
        return "eur"
    if "taiwan" in t:
        return "twd"
    if t.startswith(("pound", "pfund")):
        return "gbp"
    return "usd"


def _as_float(d: Decimal) -> float:
    return float(d.normalize()) if d == d.to_integral_value() else float(d)


def find_mentions_masked(text: str, language: str) -> list[Mention]:
    """Every figure with a unit or count noun in a (masked) sentence."""
    mentions: list[Mention] = []
    starts = [(m.start(), m.end(), m.group("num"), None) for m in re.finditer(DIGITS, text)]
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
            m = m or re.match(_SEP + SCALE_WORD + r"(?![A-Za-zäöüß])", rest, re.IGNORECASE)
        else:
            value = Decimal(_WORD_NUMBERS[word.lower()])
            m = re.match(r"\s+" + SCALE_WORD + r"(?![A-Za-zäöüß])", rest, re.IGNORECASE)
            if not m:
                continue  # number words only count with a scale: "eine Million", "a billion"
        if m:
            scale = scale_value(m.group(m.lastgroup), language)
            scale_end = end + m.end()
        rest2 = text[scale_end:]
        prefix = _CURRENCY_PREFIX.search(text[max(0, start - 6):start])
        mention = None
        if m and m.lastgroup == "ascale" and len(m.group("ascale")) == 1 and not prefix \
                and not re.match(_SEP + _COUNT_NOUN, rest2) \
                and not (m.group("ascale") == "m" and re.search(r"[.,]\d$", digits or "")):
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
                rt.group("ratio") in {"x", "×"} or rt.group("ratio").lower().startswith("fach")
                or _COMPARISON_AFTER.match(rest2[rt.end():])):
            if rt.group("ratio") in {"x", "×"} and re.match(r"[\s\-]*\d", rest2[rt.end():]):
                continue  # "8 x 80 GB" is a product, not a ratio
            mention = Mention(start, scale_end + rt.end(), _as_float(value), "ratio", "ratio")
        elif (cn := re.match(_SEP + r"(?:[A-Za-zäöüß]{3,}\s+)?" + _COUNT_NOUN, rest2)) and not _is_year(digits, scale):
            mention = Mention(start, scale_end + cn.end(), _as_float(value * scale), "count", "count",
                              counted=True)
        elif digits is not None and scale == 1 and value <= 100 and _ELLIPTIC_PERCENT.match(rest2):
            # "SK Hynix rund 62 Prozent, Micron 21 und Samsung 17 Prozent": the unit is said once
            mention = Mention(start, end, _as_float(value), "percent", "percent")
        elif digits is None and scale > 1 or digits is not None and (scale > 1 or value >= 1000) \
                and not _is_year(digits, scale):
            mention = Mention(start, scale_end, _as_float(value * scale), "count", "count",
                              noun=_counted_noun(rest2, scale_end))
        if mention is not None:
            mentions.append(mention)
    for m in _RATIO_WORDS.finditer(text):
        if m.group("fold"):
            mentions.append(Mention(m.start(), m.end(), float(_FOLD_VALUES[m.group("fold").lower()]), "ratio", "ratio"))
        elif _COMPARISON_AFTER.match(text[m.end():]) or m.group("rword").lower().startswith(("doppelt", "halb")):
            key = " ".join(m.group("rword").lower().split())
            key = "doppelt" if key.startswith("doppelt") else "halb" if key.startswith("halb") else key
            mentions.append(Mention(m.start(), m.end(), float(_RATIO_WORD_VALUES[key]), "ratio", "ratio"))
    for m in _FRACTIONS.finditer(text):
        words = m.group("frac").lower().replace("-", " ").split()
        value = _FRACTION_VALUES[words[-1]]
        if words[0] in ("zwei", "two") and words[-1] == "drittel":
            value = 200 / 3
        elif words[0] in ("drei", "three") and words[-1] == "viertel":
            value = 75.0
        mentions.append(Mention(m.start(), m.end(), value, "percent", "percent"))
    mentions = [_with_bare_low_bound(m, text, language) for m in _merge_amount_ranges(without_overlaps(mentions), text)]
    _elliptic_amounts(mentions, text)
    for mention in mentions:
        _flag(mention, text, mentions)
        if mention.form == "percent" and _MORE_THAN.match(text[mention.end:mention.end + 80]):
            # "50 % more inference throughput than the H100": 1.5 times the reference
            mention.form, mention.unit, mention.change = "ratio", "ratio", False
            mention.value = round(1 + mention.value / 100, 6)
    return mentions


_RANGE_BETWEEN = re.compile(r"^\s*(?:[-–]|to|bis|and|und)\s*$", re.IGNORECASE)
_CONJUNCTION_BETWEEN = re.compile(r"^\s*(?:and|und)\s*$", re.IGNORECASE)
# "and"/"und" joins two amounts into a range only after "between"/"zwischen": "$6.6 billion and $8.5 billion
# respectively" are two amounts
_BETWEEN_BEFORE = re.compile(r"(?<![\w])(?:between|zwischen)\s+(?:(?:rund|etwa|about|around|roughly)\s+)?\S{0,4}$",
                             re.IGNORECASE)


def _joins_range(text: str, low_start: int, low_end: int, high_start: int) -> bool:
    between = text[low_end:high_start]
    if not _RANGE_BETWEEN.match(between):
        return False
    return not _CONJUNCTION_BETWEEN.match(between) or bool(_BETWEEN_BEFORE.search(text[max(0, low_start - 30):low_start]))
_TRAJECTORY_BEFORE = re.compile(r"(?<![\w])(?:from|von|by|um)\s+(?:\S+\s+)?$", re.IGNORECASE)  # a path or a change


def _merge_amount_ranges(mentions: list[Mention], text: str) -> list[Mention]:
    """"US$40 billion to US$42 billion", "$40-42bn", "zwischen 2 und 3 Mrd. Euro": one amount, the
    midpoint (approximate); "from $2bn to $3bn" stays two (a trajectory)."""
    out: list[Mention] = []
    for m in mentions:
        low = out[-1] if out else None
        if low is None or low.form != "currency" or m.form not in ("currency", "count") or m.counted \
                or (m.form == "currency" and m.unit != low.unit) or not _joins_range(text, low.start, low.end, m.start) \
                or _TRAJECTORY_BEFORE.search(text[max(0, low.start - 20):low.start]) or low.value < 0:
            out.append(m)
            continue
        low_value = low.value
        for _ in range(4):  # at most thousand -> million -> billion -> trillion; "$0-5 billion" has no scale to carry
            if low_value <= 0 or low_value * 1000 > m.value:
                break
            low_value *= 1000  # "$40-42bn": the scale is said once, after the second number
        if low_value >= m.value:
            out.append(m)
            continue
        out[-1] = Mention(low.start, m.end, round((low_value + m.value) / 2, 6), "currency", low.unit, approximate=True)
    return out


# "52 bis 56 Milliarden Dollar", "between 91 and 93 billion dollars": the low end is a bare number that
# takes the high end's scale and currency; "from 52 to 56 billion" and "by 2 to 18 billion" are paths
_BARE_LOW = re.compile(r"(?<![\w.,])(?P<low>\d{1,3}(?:[.,]\d+)?)\s*(?:[-–]|bis|to|and|und)\s*$", re.IGNORECASE)
_PATH_BEFORE = re.compile(r"(?<![\w])(?:from|by|um)\s+$", re.IGNORECASE)
_LEADING_NUMBER = re.compile(r"\D{0,4}?(\d+(?:[.,]\d+)?)")


# "Microsoft mit fünf Milliarden Dollar, Nvidia mit zehn Milliarden": the currency is said once
_ELLIPTIC_AMOUNT = re.compile(r"^(?:\s+[\w\-]+){0,3}?\s*(?:,|;|\s(?:und|and|sowie|while|während))\s+(?:[A-ZÄÖÜ][\w\-]*\s+){1,3}"
                              r"(?:mit|with|auf|at|bei|über)?\s*(?:(?:rund|etwa|knapp|gut|about|around|roughly|nearly)\s+)?$")


def _elliptic_amounts(mentions: list[Mention], text: str) -> None:
    for before, m in pairwise(mentions):
        if before.form == "currency" and m.form == "count" and not m.counted and m.noun is None \
                and m.value >= 10**6 and _ELLIPTIC_AMOUNT.match(text[before.end:m.start]):
            m.form, m.unit = "currency", before.unit


def _with_bare_low_bound(m: Mention, text: str, language: str) -> Mention:
    if m.form != "currency":
        return m
    low = _BARE_LOW.search(text[max(0, m.start - 20):m.start])
    high = _LEADING_NUMBER.match(text, m.start)
    if low is None or high is None or _PATH_BEFORE.search(text[max(0, m.start - 20 - 10):m.start - len(low.group(0))]):
        return m
    window_start = max(0, m.start - 20)
    if not _joins_range(text, window_start + low.start("low"), window_start + low.end("low"), m.start):
        return m
    try:
        low_number, high_number = parse_number(low.group("low"), language), parse_number(high.group(1), language)
    except (InvalidOperation, ValueError):
        return m
    if not 0 < low_number < high_number:
        return m
    scale = m.value / float(high_number)
    start = m.start - len(low.group(0))
    return Mention(start, m.end, round((float(low_number) * scale + m.value) / 2, 6), "currency", m.unit, approximate=True)


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
    return find_mentions_masked(mask_non_figures(text), language)


def _is_year(digits: str | None, scale: int) -> bool:
    return digits is not None and scale == 1 and re.fullmatch(r"(?:19|20)\d\d", digits) is not None


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
        window_start = max(0, m.start - 30)
        low = re.search(r"(?<![\d.,])(\d{1,3}(?:[.,]\d+)?)\s*(?:%|Prozent|percent)?\s*(?:[-–]|bis|to|and|und)\s*$",
                        text[window_start:m.start])
        lead = text[max(0, window_start - 30):window_start + low.start()] if low else ""
        if low and float(low.group(1).replace(",", ".")) < m.value \
                and not re.search(r"(?:(?<![\w])(?:by|um|minus|from|von)\s*|[+\-−]\s?)$", lead, re.IGNORECASE):
            m.approximate = True  # a range "60-70 %", "60 bis 70 Prozent": one figure, its midpoint
            m.change = False
            m.value = round((float(low.group(1).replace(",", ".")) + m.value) / 2, 6)
    if re.search(r"(?<![\w])(?:by|um)\s+$", before) and re.match(r"^\s*(?:to|auf)\s+\S*\d", after):
        m.change = True  # "cut its plan by $2 billion to $18 billion": the delta, not the level
    if m.form == "currency" and _CHANGED_BY.search(before):
        m.change = True  # "plans to increase US spending by $100 billion": the delta
    if re.search(_CURRENT_NEAR.pattern + r"\s*$", before, re.IGNORECASE) or _CURRENT_NEAR.match(after.lstrip(" ,")):
        m.current = True
        return
    if _PAST_BEFORE.search(text[max(0, m.start - 80):m.start]):
        m.previous = True  # "Einst hatte Intel über 80 Prozent": a superseded value
        return
    previous = _PREVIOUS_BEFORE.search(before)
    if previous:
        word = previous.group(0).strip().lower()
        earlier = any(o is not m and o.form == m.form and o.end <= m.start for o in mentions)
        if word.startswith(("from", "von")):
            later = [o for o in mentions if o.start >= m.end and o.form == m.form]
            if later and _FROM_TO_AFTER.match(text[m.end:later[0].start + 1]) or (earlier and word.startswith("from")):
                m.previous = True
        elif earlier:
            m.previous = True
    if _PAST_AFTER.match(after) and any(o is not m and o.form == m.form for o in mentions):
        m.previous = True  # "50 %, after 80 % a year earlier": the old value of a comparison
