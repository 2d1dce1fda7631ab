"""Story headlines: the title of the member closest to the story's centroid.

A bag of c-TF-IDF terms ("Dresden · Chip-Werk · planned · Taiwanischer") does not read as news;
a real title does. The most central member is the one that best stands for the whole story
(not the first report, which is often a short flash, nor an outlier that joined on a name).
A story with German and English members gets the most central title of each language, so the
digest can show each reader their own.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable

import numpy as np

from pipeline.store.stories import MemberTitle, StoryHeadline
from pipeline.text import one_line

MAX_HEADLINE_CHARS = 300
HEADLINE_LANGUAGES = ("de", "en")


def pick_headlines(members: Iterable[MemberTitle], as_unit: Callable[[object], np.ndarray]) -> list[StoryHeadline]:
    """One StoryHeadline per story among ``members`` (rows in time order). Members without a
    vector of the active model rank after those with one (then the earliest wins); members
    without a title are never headlines."""
    by_story: dict[int, list[MemberTitle]] = defaultdict(list)
    for m in members:
        by_story[m.story_id].append(m)
    out = []
    for story_id, rows in by_story.items():
        vectors = {m.article_id: as_unit(m.embedding) for m in rows if m.embedding is not None}
        centroid = np.mean(list(vectors.values()), axis=0) if vectors else None
        ranked = []
        for position, m in enumerate(rows):
            title = one_line(m.title, MAX_HEADLINE_CHARS)
            if not title:
                continue
            vec = vectors.get(m.article_id)
            closeness = float(vec @ centroid) if vec is not None else -np.inf
            ranked.append((-closeness, position, title, m.language))
        ranked.sort()
        best = {lang: next((t for *_, t, lg in ranked if lg == lang), None) for lang in HEADLINE_LANGUAGES}
        out.append(StoryHeadline(story_id, ranked[0][2] if ranked else None, best["de"], best["en"]))
    return out


__all__ = ["pick_headlines", "MAX_HEADLINE_CHARS"]
