"""Language-independent story evidence (pipeline/stories/evidence.py) and how the clustering uses
it: entities and figures written differently in German and English meet on one key, and a German
report is scored against an English-only story on the terms that can be shared at all."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import numpy as np

from pipeline.stories.cluster import NewArticle, StoryClusterer, StoryParams
from pipeline.entities import parse_entities
from pipeline.indicators.text import find_mentions
from pipeline.stories.evidence import EntityMatcher, figures_in
from pipeline.stories.terms import NAME, ctfidf_labels, terms_of

T0 = datetime(2025, 10, 13, 8, tzinfo=timezone.utc)


def _keys(text: str, language: str) -> set[str]:
    return {k for k in terms_of("", text, language=language) if k[:1] in "@#"}


def test_figures_meet_across_languages():
    de = {e.key for e in figures_in("2,5 Milliarden Euro für 50.000 Chips, 1,7 Billionen Yen, 140 Firmen", "de")}
    en = {e.key for e in figures_in("2.5 billion euros for 50,000 chips, 1.7 trillion yen, 140 firms", "en")}
    assert de == en == {"#2500000000", "#50000", "#1700000000000", "#140"}


def test_codes_and_small_numbers_are_no_figures():
    assert figures_in("H100, Apache-2.0, 2nm, 720p and 10 percent", "en") == []
    assert {e.key for e in figures_in("31 million euros", "en")} == {"#31000000"}  # a scale makes it one
    # part of a compound or a code: not its first digits ("200,000-token" was once #200)
    assert figures_in("a 200,000-token window, a Core i5-8500, Req ID 24-0871", "en") == []


def test_story_figures_and_indicator_figures_read_numbers_alike():
    """One notation parser (pipeline.numbers) serves both: the same text gives the same value."""
    for text, language in (("1.600.000 Downloads", "de"), ("1,6 Millionen Downloads", "de"),
                           ("1,600,000 downloads", "en"), ("2,5 Milliarden Downloads", "de"),
                           ("2.5 billion downloads", "en"), ("1.600 Downloads", "de")):
        [story] = figures_in(text, language)
        [indicator] = find_mentions(text, language)
        assert float(story.key[1:]) == indicator.value, text


def test_entities_meet_across_languages_and_forms():
    de = _keys("Den Haag übernimmt Nexperia; die niederländische Regierung und Peking streiten. Nvidias H20.", "de")
    en = _keys("The Dutch take control of Nexperia; the Netherlands and Beijing clash. Nvidia's H20.", "en")
    assert {"@netherlands", "@china", "@nvidia", "@h20"} <= de & en


def test_entity_words_count_once_and_labels_skip_figures():
    terms = terms_of("Dutch seize Nexperia", "The Dutch government paid 2.5 billion euros.", language="en")
    assert "dutch" not in terms and terms["@netherlands"][2] == NAME
    assert "#2500000000" in terms and "2.5" not in terms and "billion" not in terms


def test_matcher_cases_follow_the_gazetteer_rule():
    matcher = EntityMatcher(parse_entities({"USA": {"type": "country", "aliases": ["US", "United States"]},
                                            "Meta": {"type": "company", "aliases": ["Meta"]}}))
    assert [e.key for e in matcher.find("the united states and US firms")] == ["@usa", "@usa"]
    assert matcher.find("tell us about meta data") == []  # short aliases: exact case only


def test_labels_show_no_figures_and_no_adjectives():
    from pipeline.stories.state import StoryState

    story = StoryState(None, np.zeros(3), 0, {}, T0, T0)
    story.add_terms(terms_of("Betroffen sind 140 Firmen", "Betroffen sind 140 Firmen in Dresden und Peking.",
                             language="de"))
    story.add_terms(terms_of("Python 3.14 is now available", "The release is available.", language="en"))
    label = ctfidf_labels([story], [0])[0]
    assert "Betroffen" not in label and "available" not in label and "140" not in label


def _article(i: int, language: str, title: str, body: str, vector: np.ndarray, hours: int = 0) -> NewArticle:
    return NewArticle(i, T0 + timedelta(hours=hours), vector, terms_of(title, body, language=language), language)


def _unit(v, dims: int = 16) -> np.ndarray:
    v = np.pad(np.asarray(v, dtype=np.float32), (0, dims - len(v)))
    return v / np.linalg.norm(v)


# other news of the window: terms get their IDF from a window, and two articles alone make one
FILLERS = [_article(100 + k, "en", f"Harbour report {k}", f"Cargo volumes at port number {k} changed, officials "
                    f"in Region{k} said.", _unit([0] * (3 + k) + [1])) for k in range(12)]


def test_german_report_scored_on_shareable_terms_against_an_english_story():
    """Cosine 0.2 alone is far below the threshold; the German report shares the entities and figures
    of the English story, and its German nouns (which no English report can use) do not dilute that."""
    en = _article(1, "en", "Netherlands takes control of Nexperia",
                  "The Dutch government took control of Nexperia, owned by Wingtech, under the Goods "
                  "Availability Act. An Amsterdam court suspended Zhang Xuezheng. Wingtech shares fell 10 percent.",
                  _unit([1, 0, 0]))
    de = _article(2, "de", "Den Haag übernimmt Kontrolle über Nexperia",
                  "Die niederländische Regierung hat die Kontrolle über den Chiphersteller Nexperia an sich "
                  "gezogen. Nexperia gehört dem Konzern Wingtech. Ein Gericht in Amsterdam setzte Zhang "
                  "Xuezheng ab. Die Versorgung der Autoindustrie mit Bauteilen und Steuergeräten sei gefährdet.",
                  _unit([0.2, np.sqrt(0.96), 0]), hours=6)
    other = _article(3, "en", "Dutch court hears Volkswagen supply case",
                     "A court in Amsterdam heard a supply dispute of Volkswagen with a parts maker.",
                     _unit([0.2, 0, np.sqrt(0.96)]), hours=7)
    # (a window of 15 articles: no IDF offset or floor, which are sized for real windows)
    params = StoryParams(join_threshold=0.62, merge_threshold=0.72, lexical_weight=0.75, lexical_floor=0, idf_offset=0)
    portable = StoryClusterer([], timedelta(days=7), params)
    placed = [p.story for p in portable.place(FILLERS + [en, de, other])][-3:]
    assert placed[0] == placed[1] != placed[2]
    strict = StoryClusterer([], timedelta(days=7), dataclasses.replace(params, portable_terms=False))
    placed = [p.story for p in strict.place(FILLERS + [en, de, other])][-3:]
    assert placed[0] != placed[1]  # counted against every German noun, the same evidence is too thin
