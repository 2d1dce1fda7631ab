"""Indicator text rules on the labelled halves: precision, recall and target-year accuracy, per
kind and per language.

    .venv/bin/python bench/indicators.py [--half dev|dev2|dev3|old|test|all] [--misses]

`dev` is sentences_dev.yaml, `dev2` the second dev half written in round 3 (before that round's rule
changes), `dev3` the third (written before the second pass of round 3), `old` the older sentences.yaml and sentences_holdout.yaml (all tuned on); `test` is the
frozen sentences_test.yaml, for reporting only (never print its misses to write rules: --misses is
refused for it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.indicators.defs import load_definitions
from pipeline.indicators.text import extract_claims
from tests.support.indicator_labels import RESOURCES, load_labels, score

HALVES = {"dev": ["sentences_dev.yaml"], "dev2": ["sentences_dev2.yaml"], "dev3": ["sentences_dev3.yaml"],
          "old": ["sentences.yaml", "sentences_holdout.yaml"],
          "test": ["sentences_test.yaml"]}


def _line(name: str, s: dict) -> str:
    return (f"  {name:<24} precision {s['precision']:.3f}  recall {s['recall']:.3f}  "
            f"target year {s['target_year_ok']:.3f}  strict recall {s['strict_recall']:.3f}  "
            f"reference {s['reference_ok']:.3f}  (tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--half", choices=["dev", "dev2", "dev3", "old", "test", "all"], default="all")
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args()
    if args.misses and args.half in ("test", "all"):
        ap.error("--misses is for the dev halves only (the test half is frozen)")
    defs = load_definitions()
    kinds = {i.key: i.kind for i in defs.indicators}
    for half in (["dev", "dev2", "dev3", "old", "test"] if args.half == "all" else [args.half]):
        items = [i for name in HALVES[half] for i in load_labels(RESOURCES / name)]
        s = score(items, extract_claims, lambda key: kinds.get(key, key))
        print(f"{half}: {s['sentences']} sentences ({s['traps']} traps)")
        print(_line("all", s["total"]))
        for name, part in {**s["kinds"], **s["languages"]}.items():
            print(_line(name, part))
        if args.misses:
            print("\n".join("    " + m for m in s["misses"]))


if __name__ == "__main__":
    main()
