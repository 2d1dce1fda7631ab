"""The stories stage: incremental clustering of articles on the same event, across languages.

Each run places the articles that are new since the last run (up to ``until``, the end of the
data interval) into the live stories of the time window, or opens new stories; then stories
that turn out to be one are merged (the older id survives, the other points at it through
``stories.merged_into``). Story ids never change for existing stories, so re-running renumbers
nothing, and re-running with no new articles changes nothing.

This module loads the window from the database and writes the outcome back; the placement
itself is pipeline/stories/cluster.py, terms and labels are pipeline/stories/terms.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from pipeline.infra.runs import StageResult, record_stage
from pipeline.store import embeddings as embeddings_store
from pipeline.store import locks
from pipeline.store import stories as store
from pipeline.stories.cluster import NewArticle, Placement, StoryClusterer, StoryParams, StoryState
from pipeline.stories.terms import ctfidf_labels, terms_of


def run_stories(rt, until: datetime | None = None, *, params: StoryParams | None = None) -> StageResult:
    """Place new articles (those with a vector for the active model, up to ``until``) into the
    stories of the window (``NEWSMON_STORY_WINDOW_DAYS``); merge stories that became one.

    The whole run is one transaction that starts by taking a transaction-level advisory lock:
    concurrent runs (two schedulers, a manual run next to the DAG) wait for each other, and
    the later one reads the articles and stories the earlier one committed, so no article is
    placed twice and no duplicate story is opened."""
    until = until or datetime.now(timezone.utc)
    window = timedelta(days=rt.settings.story_window_days)
    with record_stage(rt.pool, "stories") as result:
        with rt.pool.connection() as conn, conn.transaction():
            locks.xact_lock(conn, locks.STORIES, 0)  # (namespace, 0): one stories run per database
            active = embeddings_store.active_model(conn)
            if active is None:
                result.notes.append("no embedding model registered yet: run `newsmon embed` first")
                return result
            rows = store.unplaced_articles(conn, active.model, until)
            if not rows:
                return result
            items = [
                NewArticle(article_id=r.article_id, placed_at=r.placed_at, language=r.language,
                           duplicate_of=r.duplicate_of, terms=terms_of(r.title, r.lead), vector=_unit(r.embedding))
                for r in rows
            ]
            since = min(it.placed_at for it in items) - window
            stored = store.window_stories(conn, since, until + window)
            stories = _load_states(conn, stored, active.model, result)
            originals = [it.duplicate_of for it in items if it.duplicate_of is not None]
            by_id = {s.story_id: i for i, s in enumerate(stories)}
            known = {a: by_id[s] for a, s in store.story_of_articles(conn, originals).items() if s in by_id}

            clusterer = StoryClusterer(stories, window, params, dims=active.dims)
            with rt.progress.task("stories", len(items)) as tracker:
                placements = clusterer.place(items, known)
                tracker.advance(len(items))
            _write(conn, clusterer, placements, active.model, result)
    return result


def _write(conn, clusterer: StoryClusterer, placements: list[Placement], model: str,
           result: StageResult) -> None:
    """New stories, merges, members, labels and facts (inside the run's transaction)."""
    stories = clusterer.stories
    opened = [s for s in stories if s.story_id is None and s.merged_into is None]
    for s, story_id in zip(opened, store.create_stories(conn, len(opened))):
        s.story_id = story_id
    if opened:
        result.add("opened", len(opened))
    for loser, survivor in clusterer.merges:
        folded, kept = stories[loser], stories[clusterer.root(survivor)]
        if folded.story_id is not None:  # a stored story folded into another
            store.merge_story(conn, folded.story_id, kept.story_id)
            result.add("merged")
    members = [store.StoryMember(pl.article_id, stories[pl.story].story_id, pl.similarity, pl.placed_at)
               for pl in placements]
    result.add("placed", store.add_members(conn, members))
    live = [i for i, s in enumerate(stories) if s.merged_into is None]
    position = {i: pos for pos, i in enumerate(live)}
    touched = [i for i in live if stories[i].touched]
    labels = ctfidf_labels([stories[i] for i in live], [position[i] for i in touched])
    state = []
    for i in touched:
        s = stories[i]
        centroid = (s.vec_sum / max(1, s.n_vec)).astype(np.float32)
        state.append(store.StoryStateRow(s.story_id, centroid, s.n_vec, s.trimmed_terms(), labels[position[i]],
                                         model))
    store.save_story_state(conn, state)
    store.refresh_story_facts(conn, [stories[i].story_id for i in touched])
    result.add("stories_updated", len(touched))


def _unit(value) -> np.ndarray:
    v = embeddings_store.as_array(value).astype(np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _load_states(conn, rows: list[store.StoredStory], model: str, result: StageResult) -> list[StoryState]:
    """StoryStates from stored rows; centroids of another model (after --reembed) are rebuilt
    from the members' vectors of the active model."""
    stale = [r.story_id for r in rows if r.model != model or r.centroid is None]
    rebuilt: dict[int, tuple[np.ndarray, int]] = {}
    if stale:
        for member in store.member_vectors(conn, model, stale):
            v = _unit(member.embedding)
            total, n = rebuilt.get(member.story_id, (np.zeros_like(v, dtype=np.float64), 0))
            rebuilt[member.story_id] = (total + v, n + 1)
        result.add("centroids_rebuilt", len(rebuilt))
    out = []
    for r in rows:
        if r.story_id in rebuilt:
            vec_sum, n_vec = rebuilt[r.story_id]
        elif r.model != model or r.centroid is None:
            continue  # no member has a vector of this model yet: not a candidate
        else:  # the stored centroid is the mean of the unit vectors: sum = mean * n
            vec_sum, n_vec = embeddings_store.as_array(r.centroid).astype(np.float64) * r.vector_count, r.vector_count
        terms = {k: [int(v[0]), str(v[1]), int(v[2]) if len(v) > 2 else 0] for k, v in (r.terms or {}).items()}
        out.append(StoryState(r.story_id, vec_sum, n_vec, terms, r.first_seen, r.last_seen,
                              member_count_for_terms=max(1, r.article_count)))
    return out


__all__ = ["run_stories"]
