"""Themes: taxonomy loading, language-scoped keywords with context, multi-label decisions, the
fit on the dev half, and the frozen test half's figures (reported, never tuned on)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pipeline.embed.stage import encode_articles
from pipeline.infra.config import BASE_THEMES, known_themes
from pipeline.labelled import dev_articles, story_dev_articles
from pipeline.themes.calibrate import fit_dev, fit_weights, measure
from pipeline.themes.exemplars import exemplars_of, theme_set
from pipeline.themes.scorer import FEATURES, OUTRANK_RATIO, REASON_LANGUAGE, ThemeParams, ThemeScorer, decide
from pipeline.themes.taxonomy import OTHER, ThemeError, compile_keywords, default_taxonomy, load_taxonomy
from tests.support.labelled import dev_half, frozen_test_half
from tests.support.newsdata import default_encoder, use_encoder  # noqa: F401


def test_keyword_syntax():
    pattern = compile_keywords(["*halbleiter*", "export control*", "chip", "tsmc"])
    found = lambda s: sorted(m.group(0).lower() for m in pattern.finditer(s))
    assert found("Leistungshalbleiter und Halbleiterwerk") == ["halbleiterwerk", "leistungshalbleiter"]
    assert found("new export  controls on chips") == ["export  controls"]  # "chips" is not "chip"
    assert found("a chip from TSMC; chipmunk") == ["chip", "tsmc"]
    assert compile_keywords([]) is None


def test_a_hyphen_ends_a_german_word_not_an_english_one():
    german = compile_keywords(["infineon", "fabrik*", "ki-chip*", "*halbleiter*"], hyphen_ends_word=True)
    found = lambda pattern, s: sorted(m.group(0).lower() for m in pattern.finditer(s))
    assert found(german, "Infineon-Fabrik baut KI-Chips, Halbleiter-Standort") == [
        "fabrik", "halbleiter", "infineon", "ki-chips"]  # a hyphen in a keyword still matches itself
    assert found(compile_keywords(["infineon", "fabrik*"]), "Infineon-Fabrik") == []
    chips = default_taxonomy().themes["chips"]
    assert chips.keyword_hits("TSMC-Chef sieht keine Blase", "", "de")[0] == 2  # "tsmc" in the title
    assert chips.keyword_hits("TSMC-made chips", "", "en")[0] == 0  # English: one word, "tsmc-made"
    # ... and for the context window: "Sanktionen" has "Russland" as its neighbour, not as itself
    sanctions = default_taxonomy().themes["sanctions"]
    assert sanctions.keyword_hits("Ungarn bremst neue Russland-Sanktionen", "", "de")[0] == 2
    assert sanctions.keyword_hits("Neue Sportsanktionen", "", "de")[0] == 0  # no context word at all


def test_the_taxonomy_digest_names_the_keyword_matching(monkeypatch):
    """Theme weights fitted while keywords matched differently are stale: the digest differs."""
    import pipeline.themes.taxonomy as taxonomy

    before = load_taxonomy().digest
    monkeypatch.setattr(taxonomy, "KEYWORD_MATCHING", taxonomy.KEYWORD_MATCHING + 1)
    assert load_taxonomy().digest != before


def test_taxonomy_file_and_known_themes():
    tax = default_taxonomy()
    assert list(tax.themes) == ["chips", "open_source", "sanctions"]
    assert known_themes() == BASE_THEMES == ("chips", "open_source", "sanctions", "other")
    for theme in tax.themes.values():
        assert theme.descriptions and theme.keywords and theme.negative_keywords
    assert len(tax.background) >= 30  # general off-topic categories in both languages


def test_lexicons_are_language_scoped():
    chips = default_taxonomy().themes["chips"]
    # the German list does not run on English text and the reverse
    assert chips.keyword_hits("Halbleiterwerk in Dresden", "", "en") == (0, 0)
    assert chips.keyword_hits("Halbleiterwerk in Dresden", "", "de")[0] > 0
    assert chips.keyword_hits("", "hundreds of semiconductor engineers", "en")[1] == 0
    assert chips.keyword_hits("anything", "semiconductor", "fr") == (0, 0)


def test_ambiguous_words_need_context():
    chips = default_taxonomy().themes["chips"]
    alone, _ = chips.keyword_hits("Blue-chip stocks rally", "The new phone has a faster chip.", "en")
    assert alone == 0
    near, _ = chips.keyword_hits("China curbs chip exports", "", "en")
    assert near == 2  # "chip" in the title with "China" and "exports" within the window
    far = " ".join(["word"] * 20)
    assert chips.keyword_hits("", f"chip {far} factory", "en")[0] == 0
    assert chips.keyword_hits("Sheffield iron foundry closes", "The foundry cast railings.", "en")[0] == 0
    assert chips.keyword_hits("TSMC's Arizona foundry", "The chip foundry starts production.", "en")[0] > 0


@pytest.mark.parametrize("language, title, text, theme, on_topic", [
    # sanctions, export bans and fines in their everyday senses: no evidence without a technology
    # or a geopolitical actor nearby
    ("en", "Benefit sanctions rise as jobcentres tighten rules", "Claimants lose money for missed meetings.",
     "sanctions", False),
    ("en", "India bans rice exports after poor monsoon", "The export ban keeps food prices down.", "sanctions", False),
    ("de", "Jobcenter verhängen mehr Sanktionen", "Die Sanktionen treffen Bürgergeld-Empfänger.", "sanctions", False),
    ("de", "Indien verhängt Exportverbot für Zucker", "Die Ausfuhrquote wurde halbiert.", "sanctions", False),
    ("en", "US sanctions Chinese chipmakers", "Washington added the firms to a blacklist.", "sanctions", True),
    ("de", "EU-Sanktionen gegen russische Drohnenhersteller", "Das Embargo gilt für Mikroelektronik.",
     "sanctions", True),
    # "weights", "training" and "model" are a gym, a car and a catwalk without an AI word
    ("en", "Weightlifter sets record", "New training methods let athletes lift heavier weights.", "open_source", False),
    ("de", "Neues Modell von Mercedes", "Die Gewichte der Akkus sinken, das Training der Fahrer dauert.",
     "open_source", False),
    ("en", "Lab releases open weights", "The AI model weights are on Hugging Face.", "open_source", True),
    # a state that imposes or suffers a measure, named, is a geopolitical actor (0.9.10)
    ("en", "Canada imposes sanctions on Venezuelan officials", "", "sanctions", True),
    ("de", "Bundesregierung verhängt Sanktionen gegen syrische Geschäftsleute", "", "sanctions", True),
    ("en", "Premier League club faces sanctions", "The league fined the club over fan unrest.", "sanctions", False),
    # ... by name: "government" or a capital is as often a welfare sanction or a domestic ban (review of 0.9.10)
    ("de", "Bürgergeld: Regierung verschärft Sanktionen für Arbeitsverweigerer", "", "sanctions", False),
    ("de", "Landesregierung beschließt Böllerverbot in Berlin", "", "sanctions", False),
    ("de", "Anerkennung: Stiftung veröffentlicht Jahresbericht", "", "open_source", False),
    # an AI accelerator is the chip theme's core sense; "open-sources" is the verb's third person
    ("en", "Cloud provider unveils a custom chip for machine learning inference", "", "chips", True),
    ("de", "Start-up zeigt eigenen Chip für KI-Anwendungen", "", "chips", True),
    ("en", "Bakery's new potato chip uses machine-cut slices", "", "chips", False),
    ("en", "Lab open-sources its speech recognition toolkit", "", "open_source", True),
    ("en", "City open-sources its parking app", "", "open_source", False),
])
def test_core_sense_in_context(language, title, text, theme, on_topic):
    positive, _ = default_taxonomy().themes[theme].keyword_hits(title, text, language)
    assert (positive > 0) == on_topic


def test_evidence_counts_sentences():
    chips = default_taxonomy().themes["chips"]
    passing = ["The phone is thin.", "Its screen is bright.", "It uses a chip made by TSMC.", "It costs 900 euros."]
    about = ["TSMC builds a new fab.", "The foundry makes wafers for Nvidia.", "The semiconductor plant opens in 2027."]
    assert chips.sentences_with_evidence("New phone launched", passing, "en") == 1
    assert chips.sentences_with_evidence("TSMC expands in Arizona", about, "en") == 4  # the title and all three
    assert chips.sentences_with_evidence("TSMC expands", about, "fr") == 0


@pytest.mark.parametrize("text, message", [
    ("themes: []", "top-level `themes:` mapping"),
    ("themes: {Bad Key: {description_en: x}}", "bad theme key"),
    ("themes: {chips: {description_en: x, colour: red}}", "unknown key"),
    ("themes: {chips: {label: x}}", "needs description"),
    ("themes: {chips: {description_en: x, ambiguous_keywords_en: [chip]}}", "no context_en"),
    ("themes: {chips: {description_en: x}}", "background"),
    ("themes: {chips: [", "not valid YAML"),
])
def test_malformed_taxonomy(tmp_path, text, message):
    path = tmp_path / "themes.yaml"
    path.write_text(text)
    with pytest.raises(ThemeError, match=message):
        load_taxonomy(path)


def test_decide_primary_and_secondary():
    other = decide(["a", "b"], np.array([0.2, 0.1]), 0.25)
    assert other.theme == OTHER and other.theme_score == pytest.approx(0.8) and other.themes == []
    chosen = decide(["a", "b"], np.array([0.3, 0.9]), 0.25)
    assert chosen.theme == "b" and chosen.theme_score == pytest.approx(0.9) and chosen.scores == {"a": 0.3, "b": 0.9}
    assert chosen.themes == ["b", "a"]  # every theme over the threshold, primary first


def test_outranking_theme_needs_to_be_comparably_probable():
    outranks = {"sanctions": ["chips"]}
    export_controls = decide(["chips", "sanctions"], np.array([0.9, 0.9 * OUTRANK_RATIO]), 0.2, outranks)
    assert export_controls.theme == "sanctions" and export_controls.themes == ["sanctions", "chips"]
    subsidy = decide(["chips", "sanctions"], np.array([0.9, 0.9 * OUTRANK_RATIO - 0.05]), 0.2, outranks)
    assert subsidy.theme == "chips" and subsidy.themes == ["chips", "sanctions"]


def test_fit_weights_recovers_separable_evidence():
    rng = np.random.default_rng(0)
    labels = ["a", "b", "other"] * 20
    feats = rng.normal(0, 0.05, (60, 2, len(FEATURES)))
    for i, lab in enumerate(labels):
        if lab != "other":
            feats[i, ["a", "b"].index(lab), 1] += 1.0  # keyword evidence for the right theme
    weights, bias = fit_weights(feats, labels, [()] * 60, ["a", "b"])
    assert weights["keywords"] > 3 and set(bias) == {"a", "b"}


@pytest.fixture(scope="module")
def fitted(use_encoder):  # noqa: F811
    return fit_dev(use_encoder)


@pytest.fixture(scope="module")
def fitted_default(default_encoder):  # noqa: F811
    """The default model's fit on the dev half (what `newsmon calibrate` stores for it)."""
    return fit_dev(default_encoder)


