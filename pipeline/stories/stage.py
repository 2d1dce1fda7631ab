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

import logging
from datetime import datetime, timedelta, timezone

import numpy as np

from pipeline.embed.encoders import USE_MODEL
from pipeline.infra.config import UserError
from pipeline.infra.runs import StageResult, record_stage
from pipeline.store import calibration as calibration_store
from pipeline.store import embeddings as embeddings_store
from pipeline.store import locks
from pipeline.store import stories as store
from pipeline.stories.calibrate import STORY_FIT, fit_version, fitted_by_older_version, story_params_from_dict
from pipeline.stories.cluster import NewArticle, Placement, StoryClusterer, StoryParams, StoryState
from pipeline.stories.headlines import pick_headlines
from pipeline.stories.terms import LANGUAGES, ctfidf_labels, terms_of

log = logging.getLogger(__name__)

# StoryParams() was fitted for this model (pipeline/stories/calibrate.py on the dev half); any
# other model needs its own calibration (`newsmon calibrate`).
DEFAULTS_FITTED_FOR = USE_MODEL


_WARNED_OLDER_FIT: set[str] = set()  # once per model and process


class StoryCalibrationError(UserError):
    """The active model has no story calibration and the defaults were not fitted for it."""


def story_params_for(conn, model: str) -> StoryParams:
    """The story thresholds of ``model``: its stored calibration, the defaults for the model they
    were fitted on, else a one-line refusal naming the model."""
    calibration = calibration_store.load(conn, model)
    if calibration is not None and calibration.stories:
        if fitted_by_older_version(calibration.stories) and model not in _WARNED_OLDER_FIT:
            _WARNED_OLDER_FIT.add(model)
            log.warning("the story calibration of %s was fitted for an older newsmon's clustering (fit %s; "
                        "this version's is %s): run `newsmon calibrate` to refit it", model,
                        fit_version(calibration.stories), STORY_FIT)
        return story_params_from_dict(calibration.stories)
    if model == DEFAULTS_FITTED_FOR:
        return StoryParams()
    raise StoryCalibrationError(
        f"stories: embedding model {model} has no story calibration; run `newsmon calibrate` first")


def run_stories(rt, until: datetime | None = None, *, params: StoryParams | None = None,
                rescore: bool = False) -> StageResult:
    """Place new articles (those with a vector for the active model, up to ``until``) into the
    stories of the window (``NEWSMON_STORY_WINDOW_DAYS``); merge stories that became one.
    Articles in a language other than German or English get no story (counted as
    ``other_language``). ``rescore`` (after a model switch): first rebuild every live story's
    centroid, terms label and headlines from the active model; story ids and members stay.

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
            params = params or story_params_for(conn, active.model)
            if rescore:
                _rescore(conn, active.model, result)
            other = store.count_other_languages(conn, active.model, until, LANGUAGES)
            if other:
                result.add("other_language", other)
            rows = store.unplaced_articles(conn, active.model, until, LANGUAGES)
            if not rows:
                return result
            items = [
                NewArticle(article_id=r.article_id, placed_at=r.placed_at, language=r.language,
                           duplicate_of=r.duplicate_of, terms=terms_of(r.title, r.lead, language=r.language),
                           vector=_unit(r.embedding))
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
        centroid = s.mean().astype(np.float32)
        state.append(store.StoryStateRow(s.story_id, centroid, s.n_vec, s.trimmed_terms(), labels[position[i]],
                                         model))
    store.save_story_state(conn, state)
    touched_ids = [stories[i].story_id for i in touched]
    store.refresh_story_facts(conn, touched_ids)
    store.save_headlines(conn, pick_headlines(store.member_titles(conn, model, touched_ids), _unit))
    result.add("stories_updated", len(touched))


def _rescore(conn, model: str, result: StageResult) -> None:
    """Every live story again under ``model``: centroid from its members' vectors, terms and
    label re-read from its members' texts, headlines. Ids and memberships do not change."""
    story_ids = store.live_story_ids(conn)
    if not story_ids:
        return
    texts = store.member_texts(conn, story_ids)
    vectors: dict[int, list[np.ndarray]] = {}
    for member in store.member_vectors(conn, model, story_ids):
        vectors.setdefault(member.story_id, []).append(_unit(member.embedding))
    states, kept = [], []
    for sid in story_ids:
        vecs = vectors.get(sid)
        members = texts.get(sid, [])
        if not vecs or not members:
            continue  # no member has a vector of this model yet: rebuilt when one has
        state = StoryState(sid, np.sum(vecs, axis=0).astype(np.float64), len(vecs), {},
                           min(m.placed_at for m in members), max(m.placed_at for m in members))
        for m in members:
            if not m.copy:  # as when placed: a syndicated copy adds no terms
                state.add_terms(terms_of(m.title, m.lead, language=m.language))
        states.append(state)
        kept.append(sid)
    labels = ctfidf_labels(states, range(len(states)))
    store.save_story_state(conn, [
        store.StoryStateRow(s.story_id, s.mean().astype(np.float32), s.n_vec,
                            s.trimmed_terms(), labels[i], model) for i, s in enumerate(states)])
    store.save_headlines(conn, pick_headlines(store.member_titles(conn, model, kept), _unit))
    store.refresh_story_facts(conn, kept)
    result.add("rescored", len(kept))


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
        terms = {k: [int(v[0]), str(v[1]), int(v[2]) if len(v) > 2 else 0, list(v[3]) if len(v) > 3 else []]
                 for k, v in (r.terms or {}).items()}
        out.append(StoryState(r.story_id, vec_sum, n_vec, terms, r.first_seen, r.last_seen,
                              member_count_for_terms=max(1, r.term_members)))
    return out


__all__ = ["run_stories", "story_params_for", "StoryCalibrationError", "DEFAULTS_FITTED_FOR"]
