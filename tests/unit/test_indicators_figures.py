"""Issue 13 text rules: every currency, word numbers and fractions, several subjects per sentence,
carried subjects, trajectories, comparisons, entities (collisions, funds), candidates, bad input,
and the reference-rate table."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.indicators import text as text_rules
from pipeline.indicators.defs import load_definitions, parse_definitions
from pipeline.indicators.rates import ReferenceRates
from pipeline.indicators.text import Extractor, extract_claims, find_mentions
from pipeline.indicators.text.closeness import Sentence


def _facts(text, lang, **kw):
    return [(c.indicator, c.subject, round(c.value, 3), c.unit, c.target_year) for c in extract_claims(text, lang, **kw)]


@pytest.mark.parametrize("text, lang, value, unit", [
    ("£2bn", "en", 2e9, "gbp"), ("GBP 500 million", "en", 5e8, "gbp"), ("GBP2.5bn", "en", 2.5e9, "gbp"),
    ("2 Milliarden Pfund", "de", 2e9, "gbp"), ("800 Milliarden Yen", "de", 8e11, "jpy"), ("¥802.5 billion", "en", 8.025e11, "jpy"),
    ("JPY 5 trillion", "en", 5e12, "jpy"), ("450 trillion won", "en", 4.5e14, "krw"), ("₩120 trillion", "en", 1.2e14, "krw"),
    ("33 Billionen Won", "de", 3.3e13, "krw"), ("NT$300 billion", "en", 3e11, "twd"),
    ("300 Milliarden Taiwan-Dollar", "de", 3e11, "twd"), ("CNY 50 billion", "en", 5e10, "cny"),
    ("50 Mrd. Yuan", "de", 5e10, "cny"), ("$1.2bn", "en", 1.2e9, "usd"), ("1,6Mio. Downloads", "de", 1.6e6, "count"),
    ("die Hälfte der Rechenleistung", "de", 50, "percent"), ("roughly a third of demand", "en", 100 / 3, "percent"),
    ("zwei Drittel", "de", 200 / 3, "percent"), ("three quarters of output", "en", 75, "percent"),
    ("ein Fünftel des Marktes", "de", 20, "percent"), ("anderthalb Milliarden Downloads", "de", 1.5e9, "count"),
    ("half a million times", "en", 5e5, "count"), ("eine halbe Million Mal", "de", 5e5, "count"),
    ("20 bis 30 Prozent", "de", 25, "percent"), ("20-30%", "en", 25, "percent"), ("40-45%", "en", 42.5, "percent"),
    ("about 50% more throughput than the H100", "en", 1.5, "ratio"),
])
def test_currencies_words_fractions_ranges(text, lang, value, unit):
    mentions = find_mentions(text, lang)
    assert len(mentions) == 1, mentions
    assert mentions[0].value == pytest.approx(value, rel=1e-6) and mentions[0].unit == unit


def test_ranges_are_approximate_midpoints_and_years_are_not_range_starts():
    rng, = find_mentions("20 bis 30 Prozent", "de")
    assert rng.approximate
    _, reported, _ = find_mentions("from 14% in 2020 to 27% in 2025 and 60% by 2030", "en")
    assert reported.value == 27 and not reported.approximate


def test_several_figures_each_with_its_own_subject():
    assert _facts("Qwen has 385 million downloads against Llama's 350 million.", "en") == [
        ("model_downloads", "Qwen", 385e6, "count", None), ("model_downloads", "Llama", 350e6, "count", None)]
    assert _facts("DeepSeek-R1 has logged 92 million downloads, compared with 64 million for Kimi K2.", "en") == [
        ("model_downloads", "DeepSeek-R1", 92e6, "count", None), ("model_downloads", "Kimi", 64e6, "count", None)]


def test_subject_carried_from_the_previous_sentence():
    text = "China wants to raise its chip self-sufficiency rate. The rate currently stands at about 23 %."
    assert _facts(text, "en") == [("chip_self_sufficiency", "China", 23, "percent", None)]


def test_trajectory_gives_reported_value_and_target():
    text = ("China's chip self-sufficiency rate rose from 15 % in 2019 to 30 % in 2024 and is targeted to hit "
            "70 % by 2030.")
    assert _facts(text, "en") == [("chip_self_sufficiency", "China", 30, "percent", None),
                                  ("chip_self_sufficiency", "China", 70, "percent", 2030)]


def test_comparison_keeps_its_reference_and_according_to_stays_a_source():
    claims = extract_claims("Cambricon's MLU690 reaches 60% of H100 performance, but only 40% of the H200's, "
                            "according to Nvidia.", "en")
    assert [(c.subject, c.value, c.reference) for c in claims] == [("MLU", 60, "H100"), ("MLU", 40, "H200")]


def test_fund_counts_for_its_state_and_converted_amounts_are_no_second_claim():
    assert _facts("China's Big Fund III will invest 344 billion yuan ($47.5 billion) in chipmakers.", "en") == [
        ("ai_investment", "China", 344e9, "cny", None)]
    assert _facts("Der Bund stellt rund 5 Milliarden Euro an Fördermitteln bereit.", "de") == [
        ("ai_investment", "Germany", 5e9, "eur", None)]


def test_alias_colliding_across_types_takes_the_type_the_indicator_wants():
    data = {"subjects": {"Ascend": {"type": "chip", "aliases": ["Ascend"]},
                         "Ascend Corp": {"type": "company", "aliases": ["Ascend"]},
                         "H100": {"type": "chip", "aliases": ["H100"]}},
            "indicators": [i for i in _raw_indicators() if i["key"] in ("chip_performance_ratio", "ai_investment")]}
    defs = parse_definitions(data)
    perf = extract_claims("Ascend reaches 60% of the H100's inference performance.", "en", definitions=defs)
    money = extract_claims("Ascend will invest $2 billion in a new fab.", "en", definitions=defs)
    assert [(c.indicator, c.subject) for c in perf] == [("chip_performance_ratio", "Ascend")]
    assert [(c.indicator, c.subject) for c in money] == [("ai_investment", "Ascend Corp")]


def _raw_indicators():
    import yaml

    from pipeline.indicators.defs import DEFAULT_FILE
    return yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))["indicators"]


def test_unknown_subject_becomes_a_candidate_with_a_guessed_phrase():
    extractor = Extractor(load_definitions())
    text = "Atlantis Semiconductor will invest $3 billion in a new chip fab."
    assert extractor.extract(text, "en") == []
    candidate, = extractor.extract(text, "en", candidates=True)
    assert candidate.candidate and candidate.subject == "" and candidate.subject_phrase == "Atlantis Semiconductor"
    assert (candidate.value, candidate.unit) == (3e9, "usd")


@pytest.mark.parametrize("text, lang, expected", [
    ("Nvidia holds 80.2%[1] of the AI chip market.", "en", [("ai_chip_market_share", "Nvidia", 80.2, "percent", None)]),
    ("Nvidia hält 80,2 %¹ des Marktes für KI-Chips.", "de", [("ai_chip_market_share", "Nvidia", 80.2, "percent", None)]),
    ("Nvidia's market share fell by minus 4 % to 50 %.", "en", [("ai_chip_market_share", "Nvidia", 50, "percent", None)]),
    ("Einst hatte Intel über 80 Prozent des Marktes für Serverprozessoren.", "de", []),
    ("Top downloads last month: Qwen2.5-7B – 5.9m downloads; Llama-3.1-8B – 4.8m downloads.", "en",
     [("model_downloads", "Qwen", 5.9e6, "count", None), ("model_downloads", "Llama", 4.8e6, "count", None)]),
])
def test_bad_input_footnotes_negatives_past_values_lists(text, lang, expected):
    assert _facts(text, lang) == expected


def _count_distance_calls(monkeypatch) -> list[int]:
    calls = [0]
    original = Sentence.distance

    def counted(self, a, b):
        calls[0] += 1
        return original(self, a, b)

    monkeypatch.setattr(Sentence, "distance", counted)
    return calls


def test_runaway_sentence_and_number_dump_are_bounded_and_give_no_claim(monkeypatch):
    calls = _count_distance_calls(monkeypatch)
    dump = " ".join(f"{i % 97} % Marktanteil" for i in range(2000))  # 2,000 numbers, no full stop
    assert extract_claims(dump, "de") == []
    assert calls[0] == 0  # each piece holds more figures than a sentence can: never ranked
    calls[0] = 0
    long_sentence = ("Nvidia holds 80 % of the AI chip market, " + "and analysts talk a lot " * 230)[:5000]
    claims = extract_claims(long_sentence, "en")
    assert [(c.subject, c.value) for c in claims] == [("Nvidia", 80)]
    assert calls[0] < 200  # the work grows with figures x cues, not with the length of the text


def test_reference_rates_convert_and_leave_missing_dates_empty(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("# test\ndate,currency,per_eur\n2024-12-31,USD,1.0389\n2024-12-31,JPY,163.06\n"
                    "2024-12-31,bogus\n", encoding="utf-8")
    rates = ReferenceRates.load(path)
    assert rates.usd(100, "eur", dt.date(2025, 1, 2)) == pytest.approx(103.89)
    assert rates.usd(16306, "jpy", dt.datetime(2024, 12, 31, 12, tzinfo=dt.UTC)) == pytest.approx(103.89)
    assert rates.usd(100, "jpy", dt.date(2025, 3, 1)) is None       # no fixing within 7 days
    assert rates.usd(100, "twd", dt.date(2024, 12, 31)) is None     # no TWD rate at all
    assert rates.usd(100, "eur", dt.date(2024, 12, 30)) is None     # before the first fixing
    assert rates.usd(5, "usd", dt.date(1999, 1, 1)) == 5
    assert ReferenceRates.load(tmp_path / "missing.csv").usd(1, "eur", dt.date(2025, 1, 1)) is None


def test_bundled_rate_table_names_its_source_and_date():
    from pipeline.indicators.rates import DEFAULT_FILE
    head = DEFAULT_FILE.read_text(encoding="utf-8")
    assert "European Central Bank" in head and "2024-12-31" in head
    assert ReferenceRates.load().usd(1_000_000, "gbp", dt.date(2024, 12, 31)) == pytest.approx(1_000_000 / 0.82918 * 1.0389, rel=1e-6)


def test_entities_file_has_german_and_english_aliases_and_every_type():
    defs = load_definitions()
    types = {t for s in defs.subjects for t in s.types}
    assert {"model", "group", "chip", "company", "country", "bloc", "region", "fund", "agency"} <= types
    by_name = {s.name: s for s in defs.subjects}
    assert {"Niederlande", "Netherlands"} <= set(by_name["Netherlands"].aliases)
    assert by_name["Big Fund"].counts_as == "China"
    assert text_rules.default_extractor().entity_counts("Huawei's Ascend 910C and Huawei again") == {
        "Huawei": 2, "Ascend 910C": 1}
