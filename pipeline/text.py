"""The one place for text cleaning and sentence splitting.

Text from the web is untrusted: Postgres ``text`` rejects NUL, titles can be 100 KB, bidi
controls reorder a mail line, and a table without full stops is one "sentence". Each
function here is one explicit variant:

- ``clean_text``: for storage; keeps paragraphs (line breaks), NFC, no control characters.
- ``one_line``: for titles, labels, log lines and display; one line, single spaces, invisible
  and bidi characters removed, optionally cut at a word boundary with "…".
- ``matchable``: for pattern matching with offsets; the same length as its input.
- ``split_sentences``: sentences of a text; paragraph breaks always split, abbreviations and
  ordinals do not, runaway "sentences" are cut so the work per sentence stays bounded.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Protocol, TypeVar

__all__ = ["MAX_SENTENCE_CHARS", "clean_text", "has_hidden_characters", "matchable", "one_line", "plural", "split_sentences", "truncate_words",
           "without_overlaps"]

MAX_SENTENCE_CHARS = 800  # real sentences are shorter; pattern cost grows with length^2

# C0/C1 controls (tab and newline kept), the BOM and non-characters: never stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")
# Zero-width joiners and bidi embeddings/isolates: harmless in storage, but they can reorder or
# hide text where it is shown, so display text drops them.
_INVISIBLE = re.compile(r"[\u200c-\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_ANY_SPACE = re.compile(r"[\s\u200b]+")


def clean_text(value: Any) -> str:
    """Text safe for Postgres: no NUL or other control characters, NFC, tidy spaces per line,
    at most one blank line between paragraphs."""
    if not value:
        return ""
    value = unicodedata.normalize("NFC", _CONTROL.sub("", str(value)))
    lines = (_SPACES.sub(" ", line).strip() for line in value.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def truncate_words(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary in its second half, with
    "…" appended when anything was cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def one_line(value: Any, max_chars: int | None = None) -> str:
    """One line of display text: controls and invisible characters out, single spaces, NFC,
    cut at ``max_chars`` (at a word boundary) when given."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = _INVISIBLE.sub("", _CONTROL.sub("", text))
    text = _ANY_SPACE.sub(" ", text).strip()
    return truncate_words(text, max_chars) if max_chars else text


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 story', '4 stories' (``many`` defaults to ``one`` + 's')."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def has_hidden_characters(text: str) -> bool:
    """True when ``text`` holds a control, zero-width or bidi character (unsafe in a link)."""
    return bool(_CONTROL.search(text) or _INVISIBLE.search(text)) or "\u200b" in text


def matchable(text: str) -> str:
    """Text for pattern matching: the same length as ``text`` (offsets stay valid), controls
    turned into spaces, full-width percent and the minus sign turned into ASCII."""
    text = text.replace("\x00", " ").replace("\uff05", "%").replace("\u2212", "-")
    return re.sub(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", text)


# --------------------------------------------------------------------------- sentences

# A sentence ends at . ! ? … (closing quotes and brackets after them stay with it) followed by
# space and an uppercase letter, digit or opening quote. Good enough for German and English news.
_SENT_END = re.compile(r"(?<=[.!?…])(?P<close>[\"'”’»«)\]]*)\s+(?=[\"'„“«»(\[]*[A-ZÄÖÜ0-9])")
_NO_BREAK_BEFORE = re.compile(
    r"(?:\b(?:Mio|Mrd|Tsd|Mia|ca|bzw|Nr|Dr|Prof|Inc|Corp|Ltd|Co|St|vs|zB|z\.B|u\.a|d\.h|etc|Jan|Feb|Mär|Apr|Jun|"
    r"Jul|Aug|Sep|Sept|Okt|Oct|Nov|Dez|Dec|U\.S|e\.g|i\.e|Mr|Ms|Mrs|No|approx|bspw|ggf|inkl|evtl|vgl|Abs|Art|"
    r"S|bn|mn|mln)\.|\b[A-Z]\.|(?<![\d.,])\d{1,2}\.)[\"'”’»«)\]]*$"
)


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Sentences of a text (paragraph breaks always split; abbreviations and ordinals do not);
    a run longer than ``max_chars`` is cut at clause or word breaks."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n|\r?\n", clean_text(text)):
        para = " ".join(para.split())
        if not para:
            continue
        pieces, start = [], 0
        for m in _SENT_END.finditer(para):
            pieces.append(para[start:m.end("close")])
            start = m.end()
        pieces.append(para[start:])
        buf = ""
        for piece in pieces:
            buf = f"{buf} {piece}" if buf else piece
            if not _NO_BREAK_BEFORE.search(buf):
                out.extend(_bounded(buf, max_chars))
                buf = ""
        if buf:
            out.extend(_bounded(buf, max_chars))
    return out


def _bounded(sentence: str, max_chars: int) -> list[str]:
    """A runaway 'sentence' (a table, a list without full stops) cut at clause or word breaks."""
    out = []
    while len(sentence) > max_chars:
        cut = max(sentence.rfind("; ", 0, max_chars), sentence.rfind(", ", 0, max_chars))
        if cut < max_chars // 2:
            cut = sentence.rfind(" ", 0, max_chars)
        if cut <= 0:
            cut = max_chars
        out.append(sentence[:cut + 1].strip())
        sentence = sentence[cut + 1:].strip()
    if sentence:
        out.append(sentence)
    return out


class _Span(Protocol):
    start: int
    end: int


SpanT = TypeVar("SpanT", bound=_Span)


def without_overlaps(spans: list[SpanT]) -> list[SpanT]:
    """The spans that do not overlap an earlier one: leftmost first, and of those starting at the
    same place the longest ("1,6 Millionen Downloads" over "1,6"; "Nvidia's H100" over "Nvidia")."""
    out: list[SpanT] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if out and span.start < out[-1].end:
            continue
        out.append(span)
    return out
