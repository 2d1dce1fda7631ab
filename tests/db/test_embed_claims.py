"""Several embedding and theming tasks at once (the DAG maps them over the Celery workers): they
share one backlog through SKIP LOCKED claims, each article is encoded and themed once, and a
task that finds nothing left loads no model."""

from __future__ import annotations

import dataclasses
import threading

import pytest

import pipeline.embed.stage as embed_stage
from pipeline.embed.stage import DEFAULT_MAX_CHARS, run_embed
from pipeline.store import embeddings as emb_store
from pipeline.store import themes as themes_store
from pipeline.themes.stage import run_themes
from tests.support.newsdata import default_encoder, insert_article, use_encoder  # noqa: F401

TOPICS = [
    ("US tightens export controls on Nvidia AI chips to China", "The Commerce Department added rules on GPUs."),
    ("EU adds Chinese chip firms to its sanctions list", "Brussels froze assets of three suppliers."),
    ("Meta releases the weights of its new open-source model", "Developers can download the model freely."),
    ("Bundesliga: Bayern gewinnt gegen Dortmund", "Das Spiel endete drei zu eins."),
]


def _backlog(runtime, n: int) -> list[int]:
    with runtime.pool.connection() as conn:
        ids = [insert_article(conn, key=f"claim-{i}", title=f"{TOPICS[i % 4][0]} ({i})", body=TOPICS[i % 4][1],
                              language="de" if i % 4 == 3 else "en") for i in range(n)]
        original = ids[0]
        ids.append(insert_article(conn, key="claim-copy", title=TOPICS[0][0] + " (0)", body=TOPICS[0][1],
                                  duplicate_of=original))
        conn.commit()
    return ids


def _in_two_tasks(monkeypatch, module, claim_name: str, target) -> tuple[list, list[list[int]]]:
    """Run ``target`` in two threads; each thread's first claim waits until the other thread
    holds one too, so the two claims certainly overlap (with plain row locks the second claim
    would block and the barrier time out; without locks both would take the same rows)."""
    claim = getattr(module, claim_name)
    barrier = threading.Barrier(2, timeout=60)
    claimed: dict[int, list[int]] = {}

    def claim_and_meet(conn, model, limit, **options):
        rows = claim(conn, model, limit, **options)
        mine = claimed.setdefault(threading.get_ident(), [])
        first = not mine
        mine.extend(r.article_id for r in rows)
        if first:
            barrier.wait()
        return rows

    monkeypatch.setattr(module, claim_name, claim_and_meet)
    return _in_two_threads(target), list(claimed.values())


def _in_two_threads(target) -> list:
    """``target()`` in two threads at once; their results (any exception fails the test)."""
    results, errors = [], []

    def run():
        try:
            results.append(target())
        except Exception as exc:  # reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    return results


def test_two_embedding_tasks_share_the_backlog(runtime, use_encoder, monkeypatch):  # noqa: F811
    ids = _backlog(runtime, 40)
    results, claims = _in_two_tasks(monkeypatch, emb_store, "claim_pending",
                                    lambda: run_embed(runtime, encoder=use_encoder, batch_size=6))
    assert len(claims) == 2 and all(claims)  # both tasks did a share of the work
    every = sorted(i for c in claims for i in c)
    assert every == sorted(ids[:-1])  # each original claimed exactly once; the copy never
    assert sum(r.counts.get("embedded", 0) for r in results) == 40
    assert sum(r.counts.get("copied_from_original", 0) for r in results) == 1
    with runtime.pool.connection() as conn:
        assert emb_store.count_pending(conn, use_encoder.name, text_chars=DEFAULT_MAX_CHARS) == 0
        assert conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 41


def test_two_theming_tasks_share_the_backlog(runtime, use_encoder, monkeypatch):  # noqa: F811
    ids = _backlog(runtime, 30)
    run_embed(runtime, encoder=use_encoder)
    results, claims = _in_two_tasks(monkeypatch, themes_store, "claim_unthemed",
                                    lambda: run_themes(runtime, batch_size=5, encoder=use_encoder))
    assert len(claims) == 2 and all(claims)
    assert sorted(i for c in claims for i in c) == sorted(ids)  # the copy too, once
    assert sum(r.counts.get("assigned", 0) for r in results) == len(ids)
    with runtime.pool.connection() as conn:
        assert themes_store.count_unthemed(conn, use_encoder.name) == 0


def test_a_task_with_nothing_left_loads_no_model(runtime, default_encoder, monkeypatch):  # noqa: F811
    _backlog(runtime, 3)
    run_embed(runtime, encoder=default_encoder)  # the configured model (the default) is the active one

    def no_load(*_args, **_kwargs):
        raise AssertionError("the model was loaded with nothing to embed")

    monkeypatch.setattr(embed_stage, "load_encoder", no_load)
    again = run_embed(runtime)
    assert again.counts.get("embedded", 0) == 0
    assert any("not loaded" in note for note in again.notes)
    # one more article: now the model is needed
    with runtime.pool.connection() as conn:
        insert_article(conn, key="late", title="Late news about chip sanctions", body="More rules.")
        conn.commit()
    with pytest.raises(AssertionError, match="was loaded"):
        run_embed(runtime)


