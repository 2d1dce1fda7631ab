"""The embed and themes stages as one task and as two tasks at once (two processes sharing one
backlog through their SKIP LOCKED claims), outside Airflow, on a throw-away embedded Postgres
with N generated articles: wall time of each configuration and, per task, what it embedded and
where its time went (encode, claim, write). Alternating 1, 2, 1, 2 in one run.

    .venv/bin/python bench/embed_tasks.py [N]        # default 2000

The sum of "embedded" over the two tasks is N when no article is embedded twice.
"""
import os, sys, time, tempfile
from datetime import datetime, timezone
from pathlib import Path
from multiprocessing import get_context
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT); sys.path.insert(0, os.path.join(ROOT, "bench"))
os.environ["HF_HUB_OFFLINE"] = "1"
import numpy as np

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000

def child(url, home, q, do_themes):
    sys.path.insert(0, ROOT)
    from pipeline.infra.config import Settings
    from pipeline.embed.stage import run_embed
    from pipeline.themes.stage import run_themes
    from pipeline.infra.progress import NullReporter
    from pipeline.infra.runtime import Runtime
    from pipeline.embed import encoders
    import pipeline.store.embeddings as es
    settings = Settings.from_env({"NEWSMON_DATABASE_URL": url, "NEWSMON_HOME": home, "NEWSMON_EMBED_THREADS": "1"})
    rt = Runtime.open(settings, url=url, auto_upgrade=False, progress=NullReporter())
    enc = encoders.load_encoder(settings)
    enc.encode(["warm up"])
    spent = {"encode": 0.0, "claim": 0.0, "write": 0.0}
    def timed(name, fn):
        def call(*a, **k):
            t0 = time.perf_counter()
            try: return fn(*a, **k)
            finally: spent[name] += time.perf_counter() - t0
        return call
    es.claim_pending = timed("claim", es.claim_pending)
    es.write_vectors = timed("write", es.write_vectors)
    enc_encode = enc.encode
    enc.encode = timed("encode", enc_encode)
    q.put("ready"); 
    while not os.path.exists(home + "/go"): time.sleep(0.01)
    t0, c0 = time.perf_counter(), time.process_time()
    r = run_embed(rt, encoder=enc)
    t1 = time.perf_counter()
    if do_themes: run_themes(rt, encoder=enc)
    t2, c2 = time.perf_counter(), time.process_time()
    q.put({"embedded": r.counts.get("embedded"), "embed_s": round(t1-t0,1), "themes_s": round(t2-t1,1), "cpu": round(c2-c0,1), **{k: round(v,1) for k,v in spent.items()}})
    rt.close()

def main():
    from embed import labelled_corpus, demo_corpus
    from pipeline.infra import db
    import psycopg
    base = labelled_corpus() + demo_corpus()
    rng = np.random.default_rng(7)
    arts = []
    for i in range(N):
        a, b = base[i % len(base)], base[rng.integers(len(base))]
        arts.append((f"{a[0]} ({i})", f"{a[1]} {b[1]} " * 3, a[2]))
    with tempfile.TemporaryDirectory() as home:
        server = db.EmbeddedPostgres(Path(home)); server.start()
        try:
            with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            url = server.url("bench"); db.upgrade(url)
            with psycopg.connect(url) as conn:
                with conn.cursor().copy("COPY articles (url, canonical_url, title, body_text, language, published_at, extract_status) FROM STDIN") as copy:
                    for i, (t, b, lang) in enumerate(arts):
                        u = f"https://bench.example/{i}"
                        copy.write_row((u, u, t, b, lang, datetime(2025, 3, 1, tzinfo=timezone.utc), "ok"))
            ctx = get_context("spawn")
            mode = sys.argv[2] if len(sys.argv) > 2 else "embed+themes"
            for procs in (1, 2, 1, 2):
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("DELETE FROM article_themes"); conn.execute("DELETE FROM embeddings")
                    conn.execute("VACUUM ANALYZE embeddings"); conn.execute("VACUUM ANALYZE articles")
                if os.path.exists(home + "/go"): os.remove(home + "/go")
                q = ctx.Queue()
                ps = [ctx.Process(target=child, args=(url, home, q, mode == "embed+themes")) for _ in range(procs)]
                [p.start() for p in ps]
                [q.get() for _ in ps]
                t0 = time.perf_counter()
                Path(home + "/go").touch()
                res = [q.get() for _ in ps]
                wall = time.perf_counter() - t0
                [p.join() for p in ps]
                print(f"{procs} task(s): wall {wall:.1f}s", res, flush=True)
        finally:
            server.stop()
if __name__ == "__main__":
    main()
