"""Labelled neighbours as theme evidence: the theme set's articles (pipeline.labelled.theme_articles:
the dev files and the held-out sets of earlier rounds, never the frozen test half) as vectors of
the active model.

An article's ``neighbours`` evidence for a theme is the mean cosine of its K nearest exemplars of
that theme minus the mean cosine of its K nearest ``other`` exemplars. Hand-written descriptions
cover what their author thought of; thousands of labelled reports cover how chip, open-model and
sanctions news and their near-topic neighbours are actually written. Measured before it shipped
(README, 0.9.4): on the held-out sets of rounds 6-23 by leave-one-round-out, E5's accuracy rose
from 0.960 to 0.987, and on fresh round 24 from 0.964 to 0.997.

The vectors of the bundled models ship beside their calibration (``<model>.exemplars.npz``); any
other model encodes the set once and keeps the vectors in ``theme_exemplars``. Both carry the
digest of the set they were encoded from, so that a changed set is never read with stale vectors.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.embed.stage import DEFAULT_MAX_CHARS, encode_articles
from pipeline.infra.config import DATA_DIR
from pipeline.labelled import LabelledArticle, theme_articles
from pipeline.store import calibration as calibration_store
from pipeline.themes.taxonomy import OTHER

log = logging.getLogger(__name__)

K = 5  # nearest exemplars per theme (3, 5 and 10 scored within one report of 5,186 on the used sets)
SHIPPED_DIR = DATA_DIR / "calibration"  # beside the bundled models' calibration files (themes/calibrate.py)
SUFFIX = ".exemplars.npz"
_NOT_OWN = -9.0  # a similarity no neighbour reaches: an exemplar of the article's own story


@dataclass(frozen=True)
class Exemplars:
    """The theme set's articles and their vectors (float16-rounded, whatever their source, so that
    a fit on shipped vectors and one on fresh vectors agree)."""

    model: str
    digest: str
    articles: tuple[LabelledArticle, ...]  # story ids qualified by their file: unique across files
    vectors: np.ndarray  # (n, dims) float32
    source: str = "encoded"  # or "shipped", "stored"

    @cached_property
    def stories(self) -> np.ndarray:
        return np.array([a.story for a in self.articles])

    @cached_property
    def themes(self) -> np.ndarray:
        return np.array([a.theme for a in self.articles])

    def margins(self, vectors: np.ndarray, keys: Sequence[str],
                own_stories: Sequence[str] | None = None) -> np.ndarray:
        """(n, len(keys)) neighbours evidence of ``vectors``; with ``own_stories`` (when the
        vectors are exemplars themselves, for the fit), no article counts its own story."""
        out = np.zeros((len(vectors), len(keys)))
        if not len(vectors):
            return out
        sims = np.asarray(vectors, dtype=np.float32) @ self.vectors.T
        if own_stories is not None:
            sims[np.asarray(own_stories)[:, None] == self.stories[None, :]] = _NOT_OWN
        other = _top_mean(sims[:, self.themes == OTHER])
        for t, key in enumerate(keys):
            out[:, t] = _top_mean(sims[:, self.themes == key]) - other
        return out


def _top_mean(sims: np.ndarray) -> np.ndarray:
    if sims.shape[1] == 0:
        return np.zeros(len(sims))
    k = min(K, sims.shape[1])
    return np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1)


@lru_cache(maxsize=1)
def theme_set() -> tuple[tuple[LabelledArticle, ...], str]:
    """(articles, digest) of the installed theme set; digest "" when it is not installed."""
    articles = tuple(theme_articles())
    if not articles:
        return (), ""
    h = hashlib.sha256(f"max_chars={DEFAULT_MAX_CHARS}".encode())
    for a in articles:
        h.update("\x1f".join((a.id, a.story, a.language, a.theme, a.title, a.body)).encode())
    return articles, h.hexdigest()[:12]


def encode_exemplars(encoder) -> Exemplars:
    articles, digest = theme_set()
    log.info("encoding the %d labelled theme exemplars with %s (once per model)", len(articles), encoder.name)
    vectors = encode_articles(encoder, [(a.title, a.body) for a in articles])
    return Exemplars(encoder.name, digest, articles, _rounded(vectors))


def _rounded(vectors: np.ndarray) -> np.ndarray:
    return np.asarray(vectors, dtype=np.float16).astype(np.float32)


def to_bytes(exemplars: Exemplars) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, vectors=exemplars.vectors.astype(np.float16), digest=np.array(exemplars.digest),
                        model=np.array(exemplars.model))
    return buf.getvalue()


def from_bytes(data: bytes, model: str, source: str = "stored") -> Exemplars | None:
    """The exemplars stored in ``data``, or None when they are another model's or another set's."""
    with np.load(io.BytesIO(data)) as npz:
        digest, stored_model, vectors = str(npz["digest"]), str(npz["model"]), npz["vectors"]
    articles, current = theme_set()
    if stored_model != model or digest != current or len(vectors) != len(articles):
        return None
    return Exemplars(model, digest, articles, vectors.astype(np.float32), source)


def shipped_path(model: str) -> Path:
    return SHIPPED_DIR / f"{model}{SUFFIX}"


_PROCESS: dict[tuple, Exemplars] = {}  # (model, encoder object, digest) -> exemplars


def exemplars_of(encoder) -> Exemplars:
    """The shipped vectors of a bundled model when they are of this theme set, else encoded now
    (cached per process)."""
    key = (encoder.name, id(encoder), theme_set()[1])
    if key not in _PROCESS:
        path = shipped_path(encoder.name)
        shipped = from_bytes(path.read_bytes(), encoder.name, "shipped") if "/" not in encoder.name and path.is_file() else None
        if shipped is None and path.is_file():
            log.warning("the theme exemplars shipped for %s (%s) are of another labelled set: encoding them",
                        encoder.name, path.name)
        _PROCESS[key] = shipped or encode_exemplars(encoder)
    return _PROCESS[key]


def exemplars_for(pool, encoder) -> Exemplars:
    """The exemplars of the encoder's model: stored in the database, shipped, or encoded once and
    stored (so that every worker of a model that ships none reads them instead of encoding)."""
    with pool.connection() as conn:
        stored = calibration_store.load_exemplars(conn, encoder.name)
    found = from_bytes(stored, encoder.name) if stored else None
    if found is not None:
        return found
    exemplars = exemplars_of(encoder)
    # (none encoded when the labelled files are not installed: nothing worth a row, and the
    # themes refuse with their own line)
    if exemplars.source == "encoded" and exemplars.articles:
        with pool.connection() as conn, conn.transaction():
            calibration_store.save_exemplars(conn, encoder.name, exemplars.digest, to_bytes(exemplars))
    return exemplars


def write_shipped(exemplars: Exemplars) -> Path:
    """Ship the exemplars of a bundled model (bench/models.py --ship)."""
    path = shipped_path(exemplars.model)
    path.write_bytes(to_bytes(exemplars))
    return path


__all__ = ["Exemplars", "K", "theme_set", "encode_exemplars", "exemplars_of", "exemplars_for", "write_shipped",
           "shipped_path", "to_bytes", "from_bytes"]
