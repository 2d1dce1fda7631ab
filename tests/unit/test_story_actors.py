"""Who imposes a sanction (pipeline/stories/actors.py) and the conflict it feeds
(pipeline/stories/conflict.py): two governments' measures in one week are two events."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from pipeline.stories.actors import ROLE_ANY, sanctioners_in
from pipeline.stories.cluster import NewArticle, StoryClusterer, StoryParams, cluster_articles
from pipeline.stories.state import StoryState
from pipeline.stories.terms import ctfidf_labels, terms_of

T0 = datetime(2024, 5, 6, 9, tzinfo=timezone.utc)


@pytest.mark.parametrize("title, language, expected", [
    # the subject of the headline's clause, then the verb of the measure
    ("Canada sanctions three shipping firms over oil cargoes", "en", {"@canada"}),
    ("Japan adds 12 entities to its end-user list", "en", set()),  # no measure word anywhere
    ("Japan adds 12 entities to export control list", "en", {"@japan"}),
    ("Frankreich verhängt Einreiseverbote gegen zwei Generäle", "de", {"@france"}),
    ("Analyse: EU beschließt neues Sanktionspaket", "de", {"@eu"}),  # after a colon: a new clause
    ("EU-Staaten einigen sich auf Sanktionen gegen Reederei", "de", {"@eu"}),  # a compound's head
    ("US Treasury hits ferry operator with sanctions", "en", {"@usa"}),  # one institution between
    ("Japan and South Korea freeze assets of arms broker", "en", {"@japan", "@south korea"}),
    ("Kremlin retaliates with ban on Dutch officials", "en", {"@russia"}),  # an institution for a state
    # a head of government or a minister speaks for the state (0.9.9)
    ("Trump sanctions Turkish ministers over Syria offensive", "en", {"@usa"}),
    ("Pompeo announces visa bans on officials", "en", {"@usa"}),
    ("Putin verhängt Gegensanktionen gegen Agrarimporte", "de", {"@russia"}),
    ("EU ministers agree to curb arms sales but stop short of embargo", "en", {"@eu"}),
    ("Trump Media shares jump after listing", "en", set()),  # no measure, no actor
    ("Sanctions on Putin's allies take effect", "en", set()),  # a target, not the subject
    # a leader or a state the measure falls on, in the passive (review of 0.9.9)
    ("Putin, Lavrov hit with EU asset freeze", "en", set()),
    ("Lavrov added to EU sanctions list", "en", set()),
    # a leader in the usual headline forms: an office before the name, the state's possessive, the
    # administration after it (0.9.10); another's possessive is no subject
    ("President Trump sanctions Turkish ministers", "en", {"@usa"}),
    ("US-Präsident Trump verhängt Sanktionen gegen Iran", "de", {"@usa"}),
    ("Treasury Secretary Mnuchin sanctions Maduro allies", "en", {"@usa"}),
    ("Russian President Putin bans imports of Western food", "en", {"@russia"}),
    ("Russia's Putin bans Western food imports", "en", {"@russia"}),
    ("Trump administration adds Huawei to entity list", "en", {"@usa"}),
    ("Huawei's Trump ban hits suppliers", "en", set()),
    ("Critics of President Putin hit with travel bans", "en", set()),
    # ... and in the passive without an agent: a participle with a preposition or nothing after it
    ("Russian President Putin sanctioned over Ukraine", "en", set()),
    ("Russia's Lavrov sanctioned", "en", set()),
    ("Chinese Foreign Minister Wang Yi listed on US entity list", "en", set()),
    ("US sanctioned Chinese firms over Iran oil", "en", {"@usa"}),
    ("US hits Russia with sanctions", "en", {"@usa"}),
    # targets and attributes are not actors
    ("Sanctions on Chinese drone makers take effect", "en", set()),
    ("Neue Sanktionen gegen Russland treten in Kraft", "de", set()),
    ("Russian banks brace for new sanctions", "en", set()),
    # a reaction names no sanctioner: it reports the measure, it does not impose one
    ("China protests against Dutch export controls", "en", set()),
    # a state at the start that does something else
    ("Germany approves chip plant subsidy", "en", set()),
    # a verb is a whole word, and a passive names the target
    ("US banks brace for new sanctions", "en", set()),
    ("US addresses sanctions loophole", "en", set()),
    ("EU weiter uneinig über Sanktionen", "de", set()),
    ("Russia hit by new EU sanctions", "en", set()),
    ("China Telecom added to US entity list", "en", set()),
    # each clause has its own subject
    ("US-Sanktionen: China verhängt Gegensanktionen", "de", {"@china"}),
    ("Russland-Sanktionen: EU beschließt neues Paket", "de", {"@eu"}),
])
def test_sanctioners_in_headlines(title, language, expected):
    assert sanctioners_in(title, language) == frozenset(expected)


def test_only_unambiguous_measure_words_in_the_lead_count():
    assert sanctioners_in("Germany approves chip plant subsidy", "en", "Asset managers welcomed it.") == frozenset()
    assert sanctioners_in("EU agrees on new budget rules", "en", "Freezes on funds were discussed.") == frozenset()


def test_a_measure_named_only_in_the_lead_counts():
    """ "USA nehmen Reedereien ins Visier" names no measure; its first paragraph does."""
    title = "USA nehmen Reedereien ins Visier"
    assert sanctioners_in(title, "de") == frozenset()
    assert sanctioners_in(title, "de", "Washington verhängt Sanktionen gegen vier Reedereien.") == {"@usa"}


def test_runaway_titles_and_other_languages():
    """Only a headline's length is read; a title in a third language or none at all has no sanctioner."""
    assert sanctioners_in("Canada sanctions " + "ships and banks, " * 20_000, "en") == {"@canada"}
    assert sanctioners_in("x " * 200 + "Canada sanctions three firms", "en") == frozenset()  # past the headline
    assert sanctioners_in(None, "en", "Canada sanctions three firms.") == frozenset()
    assert sanctioners_in("La France sanctionne trois entreprises", "fr") == frozenset()


