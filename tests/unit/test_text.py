"""pipeline.text: the one text-cleaning and sentence-splitting module, each variant's contract."""

from __future__ import annotations

from pipeline.text import (MAX_SENTENCE_CHARS, clean_text, has_hidden_characters, matchable, one_line,
                           split_sentences, truncate_words)


def test_clean_text_keeps_paragraphs_and_drops_controls():
    assert clean_text("a\x00b\u00a0 c\r\n\n\n\nd\x1f") == "ab c\n\nd"
    assert clean_text(None) == "" and clean_text("") == ""
    assert clean_text("Cafe\u0301") == "Café"  # NFC: Postgres compares code points


def test_one_line_for_display_strips_control_and_bidi_characters_and_caps_length():
    assert one_line("a\x00b\u202ec\n\t d") == "abc d"  # as stored: controls removed, not spaced
    assert one_line("a\u200bb") == "a b"  # a zero-width space separates words
    long = one_line("wort " * 200, max_chars=50)
    assert len(long) <= 50 and long.endswith("…") and not long.endswith(" …")
    assert one_line(None) == ""
    assert one_line(12.5) == "12.5"


def test_truncate_words_cuts_at_a_word_in_the_second_half_only():
    assert truncate_words("short", 10) == "short"
    assert truncate_words("alpha beta gamma delta", 12) == "alpha beta…"
    assert truncate_words("x" * 30, 10) == "x" * 9 + "…"  # no space to cut at


def test_matchable_keeps_offsets():
    raw = "70\uff05 by 2028\x00 \u2212 5"
    out = matchable(raw)
    assert len(out) == len(raw) and out == "70% by 2028  - 5"


def test_hidden_characters():
    assert has_hidden_characters("a\u202eb") and has_hidden_characters("a\x00") and has_hidden_characters("a\u200bb")
    assert not has_hidden_characters("https://example.org/ä")


def test_split_sentences_keeps_closing_quotes_with_their_sentence():
    text = 'He said: "We will build it." The plant opens in 2027. Die Fabrik (ca. 3 Mrd. Euro) folgt.'
    assert split_sentences(text) == [
        'He said: "We will build it."', "The plant opens in 2027.", "Die Fabrik (ca. 3 Mrd. Euro) folgt."
    ]


def test_split_sentences_bounds_runaway_text():
    pieces = split_sentences("zahl, " * 1000)
    assert len(pieces) > 1 and all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert split_sentences("a\n\nb") == ["a", "b"]
