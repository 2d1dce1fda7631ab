"""BLAS threads around the encoder: embedding and theming of N development articles, in one
process and in two processes at once (as two embedding tasks on a 2-core worker), with the
process's BLAS pools at their default (one thread per core) and held to one thread
(``pipeline.embed.encoders.blas_threads``, what NEWSMON_EMBED_THREADS=1 sets). Prints wall and
CPU seconds of each phase per process; the ratio that matters is side by side in one run.

    .venv/bin/python bench/blas_threads.py            # 300 articles
    .venv/bin/python bench/blas_threads.py --articles 1000
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _work(n: int, limit: int, queue) -> None:
    sys.path.insert(0, str(ROOT))
    from pipeline.embed.encoders import UseEncoder, blas_threads
    from pipeline.themes.calibrate import shipped_calibration
    from pipeline.themes.exemplars import exemplars_of
    from pipeline.themes.scorer import ThemeParams, ThemeScorer
    from pipeline.themes.taxonomy import default_taxonomy
    from pipeline.labelled import dev_articles

    articles = (dev_articles() * 5)[:n]
    encoder = UseEncoder(threads=1)
    params = ThemeParams.from_json(shipped_calibration(encoder.name)["params"]["themes"])
    with blas_threads(limit):
        scorer = ThemeScorer(default_taxonomy(), encoder, params, exemplars_of(encoder))
        t0, c0 = time.perf_counter(), time.process_time()
        vectors = encoder.encode([f"{a.title}. {a.body}" for a in articles])
        t1, c1 = time.perf_counter(), time.process_time()
        for i in range(0, n, 50):
            part = articles[i:i + 50]
            scorer.assign(vectors[i:i + 50], [a.title for a in part], [a.body[:500] for a in part],
                          [a.language for a in part])
        t2, c2 = time.perf_counter(), time.process_time()
    queue.put((t1 - t0, c1 - c0, t2 - t1, c2 - c1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=300)
    args = parser.parse_args()
    ctx = get_context("spawn")
    print(f"{args.articles} articles per process; seconds: embed wall/CPU, theme wall/CPU")
    for limit, label in ((0, "BLAS default"), (1, "BLAS 1 thread")):
        for procs in (1, 2):
            queue = ctx.Queue()
            workers = [ctx.Process(target=_work, args=(args.articles, limit, queue)) for _ in range(procs)]
            for w in workers:
                w.start()
            rows = [queue.get() for _ in workers]
            for w in workers:
                w.join()
            cells = "  ".join(f"{a:.2f}/{b:.2f}, {c:.2f}/{d:.2f}" for a, b, c, d in rows)
            print(f"{label:14} {procs} process{'es' if procs > 1 else '  '}: {cells}", flush=True)


if __name__ == "__main__":
    main()
