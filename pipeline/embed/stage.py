"""The embed stage: text preparation and ``run_embed``.

``run_embed(rt)`` embeds every extracted article that has no vector for the active model (the
encoders are in pipeline/embed/encoders.py), writes the vectors with binary COPY and keeps one
HNSW cosine index per model.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pipeline.embed.encoders import EmbedError, Encoder, load_encoder
from pipeline.infra.batching import BatchWriter
from pipeline.infra.paging import pages_by_article_id
from pipeline.infra.runs import StageResult, record_stage
from pipeline.store import embeddings as store
from pipeline.text import one_line

MAX_TITLE_CHARS = 500
# The lead of an article carries the event (who, what, where). Measured by bench/embed.py
# (story F1): title + the first 600 characters 1.00 on the demo corpus vs 0.82 for 1,200
# characters or the whole text and 0.94 chunked-and-pooled; equal on the (shorter) labelled set.
# It also keeps encoding cost flat for long articles. Sentence-transformers models truncate at
# their own token limit (128 tokens for the default model, about the same length) on top.
DEFAULT_MAX_CHARS = 600


# --------------------------------------------------------------------------- text preparation

def article_text(title: str | None, body: str | None, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """What is embedded: the title and the lead of the body, cut at a word boundary."""
    title = one_line(title)[:MAX_TITLE_CHARS]
    body = one_line(body)
    if title and body.startswith(title):  # extractors often repeat the title as the first line
        body = body[len(title):].lstrip(" .:-")
    text = f"{title}. {body}" if title and body else (title or body)
    if len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars)
        text = text[: cut if cut > max_chars // 2 else max_chars]
    return text


# --------------------------------------------------------------------------- the stage


def run_embed(
    rt,
    reembed: bool = False,
    batch_size: int = 256,
    *,
    encoder: Encoder | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> StageResult:
    """Embed articles with ``extract_status='ok'`` that have no vector for the active model.

    A database whose active model differs from the configured one is an error unless
    ``reembed``: then the configured model becomes the active one (older vectors stay, but
    nothing ever compares vectors of two models) and every article is embedded with it.
    Syndicated copies (``duplicate_of``) reuse their original's vector.
    """
    encoder = encoder or load_encoder(rt.settings)
    with record_stage(rt.pool, "embed") as result:
        with rt.pool.connection() as conn, conn.transaction():
            store.lock_models(conn)
            current = store.active_model(conn)
            previous = current.model if current else None
            if previous and previous != encoder.name and not reembed:
                raise EmbedError(
                    f"the database holds embeddings of model {previous}, but NEWSMON_EMBED_MODEL gives "
                    f"{encoder.name}: run `newsmon embed --reembed` to switch the database to "
                    f"{encoder.name}, or set NEWSMON_EMBED_MODEL={previous}"
                )
            store.register_model(conn, encoder.name, encoder.dims, encoder.backend, activate=True)
            if reembed and previous == encoder.name:  # same model again: recompute every vector
                result.add("cleared", store.delete_vectors(conn, encoder.name))
        if previous and previous != encoder.name:
            result.notes.append(f"active embedding model switched from {previous} to {encoder.name}")
        _embed_pending(rt, encoder, batch_size, max_chars, result)
        with rt.pool.connection() as conn, conn.transaction():
            result.add("copied_from_original", store.copy_duplicate_vectors(conn, encoder.name))
            store.ensure_index(conn, encoder.name, encoder.dims)
    return result


def _embed_pending(rt, encoder: Encoder, batch_size: int, max_chars: int, result: StageResult) -> None:
    """Encode in batches; a writer thread stores batch n while batch n+1 is encoded."""
    with rt.pool.connection() as conn:
        total = store.count_pending(conn, encoder.name)
        skipped = store.count_empty(conn, encoder.name)
    if skipped:
        result.add("skipped_empty", skipped)
    if not total:
        return
    written = 0

    def write(batches: list[tuple[list[int], np.ndarray]]) -> None:
        nonlocal written
        with rt.pool.connection() as conn, conn.transaction():
            for ids, vectors in batches:
                written += store.write_vectors(conn, encoder.name, ids, vectors)

    # Each encoded batch is written as it comes; two may wait, then encoding waits for the database.
    writer = BatchWriter(write, max_queued=2, name="embed-writer")
    with rt.progress.task(f"embed ({encoder.name})", total) as tracker:
        try:
            for batch in pages_by_article_id(rt.pool, store.pending_batch, batch_size, model=encoder.name):
                ids = [row.article_id for row in batch]
                texts = [article_text(row.title, row.body_text, max_chars) for row in batch]
                vectors = encoder.encode(texts)
                if not np.isfinite(vectors).all():
                    raise RuntimeError(f"model {encoder.name} returned non-finite values")
                writer.put((ids, vectors))
                tracker.advance(len(ids))
        finally:
            writer.close()
    result.add("embedded", written)


def encode_articles(encoder: Encoder, items: Sequence[tuple[str | None, str | None]],
                    max_chars: int = DEFAULT_MAX_CHARS) -> np.ndarray:
    """Vectors for (title, body) pairs exactly as the stage computes them (bench, tests)."""
    return encoder.encode([article_text(t, b, max_chars) for t, b in items])


__all__ = ["article_text", "run_embed", "encode_articles", "MAX_TITLE_CHARS", "DEFAULT_MAX_CHARS"]
