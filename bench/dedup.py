"""Near-duplicate signatures: newsmon's SimHash (word 3-grams, numpy) against trafilatura's own
``trafilatura.deduplication.Simhash``, on recall of syndicated copies and on speed.

    .venv/bin/python bench/dedup.py [--n 100000]

Copies: each of the 354 labelled articles (tests/resources/labelled/*.yaml) with the edits
syndication makes (a credit line added, the byline changed, the last sentence cut, a sentence
added, quotes and dashes respelled). A copy is a candidate when its signature is within the
candidate distance of the original's: SIMHASH_CANDIDATE_BITS (12 of 64 bits) for both. False
candidates: pairs of different articles of the same event (the labelled set's stories) and of
unrelated articles. Speed: signatures computed per second (100,000 texts made of labelled
sentences), and one new article compared against a window of --n signatures (the comparison is
the same numpy code for both signatures).
"""

from __future__ import annotations

import argparse
import itertools
import random
import time

import numpy as np
import yaml

from pipeline.ingest.dedup import SIMHASH_CANDIDATE_BITS
from pipeline.ingest.extract import simhash
from trafilatura.deduplication import Simhash

FILES = [f"tests/resources/labelled/{n}.yaml" for n in ("articles", "articles_dev", "articles_test")]


def ours(text: str) -> int:
    return simhash(text) & 0xFFFFFFFFFFFFFFFF


def theirs(text: str) -> int:
    return Simhash(text).hash


def syndicate(text: str, rng: random.Random) -> list[str]:
    sentences = text.replace("\n", " ").split(". ")
    return [
        "This story first appeared in The Harbour Ledger and is republished here.\n" + text,
        "By Wire Staff\n" + text,
        ". ".join(sentences[:-1]) + "." if len(sentences) > 2 else text,
        text + " The company did not respond to a request for comment.",
        text.replace("'", "’").replace(" - ", " – ").replace('"', "“"),
    ]


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(7)
    articles = [a for f in FILES for a in yaml.safe_load(open(f, encoding="utf-8"))["articles"]]
    texts = [a["title"] + "\n" + a["body"] for a in articles]
    for name, sig in (("newsmon simhash", ours), ("trafilatura Simhash", theirs)):
        base = [sig(t) for t in texts]
        found = total = 0
        for t, h in zip(texts, base):
            for copy in syndicate(t, rng):
                total += 1
                found += distance(sig(copy), h) <= SIMHASH_CANDIDATE_BITS
        same_story = [(i, j) for i, j in itertools.combinations(range(len(articles)), 2)
                      if articles[i]["story"] and articles[i]["story"] == articles[j]["story"]]
        unrelated = rng.sample([(i, j) for i, j in itertools.combinations(range(len(articles)), 2)
                                if articles[i]["story"] != articles[j]["story"]], 5000)
        fp_story = sum(distance(base[i], base[j]) <= SIMHASH_CANDIDATE_BITS for i, j in same_story)
        fp_other = sum(distance(base[i], base[j]) <= SIMHASH_CANDIDATE_BITS for i, j in unrelated)
        sentences = [s for t in texts for s in t.replace("\n", " ").split(". ")]
        corpus = [". ".join(rng.sample(sentences, 6)) for _ in range(2000)]
        start = time.perf_counter()
        for t in corpus:
            sig(t)
        per_s = len(corpus) / (time.perf_counter() - start)
        print(f"{name}: copies found {found}/{total} ({found / total:.1%}); false candidates: same event "
              f"{fp_story}/{len(same_story)}, unrelated {fp_other}/{len(unrelated)}; "
              f"{per_s:,.0f} signatures/s -> {args.n / per_s:,.1f} s for {args.n:,}")
    window = np.array([rng.getrandbits(64) for _ in range(args.n)], dtype=np.uint64)
    start = time.perf_counter()
    for _ in range(100):
        np.flatnonzero(np.bitwise_count(window ^ np.uint64(rng.getrandbits(64))) <= SIMHASH_CANDIDATE_BITS)
    print(f"one article against {args.n:,} signatures: {(time.perf_counter() - start) / 100 * 1000:.2f} ms (both)")


if __name__ == "__main__":
    main()
