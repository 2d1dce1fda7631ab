"""Story figures on the FROZEN TEST half of the labelled set (tests/resources/labelled/articles_test.yaml),
written before any tuning and never fitted on. The defaults (StoryParams()) are what
pipeline/stories/calibrate.py fits for the bundled USE model on the dev files and the demo corpus;
this asserts the
test-half figures measured with them (README: "Stories that read and hold"), minus a small margin."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from pipeline.stories.calibrate import evaluate, labelled_items, story_params_from_dict, story_params_to_dict
from pipeline.stories.cluster import StoryParams, cluster_articles
from pipeline.labelled import story_dev_articles
from tests.support.labelled import LABELLED_FILE, load_labelled
from tests.support.newsdata import default_encoder, use_encoder  # noqa: F401

LABELLED = Path(LABELLED_FILE).parent


@pytest.fixture(scope="module")
def dev_half():
    """Every dev file `newsmon calibrate` fits the stories on (pipeline.labelled.DEV_FILES but the
    web-page files: with round 3's DE/EN events and off-topic singles)."""
    return story_dev_articles()


@pytest.fixture(scope="module")
def test_half():
    return load_labelled(LABELLED / "articles_test.yaml")


def bilingual_events_together(articles, predicted) -> tuple[int, int]:
    """(events whose German and English reports all share one story, events reported in both)."""
    stories, languages = defaultdict(set), defaultdict(set)
    for a, story in zip(articles, predicted):
        stories[a.story].add(story)
        languages[a.story].add(a.language)
    bilingual = [e for e, langs in languages.items() if {"de", "en"} <= langs]
    return sum(len(stories[e]) == 1 for e in bilingual), len(bilingual)


# Its own limit: it refits the whole story grid (6 x 6 x 31 cells on two corpora), 429 s in a CI
# run with a calibration refit beside it, too close to the suite's 600 s.
@pytest.mark.timeout(1800)
def test_defaults_are_the_dev_fit(use_encoder, dev_half):
    """`newsmon calibrate`'s story fit (pipeline.calibrate.fit_stories) gives the defaults: they are
    on the dev fit's plateau, where a bundled model's shipped cell stays (0.9.8)."""
    from pipeline.stories.calibrate import choose_plateau, story_grid

    rows = story_grid(use_encoder, dev_half)  # once: ~4 minutes
    # the defaults are on the plateau (off it, the plateau's middle would be chosen); in 0.9.8 that
    # middle is another cell (join 0.58, time 0.4), which fresh round 33 and the used held-out sets
    # score lower (README, *0.9.8*)
    assert choose_plateau(rows, current=StoryParams())[0] == StoryParams()


def test_calibrate_keeps_a_bundled_model_s_shipped_cell_on_the_plateau(monkeypatch, use_encoder):
    """`newsmon calibrate` hands the shipped story cell of a bundled model to the plateau choice."""
    import pipeline.calibrate as product
    from pipeline.stories.calibrate import JOIN_GRID, StoryFigures

    def grid(encoder, articles, window_days=7, extra_corpora=None):  # a flat plateau over every cell
        return {(lexical, time): [[StoryFigures(0.9, 0.9, 0.9)] for _ in JOIN_GRID]
                for lexical in (1.0, 1.25) for time in (0.4, 0.7)}

    monkeypatch.setattr("pipeline.stories.calibrate.story_grid", grid)
    params, _ = product.fit_stories(use_encoder)
    assert story_params_from_dict(params) == StoryParams()  # the shipped cell, not the plateau's middle
    monkeypatch.setattr(product, "shipped_calibration", lambda model: None)  # a model that ships none
    params, _ = product.fit_stories(use_encoder)
    assert story_params_from_dict(params) != StoryParams()


def test_shipped_story_calibration_is_the_defaults(use_encoder):
    from pipeline.themes.calibrate import shipped_calibration

    assert shipped_calibration(use_encoder.name)["params"]["stories"] == story_params_to_dict(StoryParams())


def test_test_half_story_figures(use_encoder, test_half):
    items = labelled_items(use_encoder, test_half)
    figures = evaluate(items, test_half, StoryParams())
    # measured once, 0.6.0 (bench/models.py): pairwise F1 0.912, ARI 0.912, German/English pairs
    # together 0.907 (39 of 43). 0.5.0: F1 0.931, 40 of 43; round 3: F1 0.835, 37 of 43; round 2:
    # F1 0.852, 35 of 43.
    assert figures.f1 >= 0.90 and figures.ari >= 0.90 and figures.cross_lingual >= 0.90
    together, events = bilingual_events_together(test_half, cluster_articles(items))
    assert events == 27 and together >= 23  # measured: 25 of 27 events whole (round 3: 22)


def test_test_half_story_figures_of_the_default_model(default_encoder, test_half):  # noqa: F811
    """The default model with its shipped story calibration (a fresh dev fit: test_themes.py)."""
    from pipeline.stories.calibrate import story_params_from_dict
    from pipeline.themes.calibrate import shipped_calibration

    params = story_params_from_dict(shipped_calibration(default_encoder.name)["params"]["stories"])
    items = labelled_items(default_encoder, test_half)
    figures = evaluate(items, test_half, params)
    together, events = bilingual_events_together(test_half, cluster_articles(items, params=params))
    # measured in 0.9.0 (bench/models.py --shipped, headline-only subject conflict): pairwise F1
    # 0.982, precision 1.000, German/English pairs together 42 of 43. 0.8.0 (the wider time grid):
    # F1 0.966, ARI 0.966, 0.977 (42 of 43), 26 of 27 events whole. 0.6.0: F1 0.940, 41 of
    # 43; 0.5.0: F1 0.958, 42 of 43, 26 of 27; 0.4.0: F1 0.842, 37 of 43, 22 of 27
    assert figures.f1 >= 0.95 and figures.ari >= 0.95 and figures.cross_lingual >= 0.95
    assert events == 27 and together >= 25
