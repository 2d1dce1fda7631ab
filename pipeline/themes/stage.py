"""The themes stage: themes for every article that has a vector for the active model and no
theme from that model yet (the taxonomy is pipeline/themes/taxonomy.py, the scoring
pipeline/themes/scorer.py, the per-model weights pipeline/themes/calibrate.py)."""

from __future__ import annotations

import json

from pipeline.embed.encoders import blas_threads, load_encoder
from pipeline.ingest.extract import detect_language
from pipeline.infra.runs import StageResult, record_stage
from pipeline.store import embeddings as embeddings_store
from pipeline.store import themes as store
from pipeline.themes.calibrate import theme_scorer
from pipeline.themes.taxonomy import Taxonomy, default_taxonomy


def run_themes(rt, batch_size: int = 250, *, encoder=None, taxonomy: Taxonomy | None = None) -> StageResult:
    """Assign themes to every article that has a vector for the active model and no theme from
    that model yet (so a re-embed re-themes). Idempotent: re-running assigns nothing new.
    Safe to run as several tasks at once (articles are claimed ``batch_size`` at a time), and
    a task that finds nothing unthemed loads no model.

    The weights come from the model's calibration; a model used for the first time is
    calibrated on the shipped development set first, and without one the stage refuses."""
    taxonomy = taxonomy or default_taxonomy()
    with blas_threads(rt.settings.embed_threads), record_stage(rt.pool, "themes") as result:
        with rt.pool.connection() as conn:
            active = embeddings_store.active_model(conn)
        if active is None:
            result.notes.append("no embedding model registered yet: run `newsmon embed` first")
            return result
        model = active.model
        with rt.pool.connection() as conn:
            total = store.count_unthemed(conn, model)
        if not total:
            return result
        encoder = encoder if encoder is not None and encoder.name == model else load_encoder(model, fallback=False)
        scorer = theme_scorer(rt.pool, encoder, taxonomy)
        with rt.progress.task("themes", total) as tracker:
            while True:
                # Claimed with SKIP LOCKED and written in one transaction: parallel tasks share
                # the backlog, and each article is scored once.
                with rt.pool.connection() as conn, conn.transaction():
                    batch = store.claim_unthemed(conn, model, batch_size)
                    if not batch:
                        break
                    vectors = embeddings_store.stack_vectors([r.embedding for r in batch])
                    assignments = scorer.assign(vectors, [r.title or "" for r in batch],
                                                [r.lead or "" for r in batch], [_language(r) for r in batch])
                    store.write_themes(conn, model, [
                        store.ArticleTheme(r.article_id, a.theme, a.theme_score, json.dumps(a.scores), a.themes,
                                           a.reason)
                        for r, a in zip(batch, assignments)
                    ])
                for a in assignments:
                    result.add(f"theme_{a.theme}")
                    if a.reason:
                        result.add(f"unscored_{a.reason}")
                    if len(a.themes) > 1:
                        result.add("several_themes")
                result.add("assigned", len(batch))
                tracker.advance(len(batch))
    return result


def _language(row: store.UnthemedArticle) -> str:
    """The language detected at extraction; for rows stored without one, detected here."""
    return row.language or detect_language(f"{row.title or ''}. {row.lead or ''}")


__all__ = ["run_themes"]