class _FailsOn:
    """The bundled encoder, except that a batch holding ``poison`` raises (as a tokenizer bug
    on one odd text would) and a text holding ``nan`` gets a non-finite vector."""

    def __init__(self, inner, poison: str = "POISON", nan: str = "NANTEXT"):
        self.inner, self.poison, self.nan = inner, poison, nan
        self.name, self.dims, self.backend = inner.name, inner.dims, inner.backend

    def encode(self, texts):
        if any(self.poison in t for t in texts):
            raise ValueError("tokenizer cannot handle this text")
        out = self.inner.encode(texts)
        for i, t in enumerate(texts):
            if self.nan in t:
                out[i] = float("nan")
        return out


def test_one_bad_article_is_skipped_with_its_reason(runtime, use_encoder):  # noqa: F811
    ids = _backlog(runtime, 10)
    with runtime.pool.connection() as conn:
        bad = insert_article(conn, key="bad", title="POISON title", body="text")
        nan = insert_article(conn, key="nan", title="NANTEXT title", body="text")
        conn.commit()
    result = run_embed(runtime, encoder=_FailsOn(use_encoder), batch_size=4)
    assert result.counts["embedded"] == 10 and result.counts["failed"] == 2
    assert any(f"article {bad}: not embedded (ValueError: tokenizer" in n for n in result.notes)
    assert any(f"article {nan}: not embedded (the model returned non-finite" in n for n in result.notes)
    with runtime.pool.connection() as conn:
        assert emb_store.count_pending(conn, use_encoder.name, text_chars=DEFAULT_MAX_CHARS) == 2  # tried again on the next run
        assert conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == len(ids)


def test_a_model_that_fails_every_text_fails_the_task(runtime, use_encoder):  # noqa: F811
    _backlog(runtime, 4)
    with pytest.raises(ValueError, match="tokenizer"):
        run_embed(runtime, encoder=_FailsOn(use_encoder, poison=""), batch_size=4)  # "" is in every text


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_embed_threads_hold_blas_through_embedding_and_theming(runtime, use_encoder, monkeypatch):  # noqa: F811
    """NEWSMON_EMBED_THREADS=1 holds the numpy work around the model (theme scores, stacking) to
    one BLAS thread too, and only for the stage; 0 leaves the process's pools as they are."""
    from pipeline.themes.scorer import ThemeScorer

    before = _blas_threads()
    seen: dict[str, set[int]] = {"write_vectors": set(), "assign": set()}

    def watch(name, real):
        def call(*args, **kwargs):
            seen[name] |= _blas_threads()
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(emb_store, "write_vectors", watch("write_vectors", emb_store.write_vectors))
    monkeypatch.setattr(ThemeScorer, "assign", watch("assign", ThemeScorer.assign))
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, embed_threads=1))
    _backlog(runtime, 12)
    run_embed(runtime, encoder=use_encoder, batch_size=5)
    run_themes(runtime, batch_size=5, encoder=use_encoder)
    assert seen == {"write_vectors": {1}, "assign": {1}}
    assert _blas_threads() == before  # restored after the stage

    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, embed_threads=0))
    seen["assign"].clear()
    with runtime.pool.connection() as conn:
        conn.execute("DELETE FROM article_themes")
        conn.commit()
    run_themes(runtime, batch_size=5, encoder=use_encoder)
    assert seen["assign"] == before


