"""The themes stage: a theme for every article that has a vector for the active model and no
theme from that model yet (the taxonomy is pipeline/themes/taxonomy.py, the scoring
pipeline/themes/scorer.py)."""

from __future__ import annotations

import json

from pipeline.embed.encoders import load_encoder
from pipeline.infra.paging import pages_by_article_id
from pipeline.infra.runs import StageResult, record_stage
from pipeline.store import embeddings as embeddings_store
from pipeline.store import themes as store
from pipeline.themes.scorer import ThemeScorer
from pipeline.themes.taxonomy import Taxonomy, default_taxonomy


def run_themes(rt, batch_size: int = 1000, *, encoder=None, taxonomy: Taxonomy | None = None) -> StageResult:
    """Assign a theme to every article that has a vector for the active model and no theme from
    that model yet (so a re-embed re-themes). Idempotent: re-running assigns nothing new."""
    taxonomy = taxonomy or default_taxonomy()
    with record_stage(rt.pool, "themes") as result:
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
        scorer = ThemeScorer(taxonomy, encoder)
        with rt.progress.task("themes", total) as tracker:
            for batch in pages_by_article_id(rt.pool, store.unthemed_batch, batch_size, model=model):
                vectors = embeddings_store.stack_vectors([r.embedding for r in batch])
                assignments = scorer.assign(vectors, [r.title or "" for r in batch], [r.lead or "" for r in batch])
                with rt.pool.connection() as conn, conn.transaction():
                    store.write_themes(conn, model, [
                        store.ArticleTheme(r.article_id, a.theme, a.theme_score, json.dumps(a.scores))
                        for r, a in zip(batch, assignments)
                    ])
                for a in assignments:
                    result.add(f"theme_{a.theme}")
                result.add("assigned", len(batch))
                tracker.advance(len(batch))
    return result


__all__ = ["run_themes"]