def test_shipped_dev_half_is_the_tests_dev_half():
    assert dev_articles() == dev_half()  # the shipped copy is the dev half, the test half is not shipped


def test_fit_on_dev_half(fitted):
    assert fitted.params.weights["margin"] > 0 and fitted.params.weights["keywords"] > 0
    assert fitted.params.weights["spread"] > 0
    assert 0.1 <= fitted.params.threshold <= 0.9
    assert fitted.params.weights["neighbours"] > 0
    assert fitted.figures["articles"] == len(theme_set()[0]) > 6000  # the theme set, not the dev files alone
    assert fitted.figures["accuracy"] >= 0.97  # in-sample, by design
    # the threshold comes from out-of-fold probabilities (each story scored without itself)
    # 0.9.7's set (7,874): 0.9813; 0.9.8's (8,499, with rounds 30 and 31 of 2020-2021, harder
    # months): 0.9799. Another set, not a worse fit
    assert fitted.figures["out_of_fold"]["accuracy"] >= 0.975
    # out of fold, USE themed 10 of 2,300 off-topic reports in 0.9.4's theme set (6,006 reports),
    # 20 of 3,005 in 0.9.7's (7,874, with rounds 24-29), 24 of 3,242 in 0.9.8's and 40 of 3,716 in
    # 0.9.9's (9,747, with the 2018-2019 months of rounds 34-35) and 43 of 3,949 in 0.9.10's (10,372,
    # rounds 36-37, the context words): a share, as the set grows. On the fresh rounds that judged
    # the larger sets, off-topic reports themed did not rise (README, *0.9.9*, *0.9.10*)
    out_of_fold = fitted.figures["out_of_fold"]
    assert out_of_fold["off_topic"] > 2000
    assert out_of_fold["off_topic_given_theme"] <= 0.015 * out_of_fold["off_topic"]
    scores = {float(t): v for t, v in fitted.figures["score_by_threshold"].items()}
    assert scores[fitted.params.threshold] >= max(scores.values()) - 0.01
    assert ThemeParams.from_json(fitted.params.to_json()) == fitted.params


