"""bench/story_signals.py: which pairs it scores and the evidence it reads from them; pipeline.labelled:
which held-out sets the benches leave fresh."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline.labelled import DEV_DIR, MEASURED_LAST_ROUND, LabelledArticle, held_out_files
from pipeline.stories.evidence import subject_keys


def _bench_module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", Path(__file__).resolve().parents[2] / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


signals = _bench_module("story_signals")
COLUMNS = signals.BASE + signals.CANDIDATES


def _article(id_, story, title, day, language="en"):
    return LabelledArticle(id=id_, story=story, language=language, published_at=datetime(2026, 3, day, tzinfo=timezone.utc),
                           source="wire", theme="chips", alternatives=(), title=title, body="")


def test_pairs_within_the_window_with_their_evidence():
    articles = [
        _article("a1", "nvidia", "Nvidia beats forecasts with record quarter", 1),
        _article("a2", "nvidia", "Nvidia übertrifft die Erwartungen", 2, language="de"),
        _article("b1", "tsmc", "TSMC raises capital spending", 2),
        _article("c1", "late", "Intel names a new chief executive", 20),  # 18 days on: no pair with the others
    ]
    vectors = np.eye(4, 8) + 0.1
    x, same = signals.pair_rows(articles, vectors, None, None, subject_keys())
    assert x.shape == (3, len(COLUMNS))  # a1-a2, a1-b1, a2-b1; c1 is outside the 7-day window of all of them
    assert same.tolist() == [True, False, False]
    column = {name: x[:, i] for i, name in enumerate(COLUMNS)}
    assert column["cross_lingual"].tolist() == [1.0, 0.0, 1.0]
    assert column["gap"].tolist() == [1 / 7, 1 / 7, 0.0]
    # Nvidia against TSMC: both headlines name a known company and share none
    assert column["subject_conflict"].tolist() == [0.0, 1.0, 1.0]
    assert np.allclose(column["lead_cosine"], 0.0) and np.allclose(column["second_cosine"], 0.0)  # not asked for


def test_sets_after_the_last_measured_round_stay_fresh():
    rounds = [r for r, _ in held_out_files()]
    assert rounds and max(rounds) == MEASURED_LAST_ROUND and rounds == sorted(rounds)
    assert len(held_out_files(MEASURED_LAST_ROUND - 1)) < len(rounds)
    later = [p for p in DEV_DIR.glob("articles_unseen_r*.yaml") if p not in {path for _, path in held_out_files()}]
    assert all(int(p.stem.removeprefix("articles_unseen_r")[:2]) > MEASURED_LAST_ROUND for p in later)


def test_best_pairwise_f1_over_thresholds():
    y = np.array([True, True, False, False])
    assert signals.best_f1(y, np.array([0.9, 0.8, 0.2, 0.1])) == 1.0
    assert signals.best_f1(y, np.array([0.9, 0.1, 0.8, 0.2])) == 2 / 3  # best: the top one alone (P 1, R 0.5)
