"""The text extractor: number grammar, sentence splitting, and precision/recall on labelled sentences.

Precision and recall are printed (run with -s to see them; they are also in the README). Extra
labelled files in the same format can be measured with NEWSMON_INDICATOR_LABELS=path[:path...].
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from pipeline.indicators.defs import IndicatorConfigError
from pipeline.indicators.stage import (Claim, extract_claims, load_definitions, parse_definitions, split_sentences)
from pipeline.indicators.text import find_mentions, parse_number
from tests.support.indicator_labels import RESOURCES, load_labels, score

LABEL_FILES = [RESOURCES / "sentences.yaml", RESOURCES / "sentences_holdout.yaml", RESOURCES / "sentences_dev.yaml",
               RESOURCES / "sentences_dev2.yaml", RESOURCES / "sentences_dev3.yaml"]


# --------------------------------------------------------------------------- number grammar

@pytest.mark.parametrize("raw, lang, expected", [
    ("1,6", "de", 1.6), ("1.6", "en", 1.6), ("1,600,000", "en", 1600000), ("1.600.000", "de", 1600000),
    ("1.600", "de", 1600), ("1,600", "en", 1600), ("1,600", "de", 1.6), ("1.600", "en", 1.6),
    ("1.234,5", "de", 1234.5), ("1,234.5", "en", 1234.5), ("0,125", "de", 0.125), ("0.125", "de", 0.125),
    ("12", "en", 12), ("1\u202f600\u202f000", "de", 1600000), ("1.6", "de", 1.6),
])
def test_parse_number_german_and_english_notation(raw, lang, expected):
    assert float(parse_number(raw, lang)) == pytest.approx(expected)


@pytest.mark.parametrize("text, lang, value, unit", [
    ("1,6 Millionen Downloads", "de", 1_600_000, "count"),
    ("1.6 million downloads", "en", 1_600_000, "count"),
    ("1,600,000 downloads", "en", 1_600_000, "count"),
    ("1.600.000 Mal", "de", 1_600_000, "count"),
    ("eine Million Downloads", "de", 1_000_000, "count"),
    ("70 Prozent", "de", 70, "percent"),
    ("70 %", "de", 70, "percent"),
    ("70%", "en", 70, "percent"),
    ("60 per cent", "en", 60, "percent"),
    ("$1.2 billion", "en", 1_200_000_000, "usd"),
    ("US$80bn", "en", 80_000_000_000, "usd"),
    ("$500M", "en", 500_000_000, "usd"),
    ("1,2 Mrd. US-Dollar", "de", 1_200_000_000, "usd"),
    ("3 Milliarden Euro", "de", 3_000_000_000, "eur"),
    ("€9.9 billion", "en", 9_900_000_000, "eur"),
    ("5-Milliarden-Dollar-Fonds", "de", 5_000_000_000, "usd"),
    ("344 Milliarden Yuan", "de", 344_000_000_000, "cny"),
    ("2 Billionen Dollar", "de", 2_000_000_000_000, "usd"),
    ("2 billion dollars", "en", 2_000_000_000, "usd"),
    ("2,5-mal so schnell", "de", 2.5, "ratio"),
    ("2.5 times the performance", "en", 2.5, "ratio"),
    ("doppelt so schnell", "de", 2, "ratio"),
])
def test_figures_are_normalised(text, lang, value, unit):
    mentions = find_mentions(text, lang)
    assert len(mentions) == 1, mentions
    assert mentions[0].value == pytest.approx(value)
    assert mentions[0].unit == unit


@pytest.mark.parametrize("text", [
    "Im Jahr 2028", "am 12.03.2025", "on 2025-03-12", "call +49 30 1234567", "Qwen2.5-7B", "Ascend 910B",
    "the H100", "scored 85 on MMLU", "240 Seiten", "um 14:30 Uhr",
])
def test_non_figures_are_not_mentions(text):
    assert find_mentions(text, "de") == []
    assert find_mentions(text, "en") == []


def test_approximation_and_change_flags():
    rund, = find_mentions("rund 60 %", "de")
    assert rund.approximate
    exact, = find_mentions("genau 60 %", "de")
    assert not exact.approximate
    up, = find_mentions("sales rose by 20%", "en")
    assert up.change
    faster, = find_mentions("30 % schneller", "de")
    assert faster.change


# --------------------------------------------------------------------------- sentences and claims

def test_split_sentences_keeps_abbreviations_and_dates_together():
    text = ("Huawei investiert 3 Mrd. Euro in Chips. Am 3. März 2025 folgte die EU.\n"
            "Nvidia's market share fell to 50%. The U.S. government disagreed!")
    assert split_sentences(text) == [
        "Huawei investiert 3 Mrd. Euro in Chips.", "Am 3. März 2025 folgte die EU.",
        "Nvidia's market share fell to 50%.", "The U.S. government disagreed!",
    ]


def test_claim_fields_and_target_year():
    claims = extract_claims("Peking will bis 2028 eine Selbstversorgungsquote von rund 70 Prozent bei "
                            "Halbleitern erreichen. Der Umsatz stieg um 5 Prozent.", "de")
    assert claims == [Claim(indicator="chip_self_sufficiency", kind="self_sufficiency_target", subject="China",
                            value=70.0, unit="percent", target_year=2028, approximate=True,
                            quote="Peking will bis 2028 eine Selbstversorgungsquote von rund 70 Prozent bei "
                                  "Halbleitern erreichen.")]


def test_text_with_nul_bytes_and_noise_is_handled():
    text = "Nvidia\x00 holds 80 % of the AI chip market.\x07 " + "x" * 5000
    claims = extract_claims(text, "en")
    assert [(c.subject, c.value) for c in claims] == [("Nvidia", 80.0)]
    assert "\x00" not in claims[0].quote


def _load_labels(path: Path) -> list[dict]:
    return load_labels(path)


def _kind_of(key: str) -> str:
    return {i.key: i.kind for i in load_definitions().indicators}.get(key, key)


def _report(name: str, s: dict) -> None:
    t = s["total"]
    print(f"\n[indicators] {name}: {s['sentences']} sentences ({s['traps']} traps): precision {t['precision']:.3f}, "
          f"recall {t['recall']:.3f}, target year {t['target_year_ok']:.3f} (tp {t['tp']}, fp {t['fp']}, fn {t['fn']})")
    for line in s["misses"]:
        print(f"    {line}")


def test_labelled_set_is_large_enough_and_mixed():
    items = _load_labels(LABEL_FILES[0])
    positives = [i for i in items if i["expect"]]
    traps = [i for i in items if not i["expect"]]
    assert len(positives) >= 40 and len(traps) >= 15
    assert {i["lang"] for i in positives} == {"de", "en"} and {i["lang"] for i in traps} == {"de", "en"}
    kinds = {load_definitions().by_key(e["indicator"]).kind for i in positives for e in i["expect"]}
    assert kinds == {"downloads", "self_sufficiency_target", "performance_ratio", "market_share", "investment"}


# floors on the DEV halves (tuned on, so in-sample: measured 1.00/1.00 on all five after the second
# pass of round 3; sentences_dev3.yaml scored 0.93/0.78 unseen before it); the frozen test half is
# measured by bench/indicators.py only
@pytest.mark.parametrize("path, precision, recall", [
    (RESOURCES / "sentences.yaml", 0.95, 0.95),
    (RESOURCES / "sentences_holdout.yaml", 0.95, 0.95),
    (RESOURCES / "sentences_dev.yaml", 0.97, 0.97),
    (RESOURCES / "sentences_dev2.yaml", 0.97, 0.97),
    (RESOURCES / "sentences_dev3.yaml", 0.97, 0.97),
], ids=lambda p: getattr(p, "name", str(p)))
def test_precision_and_recall_on_labelled_sentences(path, precision, recall):
    s = score(_load_labels(path), extract_claims, _kind_of)
    _report(path.name, s)
    assert s["total"]["precision"] >= precision, s["misses"]
    assert s["total"]["recall"] >= recall, s["misses"]
    assert s["total"]["target_year_ok"] >= 0.9, s["misses"]


def test_traps_yield_nothing():
    traps = [i for f in (LABEL_FILES[0], LABEL_FILES[1], LABEL_FILES[3], LABEL_FILES[4]) for i in _load_labels(f) if not i["expect"]]
    leaked = {i["text"]: extract_claims(i["text"], i["lang"]) for i in traps}
    assert {t: c for t, c in leaked.items() if c} == {}


@pytest.mark.skipif(not os.environ.get("NEWSMON_INDICATOR_LABELS"), reason="NEWSMON_INDICATOR_LABELS not set")
def test_extra_labelled_files_from_environment():
    for name in os.environ["NEWSMON_INDICATOR_LABELS"].split(os.pathsep):
        s = score(_load_labels(Path(name)), extract_claims, _kind_of)
        _report(name, s)
        assert s["total"]["precision"] >= 0.9 and s["total"]["recall"] >= 0.8


# --------------------------------------------------------------------------- definitions

def test_bundled_definitions_are_valid():
    defs = load_definitions()
    kinds = {i.kind for i in defs.indicators}
    assert kinds == {"downloads", "self_sufficiency_target", "performance_ratio", "market_share", "investment"}
    assert {s.provider for s in defs.api_sources} == {"huggingface", "github"}
    assert "Qwen/Qwen2.5-7B-Instruct" in {s.repo for s in defs.api_sources}
    assert defs.by_key("chip_self_sufficiency").targets["China"].value == 70


@pytest.mark.parametrize("data, message", [
    ({"indicators": [{"key": "x", "kind": "nope", "unit": "count"}]}, "kind must be one of"),
    ({"indicators": [{"key": "x", "kind": "downloads", "unit": "count", "subject_types": ["model"],
                      "values": ["count"], "cues": ["(unclosed"]}]}, "bad regex"),
    ({"indicators": [{"key": "x", "kind": "downloads", "unit": "count", "subject_types": ["model"],
                      "values": ["count"]}]}, "needs cues"),
    ({"indicators": [{"key": "x", "kind": "downloads", "unit": "count", "subject_types": ["model"],
                      "values": ["count"], "cues": ["downloads"], "cue_exclusions": ["[app"]}]}, "bad regex"),
    ({"subjects": {"Foo": {"type": "planet"}}}, "entity 'Foo'"),
    ({"subjects": {"Fund": {"type": "fund", "counts_as": "Atlantis"}}}, "counts_as 'Atlantis' is not an entity"),
    ({"api_sources": [{"provider": "gitlab", "repo": "a/b"}]}, "needs provider"),
    ({"api_sources": [{"provider": "github", "repo": "not a repo"}]}, "owner/name"),
    ({"api_sources": [{"provider": "github", "repo": "a/b", "entity": "Nobody"}]}, "entity 'Nobody' is not in"),
    ({"colour": "blue"}, "unknown top-level"),
])
def test_bad_definitions_name_the_problem(data, message):
    with pytest.raises(IndicatorConfigError, match=message):
        parse_definitions(data)


def test_adding_an_indicator_is_editing_the_yaml():
    data = yaml.safe_load((Path(__file__).resolve().parents[2] / "pipeline" / "data" / "indicators.yaml")
                          .read_text(encoding="utf-8"))
    data["indicators"].append({"key": "github_stars_text", "kind": "downloads", "unit": "count",
                               "subject_types": ["model"], "values": ["count"], "cues": ["stars?"]})
    defs = parse_definitions(data)
    claims = extract_claims("The Qwen repository has collected 25,000 stars on GitHub.", "en", definitions=defs)
    assert [(c.indicator, c.subject, c.value) for c in claims] == [("github_stars_text", "Qwen", 25000.0)]


def test_runaway_sentences_are_cut_into_bounded_pieces():
    from pipeline.text import MAX_SENTENCE_CHARS

    text = "Nvidia holds 80 % of the AI chip market, " * 200 + "and more"
    pieces = split_sentences(text)
    assert len(pieces) > 1 and all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert " ".join(pieces).split() == text.split()