def test_out_of_fold_never_scores_an_article_with_its_own_story(monkeypatch):
    """Each article's held-out probability comes from weights fitted without any article of its
    story (a German and an English report of one event are never on both sides)."""
    from pipeline.labelled import LabelledArticle
    from pipeline.themes import calibrate

    arts = [LabelledArticle(f"x{i}", f"story{i // 2}", "en", None, "s", "a" if i % 3 else OTHER, (), "t", "b")
            for i in range(60)]
    feats = np.zeros((60, 1, len(FEATURES)))
    feats[:, 0, 0] = np.arange(60)  # the article's index, so that each call shows which rows it saw
    trained, scored = [], []
    monkeypatch.setattr(calibrate, "fit_weights", lambda f, *a, **k: (
        trained.append({int(v) for v in f[:, 0, 0]}) or ({n: 0.0 for n in FEATURES}, {"a": 0.0})))

    class Recorder:
        def probabilities(self, f, params):
            scored.append({int(v) for v in f[:, 0, 0]})
            return np.full(f.shape[:2], 0.5)

    probs = calibrate.out_of_fold(feats, arts, ["a"], Recorder())
    assert probs.shape == (60, 1) and len(trained) == len(scored) == calibrate.FOLDS
    assert set().union(*scored) == set(range(60))
    for train, held_out in zip(trained, scored):
        assert {i // 2 for i in train}.isdisjoint({i // 2 for i in held_out})


def _scorer(encoder, fitted) -> ThemeScorer:
    return ThemeScorer(default_taxonomy(), encoder, fitted.params, exemplars_of(encoder))


def _assign(encoder, fitted, articles):
    scorer = _scorer(encoder, fitted)
    vectors = encode_articles(encoder, [(a.title, a.body) for a in articles])
    return scorer.assign(vectors, [a.title for a in articles], [a.body for a in articles],
                         [a.language for a in articles])


def test_frozen_test_half_figures(use_encoder, fitted):  # noqa: F811
    """Measured on the frozen test half with the weights fitted on the theme set (README, 0.9.4,
    `bench/models.py`): accuracy 0.983, 1 of 93 off-topic articles given a theme; chips P 1.000
    R 0.889, open_source P 0.963 R 1.000, sanctions P 0.963 R 1.000 (0.9.3: 0.977, 3 of 93; 0.9.0:
    0.971; 0.6.0: 0.965; 0.5.0: 0.953, 4 of 93; round 2: 0.942, 6 of 93). Asserted with a small
    margin."""
    _assert_test_half(use_encoder, fitted, sanctions_precision=0.86, chips_recall=0.86)


def _assert_test_half(encoder, fitted, sanctions_precision: float, chips_recall: float) -> None:
    """The frozen test half's figures with ``fitted``, against floors a little under the measured."""
    articles = frozen_test_half()
    figures = measure(articles, _assign(encoder, fitted, articles))
    assert figures["accuracy"] >= 0.945
    assert figures["off_topic_given_theme"] <= 4
    floors = {"chips": (0.90, chips_recall), "open_source": (0.93, 0.97), "sanctions": (sanctions_precision, 0.93)}
    for theme, (precision, recall) in floors.items():
        assert figures[theme]["precision"] >= precision and figures[theme]["recall"] >= recall, (theme, figures[theme])


def test_export_controls_on_chips_are_sanctions_with_chips_secondary(use_encoder, fitted):  # noqa: F811
    export_controls = [a for a in dev_half() if a.theme == "sanctions" and "chips" in a.alternatives]
    assert len(export_controls) >= 5
    assigned = _assign(use_encoder, fitted, export_controls)
    # The mixed set also holds antitrust probes and summons of chip firms (chips primary is
    # acceptable there); articles that name export rules in the title are sanctions-primary.
    assert sum(s.theme == "sanctions" for s in assigned) >= 0.8 * len(assigned)
    by_title = [s for a, s in zip(export_controls, assigned) if re.search(r"(?i)export|ausfuhr", a.title)]
    assert len(by_title) >= 10 and sum(s.theme == "sanctions" for s in by_title) >= 0.9 * len(by_title)
    assert any(s.themes == ["sanctions", "chips"] for s in assigned)


def test_bad_input(use_encoder, fitted):  # noqa: F811
    """A third language gets no theme (reason 'language'); a title-only article and a 100 KB
    article are scored like any other."""
    long_body = ("Chipmakers in Taiwan expand wafer production as export controls tighten. " * 1400)[:100_000]
    items = [("Nvidia stoppe ses livraisons", "Le fabricant américain de puces ne livre plus la Chine."),
             ("US adds Chinese chipmakers to the Entity List", ""),
             ("TSMC expands wafer capacity", long_body)]
    vectors = encode_articles(use_encoder, items)
    scorer = _scorer(use_encoder, fitted)
    french, title_only, huge = scorer.assign(vectors, [t for t, _ in items], [b for _, b in items], ["other", "en", "en"])
    assert french.theme == OTHER and french.reason == REASON_LANGUAGE and french.themes == []
    assert title_only.theme in ("sanctions", "chips") and title_only.reason is None
    assert huge.theme in ("chips", "sanctions") and huge.themes


# The issue's own examples of real off-topic pages that got a theme (its held-out set, not ours),
# rewritten as short items; and its mixed case that was filed under the wrong theme.
ISSUE_EXAMPLES = [
    ("en", "iPhone 17 battery rumour: bigger cell, same chip",
     "A supply-chain rumour says Apple's next iPhone gets a larger battery while keeping last year's processor."),
    ("en", "Where to buy an RTX 3080 this week",
     "Graphics cards are back in stock at several retailers. We list where gamers can still find the card."),
    ("en", "Python 3.6.0 is now available",
     "The Python team released version 3.6.0 with formatted string literals and many bug fixes. Download it now."),
    ("en", "What is Creative Commons? An explainer",
     "Creative Commons licences let photographers, musicians and writers share their work under open terms."),
    ("en", "How to speed up your WordPress site",
     "Caching plugins, a lighter theme and compressed images make a WordPress blog load faster."),
    ("en", "Man fined for breaking coronavirus rules",
     "A court fined a man for hosting a party during the lockdown. Police said the ban would be enforced."),
    ("en", "Blue-chip stocks rally as investors shrug off rate fears",
     "Shares of large companies rose on Wall Street as investors bet that the central bank would pause."),
    ("en", "Silicon Valley accelerator Y Combinator picks 200 start-ups",
     "The accelerator's new batch includes start-ups in healthcare and fintech; each receives funding."),
    ("en", "Payment processor Stripe raises prices for small merchants",
     "Stripe said card fees for small online shops will rise next month, blaming the card networks."),
    ("de", "Hundert Spieler beim Schachturnier",
     "Über hundert Spieler nahmen am Wochenende am Turnier teil. Der Verein freut sich über den Zuspruch."),
]


def test_issue_examples(use_encoder, fitted):  # noqa: F811
    items = ISSUE_EXAMPLES + [
        ("en", "EU sanctions package targets chip re-exports",
         "The EU banned the re-export of semiconductors and chipmaking equipment to Russia through third countries."),
        ("en", "Key players in China's chip sector expand output",
         "China's largest chipmakers are adding capacity at their fabs as Beijing pushes for self-sufficiency."),
    ]
    scorer = _scorer(use_encoder, fitted)
    vectors = encode_articles(use_encoder, [(t, b) for _, t, b in items])
    assigned = scorer.assign(vectors, [t for _, t, _ in items], [b for _, _, b in items], [lang for lang, _, _ in items])
    *off_topic, export_ban, players = assigned
    assert [a.theme for a in off_topic] == [OTHER] * len(ISSUE_EXAMPLES)
    assert export_ban.theme == "sanctions" and players.theme == "chips"


def _assert_shipped_is(model, fitted):
    from pipeline.themes.calibrate import shipped_calibration

    shipped = shipped_calibration(model)
    assert shipped["model"] == model
    themes = ThemeParams.from_json(shipped["params"]["themes"])
    assert themes.taxonomy == default_taxonomy().digest, "themes.yaml changed: re-export the shipped calibration"
    assert themes.exemplars == theme_set()[1], "the labelled theme set changed: bench/models.py --ship"
    assert themes.threshold == fitted.params.threshold
    for name, weight in fitted.params.weights.items():
        assert themes.weights[name] == pytest.approx(weight, abs=1e-3)
    for key, bias in fitted.params.bias.items():
        assert themes.bias[key] == pytest.approx(bias, abs=1e-3)
    return shipped


# Its own limit: the first test of the module to use ``fitted_default``, it pays for E5 encoding the
# dev half and fitting its themes (~230 s alone here) before refitting the story grid (6 x 6 x 31
# cells on two corpora, ~130 s alone). 365 s alone is too close to the suite's 600 s on a loaded
# CI machine: one CI run beside a benchmark timed out here with the values still equal.
@pytest.mark.timeout(1800)
def test_shipped_calibration_of_the_default_model_is_a_fresh_fit(default_encoder, fitted_default):  # noqa: F811
    """The calibration shipped for the default model is what `newsmon calibrate` fits today (a
    change to themes.yaml, the theme set, the stories or the dev files without re-exporting it
    fails here).

    The themes fit on the shipped vectors, so their weights are the same on any machine. The story
    grid encodes the dev files afresh, and E5's C engine gives vectors that differ in the last
    bits between CPUs (0.9.4: on an AVX-512 machine the theme weights of 0.9.3 moved by 0.004 and
    the story plateau's middle by one cell). What must hold on any CPU: the shipped story cell is on
    the plateau of a fresh fit (its worst objective within PLATEAU_TOLERANCE of the best cell's)."""
    from pipeline.infra.config import DEFAULT_EMBED_MODEL
    from pipeline.stories.calibrate import (JOIN_GRID, MERGE_MARGIN, PLATEAU_TOLERANCE, STORY_FIT,
                                           story_grid)

    assert DEFAULT_EMBED_MODEL == default_encoder.name
    shipped = _assert_shipped_is(DEFAULT_EMBED_MODEL, fitted_default)["params"]["stories"]
    assert shipped["fit"] == STORY_FIT
    assert shipped["merge_threshold"] == pytest.approx(shipped["join_threshold"] + MERGE_MARGIN)
    rows = story_grid(default_encoder, story_dev_articles())
    worst = {(key, join): min(f.objective for f in cell)
             for key, row in rows.items() for join, cell in zip(JOIN_GRID, row)}
    cell = ((shipped["lexical_weight"], shipped["time_weight"]), round(shipped["join_threshold"], 2))
    assert worst[cell] >= max(worst.values()) - PLATEAU_TOLERANCE, (worst[cell], max(worst.values()))


def test_shipped_calibration_of_the_fallback_model_is_a_fresh_fit(use_encoder, fitted):  # noqa: F811
    from pipeline.embed.encoders import FALLBACK_MODEL

    assert use_encoder.name == FALLBACK_MODEL
    shipped = _assert_shipped_is(FALLBACK_MODEL, fitted)
    assert set(shipped["params"]["stories"]) >= {"join_threshold", "merge_threshold"}


def test_frozen_test_half_figures_of_the_default_model(default_encoder, fitted_default):  # noqa: F811
    """The default model (E5) on the frozen test half with its theme-set fit, measured in 0.9.4
    (README, *0.9.4*): accuracy 0.971, 1 of 93 off-topic articles given a theme; chips P 1.000
    R 0.815, open_source P 0.963 R 1.000, sanctions P 0.897 R 1.000. Lower than 0.9.0-0.9.3
    (0.988, 2 of 93, chips R 0.963): the neighbours evidence gained on every fresh and held-out
    set and lost four chips reports here (README, *0.9.4*). 0.9.6 (400 characters embedded):
    accuracy 0.977, 0 of 93, open_source P 1.000, the rest as in 0.9.4 (README, *0.9.6*). 0.9.10
    (the context words): as in 0.9.4 again, 0.971 and 1 of 93 (README, *0.9.10*).
    Asserted with a small margin."""
    _assert_test_half(default_encoder, fitted_default, sanctions_precision=0.83, chips_recall=0.77)


class _FlatEncoder:
    """Every text the same vector: only the lexical evidence differs."""

    name = "flat-test-encoder"

    def encode(self, texts):
        return np.ones((len(texts), 4)) / 2.0


def test_a_title_only_item_is_no_full_spread():
    scorer = ThemeScorer(default_taxonomy(), _FlatEncoder())
    title = "TSMC builds a new chip fab in Arizona"
    long_body = " ".join(["TSMC builds a new fab.", "The foundry makes wafers for Nvidia.",
                          "The semiconductor plant opens in 2027."] * 2)
    feats = scorer.features(np.ones((2, 4)) / 2.0, [title, title], ["", long_body], ["en", "en"])
    spread = feats[:, scorer.keys.index("chips"), FEATURES.index("spread")]
    assert spread[0] <= 0.25 < spread[1]  # one hit in a title is less than a theme running through an article


def test_words_with_a_second_meaning_count_only_near_a_context_word():
    """A wafer is also a biscuit, "hugging face" also an emoji, and a German "Halbleiter" page may
    be a physics primer: alone they are no evidence; the industry's compounds and a context word
    are (round 7, from the web pages of articles_dev_r7w.yaml)."""
    scorer = ThemeScorer(default_taxonomy(), _FlatEncoder())
    cases = [  # (language, text, theme, evidence expected)
        ("en", "Our bakery sells thin wafers and Belgian waffles every Saturday.", "chips", False),
        ("en", "The new plant will cut silicon wafers for the chip industry.", "chips", True),
        ("en", "The hugging face emoji shows a smiling face with open hands.", "open_source", False),
        ("en", "Hugging Face hosts the weights of the new AI model.", "open_source", True),
        ("de", "Halbleiter leiten Strom umso besser, je wärmer sie sind.", "chips", False),
        ("de", "Die Halbleiterindustrie in Sachsen stellt neue Leute ein.", "chips", True),
    ]
    feats = scorer.features(np.ones((len(cases), 4)) / 2.0, [""] * len(cases), [c[1] for c in cases],
                            [c[0] for c in cases])
    for i, (_, text, theme, expected) in enumerate(cases):
        keywords = feats[i, scorer.keys.index(theme), FEATURES.index("keywords")]
        assert (keywords > 0) == expected, text


def test_too_few_stories_give_no_out_of_fold_figures():
    from pipeline.labelled import LabelledArticle
    from pipeline.themes import calibrate

    arts = [LabelledArticle(f"x{i}", "one-story", "en", None, "s", "a" if i % 2 else OTHER, (), "t", "b")
            for i in range(20)]
    feats = np.zeros((20, 1, len(FEATURES)))
    feats[:, 0, 0] = [1.0 if i % 2 else -1.0 for i in range(20)]
    scorer = ThemeScorer.__new__(ThemeScorer)
    scorer.keys, scorer.outranks = ["a"], {"a": ()}
    assert calibrate.out_of_fold(feats, arts, ["a"], scorer) is None
    fit = calibrate.fit_features(scorer, feats, arts)
    assert "out_of_fold" not in fit.figures and fit.figures["threshold_from"] == "in-sample"


def _old_format_calibration(directory, model):
    import json

    from pipeline.themes.calibrate import FILE_FORMAT

    themes = {"weights": {f: 1.0 for f in FEATURES if f != "spread"}, "bias": {"chips": -1.0}, "threshold": 0.5,
              "taxonomy": default_taxonomy().digest}
    path = directory / f"{model}.json"
    path.write_text(json.dumps({"format": FILE_FORMAT, "model": model, "params": {"themes": themes, "stories": {"x": 1}},
                                "dev_figures": {"themes": {"accuracy": 1.0}, "stories": {}}}))
    return path


def test_a_shipped_calibration_of_an_older_format_is_refitted_not_fatal(tmp_path, monkeypatch, caplog):
    from pipeline.infra.config import UserError
    from pipeline.themes import calibrate

    path = _old_format_calibration(tmp_path, "old-model")
    monkeypatch.setattr(calibrate, "SHIPPED_DIR", tmp_path)
    monkeypatch.setattr(calibrate, "_WARNED_SHIPPED", set(), raising=False)
    with caplog.at_level("WARNING", logger=calibrate.__name__):
        shipped = calibrate.shipped_calibration("old-model")
        assert calibrate.shipped_calibration("old-model") == shipped
    assert "themes" not in shipped["params"] and shipped["params"]["stories"] == {"x": 1}
    assert "themes" not in shipped["dev_figures"]
    assert len([r for r in caplog.records if "spread" in r.getMessage()]) == 1  # warned once
    with pytest.raises(UserError, match="params.themes is incomplete"):
        calibrate.read_calibration_file(path)  # an explicit --import is still refused


def _unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)], dtype=np.float32)


