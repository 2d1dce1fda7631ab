"""Which evidence tells two reports of one event from two neighbouring events (issue 12, stories)?

A cheap test of new story evidence before it goes into the clustering: every pair of reports of
one held-out story set that lie within the story window (7 days) is a row, labelled "same event"
or not; a logistic regression is fitted on the pairs of the earlier rounds and scored on the later
ones (average precision, and the best pairwise F1 over thresholds). The first feature set is the
evidence the placement score already weighs (pipeline/stories/cluster.py: cosine, lexical share,
time gap, subject conflict, cross-lingual); each candidate row adds one feature to it. A candidate
that does not lift the pairwise figures here is unlikely to lift the clustering; one that does
still has to be built and judged on fresh sets (the clustering is sequential and transitive, this
is pairwise). One clustering of every story set costs ~25 s a parameter cell; this costs seconds
once the vectors are encoded.

    .venv/bin/python bench/story_signals.py [--model NAME] [--train-last-round 17] [--last-round N]
                                            [--lead 400] [--second-model NAME] [--boosted]

Sets of rounds after --last-round (by default pipeline.labelled.MEASURED_LAST_ROUND) are left
out: they are kept fresh, unmeasured, to judge the next story candidate by a rule written first.

Vectors are cached under bench/out/story_signals/ (E5 takes ~8 min for the ~5,800 reports).
The pairwise lexical share here is article-to-article and ignores the clusterer's cross-lingual
"portable terms" rule: a proxy, the same for every row.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from pipeline.embed.encoders import E5_MODEL, USE_MODEL, load_encoder  # noqa: E402
from pipeline.embed.stage import DEFAULT_MAX_CHARS, encode_articles  # noqa: E402
from pipeline.labelled import MEASURED_LAST_ROUND, held_out_files, load_labelled  # noqa: E402
from pipeline.stories.actors import is_role_key  # noqa: E402
from pipeline.stories.evidence import FIGURE_PREFIX, is_evidence_key, subject_keys  # noqa: E402
from pipeline.stories.state import IDF_OFFSET, LEXICAL_FLOOR  # noqa: E402
from pipeline.stories.terms import NAME, terms_of  # noqa: E402

CACHE = Path(__file__).resolve().parent / "out" / "story_signals"
WINDOW_DAYS = 7
RARE_NAME_SHARE = 0.05  # a headline name in at most this share of the set's reports is "rare"
# once per encoder, not once per cached file; by id, since the bundled encoders are dataclasses,
# which do not hash. The entry holds the encoder too, so its id cannot be reused by another one.
_PROBES: dict[int, tuple[object, bytes]] = {}


def _probe(encoder) -> bytes:
    """The encoder's vector of one fixed text, rounded: what the model computes, for cache keys."""
    if id(encoder) not in _PROBES:
        _PROBES[id(encoder)] = (encoder, np.round(np.asarray(
            encoder.encode(["newsmon cache probe: chips, sanctions, open models"])[0]), 3).tobytes())
    return _PROBES[id(encoder)][1]


BASE = ("cosine", "lexical", "gap", "subject_conflict", "cross_lingual", "cosine_x_cross_lingual")
CANDIDATES = ("headline_overlap", "rare_name_conflict", "headline_figure_conflict", "lead_cosine", "second_cosine")


def cached_vectors(encoder, path: Path, articles, max_chars: int) -> np.ndarray:
    digest = hashlib.sha256("".join(a.id + a.title + a.body for a in articles).encode())
    digest.update(_probe(encoder))  # a re-shipped E5 centre (0.9.6) changes every vector: a new cache file
    file = CACHE / f"{encoder.name.replace('/', '__')}-{max_chars}-{path.stem}-{digest.hexdigest()[:12]}.npy"  # hub names have a /
    if file.is_file():
        return np.load(file)
    vectors = encode_articles(encoder, [(a.title, a.body) for a in articles], max_chars=max_chars)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(file, vectors)
    return vectors


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _share(weights: dict[str, float], mine: set[str], theirs: set[str], floor: float) -> float:
    """IDF mass of my terms that the other report uses, over my IDF mass (at least ``floor``)."""
    return sum(weights[k] for k in mine & theirs) / max(floor, sum(weights[k] for k in mine))


