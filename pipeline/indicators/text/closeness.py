"""Spans in one sentence: how far apart two are, in words (clause boundaries count extra).
Which of overlapping spans count is ``pipeline.text.without_overlaps``."""

from __future__ import annotations

import bisect
import re

_BOUNDARY = re.compile(r";|\s[–—-]\s|\((?=[^)]*\))(?!\s*\d{4}\s*\))|(?<![\w])(?:while|whereas|während|but|aber|jedoch|however|"
                       r"doch|wobei|whilst|meanwhile|indes|derweil)(?![\w])", re.IGNORECASE)
_BOUNDARY_COST = 6


class Sentence:
    """Word positions of one sentence, to measure how far two spans are apart."""

    def __init__(self, text: str):
        self.text = text
        self.word_starts = [m.start() for m in re.finditer(r"\S+", text)]
        self.boundaries = [m.start() for m in _BOUNDARY.finditer(text)]

    def word(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.word_starts, pos) - 1)

    def crosses(self, a: tuple[int, int], b: tuple[int, int]) -> bool:
        """Whether a clause boundary lies between two spans."""
        first, second = (a, b) if a[0] <= b[0] else (b, a)
        return any(first[1] <= p < second[0] for p in self.boundaries)

    def distance(self, a: tuple[int, int], b: tuple[int, int]) -> int:
        """Words strictly between two spans (0 when adjacent or overlapping), plus clause boundaries."""
        if a[0] < b[1] and b[0] < a[1]:
            return 0
        first, second = (a, b) if a[0] <= b[0] else (b, a)
        words = max(0, self.word(second[0]) - self.word(max(first[0], first[1] - 1)) - 1)
        crossed = sum(1 for p in self.boundaries if first[1] <= p < second[0])
        return words + _BOUNDARY_COST * crossed


