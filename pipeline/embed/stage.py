"""The embed stage: text preparation and ``run_embed``.

``run_embed(rt)`` embeds every extracted article that has no vector for the active model, or
one computed from another text length (the encoders are in pipeline/embed/encoders.py), writes
the vectors with binary COPY and keeps one HNSW cosine index per model. Several ``run_embed``
may run at once: they claim disjoint batches of the backlog (SKIP LOCKED).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pipeline.embed.encoders import EmbedError, Encoder, blas_threads, load_encoder, model_id
from pipeline.infra.runs import StageResult, record_stage
from pipeline.store import embeddings as store
from pipeline.text import one_line

MAX_TITLE_CHARS = 500
# The lead of an article carries the event (who, what, where). Measured by bench/embed.py
# (story F1): title + the first 600 characters 1.00 on the demo corpus vs 0.82 for 1,200
# characters or the whole text and 0.94 chunked-and-pooled. 400 since 0.9.6: on the 67 used
# held-out story sets +0.007 story F1 for E5 and +0.010 for USE against 600, and it held on the
# fresh round 26 (README, 0.9.6). Stored vectors record it (embeddings.text_chars): a vector
# from another length is recomputed. It also keeps encoding cost flat for long articles.
DEFAULT_MAX_CHARS = 400
# Articles claimed and encoded per transaction: small enough that parallel tasks finish close
# together (about 5 s of encoding on one core with the default E5, under 1 s with USE), large
# enough for the encoder's matrix products.
CLAIM_BATCH = 32
# Stale vectors (another text length) recomputed per stage call at most: after an upgrade the
# whole archive is stale, and one task must still end well inside its timeout (2,000 is about
# 4 minutes of E5 on one core: bench/embed.py --lead-cost); the next runs go on where this one stopped.
RECOMPUTE_PER_RUN = 2000


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
    batch_size: int = CLAIM_BATCH,
    *,
    encoder: Encoder | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> StageResult:
    """Embed articles with ``extract_status='ok'`` that have no vector for the active model.

    A vector computed from another text length (``embeddings.text_chars``, an older newsmon's)
    is recomputed, after every article that has none.

    Safe to run as several tasks at once (the DAG maps it over the Celery workers): articles
    are claimed ``batch_size`` at a time with SKIP LOCKED, so each is encoded once, and a task
    that finds nothing left ends without loading the model.

    A database whose active model differs from the configured one is an error unless
    ``reembed``: then the configured model becomes the active one (older vectors stay, but
    nothing ever compares vectors of two models) and every article is embedded with it.
    Syndicated copies (``duplicate_of``) reuse their original's vector.
    """
    idle = encoder is None and not reembed and _nothing_pending(rt, max_chars)
    if not idle:  # loaded before the run is recorded: a model that cannot load records nothing
        encoder = encoder or load_encoder(rt.settings)
    with blas_threads(rt.settings.embed_threads), record_stage(rt.pool, "embed") as result:
        if idle:
            result.notes.append("nothing left to embed: the model was not loaded")
        else:
            _activate(rt, encoder, reembed, max_chars, result)
            _embed_pending(rt, encoder, batch_size, max_chars, result)
        with rt.pool.connection() as conn, conn.transaction():
            # Under the models lock: parallel tasks copy and create the index one after another,
            # and the last to finish sees every vector the others committed before it.
            store.lock_models(conn)
            active = store.active_model(conn)
            if active is not None:
                result.add("copied_from_original", store.copy_duplicate_vectors(conn, active.model, text_chars=max_chars))
                store.ensure_index(conn, active.model, active.dims)
    return result


def _nothing_pending(rt, max_chars: int) -> bool:
    """True when the configured model is the active one and no article waits for a vector."""
    with rt.pool.connection() as conn:
        active = store.active_model(conn)
        return (active is not None and active.model == model_id(rt.settings.embed_model)
                and store.count_pending(conn, active.model, text_chars=max_chars) == 0)


def _activate(rt, encoder: Encoder, reembed: bool, max_chars: int, result: StageResult) -> None:
    """Register the encoder's model as the active one (refused on a model switch without ``reembed``)."""
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
        store.register_model(conn, encoder.name, encoder.dims, encoder.backend, activate=True, text_chars=max_chars)
        if reembed and previous == encoder.name:  # same model again: recompute every vector
            result.add("cleared", store.delete_vectors(conn, encoder.name))
    if previous and previous != encoder.name:
        result.notes.append(f"active embedding model switched from {previous} to {encoder.name}")


def _embed_pending(rt, encoder: Encoder, batch_size: int, max_chars: int, result: StageResult) -> None:
    """Claim, encode and write batch after batch, each in one transaction (the claim's row locks
    last until its vectors are committed), until no unclaimed article is left, or until
    RECOMPUTE_PER_RUN stale vectors were claimed (they come after every new article)."""
    recompute_limit = RECOMPUTE_PER_RUN
    with rt.pool.connection() as conn:
        new = store.count_pending(conn, encoder.name, text_chars=max_chars, stale=False)
        stale = store.count_pending(conn, encoder.name, text_chars=max_chars, stale=True)
        skipped = store.count_empty(conn, encoder.name)
    if skipped:
        result.add("skipped_empty", skipped)
    if stale:  # after an upgrade that changed the embedded text: a one-off, shown in the task log
        result.notes.append(f"{stale} articles have a vector of {encoder.name} computed from another text length "
                            f"than {max_chars} characters: recomputing them after the articles that have none, "
                            f"at most {recompute_limit} in this run")
    total = new + min(stale, recompute_limit)
    if not total:
        return
    written = claimed_stale = recomputed = 0
    unusable: dict[int, str] = {}  # article -> why it has no vector (skipped for this run)
    # The bar's total is the whole backlog; parallel tasks each advance it by what they embedded.
    with rt.progress.task(f"embed ({encoder.name})", total) as tracker:
        while claimed_stale < recompute_limit:
            with rt.pool.connection() as conn, conn.transaction():
                batch = store.claim_pending(conn, encoder.name, min(batch_size, recompute_limit - claimed_stale),
                                            skip=list(unusable), text_chars=max_chars)
                if not batch:
                    break
                vectors, failed = _encode(encoder, [article_text(r.title, r.body_text, max_chars) for r in batch])
                good = [i for i in range(len(batch)) if i not in failed]
                if good:
                    written += store.write_vectors(conn, encoder.name, [batch[i].article_id for i in good],
                                                   vectors[good], text_chars=max_chars)
            unusable.update({batch[i].article_id: reason for i, reason in failed.items()})
            claimed_stale += sum(r.stale for r in batch)
            recomputed += sum(batch[i].stale for i in good)
            tracker.advance(len(batch))
    result.add("embedded", written)
    if recomputed:
        result.add("recomputed", recomputed)
    if unusable:
        result.add("failed", len(unusable))
        result.notes.extend(f"article {aid}: not embedded ({reason})" for aid, reason in list(unusable.items())[:20])


def _encode(encoder: Encoder, texts: list[str]) -> tuple[np.ndarray, dict[int, str]]:
    """The batch's vectors and {index: reason} of the texts without a usable one. A batch that
    fails as a whole is encoded text by text, so one bad article costs only itself; when every
    text of a batch of several fails, the model is at fault: that is raised (the task fails and
    is retried)."""
    try:
        vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
        failed: dict[int, str] = {}
    except Exception as batch_error:  # noqa: BLE001 - narrowed to the texts below
        vectors = np.zeros((len(texts), encoder.dims), dtype=np.float32)
        failed = {}
        for i, text in enumerate(texts):
            try:
                vectors[i] = encoder.encode([text])[0]
            except Exception as exc:  # noqa: BLE001 - recorded as this article's reason
                failed[i] = f"{type(exc).__name__}: {str(exc)[:200]}"
        if len(texts) > 1 and len(failed) == len(texts):
            raise batch_error
    for i in np.flatnonzero(~np.isfinite(vectors).all(axis=1)):
        failed.setdefault(int(i), "the model returned non-finite values")
    if len(texts) > 1 and len(failed) == len(texts):
        raise RuntimeError(f"model {encoder.name} gave no usable vector for a batch of {len(texts)}: "
                           f"{next(iter(failed.values()))}")
    return vectors, failed


def encode_articles(encoder: Encoder, items: Sequence[tuple[str | None, str | None]],
                    max_chars: int = DEFAULT_MAX_CHARS) -> np.ndarray:
    """Vectors for (title, body) pairs exactly as the stage computes them (bench, tests)."""
    return encoder.encode([article_text(t, b, max_chars) for t, b in items])


__all__ = ["article_text", "run_embed", "encode_articles", "MAX_TITLE_CHARS", "DEFAULT_MAX_CHARS"]
