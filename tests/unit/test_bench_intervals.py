"""bench/intervals.py: the 95 % intervals printed beside the bench's figures."""

from __future__ import annotations

import pytest

from pipeline.stories.calibrate import story_figures
from tests.support.bench import bench_module

intervals = bench_module("intervals")
f1_interval, rate_interval = intervals.f1_interval, intervals.rate_interval


def test_an_exact_rate_interval_matches_its_closed_form():
    # 0 of n: the upper bound solves (1 - p)^n = 0.025
    assert rate_interval(0, 93) == pytest.approx((0.0, 1 - 0.025 ** (1 / 93)))
    # n of n: the lower bound solves p^n = 0.025
    assert rate_interval(10, 10) == pytest.approx((0.025 ** (1 / 10), 1.0))
    low, high = rate_interval(2, 93)
    assert low < 2 / 93 < high


def test_perfect_stories_have_a_point_interval_and_errors_widen_it():
    gold = ["a", "a", "b", "b", "b", "c", "d", "d"]
    assert f1_interval(gold, gold) == (1.0, 1.0)
    # story c wrongly joined b, and one report of d split off
    predicted = ["a", "a", "b", "b", "b", "b", "d", "x"]
    f1 = story_figures(gold, predicted, ["de"] * len(gold)).f1
    low, high = f1_interval(gold, predicted)
    assert low < f1 < high <= 1.0


def test_the_f1_interval_splits_the_pair_counts_of_the_clustering_it_is_given():
    """With every story drawn once the decomposition must give story_figures' F1 back: a check on
    the bookkeeping (found, missed and shared pairs), run here with one story so each draw is it."""
    gold = ["s"] * 4
    predicted = ["p", "p", "p", "q"]
    f1 = story_figures(gold, predicted, ["de"] * 4).f1
    assert f1_interval(gold, predicted, rounds=50) == pytest.approx((f1, f1))


def test_two_stories_in_one_cluster_share_wrong_pairs_only_when_both_are_drawn():
    # drawn {a, b}: 2 found, 4 wrong pairs, F1 0.5; drawn {a, a} or {b, b}: no wrong pair, F1 1
    gold, predicted = ["a", "a", "b", "b"], ["p"] * 4
    assert story_figures(gold, predicted, ["de"] * 4).f1 == 0.5
    assert f1_interval(gold, predicted) == pytest.approx((0.5, 1.0))