class _FastEncoder:
    """Vectors without a model (a hash of the text): the claims, not the encoding, are under test."""

    name, dims, backend = "claims-probe", 8, "test"

    def encode(self, texts):
        import numpy as np

        out = np.array([[(hash(t) >> s) % 97 + 1 for s in range(8)] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_no_article_is_embedded_twice_by_racing_claims(runtime):
    """Many small claims by two tasks at once: a claim whose snapshot predates the other task's
    commit used to lock that task's just-finished rows and embed them again (measured: 128 of
    2,000 articles twice). Every article is written exactly once now."""
    with runtime.pool.connection() as conn:
        for i in range(400):
            insert_article(conn, key=f"race-{i}", title=f"Race {i}", body=f"body {i}")
        conn.commit()
    start = threading.Barrier(2, timeout=60)

    def task():
        start.wait()
        return run_embed(runtime, encoder=_FastEncoder(), batch_size=2)

    results = _in_two_threads(task)
    assert sorted(r.counts.get("embedded", 0) for r in results) != [0, 400]  # both took a share
    assert sum(r.counts.get("embedded", 0) for r in results) == 400


class _Recording:
    """The bundled encoder, recording each text it is given, in order."""

    def __init__(self, inner):
        self.inner, self.texts = inner, []
        self.name, self.dims, self.backend = inner.name, inner.dims, inner.backend

    def encode(self, texts):
        self.texts.extend(texts)
        return self.inner.encode(texts)


def test_vectors_from_another_text_length_are_recomputed_after_new_articles(runtime, use_encoder,  # noqa: F811
                                                                           monkeypatch):
    """After an upgrade that changed the embedded text (0.9.6: 400 characters, not 600), the stored
    vectors say which text they came from; the stage recomputes the stale ones once, after the
    articles that have no vector yet, newest first, at most RECOMPUTE_PER_RUN per run, and a
    syndicated copy follows its original."""
    ids = _backlog(runtime, 6)  # six articles and a copy of the first
    run_embed(runtime, encoder=use_encoder)
    stale, copy = ids[:4], ids[-1]
    with runtime.pool.connection() as conn:
        right = dict(zip(*emb_store.load_vectors(conn, use_encoder.name, ids)))
        # an older newsmon's vectors: another text length (and here another vector, to see it replaced)
        conn.execute("UPDATE embeddings SET text_chars = 600, embedding = (SELECT embedding FROM embeddings "
                     "WHERE article_id = %s) WHERE article_id = ANY(%s)", (ids[5], stale + [copy]))
        new = [insert_article(conn, key=f"new-{i}", title=f"{TOPICS[i][0]} (new)", body=TOPICS[i][1])
               for i in range(2)]
        conn.commit()
        assert emb_store.count_pending(conn, use_encoder.name, text_chars=DEFAULT_MAX_CHARS, stale=True) == 4
        assert emb_store.count_pending(conn, use_encoder.name, text_chars=DEFAULT_MAX_CHARS) == 6
        assert conn.execute("SELECT stale_embedding FROM analytics.backlogs").fetchone() == (4,)
    monkeypatch.setattr(embed_stage, "RECOMPUTE_PER_RUN", 2)
    recording = _Recording(use_encoder)
    first = run_embed(runtime, encoder=recording, batch_size=2)
    assert first.counts["embedded"] == 4 and first.counts["recomputed"] == 2
    assert any("4 articles" in n and "another text length" in n and "at most 2" in n for n in first.notes)
    with runtime.pool.connection() as conn:  # the copy waits for its original
        assert conn.execute("SELECT pending_embedding, stale_embedding FROM analytics.backlogs").fetchone() == (0, 2)
        assert conn.execute("SELECT text_chars FROM embeddings WHERE article_id = %s", (copy,)).fetchone() == (600,)
    second = run_embed(runtime, encoder=recording, batch_size=2)
    assert second.counts["recomputed"] == 2 and second.counts["copied_from_original"] == 1
    by_text = {embed_stage.article_text(t, b): a for a, t, b in _texts(runtime, new + stale)}
    assert [by_text[t] for t in recording.texts] == new + sorted(stale, reverse=True)
    with runtime.pool.connection() as conn:
        assert conn.execute("SELECT pending_embedding, stale_embedding FROM analytics.backlogs").fetchone() == (0, 0)
        now = dict(zip(*emb_store.load_vectors(conn, use_encoder.name, ids)))
    for article in stale:
        assert now[article] == pytest.approx(right[article], abs=1e-6)
    assert now[copy] == pytest.approx(now[ids[0]], abs=1e-6)
    recording.texts.clear()
    again = run_embed(runtime, encoder=recording)  # once is enough
    assert recording.texts == [] and "embedded" not in again.counts


def test_two_embedding_tasks_share_the_stale_backlog(runtime, use_encoder, monkeypatch):  # noqa: F811
    """Stale vectors are claimed like new articles: two tasks at once recompute each one once."""
    ids = _backlog(runtime, 30)
    run_embed(runtime, encoder=use_encoder)
    with runtime.pool.connection() as conn:
        conn.execute("UPDATE embeddings SET text_chars = 600")
        conn.commit()
    results, claims = _in_two_tasks(monkeypatch, emb_store, "claim_pending",
                                    lambda: run_embed(runtime, encoder=use_encoder, batch_size=4))
    assert all(claims) and not set(claims[0]) & set(claims[1])
    assert sorted(claims[0] + claims[1]) == sorted(ids[:-1])  # every original once; the copy follows
    assert sum(r.counts.get("recomputed", 0) for r in results) == len(ids) - 1
    with runtime.pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM embeddings WHERE text_chars = %s",
                            (DEFAULT_MAX_CHARS,)).fetchone() == (len(ids),)


def _texts(runtime, ids: list[int]) -> list[tuple[int, str, str]]:
    with runtime.pool.connection() as conn:
        return conn.execute("SELECT article_id, title, body_text FROM articles WHERE article_id = ANY(%s)",
                            (ids,)).fetchall()