def test_terms_carry_the_sanctioners_as_roles_that_labels_leave_out():
    terms = terms_of("Canada sanctions three shipping firms", "Ottawa listed the firms on Monday.", language="en")
    assert terms["!@canada"][1] is True and ROLE_ANY in terms
    story = StoryState(None, np.zeros(3), 1, {}, T0, T0)
    story.add_terms(terms)
    label = ctfidf_labels([story], [0])[0]
    assert "@canada" not in label and "!" not in label and "Canada" in label


def _report(i: int, hours: float, title: str, body: str = "The measures target shipping firms and banks.") -> NewArticle:
    # every report has the same vector and the same common words: only the actors differ
    return NewArticle(i, T0 + timedelta(hours=hours), np.asarray([1.0, 0.0, 0.0], dtype=np.float32),
                      terms_of(title, body, language="en"), "en")


def test_two_governments_measures_on_one_day_are_two_stories():
    uk = _report(0, 0, "UK sanctions shipping firms and banks")
    us = _report(1, 2, "US sanctions shipping firms and banks")
    reaction = _report(2, 3, "Shipping firms and banks hit by new sanctions")  # names no sanctioner
    uk_follow_up = _report(3, 4, "Britain freezes assets of shipping firms and banks")
    assert len(set(cluster_articles([uk, us], params=StoryParams(conflict_weight=0)))) == 1
    out = cluster_articles([uk, us, reaction, uk_follow_up])
    assert out[0] != out[1] and out[3] == out[0] and out[2] in (out[0], out[1])
    # a coordinated package that names both shares one with each
    joint = _report(4, 5, "UK and US sanction shipping firms and banks")
    assert cluster_articles([uk, joint])[0] == cluster_articles([uk, joint])[1]


def test_a_story_keeps_its_sanctioner_through_reactions_and_merges_respect_it():
    """Reactions name no sanctioner and do not dilute the story's (half of the titles that name
    any, not half of all titles); and two grown stories of different sanctioners do not merge."""
    us = [_report(0, 0, "US sanctions shipping firms and banks"),
          _report(1, 1, "Shipping firms and banks react to new sanctions"),
          _report(2, 2, "Banks and shipping firms weigh new sanctions")]
    eu = _report(3, 3, "EU sanctions shipping firms and banks")
    out = cluster_articles(us + [eu])
    assert out[0] == out[1] == out[2] != out[3]
    clusterer = StoryClusterer([], timedelta(days=7), StoryParams())
    first = clusterer.place(us[:2])
    second = clusterer.place([eu, _report(4, 4, "EU adopts sanctions on shipping firms and banks")])
    assert first[0].story == first[1].story and second[0].story == second[1].story
    assert clusterer.root(first[0].story) != clusterer.root(second[0].story) and not clusterer.merges


def test_roles_survive_trimming_of_a_story_s_terms():
    story = StoryState(None, np.zeros(3), 1, {}, T0, T0)
    story.add_terms(terms_of("Canada sanctions three shipping firms", "", language="en"))
    for i in range(50):
        story.add_terms({f"word{i}": (f"word{i}", False, "en")})
        story.add_terms({f"word{i}": (f"word{i}", False, "en")})
    trimmed = story.trimmed_terms(limit=10)
    assert "!@canada" in trimmed and ROLE_ANY in trimmed
    assert sum(1 for key in trimmed if not key.startswith("!")) == 10
