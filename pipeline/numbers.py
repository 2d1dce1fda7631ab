"""Numbers as German and English write them: the one notation parser.

"1.600.000" and "1,600,000", "2,5" and "2.5", "1,6 Millionen" and "1.6 million": the digits
pattern, the scale words and what they are worth. Indicator figures
(pipeline/indicators/text/figures.py) and story evidence (pipeline/stories/evidence.py) both
read numbers through here, so a figure means the same in both.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["DIGITS", "SCALE_WORD", "parse_number", "scale_value"]

# a number not inside a code ("H100", "Apache-2.0", "v1.2"); thousands by '.', ',' or a thin space
DIGITS = (r"(?:(?<![\w.,/])(?<![A-Za-z]-)|(?<=USD|EUR|GBP|JPY|KRW|TWD|RMB|CNY))(?P<num>\d{1,3}(?:(?:\.\d{3})+|(?:,\d{3})+|(?:[\u00a0\u202f\u2009]\d{3})+)(?:[.,]\d+)?"
          r"|\d+(?:[.,]\d+)?)(?!\d)(?![.,]\d)")
# scale words; "Billion" is 10^12 in German and 10^9 in English (``scale_value``)
SCALE_WORD = (r"(?P<scale>thousand|tausend|Tsd\.?|millions?|Millionen|Million|Mio\.?|mn\b|mln\.?|"
              r"billions?|Billionen|bn\b|bln\.?|Milliarden|Milliarde|Mrd\.?|Mia\.?|trillions?|tn\b)")


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


def scale_value(word: str, language: str) -> int:
    """The factor of a scale word (``SCALE_WORD``) or an attached k/m/b; 1 when it is none."""
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
