"""Syndicated copies: the same agency story on several sites is one article and its copies.

Each extracted page carries a fingerprint (exact text, case and punctuation ignored) and a
64-bit SimHash over word 3-grams (``pipeline.ingest.extract``). ``mark_duplicates`` runs after
each batch of extraction results is written, in the same transaction:

1. candidates: the extracted articles fetched within DUPLICATE_WINDOW_DAYS that share the
   fingerprint, or have a similar length and a SimHash within SIMHASH_CANDIDATE_BITS;
2. a candidate is a copy when the fingerprints match or at least CONTAINMENT_MIN of the
   shorter text's word 3-grams occur in the other (an added credit line or another byline
   still matches);
3. every copy points at the earliest published one (ties: the smallest canonical URL), so
   the outcome does not depend on the order in which pages were fetched.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Sequence

import numpy as np

from pipeline.ingest.extract import shingle_containment
from pipeline.records import ArticleSignature
from pipeline.store import articles as article_store
from pipeline.store.locks import DUPLICATES, xact_lock

__all__ = ["mark_duplicates", "near_copies", "SIMHASH_CANDIDATE_BITS", "CONTAINMENT_MIN", "DUPLICATE_WINDOW_DAYS"]

SIMHASH_CANDIDATE_BITS = 12
CONTAINMENT_MIN = 0.85
DUPLICATE_WINDOW_DAYS = 30
MAX_CANDIDATES = 20  # per article: bounds the texts compared for one batch


def near_copies(new: Sequence[ArticleSignature], window: Sequence[ArticleSignature]) -> dict[int, list[int]]:
    """For each article of ``new``, the articles of ``window`` that may be copies of it: the
    same fingerprint, or a similar length and SimHash, fetched within the window.

    The SimHash comparison runs vectorised over the window (one query for its hashes per
    batch), rather than as a per-article scan in SQL, which costs O(batch x window) rows."""
    ids = np.fromiter((r.article_id for r in window), dtype=np.int64, count=len(window))
    hashes = np.fromiter((r.simhash for r in window), dtype=np.int64, count=len(window)).view(np.uint64)
    words = np.fromiter((r.word_count or 0 for r in window), dtype=np.float64, count=len(window))
    fetched = np.fromiter((r.fetched_at.timestamp() for r in window), dtype=np.float64, count=len(window))
    by_fingerprint: dict[str | None, list[int]] = {}
    for r in window:
        by_fingerprint.setdefault(r.fingerprint, []).append(r.article_id)
    span = DUPLICATE_WINDOW_DAYS * 86400.0
    out: dict[int, list[int]] = {}
    for article in new:
        wc = article.word_count or 0
        near = (
            (np.bitwise_count(hashes ^ np.uint64(article.simhash & 0xFFFFFFFFFFFFFFFF)) <= SIMHASH_CANDIDATE_BITS)
            & (words >= wc * 0.67) & (words <= wc * 1.5)
            & (np.abs(fetched - article.fetched_at.timestamp()) < span) & (ids != article.article_id)
        )
        same_text = {i for i in by_fingerprint.get(article.fingerprint, []) if i != article.article_id}
        found = set(ids[near].tolist()) | same_text
        if found:
            out[article.article_id] = sorted(found)[:MAX_CANDIDATES]
    return out


def _candidates(conn, article_ids: Sequence[int]) -> dict[int, list[int]]:
    new = article_store.signatures(conn, article_ids)
    if not new:
        return {}
    window = timedelta(days=DUPLICATE_WINDOW_DAYS)
    lo = min(r.fetched_at for r in new) - window
    hi = max(r.fetched_at for r in new) + window
    return near_copies(new, article_store.signatures_fetched_between(conn, lo, hi))


def mark_duplicates(conn, article_ids: Sequence[int]) -> int:
    """Point the syndicated copies among ``article_ids`` (and their candidates) at the original;
    call inside the transaction that wrote them. Returns how many articles were newly marked.

    Concurrent extraction tasks take turns here (a transaction-level advisory lock): two copies
    written at the same time by two tasks would otherwise not see each other; in turn, the
    second task's queries see the first one's committed rows."""
    if not article_ids:
        return 0
    xact_lock(conn, DUPLICATES)
    candidates = _candidates(conn, article_ids)
    if not candidates:
        return 0
    wanted = sorted(set(candidates) | {c for cs in candidates.values() for c in cs})
    texts = {t.article_id: t for t in article_store.article_texts(conn, wanted)}
    groups: dict[int, set[int]] = {}
    for article_id, cands in candidates.items():
        article = texts[article_id]
        for cand in cands:
            other = texts[cand]
            if article.fingerprint == other.fingerprint or (
                shingle_containment(article.body_text or "", other.body_text or "") >= CONTAINMENT_MIN
            ):
                # the candidate's original, when it is itself a copy: the whole family joins
                groups.setdefault(article_id, {article_id}).add(other.duplicate_of or other.article_id)
    marked = 0
    for members in groups.values():
        roots = sorted(members)
        marked += article_store.point_copies_at(conn, article_store.first_published(conn, roots), roots)
    return marked
