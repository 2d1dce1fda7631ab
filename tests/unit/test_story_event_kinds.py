"""What kind of event a headline reports (pipeline/stories/event_kinds.py) and the conflict it
feeds (pipeline/stories/conflict.py): a company's results and its new plant in one week are two
events; a follow-up that names no kind joins either."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from pipeline.stories.cluster import NewArticle, StoryClusterer, StoryParams, cluster_articles
from pipeline.stories.conflict import article_actors, story_actors
from pipeline.stories.event_kinds import KIND_ANY, kinds_in
from pipeline.stories.state import StoryState
from pipeline.stories.terms import ctfidf_labels, terms_of

T0 = datetime(2024, 3, 18, 9, tzinfo=timezone.utc)


@pytest.mark.parametrize("title, language, expected", [
    ("Micron posts record quarter as HBM sells out", "en", {"results"}),
    ("Micron confirms Hiroshima HBM plant, Tokyo pledges subsidy", "en", {"plant"}),
    ("Samsung to spend $11 billion on display production lines", "en", {"plant"}),  # capacity
    ("Lumen raises $32 million to build open models", "en", {"funding"}),
    ("Lumen releases 6-billion-parameter open model", "en", {"release"}),
    ("Infineon agrees takeover of Cypress", "en", {"deal"}),
    ("TSMC profit jumps as it plans new fab", "en", {"results", "plant"}),  # several kinds
    ("Speicherchip-Boom beschert Micron kräftiges Umsatzplus", "de", {"results"}),
    ("Intel baut Chipwerk bei Breslau", "de", {"plant"}),
    ("Nordwind sammelt 18 Millionen Euro ein", "de", {"funding"}),
    ("Starke Zahlen: Umsatz von SAP steigt", "de", {"results"}),
    # "plant" is German for "plans": each language's words are read on its own titles only
    ("Chipfertiger TSMC plant Rekordinvestitionen", "de", set()),  # "plant" is "plans"
    ("TSMC plant neue Strategie", "de", set()),
    ("Nvidia shares hit record high", "en", set()),  # most headlines name no kind
    ("Netzwerk-Ausfall legt Börse lahm", "de", set()),  # a compound with "werk" is no plant
    ("Micron publie ses résultats", "fr", set()),  # no lists for a third language
    # words that name another thing in a headline (review of 0.9.9): an investment in a company is
    # its funding, not a plant; a dividend or a price raised is no funding; spending in a results
    # report is no plant; "gewinnt", "zahlen" (to pay), "steckt in der Krise", data collected, a
    # post taken over and fusion energy are no results, plant, funding or deal
    ("Microsoft invests $10 billion in OpenAI", "en", set()),
    ("OpenAI raises $10 billion from Microsoft", "en", {"funding"}),
    ("Apple raises dividend, buys back $110 billion of shares", "en", set()),
    ("Meta shares fall as AI spending soars", "en", set()),
    ("OpenAI to become a for-profit company", "en", set()),
    ("A quarter of the world's chips are made in Taiwan", "en", set()),
    ("Intel gewinnt Apple als Kunden", "de", set()),
    ("Intel muss Milliarden-Strafe zahlen", "de", set()),
    ("Intel steckt tief in der Krise", "de", set()),
    ("Intel steckt zehn Milliarden in Magdeburg", "de", {"plant"}),
    ("Meta sammelt Daten von Millionen Nutzern", "de", set()),
    ("Lip-Bu Tan übernimmt Führung bei Intel", "de", set()),
    ("Google setzt auf Fusionsenergie", "de", set()),
    ("EU zieht Bilanz der Sanktionen", "de", set()),
    (None, "en", set()),
])
def test_kinds_in_headlines(title, language, expected):
    assert kinds_in(title, language) == frozenset(expected)


def test_only_a_headline_is_read():
    assert kinds_in("x " * 200 + "Micron posts record quarter", "en") == frozenset()
    assert kinds_in("Micron posts record quarter " + "and more " * 20_000, "en") == {"results"}


def test_terms_carry_the_kinds_as_roles_that_labels_leave_out():
    terms = terms_of("Micron posts record quarter", "Micron said demand for memory rose.", language="en")
    assert terms["!#results"][1] is True and KIND_ANY in terms
    story = StoryState(None, np.zeros(3), 1, {}, T0, T0)
    story.add_terms(terms)
    label = ctfidf_labels([story], [0])[0]
    assert "results" not in label.lower() and "!" not in label and "Micron" in label
    # a kind is no sanctioner, and a sanctioner no kind
    assert article_actors(terms, frozenset()).sanctioners == frozenset()
    assert article_actors(terms, frozenset()).kinds == {"!#results"}


def _report(i: int, hours: float, title: str) -> NewArticle:
    # every report has the same vector and the same words: only the headline's kind differs
    body = "Micron Technology said memory demand rose in Idaho and Hiroshima."
    return NewArticle(i, T0 + timedelta(hours=hours), np.asarray([1.0, 0.0, 0.0], dtype=np.float32),
                      terms_of(title, body, language="en"), "en")


def test_results_and_a_plant_of_one_company_are_two_stories():
    results = _report(0, 0, "Micron posts record quarter, memory sold out")
    plant = _report(1, 30, "Micron confirms new memory plant, memory sold out")
    follow_up = _report(2, 31, "Memory sold out at Micron, says Micron")  # names no kind: joins either
    assert len(set(cluster_articles([results, plant], params=StoryParams(conflict_weight=0)))) == 1
    out = cluster_articles([results, plant, follow_up])
    assert out[0] != out[1] and out[2] in (out[0], out[1])


def test_a_story_s_kinds_are_those_of_half_the_titles_that_name_any():
    story = StoryState(None, np.zeros(3), 1, {}, T0, T0)
    for title in ("Micron posts record quarter", "Micron results beat forecasts", "Memory sold out at Micron",
                  "Micron profit jumps as it plans new fab"):
        story.add_terms(terms_of(title, "", language="en"))
    # results in 3 of the 3 titles that name a kind, plant in 1: the story is about results
    assert story_actors(story, frozenset()).kinds == {"!#results"}


def test_two_grown_stories_of_different_kinds_do_not_merge():
    clusterer = StoryClusterer([], timedelta(days=7), StoryParams())
    first = clusterer.place([_report(0, 0, "Micron posts record quarter, memory sold out"),
                             _report(1, 1, "Micron results: memory sold out")])
    second = clusterer.place([_report(2, 30, "Micron confirms new memory plant, memory sold out"),
                              _report(3, 31, "Micron picks Hiroshima for memory factory")])
    assert first[0].story == first[1].story and second[0].story == second[1].story
    assert clusterer.root(first[0].story) != clusterer.root(second[0].story) and not clusterer.merges