def test_neighbours_are_the_nearest_labelled_reports_never_of_the_own_story():
    """The neighbours evidence of a theme is the mean cosine of the K nearest exemplars of that
    theme minus that of the K nearest off-topic ones; an exemplar scored for the fit never counts
    its own story (a new article has no report of itself in the set)."""
    from pipeline.labelled import LabelledArticle
    from pipeline.themes.exemplars import K, Exemplars

    angles = [0.02 * i for i in range(K + 1)] + [1.5 - 0.02 * i for i in range(K + 1)]  # chips near 0, other near pi/2
    themes = ["chips"] * (K + 1) + [OTHER] * (K + 1)
    articles = tuple(LabelledArticle(f"x{i}", f"s{i}", "en", None, "src", t, (), "t", "b")
                     for i, t in enumerate(themes))
    exemplars = Exemplars("m", "d", articles, np.stack([_unit(a) for a in angles]))
    query = np.stack([_unit(0.0), _unit(1.5)])
    margins = exemplars.margins(query, ["chips", "sanctions"])
    chips_mean = np.mean([np.cos(a) for a in angles[:K]])  # the K nearest of K + 1
    assert margins[0, 0] > 0.5 > 0 > margins[1, 0]  # a chips-like article, an off-topic-like one
    assert margins[0, 0] == pytest.approx(chips_mean - np.sort([np.cos(a) for a in angles[K + 1:]])[-K:].mean(), abs=1e-5)
    assert margins[0, 1] < 0 and margins[1, 1] < 0  # no sanctions exemplar: only the off-topic side counts
    # the first chips exemplar scored as part of the set: its own story (itself) is not a neighbour
    own = exemplars.margins(exemplars.vectors[:1], ["chips"], own_stories=["s0"])
    without_self = np.mean([np.cos(a) for a in angles[1:K + 1]]) - np.sort(
        [np.cos(a) for a in angles[K + 1:]])[-K:].mean()
    assert own[0, 0] == pytest.approx(without_self, abs=1e-5) and own[0, 0] < margins[0, 0]


