"""Themes: taxonomy loading, keyword syntax, and accuracy on the labelled set."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.infra.config import BASE_THEMES, known_themes
from pipeline.embed.stage import encode_articles
from pipeline.themes.scorer import ThemeScorer, decide
from pipeline.themes.taxonomy import OTHER, ThemeError, compile_keywords, default_taxonomy, load_taxonomy
from tests.support.labelled import theme_accuracy
from tests.support.newsdata import labelled, use_encoder  # noqa: F401


def test_keyword_syntax():
    pattern = compile_keywords(["*halbleiter*", "export control*", "chip", "tsmc"])
    found = lambda s: sorted(m.group(0).lower() for m in pattern.finditer(s))  # noqa: E731
    assert found("Leistungshalbleiter und Halbleiterwerk") == ["halbleiterwerk", "leistungshalbleiter"]
    assert found("new export  controls on chips") == ["export  controls"]  # "chips" is not "chip"
    assert found("a chip from TSMC; chipmunk") == ["chip", "tsmc"]
    assert compile_keywords([]) is None


def test_taxonomy_file_and_known_themes():
    tax = default_taxonomy()
    assert list(tax.themes) == ["chips", "open_source", "sanctions"]
    assert known_themes() == BASE_THEMES == ("chips", "open_source", "sanctions", "other")
    for theme in tax.themes.values():
        assert theme.descriptions and theme.keywords and theme.negative_keywords
    assert 0 < tax.scoring_for("some-uncalibrated-model").threshold < 1


@pytest.mark.parametrize("text, message", [
    ("themes: []", "top-level `themes:` mapping"),
    ("themes: {Bad Key: {description_en: x}}", "bad theme key"),
    ("themes: {chips: {description_en: x, colour: red}}", "unknown key"),
    ("themes: {chips: {label: x}}", "needs description"),
    ("themes: {chips: {description_en: x}}\nscoring: {default: {margin: 1}}", "background"),
    ("themes: {chips: [", "not valid YAML"),
])
def test_malformed_taxonomy(tmp_path, text, message):
    path = tmp_path / "themes.yaml"
    path.write_text(text)
    with pytest.raises(ThemeError, match=message):
        load_taxonomy(path)


def test_decide_below_threshold_is_other():
    assert decide(["a", "b"], np.array([0.2, 0.1]), 0.25).theme == OTHER
    other = decide(["a", "b"], np.array([0.2, 0.1]), 0.25)
    assert other.theme_score == pytest.approx(0.8)
    chosen = decide(["a", "b"], np.array([0.3, 0.9]), 0.25)
    assert chosen.theme == "b" and chosen.theme_score == pytest.approx(0.9) and chosen.scores == {"a": 0.3, "b": 0.9}


@pytest.fixture(scope="module")
def scored(use_encoder, labelled):
    scorer = ThemeScorer(default_taxonomy(), use_encoder)
    vecs = encode_articles(use_encoder, [(a.title, a.body) for a in labelled])
    return scorer, scorer.assign(vecs, [a.title for a in labelled], [a.body for a in labelled])


def test_labelled_theme_accuracy(scored, labelled):
    _, assignments = scored
    assert theme_accuracy(labelled, [a.theme for a in assignments]) >= 0.90
    assert all(0.0 <= a.theme_score <= 1.0 for a in assignments)


def test_traps_are_other(scored, labelled):
    """Potato chips, casino chips, a library's open day, doping and football sanctions."""
    _, assignments = scored
    traps = [(a, s) for a, s in zip(labelled, assignments) if a.theme == OTHER]
    assert len(traps) >= 10
    wrong = [a.id for a, s in traps if s.theme != OTHER]
    assert len(wrong) <= 1, wrong
