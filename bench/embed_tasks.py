"""The embed and themes stages as one task and as two tasks at once (two processes sharing one
backlog through their SKIP LOCKED claims), outside Airflow, on a throw-away embedded Postgres
with N generated articles (bench/embed.py's corpus, each body three times over): wall time of
each configuration and, per task, what it embedded and where its time went (encode, claim,
write). Alternating 1, 2, 1, 2 tasks in one run; every task runs NEWSMON_EMBED_THREADS=1.

    .venv/bin/python bench/embed_tasks.py [N]        # default 2000

The sum of "embedded" over the two tasks is N when no article is embedded twice.
"""

from __future__ import annotations

import os
import sys
import time
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from embed import bench_database, generated_articles  # noqa: E402  (bench/embed.py)


def _task(url: str, home: str, ready, go, results) -> None:
    """One task: load the model, say ready, wait for the common start, embed then theme."""
    sys.path.insert(0, str(ROOT))
    import pipeline.store.embeddings as embeddings_store
    from pipeline.embed.encoders import load_encoder
    from pipeline.embed.stage import run_embed
    from pipeline.infra.config import Settings
    from pipeline.infra.progress import NullReporter
    from pipeline.infra.runtime import Runtime
    from pipeline.themes.stage import run_themes

    settings = Settings.from_env({"NEWSMON_DATABASE_URL": url, "NEWSMON_HOME": home, "NEWSMON_EMBED_THREADS": "1"})
    rt = Runtime.open(settings, url=url, auto_upgrade=False, progress=NullReporter())
    encoder = load_encoder(settings)
    encoder.encode(["warm up"])
    spent = {"encode": 0.0, "claim": 0.0, "write": 0.0}

    def timed(name, fn):
        def call(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0
        return call

    embeddings_store.claim_pending = timed("claim", embeddings_store.claim_pending)
    embeddings_store.write_vectors = timed("write", embeddings_store.write_vectors)
    encoder.encode = timed("encode", encoder.encode)
    ready.release()
    go.wait()
    t0, cpu0 = time.perf_counter(), time.process_time()
    embedded = run_embed(rt, encoder=encoder).counts.get("embedded", 0)
    t1 = time.perf_counter()
    run_themes(rt, encoder=encoder)
    t2, cpu2 = time.perf_counter(), time.process_time()
    rt.close()
    results.put({"embedded": embedded, "embed_s": round(t1 - t0, 1), "themes_s": round(t2 - t1, 1),
                 "cpu_s": round(cpu2 - cpu0, 1), **{k: round(v, 1) for k, v in spent.items()}})


def main() -> None:
    import psycopg

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    articles = [(title, f"{body} " * 3, lang) for title, body, lang in generated_articles(n)]
    ctx = get_context("spawn")
    with bench_database(articles) as (url, home):
        for tasks in (1, 2, 1, 2):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DELETE FROM article_themes")
                conn.execute("DELETE FROM embeddings")
                conn.execute("VACUUM ANALYZE embeddings, articles")
            ready, go, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
            procs = [ctx.Process(target=_task, args=(url, home, ready, go, results)) for _ in range(tasks)]
            for proc in procs:
                proc.start()
            for _ in procs:  # every model loaded before the clock starts
                ready.acquire()
            t0 = time.perf_counter()
            go.set()
            rows = [results.get() for _ in procs]
            wall = time.perf_counter() - t0
            for proc in procs:
                proc.join()
            print(f"{tasks} task(s): wall {wall:.1f} s; embedded {sum(r['embedded'] for r in rows)} of {n}; "
                  f"per task {rows}", flush=True)


if __name__ == "__main__":
    main()