def pair_rows(articles, vectors: np.ndarray, lead: np.ndarray | None, second: np.ndarray | None,
              subjects: frozenset) -> tuple[np.ndarray, np.ndarray]:
    """One row of features per pair of reports within the window, and whether they are one event."""
    n = len(articles)
    # role keys (who imposes a sanction) are no words: the clusterer leaves them out of every share
    terms = [{k: v for k, v in terms_of(a.title, a.body, language=a.language).items() if not is_role_key(k)}
             for a in articles]
    df = Counter(k for t in terms for k in t)
    idf = {k: max(0.0, math.log((n + 1) / (c + 1)) - IDF_OFFSET) for k, c in df.items()}
    keys = [set(t) for t in terms]
    titles = [{k for k, v in t.items() if v[1]} for t in terms]
    heads = [{k for k in title if k in subjects} for title in titles]
    rare = [{k for k in title if terms[i][k][2] == NAME and not is_evidence_key(k) and len(k) >= 3
             and df[k] <= RARE_NAME_SHARE * n} | heads[i] for i, title in enumerate(titles)]
    figures = [{k for k in title if k.startswith(FIGURE_PREFIX)} for title in titles]
    cos = _unit(vectors) @ _unit(vectors).T
    lead_cos = _unit(lead) @ _unit(lead).T if lead is not None else np.zeros((n, n))
    second_cos = _unit(second) @ _unit(second).T if second is not None else np.zeros((n, n))
    rows, same = [], []
    for i in range(n):
        for j in range(i + 1, n):
            gap = abs((articles[i].published_at - articles[j].published_at).total_seconds()) / 86400
            if gap > WINDOW_DAYS:
                continue
            cross = float(articles[i].language != articles[j].language)
            lexical = (_share(idf, keys[i], keys[j], LEXICAL_FLOOR) + _share(idf, keys[j], keys[i], LEXICAL_FLOOR)) / 2
            union = titles[i] | titles[j]
            headline = sum(idf[k] for k in titles[i] & titles[j]) / max(1e-9, sum(idf[k] for k in union))
            rows.append([
                cos[i, j], lexical, gap / WINDOW_DAYS, float(bool(heads[i] and heads[j] and not heads[i] & heads[j])),
                cross, cos[i, j] * cross,
                headline, float(bool(rare[i] and rare[j] and not rare[i] & rare[j])),
                float(bool(figures[i] and figures[j] and not figures[i] & figures[j])), lead_cos[i, j], second_cos[i, j]])
            same.append(articles[i].story == articles[j].story)
    return np.array(rows).reshape(-1, len(BASE) + len(CANDIDATES)), np.array(same, dtype=bool)


def best_f1(y: np.ndarray, p: np.ndarray) -> float:
    """The best pairwise F1 over thresholds on ``p``: pairs of equal score fall on one side together."""
    order = np.argsort(-p, kind="stable")
    ranked = p[order]
    hits = np.cumsum(y[order])
    cut = np.r_[ranked[1:] != ranked[:-1], True]  # only after the last pair of each score
    return float((2 * hits / (np.arange(1, len(p) + 1) + y.sum()))[cut].max())


def score(columns: list[int], train: tuple, test: tuple, boosted: bool) -> tuple[float, float, list[float]]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    (x_train, y_train), (x_test, y_test) = train, test
    model = (HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=0) if boosted
             else LogisticRegression(C=10, max_iter=2000))
    model.fit(x_train[:, columns], y_train)
    p = model.predict_proba(x_test[:, columns])[:, 1]
    weights = [] if boosted else list(model.coef_[0])
    return float(average_precision_score(y_test, p)), best_f1(y_test, p), weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=E5_MODEL)
    parser.add_argument("--train-last-round", type=int, default=17, help="fit on rounds up to this, score the later ones")
    parser.add_argument("--last-round", type=int, default=MEASURED_LAST_ROUND,
                        help="leave out the sets of later rounds (kept fresh for the next candidate)")
    parser.add_argument("--lead", type=int, default=0, help="also a vector of the title and this many characters")
    parser.add_argument("--second-model", default="", help=f"also the cosine of a second model (e.g. {USE_MODEL})")
    parser.add_argument("--boosted", action="store_true", help="gradient-boosted trees instead of a logistic regression")
    args = parser.parse_args()
    # each text is encoded once anyway (cached_vectors keeps them on disk): no in-memory cache
    encoder = load_encoder(args.model, fallback=False)
    second = load_encoder(args.second_model, fallback=False) if args.second_model else None
    subjects = subject_keys()
    parts: dict[bool, tuple[list, list]] = {True: ([], []), False: ([], [])}
    sets = held_out_files(args.last_round)
    for number, (round_, path) in enumerate(sets, 1):
        articles = load_labelled(path)
        print(f"\r{number}/{len(sets)} {path.stem}", end="", file=sys.stderr, flush=True)
        x, y = pair_rows(articles, cached_vectors(encoder, path, articles, DEFAULT_MAX_CHARS),
                         cached_vectors(encoder, path, articles, args.lead) if args.lead else None,
                         cached_vectors(second, path, articles, DEFAULT_MAX_CHARS) if second else None, subjects)
        parts[round_ <= args.train_last_round][0].append(x)
        parts[round_ <= args.train_last_round][1].append(y)
    print(file=sys.stderr)
    train, test = ((np.vstack(parts[k][0]), np.concatenate(parts[k][1])) for k in (True, False))
    print(f"{args.model}: pairs within {WINDOW_DAYS} days, fitted on rounds <= {args.train_last_round} "
          f"({len(train[1])} pairs, {int(train[1].sum())} same-event), scored on rounds {args.train_last_round + 1} "
          f"to {args.last_round} "
          f"({len(test[1])} pairs, {int(test[1].sum())} same-event); "
          + ("gradient-boosted trees" if args.boosted else "logistic regression"))
    names = BASE + CANDIDATES
    wanted = [c for c in CANDIDATES if not (c == "lead_cosine" and not args.lead) and not (c == "second_cosine" and not second)]
    base = list(range(len(BASE)))
    for label, columns in [("the placement score's evidence", base)] + [
            (f"+ {c}", base + [names.index(c)]) for c in wanted] + [("+ all candidates", base + [names.index(c) for c in wanted])]:
        ap, f1, weights = score(columns, train, test, args.boosted)
        shown = ", ".join(f"{names[c]} {w:+.2f}" for c, w in zip(columns, weights))
        print(f"  {label:34} AP {ap:.4f}  best pairwise F1 {f1:.4f}" + (f"  ({shown})" if shown else ""))


if __name__ == "__main__":
    main()