def test_a_scorer_without_its_models_exemplars_refuses_to_assign(use_encoder, fitted):  # noqa: F811
    with pytest.raises(ValueError, match="exemplars"):
        ThemeScorer(default_taxonomy(), use_encoder, fitted.params).assign(np.ones((1, 512)), ["t"], ["b"], ["en"])


@pytest.mark.parametrize("model_fixture", ["use_encoder", "default_encoder"])
def test_shipped_exemplars_are_the_models_vectors_of_this_theme_set(model_fixture, request):
    """The vectors shipped for a bundled model encode today's theme set with that model (a changed
    labelled file without re-shipping them fails here, and at run time they would be re-encoded)."""
    from pipeline.themes.exemplars import shipped_path

    encoder = request.getfixturevalue(model_fixture)
    exemplars = exemplars_of(encoder)
    articles, digest = theme_set()
    assert exemplars.source == "shipped" and shipped_path(encoder.name).is_file()
    assert exemplars.digest == digest and len(exemplars.vectors) == len(articles)
    sample = list(range(0, len(articles), len(articles) // 24))
    fresh = encode_articles(encoder, [(articles[i].title, articles[i].body) for i in sample])
    cosines = np.sum(fresh * exemplars.vectors[sample], axis=1) / np.linalg.norm(exemplars.vectors[sample], axis=1)
    assert cosines.min() > 0.999
