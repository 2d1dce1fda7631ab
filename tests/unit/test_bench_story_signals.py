"""bench/story_signals.py: which pairs it scores and the evidence it reads from them; pipeline.labelled:
which held-out sets the benches leave fresh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from pipeline.labelled import DEV_DIR, MEASURED_LAST_ROUND, LabelledArticle, held_out_files
from pipeline.stories.evidence import subject_keys
from tests.support.bench import bench_module


signals = bench_module("story_signals")
COLUMNS = signals.BASE + signals.CANDIDATES


def _article(id_, story, title, day, language="en"):
    return LabelledArticle(id=id_, story=story, language=language,
                           published_at=datetime(2026, 3, 1, tzinfo=timezone.utc) + timedelta(days=day),
                           source="wire", theme="chips", alternatives=(), title=title, body="")


def test_pairs_within_the_window_with_their_evidence():
    articles = [
        _article("a1", "nvidia", "Nvidia reports $57 billion quarter", 0),
        _article("a2", "nvidia", "Nvidia meldet Quartal mit 57 Milliarden Dollar", 1, language="de"),
        _article("b1", "tsmc", "TSMC raises spending to $40 billion", 1),
        _article("c1", "late", "Intel names a new chief executive", 19),  # 18 days after b1: in no pair
    ]
    # reports 8 days apart (no pairs), so that a term of one or two reports weighs more than nothing
    articles += [_article(f"f{i}", f"f{i}", f"Filler report number {i} on gardening", 30 + 8 * i) for i in range(6)]
    vectors = np.eye(len(articles), 16) + 0.1
    x, same = signals.pair_rows(articles, vectors, None, None, subject_keys())
    assert x.shape == (3, len(COLUMNS))  # a1-a2, a1-b1, a2-b1: nothing else is within 7 days of another report
    assert same.tolist() == [True, False, False]
    column = {name: x[:, i] for i, name in enumerate(COLUMNS)}
    assert column["cross_lingual"].tolist() == [1.0, 0.0, 1.0]
    assert column["gap"].tolist() == [1 / 7, 1 / 7, 0.0]
    assert np.allclose(column["cosine_x_cross_lingual"], column["cosine"] * column["cross_lingual"])
    # Nvidia against TSMC: both headlines name a known company and share none (and no rarer name either)
    assert column["subject_conflict"].tolist() == [0.0, 1.0, 1.0]
    assert column["rare_name_conflict"].tolist() == [0.0, 1.0, 1.0]
    # "$57 billion" and "57 Milliarden" are one figure; "$40 billion" another
    assert column["headline_figure_conflict"].tolist() == [0.0, 1.0, 1.0]
    # the two Nvidia reports share Nvidia and the figure in their headlines and texts; Nvidia and TSMC share nothing
    assert column["headline_overlap"][0] > 0 and column["lexical"][0] > 0
    assert column["headline_overlap"][1:].tolist() == [0.0, 0.0] and column["lexical"][1:].tolist() == [0.0, 0.0]
    assert np.allclose(column["lead_cosine"], 0.0) and np.allclose(column["second_cosine"], 0.0)  # not asked for


def test_sets_after_the_last_measured_round_stay_fresh():
    rounds = [r for r, _ in held_out_files()]
    assert rounds and max(rounds) == MEASURED_LAST_ROUND and rounds == sorted(rounds)
    assert len(held_out_files(MEASURED_LAST_ROUND - 1)) < len(rounds)
    every = held_out_files(10 ** 6)
    assert len(every) == len(list(DEV_DIR.glob("articles_unseen_r*.yaml")))
    assert all(r > MEASURED_LAST_ROUND for r, path in every if (r, path) not in held_out_files())


def test_best_pairwise_f1_over_thresholds():
    y = np.array([True, True, False, False])
    assert signals.best_f1(y, np.array([0.9, 0.8, 0.2, 0.1])) == 1.0
    assert signals.best_f1(y, np.array([0.9, 0.1, 0.8, 0.2])) == 2 / 3  # best: the top one alone (P 1, R 0.5)
    # a tie is not split: the right pair and the wrong one of score 0.9 are taken together or not at all
    assert signals.best_f1(np.array([True, False]), np.array([0.9, 0.9])) == 2 / 3  # not 1.0 from the right pair alone


@dataclass
class _CountingEncoder:
    """A dataclass, like the bundled encoders: it does not hash."""
    name: str
    offset: float
    calls: int = 0

    def encode(self, texts):
        self.calls += 1
        return np.array([[len(t) + self.offset, 1.0] for t in texts])


def test_vectors_are_cached_by_what_the_encoder_computes(tmp_path, monkeypatch):
    monkeypatch.setattr(signals, "CACHE", tmp_path)
    path = tmp_path / "articles_unseen_r99a.yaml"
    articles = [_article("a1", "s", "Nvidia reports a quarter", 0), _article("a2", "s", "Nvidia meldet Zahlen", 0)]
    first = _CountingEncoder("org/model", 0.0)
    vectors = signals.cached_vectors(first, path, articles, 400)
    calls = first.calls
    assert np.array_equal(signals.cached_vectors(first, path, articles, 400), vectors)
    assert first.calls == calls  # read from the cache, no second encode (and the probe ran once)
    assert len(list(tmp_path.glob("org__model-400-articles_unseen_r99a-*.npy"))) == 1
    # the same name computing other vectors (a re-shipped centre) gets its own file
    moved = _CountingEncoder("org/model", 0.5)
    assert not np.array_equal(signals.cached_vectors(moved, path, articles, 400), vectors)
    assert len(list(tmp_path.glob("org__model-400-*.npy"))) == 2
