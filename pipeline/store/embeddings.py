"""SQL for embedding_models and embeddings (pgvector): registration, pending work, binary COPY,
the per-model HNSW index, loading vectors back as numpy."""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple, Sequence

import numpy as np
from psycopg import sql
from psycopg.rows import class_row

from pipeline.store import claim_unfinished, copy_temp

__all__ = ["ActiveModel", "ArticleText", "Neighbour", "active_model", "lock_models", "register_model",
           "delete_vectors", "count_pending", "count_empty", "claim_pending", "write_vectors",
           "copy_duplicate_vectors", "index_name", "ensure_index", "nearest_articles", "load_vectors",
           "as_array", "stack_vectors"]


class ActiveModel(NamedTuple):
    model: str
    dims: int


class ArticleText(NamedTuple):
    """What is embedded of an article."""

    article_id: int
    title: str | None
    body_text: str | None  # the first 20,000 characters
    stale: bool = False  # it has a vector, from another text length


class Neighbour(NamedTuple):
    article_id: int
    similarity: float  # cosine


# An article is worth embedding when it was extracted and has some text.
_HAS_TEXT = "(coalesce(btrim({a}.title), '') <> '' OR coalesce(btrim({a}.body_text), '') <> '')"
# Pending work of two kinds: an article with no vector of the model (new), and one whose vector
# was computed from another text length than today's ``text_chars`` (stale: an older newsmon's).
# A syndicated copy whose original will get a vector reuses that vector instead.
_CLAIMABLE = f"""
    a.extract_status = 'ok' AND {_HAS_TEXT.format(a='a')}
    AND NOT EXISTS (SELECT 1 FROM articles o WHERE o.article_id = a.duplicate_of
                    AND o.extract_status = 'ok' AND {_HAS_TEXT.format(a='o')})
"""
_NEW = "NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.article_id = a.article_id AND e.model = %(model)s)"
_STALE = ("EXISTS (SELECT 1 FROM embeddings e WHERE e.article_id = a.article_id AND e.model = %(model)s "
          "AND e.text_chars IS DISTINCT FROM %(chars)s)")


def active_model(conn) -> ActiveModel | None:
    with conn.cursor(row_factory=class_row(ActiveModel)) as cur:
        return cur.execute("SELECT model, dims FROM embedding_models WHERE active").fetchone()


def lock_models(conn) -> None:
    """Serialise model switches (two embed runs starting at once agree on one active model)."""
    conn.execute("LOCK TABLE embedding_models IN SHARE ROW EXCLUSIVE MODE")


def register_model(conn, model: str, dims: int, backend: str, *, activate: bool, text_chars: int) -> None:
    if activate:
        conn.execute("UPDATE embedding_models SET active = false WHERE active AND model <> %s", (model,))
    conn.execute(
        """INSERT INTO embedding_models (model, dims, backend, active, text_chars) VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (model) DO UPDATE SET dims = EXCLUDED.dims, backend = EXCLUDED.backend,
                  active = embedding_models.active OR EXCLUDED.active, text_chars = EXCLUDED.text_chars""",
        (model, dims, backend, activate, text_chars),
    )


def delete_vectors(conn, model: str) -> int:
    return conn.execute("DELETE FROM embeddings WHERE model = %s", (model,)).rowcount


def count_pending(conn, model: str, *, text_chars: int, stale: bool | None = None) -> int:
    """Articles the stage would embed: new ones (``stale=False``), stale ones (True), or both."""
    kinds = {None: f"({_NEW} OR {_STALE})", False: _NEW, True: _STALE}[stale]
    return conn.execute(f"SELECT count(*) FROM articles a WHERE {_CLAIMABLE} AND {kinds}",
                        {"model": model, "chars": text_chars}).fetchone()[0]


def count_empty(conn, model: str) -> int:
    """Extracted articles with neither title nor text: skipped (they are never selected)."""
    return conn.execute(
        f"SELECT count(*) FROM articles a WHERE a.extract_status = 'ok' AND NOT {_HAS_TEXT.format(a='a')}"
    ).fetchone()[0]


def claim_pending(conn, model: str, limit: int, skip: Sequence[int] = (), *, text_chars: int) -> list[ArticleText]:
    """Up to ``limit`` articles to embed, locked until the caller's transaction ends
    (``FOR NO KEY UPDATE ... SKIP LOCKED``): several embedding tasks share one backlog, each
    article is encoded by one of them, and a task that dies gives its rows back with its
    transaction. Call inside a transaction that also writes the vectors. ``skip``: articles
    this caller could not encode (not claimed again by it). New articles come first, oldest
    first; only when none is left, stale ones, newest first (a story window's articles before
    the archive). Two plain queries, so neither sorts the whole stale archive."""
    def claim(kind: str, order: str, stale: bool):
        def run():
            with conn.cursor(row_factory=class_row(ArticleText)) as cur:
                return cur.execute(
                    f"""SELECT a.article_id, a.title, left(a.body_text, 20000) AS body_text, {stale} AS stale
                        FROM articles a WHERE {_CLAIMABLE} AND {kind} AND a.article_id <> ALL(%(skip)s)
                        ORDER BY a.article_id {order} LIMIT %(limit)s FOR NO KEY UPDATE OF a SKIP LOCKED""",
                    {"model": model, "limit": limit, "skip": list(skip), "chars": text_chars},
                ).fetchall()
        return run

    current = ("text_chars", text_chars)
    return (claim_unfinished(conn, claim(_NEW, "ASC", False), "embeddings", model, current=current)
            or claim_unfinished(conn, claim(_STALE, "DESC", True), "embeddings", model, current=current))


