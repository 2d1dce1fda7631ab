"""Scoring the text extractor on labelled sentences (tests and bench/indicators.py share it).

A claim matches a label when indicator, subject, unit and value agree (value within 0.01 % or
0.01 absolute, so thirds written as 33.333 match; for performance ratios p percent equals p/100
ratio). The target year is scored on the matched claims only, as the issue asks ("target year
right on >= 0.95 of matched claims"); `strict` counts a claim only when its target year is right too.
Items with a `context` (the sentence before) are read with that sentence in front, so a subject
can be carried over; only claims quoted from the item's own text count.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "indicators"


def load_labels(path: Path) -> list[dict]:
    items = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    assert isinstance(items, list) and items
    return items


def _as_percent(kind: str, value: float, unit: str) -> tuple[float, str]:
    if kind == "performance_ratio" and unit == "ratio":
        return value * 100, "percent"
    return value, unit


def _same(claim, label: dict, kind_of) -> bool:
    if claim.indicator != label["indicator"] or claim.subject != label["subject"]:
        return False
    kind = kind_of(label["indicator"])
    got_value, got_unit = _as_percent(kind, float(claim.value), claim.unit)
    want_value, want_unit = _as_percent(kind, float(label["value"]), label["unit"])
    if got_unit != want_unit:
        return False
    return abs(got_value - want_value) <= max(0.01, abs(want_value) * 1e-4)


def item_claims(extract, item: dict) -> list:
    text = item["text"]
    if item.get("context"):
        claims = extract(item["context"] + "\n\n" + text, item["lang"])
        return [c for c in claims if c.quote and c.quote in text]
    return extract(text, item["lang"])


class Tally:
    def __init__(self):
        self.tp = self.fp = self.fn = self.year_ok = self.strict_tp = 0
        self.ref_total = self.ref_ok = 0

    def as_dict(self) -> dict:
        got, want = self.tp + self.fp, self.tp + self.fn
        return {"precision": self.tp / got if got else 1.0, "recall": self.tp / want if want else 1.0,
                "target_year_ok": self.year_ok / self.tp if self.tp else 1.0,
                "strict_recall": self.strict_tp / want if want else 1.0,
                "reference_ok": self.ref_ok / self.ref_total if self.ref_total else 1.0,
                "tp": self.tp, "fp": self.fp, "fn": self.fn}


def score(items: list[dict], extract, kind_of) -> dict:
    """Totals, per kind and per language, and the list of misses (for dev-half tuning only)."""
    total, by_kind, by_lang = Tally(), defaultdict(Tally), defaultdict(Tally)
    misses = []
    for item in items:
        got = item_claims(extract, item)
        labels = list(item["expect"])
        unmatched = list(range(len(labels)))
        for claim in got:
            hit = next((i for i in unmatched if _same(claim, labels[i], kind_of)), None)
            tallies = (total, by_kind[claim.kind], by_lang[item["lang"]])
            if hit is None:
                for t in tallies:
                    t.fp += 1
                misses.append(f"extra ({claim.indicator}, {claim.subject}, {claim.value:g} {claim.unit}, "
                              f"{claim.target_year}) in: {item['text']}")
                continue
            unmatched.remove(hit)
            label = labels[hit]
            year_ok = claim.target_year == label.get("target_year")
            for t in (total, by_kind[kind_of(label["indicator"])], by_lang[item["lang"]]):
                t.tp += 1
                t.year_ok += year_ok
                t.strict_tp += year_ok
                if label.get("reference"):
                    t.ref_total += 1
                    t.ref_ok += getattr(claim, "reference", None) == label["reference"]
            if not year_ok:
                misses.append(f"year {claim.target_year} != {label.get('target_year')} in: {item['text']}")
        for i in unmatched:
            label = labels[i]
            for t in (total, by_kind[kind_of(label["indicator"])], by_lang[item["lang"]]):
                t.fn += 1
            misses.append(f"missed ({label['indicator']}, {label['subject']}, {label['value']} {label['unit']}, "
                          f"{label.get('target_year')}) in: {item['text']}")
    return {"total": total.as_dict(), "kinds": {k: v.as_dict() for k, v in sorted(by_kind.items())},
            "languages": {k: v.as_dict() for k, v in sorted(by_lang.items())}, "misses": misses,
            "sentences": len(items), "traps": sum(1 for i in items if not i["expect"])}
