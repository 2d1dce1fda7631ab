"""Language identification with py3langid (langid.py's model: 97 languages, no network).

Before this, a stop-word count said de, en or "other"; now other languages are named ("fr",
"es", "zh", ...) and downstream stages see what they hold (themes give anything but de/en the
``language`` reason and no theme). The feed's language is the fallback where the text is too
short or the model is unsure (a five-word title can look Luxembourgish).
"""

from __future__ import annotations

import re
import threading

__all__ = ["detect_language", "load_model", "MIN_PROBABILITY"]

MIN_WORDS = 3  # fewer words: the feed's language
MIN_PROBABILITY = 0.5  # below this (normalised over 97 languages) the feed's language wins
MAX_CHARS = 10_000  # enough to decide; the model's cost grows with length
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_IDEOGRAPH = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")  # written without spaces: ~ a word each
_identifier = None
_lock = threading.Lock()


def load_model():
    """The identifier, loaded once per process (about 2 s; the extraction fork server loads it
    before forking the workers, see ``pipeline.ingest.language_model``)."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def detect_language(text: str, fallback: str | None = None) -> str:
    """ISO 639-1 code of the text's language ('de', 'en', 'fr', ...); ``fallback`` (the feed's
    language) when the text is too short or the model unsure, 'other' when there is neither."""
    sample = (text or "")[:MAX_CHARS]
    if len(_WORD.findall(sample)) + len(_IDEOGRAPH.findall(sample)) < MIN_WORDS:
        return fallback or "other"
    code, probability = load_model().classify(sample)
    if probability < MIN_PROBABILITY and fallback:
        return fallback
    return code