def write_vectors(conn, model: str, ids: Sequence[int], vectors: np.ndarray, *, text_chars: int) -> int:
    """Binary COPY into a temp table, then upsert (articles deleted meanwhile are skipped);
    several calls in one transaction each upsert only their own rows (``copy_temp``)."""
    copy_temp(conn, "embed_in", [("article_id", "bigint"), ("embedding", "vector")], zip(ids, vectors),
              binary_types=["int8", "vector"])
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO embeddings (article_id, model, embedding, text_chars)
               SELECT i.article_id, %s, i.embedding, %s FROM embed_in i JOIN articles a USING (article_id)
               ON CONFLICT (article_id, model) DO UPDATE SET embedding = EXCLUDED.embedding,
                      text_chars = EXCLUDED.text_chars, created_at = now()""",
            (model, text_chars),
        )
        return cur.rowcount


def copy_duplicate_vectors(conn, model: str, *, text_chars: int) -> int:
    """Syndicated copies get their original's vector (same text, same vector), replacing a copy's
    stale one. Only the copies that need it are selected: an upsert's conflict check would lock
    (and write) every copy's row on every run."""
    return conn.execute(
        """INSERT INTO embeddings (article_id, model, embedding, text_chars)
           SELECT d.article_id, e.model, e.embedding, e.text_chars
           FROM articles d JOIN embeddings e ON e.article_id = d.duplicate_of AND e.model = %(model)s
                                            AND e.text_chars = %(chars)s
           LEFT JOIN embeddings c ON c.article_id = d.article_id AND c.model = %(model)s
           WHERE d.extract_status = 'ok' AND (c.article_id IS NULL OR c.text_chars IS DISTINCT FROM %(chars)s)
           ON CONFLICT (article_id, model) DO UPDATE SET embedding = EXCLUDED.embedding,
                  text_chars = EXCLUDED.text_chars, created_at = now()""",
        {"model": model, "chars": text_chars},
    ).rowcount


def index_name(model: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")[-28:]
    return f"embeddings_hnsw_{slug}_{hashlib.sha1(model.encode()).hexdigest()[:8]}"


def ensure_index(conn, model: str, dims: int) -> bool:
    """One HNSW cosine index per model: a partial index over the vectors cast to the model's
    dims (one index cannot hold vectors of different sizes). Returns True when it was created.

    Goes through an owner-run SQL function (migration 0008) so that the pipeline's
    ``newsmon_app`` role, which does not own the table, can create it too."""
    return bool(
        conn.execute(
            "SELECT newsmon_ensure_embedding_index(%s, %s, %s)", (index_name(model), model, int(dims))
        ).fetchone()[0]
    )


def nearest_articles(conn, model: str, dims: int, vector: np.ndarray, k: int = 10) -> list[Neighbour]:
    """The k nearest articles, through the model's HNSW index."""
    query = sql.SQL(
        "SELECT article_id, 1 - (embedding::vector({dims}) <=> %s::vector({dims})) FROM embeddings "
        "WHERE model = %s ORDER BY embedding::vector({dims}) <=> %s::vector({dims}) LIMIT %s"
    ).format(dims=sql.Literal(int(dims)))
    vec = np.asarray(vector, dtype=np.float32)
    return [Neighbour(article_id, float(similarity))
            for article_id, similarity in conn.execute(query, (vec, model, vec, k)).fetchall()]


def load_vectors(conn, model: str, article_ids: Sequence[int]) -> tuple[list[int], np.ndarray]:
    """Vectors of the given articles for one model: (ids that have one, matrix in that order)."""
    if not article_ids:
        return [], np.zeros((0, 0), dtype=np.float32)
    with conn.cursor(binary=True) as cur:
        cur.execute(
            "SELECT article_id, embedding FROM embeddings WHERE model = %s AND article_id = ANY(%s) "
            "ORDER BY article_id",
            (model, list(article_ids)),
        )
        rows = cur.fetchall()
    return [article_id for article_id, _ in rows], stack_vectors([vector for _, vector in rows])


def as_array(value) -> np.ndarray:
    """A stored vector as numpy (pgvector gives numpy arrays or ``Vector`` objects)."""
    return value.to_numpy() if hasattr(value, "to_numpy") else np.asarray(value)


def stack_vectors(values) -> np.ndarray:
    if not values:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([as_array(v) for v in values]).astype(np.float32, copy=False)
