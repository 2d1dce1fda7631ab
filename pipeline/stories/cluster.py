"""The story clustering engine: the window's stories in memory and the placement of new
articles into them (no database here; pipeline/stories/stage.py loads and stores).

Placement score of an article against a story:

    average cosine to the story's members + LEXICAL_WEIGHT * lexical overlap

(the average cosine is ``x . mean(member vectors)``: average linkage, which does not let a big,
loose story's centroid pull in every article of its theme). The lexical overlap is the share of
the article's distinctive terms (IDF-weighted over the window) that the story's members also
use, each term weighted by the share of members using it. Across German and English those are names, numbers
and product codes (Nvidia, H20, 2030, Ascend 920), which is what separates two events of one
theme in the same week (the EMM approach: entities anchor cross-lingual links); entities and
figures written differently in the two languages meet on one key (pipeline/stories/evidence.py:
"Niederlande"/"Dutch" -> @netherlands, "2,5 Milliarden"/"2.5 billion" -> #2500000000). Against a
story with no member in the article's language, only the article's terms that can be shared across
languages count (a German noun no English report uses is no evidence either way). Terms in more
than exp(-idf_offset) of the window's articles weigh nothing, and the share is taken of at least
lexical_floor of IDF mass, so two common words ("China", "chips") never make a full share. Every candidate
must lie in the time window of the article. Syndicated copies join their original's story.
A report and a story whose titles name different companies, models or chips (a story's: those
at least half of its titles name), and share none of them, lose conflict_weight (two releases on
one day are two events however alike); so do those whose headlines name different governments
imposing a measure (pipeline/stories/conflict.py, actors.py).

Cost: new articles are placed in time order, in blocks; each block is one matrix product
against the live stories, and each article scores at most CANDIDATES stories exactly (a story
whose cosine is too low to reach the threshold even with full lexical overlap is never looked
at). Merging looks at MERGE_CANDIDATES stories per grown story. The time per article therefore
stays flat as the day's articles grow (bench/stories.py: 0.4 ms per article from 1,000 to
20,000 new articles against a 20,000-article window).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Sequence

import numpy as np

from pipeline.stories.actors import is_role_key
from pipeline.stories.conflict import Actors, article_actors, in_conflict, story_actors
from pipeline.stories.evidence import is_evidence_key, subject_keys
from pipeline.stories.terms import LANGUAGES, NAME
from pipeline.stories.state import (BLOCK_SIZE, CANDIDATES, JOIN_THRESHOLD, LEXICAL_WEIGHT, MAX_TERMS,  # noqa: F401
                                   MERGE_CANDIDATES, MERGE_THRESHOLD, TIME_WEIGHT, NewArticle, Placement,
                                   StoryParams, StoryState)


def _top_k(sims: np.ndarray, k: int, floor: float) -> list[list[int]]:
    """Per row, the column indexes of the (at most) k largest values that are finite and
    >= floor, in no particular order.

    Large matrices go through torch.topk (torch comes with sentence-transformers): on a
    256 x 10,000 block it is ~30x faster than np.argpartition, which would cost more than the
    matrix product itself. Small ones stay in numpy (no torch import for a handful of articles)."""
    rows, cols = sims.shape
    k = min(k, cols)
    if k == 0:
        return [[] for _ in range(rows)]
    if sims.size < _TORCH_TOPK_FROM:
        index = np.argpartition(sims, cols - k, axis=1)[:, cols - k:]
        values = np.take_along_axis(sims, index, axis=1)
    else:
        import torch

        values_t, index_t = torch.topk(torch.from_numpy(sims), k, dim=1, sorted=False)
        values, index = values_t.numpy(), index_t.numpy()
    keep = np.isfinite(values) & (values >= floor)
    return [row[mask].tolist() for row, mask in zip(index, keep)]


_TORCH_TOPK_FROM = 1 << 18


class StoryClusterer:
    """The window's stories in memory and the placement of new articles (no database here).

    Placement is near-linear in the number of new articles: they are taken in time order in
    blocks of ``block_size``; each block is compared with the representation vectors of all live
    stories (the window's and those opened earlier in this run, one matrix product) and with
    the earlier articles of its own block, and only the top ``candidates`` of each are scored
    exactly (cosine to the current story mean + lexical overlap). No article is compared with
    every other new article one by one.
    """

    def __init__(self, stories: list[StoryState], window: timedelta, params: StoryParams | None = None,
                 dims: int | None = None):
        self.stories = stories
        self.window = window
        self.params = params or StoryParams()
        self.dims = dims or (stories[0].vec_sum.shape[0] if stories else None)
        self.df: Counter = Counter()
        self.n_docs = 0
        # the languages each term was seen in: a German noun no English report of the window uses
        # cannot be evidence for or against an English-only story
        self.term_languages: dict[str, set[str]] = defaultdict(set)
        for s in stories:
            languages = s.languages or _languages_of(s)
            s.languages = set(languages)
            for key, entry in s.terms.items():
                self.df[key] += entry[0]
                tags = set(entry[3]) & set(LANGUAGES) if len(entry) > 3 else set()
                self.term_languages[key] |= tags or languages
            self.n_docs += max(1, s.member_count_for_terms)
        self.merges: list[tuple[int, int]] = []
        self._subjects = subject_keys() if self.params.conflict_weight else frozenset()
        # Story index as arrays, row i = self.stories[i]: representation vector, time span, live.
        self._reps = np.zeros((0, 0), dtype=np.float32)
        self._first = np.zeros(0)
        self._last = np.zeros(0)
        self._live = np.zeros(0, dtype=bool)
        self._size = 0

    # -- the story index (arrays kept in step with self.stories)
    def _rebuild_index(self) -> None:
        n = len(self.stories)
        cap = max(64, 2 * n)
        self._reps = np.zeros((cap, self.dims), dtype=np.float32)
        self._first = np.full(cap, np.inf)
        self._last = np.full(cap, -np.inf)
        self._live = np.zeros(cap, dtype=bool)
        self._size = n
        for i in range(n):
            self._index_set(i)

    def _index_set(self, i: int) -> None:
        if i >= self._reps.shape[0]:  # grow by doubling: amortised O(1) per new story
            cap = 2 * self._reps.shape[0]
            self._reps = np.concatenate([self._reps, np.zeros_like(self._reps)])[:cap]
            self._first = np.concatenate([self._first, np.full(cap - self._first.shape[0], np.inf)])
            self._last = np.concatenate([self._last, np.full(cap - self._last.shape[0], -np.inf)])
            self._live = np.concatenate([self._live, np.zeros(cap - self._live.shape[0], dtype=bool)])
        s = self.stories[i]
        self._reps[i] = self._rep(s)
        self._first[i] = s.first_seen.timestamp()
        self._last[i] = s.last_seen.timestamp()
        self._live[i] = s.merged_into is None and s.n_vec > 0
        self._size = max(self._size, i + 1)

    # -- lexical evidence
    def _idf(self, key: str) -> float:
        return max(0.0, math.log((self.n_docs + 1) / (self.df.get(key, 0) + 1)) - self.params.idf_offset)

    def _term_weights(self, terms: dict, portable_from: str | None = None) -> tuple[list[tuple[str, float]], float]:
        """IDF weights of an article's terms; with ``portable_from`` (the article's language,
        for a story with no member in it) only the terms that can be shared across languages:
        names, numbers, codes, entities, figures, and words the window has seen in another language."""
        if portable_from is not None:
            terms = {key: value for key, value in terms.items() if self._portable(key, value, portable_from)}
        weights = [(key, self._idf(key)) for key in terms if not is_role_key(key)]  # roles are no words
        return weights, sum(w for _, w in weights)

    def _portable(self, key: str, value: tuple, language: str) -> bool:
        tag = value[2] if len(value) > 2 else NAME
        return tag == NAME or is_evidence_key(key) or bool(self.term_languages.get(key, set()) - {language})

    def _lexical_weighted(self, weights: list[tuple[str, float]], total: float, story: StoryState) -> float:
        total = max(total, self.params.lexical_floor)
        if total <= 0:
            return 0.0
        n = max(1, story.member_count_for_terms)
        hit = 0.0
        story_terms = story.terms
        for key, w in weights:
            entry = story_terms.get(key)
            if entry is not None:
                hit += w * min(1.0, entry[0] / n)
        return hit / total

    def lexical(self, terms: dict, story: StoryState) -> float:
        """IDF-weighted share of the article's terms that the story's members also use, each
        term counted by the share of members using it (a term of one member in ten counts 0.1),
        so that a big story's many terms do not pull in everything."""
        return self._lexical_weighted(*self._term_weights(terms), story)

    def _term_vector(self, story: StoryState) -> tuple[dict[str, float], float]:
        """The story's IDF-weighted term shares and their norm (for merging)."""
        n = max(1, story.member_count_for_terms)
        vec = {key: self._idf(key) * entry[0] / n for key, entry in story.terms.items() if not is_role_key(key)}
        return vec, math.sqrt(sum(x * x for x in vec.values()))

    @staticmethod
    def _term_cosine(a: tuple[dict[str, float], float], b: tuple[dict[str, float], float]) -> float:
        (va, na), (vb, nb) = a, b
        if na <= 0 or nb <= 0:
            return 0.0
        if len(va) > len(vb):
            va, vb = vb, va
        dot = 0.0
        for key, x in va.items():
            y = vb.get(key)
            if y is not None:
                dot += x * y
        return dot / (na * nb)

    # -- placement
    def place(self, items: Sequence[NewArticle], known_story_of: dict[int, int] | None = None) -> list[Placement]:
        """Place articles (in time order) into stories; returns one placement per article.

        ``known_story_of`` maps already-placed article ids to story indexes (originals of
        syndicated copies placed in earlier runs)."""
        if not items:
            return []
        if self.dims is None:
            self.dims = items[0].vector.shape[0]
        for it in items:
            if it.duplicate_of is not None:
                continue  # a syndicated copy is the same report: no second vote on how common a term is
            for key in it.terms:
                self.df[key] += 1
                if it.language:
                    self.term_languages[key].add(it.language)
            self.n_docs += 1
        self._rebuild_index()
        story_of = dict(known_story_of or {})
        placements: list[Placement] = []
        story_at: list[int] = []  # story index of each item, as placed
        block_size = max(1, self.params.block_size)
        for start in range(0, len(items), block_size):
            block = items[start:start + block_size]
            x = np.stack([it.vector for it in block]).astype(np.float32, copy=False)
            t = np.array([it.placed_at.timestamp() for it in block])
            # candidates, computed once per block: the closest live stories as of the block's
            # start, and the closest earlier articles of the block (whose stories may be new)
            story_cands = self._story_candidates(x, t)
            neighbours = self._block_neighbours(x, t)
            for r, it in enumerate(block):
                original = story_of.get(it.duplicate_of) if it.duplicate_of is not None else None
                if original is not None:
                    s = self.root(original)
                    self._join(s, it, counts=False)
                    story_of[it.article_id] = s
                    story_at.append(s)
                    placements.append(Placement(it.article_id, s, 1.0, it.placed_at))
                    continue
                cands = story_cands[r] + [story_at[start + j] for j in neighbours[r]]
                best, best_score, best_cos = self._best_story(it, cands)
                if best >= 0 and best_score >= self.params.join_threshold:
                    self._join(best, it)
                else:
                    best = len(self.stories)
                    self.stories.append(StoryState(None, np.zeros(self.dims, dtype=np.float64), 0, {},
                                                   it.placed_at, it.placed_at))
                    self._join(best, it)
                    best_cos = 1.0
                story_of[it.article_id] = best
                story_at.append(best)
                placements.append(Placement(it.article_id, best, best_cos, it.placed_at))
        self.merge_touched()
        for pl in placements:
            pl.story = self.root(pl.story)
        return placements

    def _window_mask(self, sims: np.ndarray, t: np.ndarray) -> None:
        """Set to -inf the columns of stories that are merged, empty or outside the time window
        of the row's article. Whole columns first (the block's time span is short), then row by
        row only for the few stories at the window's edge."""
        n, w = sims.shape[1], self.window.total_seconds()
        first, last = self._first[:n], self._last[:n]
        tmin, tmax = float(t.min()), float(t.max())
        out = ~self._live[:n] | (last < tmin - w) | (first > tmax + w)
        if out.any():
            sims[:, out] = -np.inf
        edge = np.nonzero(~out & ((last < tmax - w) | (first > tmin + w)))[0]
        if edge.size:
            sub = sims[:, edge]
            sub[(last[edge][None, :] < t[:, None] - w) | (first[edge][None, :] > t[:, None] + w)] = -np.inf
            sims[:, edge] = sub

    def _story_candidates(self, x: np.ndarray, t: np.ndarray) -> list[list[int]]:
        """Top-k live stories per article by cosine to the story representation. A story whose
        cosine is below join_threshold - lexical_weight cannot reach the join threshold (the
        lexical overlap is at most 1), so it is no candidate: this cut loses nothing."""
        n = self._size
        if n == 0:
            return [[] for _ in range(x.shape[0])]
        sims = x @ self._reps[:n].T
        self._window_mask(sims, t)
        p = self.params
        return _top_k(sims, p.candidates, p.join_threshold - p.lexical_weight)

    def _block_neighbours(self, x: np.ndarray, t: np.ndarray) -> list[list[int]]:
        """For each article of a block, the k most similar earlier articles of the block (in time
        order, so an article only looks back, as it would have in a live run)."""
        b = x.shape[0]
        if b < 2:
            return [[] for _ in range(b)]
        sims = x @ x.T
        rows, cols = np.arange(b)[:, None], np.arange(b)[None, :]
        sims[(cols >= rows) | (t[None, :] < t[:, None] - self.window.total_seconds())] = -np.inf
        return _top_k(sims, self.params.candidates, -np.inf)

    def _best_story(self, it: NewArticle, cands: list[int]) -> tuple[int, float, float]:
        """The best-scoring candidate story: (index, score, cosine), or (-1, -inf, 0)."""
        best, best_score, best_cos = -1, -math.inf, 0.0
        roots = list(dict.fromkeys(self.root(c) for c in cands))
        if not roots:
            return best, best_score, best_cos
        p = self.params
        cos = self._reps[roots] @ it.vector.astype(np.float32, copy=False)
        when, w = it.placed_at.timestamp(), self.window.total_seconds()
        weights: dict[bool, tuple] = {}  # per "the story has a member in the article's language"
        actors = article_actors(it.terms, self._subjects) if p.conflict_weight else None  # once per article
        for j in np.argsort(-cos, kind="stable"):
            c, cs = roots[j], float(cos[j])
            # sorted by cosine and the lexical overlap is at most 1: nothing after this one can
            # join or beat the best, so the (Python) lexical check is skipped for them
            if cs + p.lexical_weight < p.join_threshold or cs + p.lexical_weight <= best_score:
                break
            if not self._live[c] or self._last[c] < when - w or self._first[c] > when + w:
                continue
            story = self.stories[c]
            same = not (p.portable_terms and it.language and story.languages) or it.language in story.languages
            if same not in weights:
                weights[same] = self._term_weights(it.terms, None if same else it.language)
            score = (cs + p.lexical_weight * self._lexical_weighted(*weights[same], story)
                     - self._time_penalty(max(0.0, self._first[c] - when, when - self._last[c])))
            if actors is not None and in_conflict(actors, story_actors(story, self._subjects)):
                score -= p.conflict_weight
            if score > best_score:
                best, best_score, best_cos = c, score, cs
        return best, best_score, best_cos

    def _time_penalty(self, gap_seconds: float) -> float:
        """time_weight times a time gap (between an article and a story's span, or between two
        spans) in windows: reports of one event come close together, two events of one theme
        a week apart rarely do."""
        return self.params.time_weight * min(1.0, gap_seconds / self.window.total_seconds())

    def _rep(self, story: StoryState) -> np.ndarray:
        return story.mean() if self.params.average_link else story.centroid()

    def _join(self, s: int, it: NewArticle, counts: bool = True) -> None:
        """``counts=False``: a syndicated copy, a member that adds neither its vector nor its
        terms (the same report twice is no second vote on what the story is about)."""
        story = self.stories[s]
        if counts:
            story.vec_sum = story.vec_sum + it.vector
            story.n_vec += 1
            story.add_terms(it.terms)
        if it.language:
            story.languages.add(it.language)
        story.first_seen = min(story.first_seen, it.placed_at)
        story.last_seen = max(story.last_seen, it.placed_at)
        story.touched = True
        self._index_set(s)

    def root(self, s: int) -> int:
        """The index of the live story that story ``s`` was (transitively) merged into, or ``s``."""
        while self.stories[s].merged_into is not None:
            s = self.stories[s].merged_into
        return s

    # -- merging
    def merge_touched(self) -> None:
        """Merge stories that turn out to be one: a touched story against its top
        ``merge_candidates`` live stories of its window by cosine (one matrix product per block
        of touched stories), scored by cosine plus lexical overlap. The older story survives."""
        p = self.params
        if self.dims is None:  # nothing placed yet
            return
        if self._size != len(self.stories):
            self._rebuild_index()
        # A story opened in this run with one article was compared with every candidate when it
        # was placed, at a lower threshold: only stories that grew need a second look.
        check = {i for i, s in enumerate(self.stories)
                 if s.touched and s.merged_into is None and (s.story_id is not None or s.n_vec > 1)}
        for _ in range(10):  # a merge can enable another; bounded
            touched = sorted(i for i in check if self._live[i])
            if not touched or int(self._live[:self._size].sum()) < 2:
                return
            cos: dict[tuple[int, int], float] = {}  # candidate pairs (a < b), each scored once
            for first in range(0, len(touched), 1024):
                block = touched[first:first + 1024]
                sims = self._reps[block] @ self._reps[:self._size].T
                sims[np.arange(len(block)), block] = -np.inf  # not with itself
                self._merge_window_mask(sims, block)
                tops = _top_k(sims, p.merge_candidates, p.merge_threshold - p.lexical_weight)
                for a, row, cands in zip(block, sims, tops):
                    for b in cands:
                        cos[(min(a, b), max(a, b))] = float(row[b])
            # term vectors and actors are built once per story per round (nothing changes here)
            vectors: dict[int, tuple[dict[str, float], float]] = {}
            actors: dict[int, Actors] = {}
            pairs = []
            for (a, b), c in cos.items():
                va = vectors.get(a) or vectors.setdefault(a, self._term_vector(self.stories[a]))
                vb = vectors.get(b) or vectors.setdefault(b, self._term_vector(self.stories[b]))
                gap = max(0.0, self._first[b] - self._last[a], self._first[a] - self._last[b])
                score = c + p.lexical_weight * self._term_cosine(va, vb) - self._time_penalty(gap)
                if p.conflict_weight:
                    for s in (a, b):
                        if s not in actors:
                            actors[s] = story_actors(self.stories[s], self._subjects)
                    if in_conflict(actors[a], actors[b]):
                        score -= p.conflict_weight
                if score >= p.merge_threshold:
                    pairs.append((-score, a, b))
            if not pairs:
                return
            pairs.sort()
            done: set[int] = set()
            for _, a, b in pairs:
                if a in done or b in done:
                    continue
                survivor, loser = self._older(a, b), self._newer(a, b)
                self._fold(loser, survivor)
                done.update((a, b))
            check = {self.root(i) for i in done}

    def _merge_window_mask(self, sims: np.ndarray, block: list[int]) -> None:
        """-inf for stories that are merged, empty, or whose time spans are more than a window
        apart from the row's story."""
        n, w = sims.shape[1], self.window.total_seconds()
        first, last = self._first[:n], self._last[:n]
        sims[:, ~self._live[:n]] = -np.inf
        a_first, a_last = self._first[block][:, None], self._last[block][:, None]
        sims[(a_first > last[None, :] + w) | (first[None, :] > a_last + w)] = -np.inf

    def _older(self, a: int, b: int) -> int:
        sa, sb = self.stories[a], self.stories[b]
        if sa.story_id is not None and sb.story_id is not None:
            return a if sa.story_id < sb.story_id else b
        if sa.story_id is not None or sb.story_id is not None:
            return a if sa.story_id is not None else b
        return min(a, b)

    def _newer(self, a: int, b: int) -> int:
        return b if self._older(a, b) == a else a

    def _fold(self, loser: int, survivor: int) -> None:
        s, l = self.stories[survivor], self.stories[loser]
        s.vec_sum = s.vec_sum + l.vec_sum
        s.n_vec += l.n_vec
        for key, (count, surface, in_titles, *tags) in l.terms.items():
            s._add_term(key, count, surface, in_titles, tags[0] if tags else [])
        s.member_count_for_terms += l.member_count_for_terms
        s.languages |= l.languages
        s.first_seen, s.last_seen = min(s.first_seen, l.first_seen), max(s.last_seen, l.last_seen)
        s.touched = True
        l.merged_into = survivor
        self.merges.append((loser, survivor))
        self._index_set(survivor)
        self._index_set(loser)


def _languages_of(story: StoryState) -> set[str]:
    """The member languages of a stored story, read from its terms' language tags."""
    return {tag for entry in story.terms.values() if len(entry) > 3 for tag in entry[3] if tag in LANGUAGES}


def cluster_articles(items: Sequence[NewArticle], window_days: int = 7,
                     params: StoryParams | None = None) -> list[int]:
    """Stories for a set of articles from scratch (bench, tests): a story index per item."""
    clusterer = StoryClusterer([], timedelta(days=window_days), params)
    order = sorted(range(len(items)), key=lambda i: (items[i].placed_at, items[i].article_id))
    placements = clusterer.place([items[i] for i in order])
    out = [0] * len(items)
    for i, pl in zip(order, placements):
        out[i] = pl.story
    return out


__all__ = ["StoryClusterer", "StoryState", "NewArticle", "StoryParams", "Placement", "cluster_articles",
           "JOIN_THRESHOLD", "MERGE_THRESHOLD", "LEXICAL_WEIGHT"]
