"""Ingest throughput vs bare trafilatura, measured side by side in one run.

Serves N generated article pages (default 2,000) from 40 feeds on 40 loopback hosts
(127.0.0.2 ... 127.0.0.41) with 100 ms added latency per response, then times
  (a) the full ingest (`run_ingest`: feeds, pages, extraction, Postgres writes), politeness
      lifted to 32 connections and 0.05 s per host (`--concurrency 16 --host-delay 0.25`
      gives the production defaults), with the CPU seconds of each party (main process,
      extraction workers, Postgres, the local test server) and peak memory (sampled),
  (b) a second ingest with nothing new (every feed must answer 304),
  (c) bare trafilatura on the same pages in a 2-process pool ("both cores"):
      `bare_extraction(with_metadata=True)` (the same work: text + metadata) and plain
      `extract()` (text only),
and prints ingest throughput / bare throughput (target >= 0.8), second run / first run
(target < 5 %) and peak memory (target < 1 GB). The bare pool is warm before its clock
starts; the ingest starts its own workers inside its time.

    .venv/bin/python bench/ingest.py            # 2,000 pages, about 3.5 minutes
    .venv/bin/python bench/ingest.py --pages 400
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FEEDS = 40
LATENCY_S = 0.1
LAST_MODIFIED = format_datetime(datetime(2026, 11, 26, 8, tzinfo=timezone.utc), usegmt=True)


# --------------------------------------------------------------------------- corpus


def _sentences() -> list[str]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("demo_articles", ROOT / "pipeline/data/demo/articles.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = []
    for a in mod.ARTICLES:
        for para in a["body"]:
            out.extend(s.strip() + "." for s in para.split(". ") if len(s) > 30)
    return out


def generate(root: Path, pages: int, seed: int = 7) -> list[Path]:
    """Feeds f00..f39 on hosts 127.0.0.2.. each with pages/40 articles; returns the page files."""
    rng = random.Random(seed)
    pool = _sentences()
    words = sorted({w.strip(".,;:") for s in pool for w in s.split() if w.isalpha() and len(w) > 4})
    per_feed = max(1, pages // FEEDS)
    # What makes real news pages 50-150 KB: inline scripts and JSON, mega menus, comments.
    SCRIPTS = "".join(f"<script>window.cfg{k}={{'ads':[{','.join(str(rng.randrange(10**6)) for _ in range(200))}]}};</script>"
                      for k in range(20))
    MENU = "".join(f'<div class="menu-col"><h4>{w}</h4>' + "".join(f'<a href="/{w}/{v}">{v}</a> ' for v in rng.sample(words, 12)) + "</div>"
                   for w in rng.sample(words, 14))
    files = []
    base_time = datetime(2026, 11, 26, 6, tzinfo=timezone.utc)
    for f in range(FEEDS):
        host_dir = root / f"h{f:02d}"
        (host_dir / "a").mkdir(parents=True)
        items = []
        for i in range(per_feed):
            n = f * per_feed + i
            title = " ".join(rng.choice(words) for _ in range(6)).capitalize()
            when = base_time - timedelta(minutes=7 * n)
            paras = []
            for _ in range(rng.randint(5, 9)):
                paras.append(" ".join(rng.sample(pool, rng.randint(2, 4))))
            paras.insert(1, f"Report {n} was filed with reference {rng.randrange(10**9)} and {rng.randint(2, 99)} annexes.")
            related = "".join(f'<li><a href="/a/{rng.randrange(per_feed)}.html">{" ".join(rng.sample(words, 4))}</a></li>' for _ in range(5))
            # A news page's teaser grid: dozens of cards with picture, kicker and headline.
            TEASERS = "".join(
                f'<div class="teaser"><a href="/a/{rng.randrange(per_feed)}.html"><picture><source srcset="/img/{k}.webp 1x, /img/{k}@2x.webp 2x">'
                f'<img src="/img/{k}.jpg" alt="{" ".join(rng.sample(words, 3))}" loading="lazy"></picture>'
                f'<span class="kicker">{rng.choice(words)}</span><h3>{" ".join(rng.sample(words, 7))}</h3></a></div>'
                for k in range(rng.randint(40, 70)))
            body = "".join(f"<p>{p}</p>\n" for p in paras)
            COMMENTS = "".join(f'<div class="comment"><b>reader{rng.randrange(999)}</b> {" ".join(rng.sample(words, 12))}</div>'
                               for _ in range(rng.randint(3, 12)))
            html = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Outlet {f}</title>
<link rel="canonical" href="/a/{i}.html"><meta property="og:site_name" content="Outlet {f}">
<meta property="article:published_time" content="{when.isoformat()}"><meta name="author" content="Writer {n % 37}">
<link rel="stylesheet" href="/s.css">{SCRIPTS}</head><body>
<header><a href="/">Outlet {f}</a><nav>{MENU}</nav></header>
<div class="cookie">We use cookies to improve your experience. <button>Accept</button> <button>Reject</button></div>
<main><article><h1>{title}</h1><p class="byline">By Writer {n % 37}, {when:%d %B %Y}</p>
{body}</article><aside><h2>Related</h2><ul>{related}</ul></aside>
<section class="newsletter">Sign up for our newsletter and get the top stories every morning.</section>
<section class="comments"><h3>Comments</h3>{COMMENTS}</section>
<section class="more-news"><h2>More news</h2>{TEASERS}</section></main>
<footer>{''.join(f'<a href="/info/{k}">Info {k}</a> ' for k in range(15))} &copy; 2026 Outlet {f}</footer></body></html>"""
            path = host_dir / "a" / f"{i}.html"
            path.write_text(html, encoding="utf-8")
            path.with_suffix(".html.gz").write_bytes(gzip.compress(html.encode("utf-8"), 6))  # as web servers send it
            files.append(path)
            items.append(f"<item><title>{title}</title><link>/a/{i}.html?utm_source=rss</link><guid>o{f}-{i}</guid>"
                         f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate></item>")
        (host_dir / "feed.xml").write_text(
            f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Outlet {f}</title>"
            f"<link>http://x/</link><description>d</description>{''.join(items)}</channel></rss>", encoding="utf-8")
    return files


# --------------------------------------------------------------------------- server (own process)


def _serve(root: str, ready) -> None:
    cache: dict[Path, bytes | None] = {}

    def read(path: Path) -> bytes | None:
        # Served from memory after the first read, as a web server's cache would.
        if path not in cache:
            cache[path] = path.read_bytes() if path.is_file() else None
        return cache[path]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle + delayed ACK add
        # 40 ms to every keep-alive response on top of the intended latency.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):
            time.sleep(LATENCY_S)
            host_dir = Path(root) / f"h{int(self.server.server_address[0].rsplit('.', 1)[1]) - 2:02d}"
            path = host_dir / self.path.split("?")[0].lstrip("/")
            if self.path.endswith("feed.xml") and self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                self.send_response(304)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            plain = read(path)
            if plain is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            gz = read(path.with_suffix(path.suffix + ".gz"))
            use_gzip = gz is not None and "gzip" in self.headers.get("Accept-Encoding", "")
            data = gz if use_gzip else plain
            self.send_response(200)
            ctype = "application/rss+xml" if path.suffix == ".xml" else "text/html; charset=utf-8"
            self.send_header("Content-Type", ctype)
            if use_gzip:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.end_headers()
            self.wfile.write(data)

    servers = []
    for f in range(FEEDS):
        server = http.server.ThreadingHTTPServer((f"127.0.0.{f + 2}", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server.server_address[1])
    ready.send(servers)
    threading.Event().wait()


# --------------------------------------------------------------------------- bare trafilatura


def _bare_meta(path: str) -> int:
    import trafilatura

    doc = trafilatura.bare_extraction(Path(path).read_text(encoding="utf-8"), with_metadata=True)
    return len(doc.text or "") if doc else 0


def _bare_text(path: str) -> int:
    import trafilatura

    return len(trafilatura.extract(Path(path).read_text(encoding="utf-8")) or "")


def _warm() -> None:
    import trafilatura  # noqa: F401


BARE_CPU: dict[str, float] = {}


def bare(files: list[Path], func) -> float:
    """Wall seconds for ``func`` over ``files`` in a warm 2-process pool (its CPU seconds,
    start-up included, go to BARE_CPU)."""
    cpu = os.times()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), initializer=_warm) as ex:
        list(ex.map(_warm_noop, range(2)))  # workers started and warm before the clock starts
        start = time.perf_counter()
        list(ex.map(func, [str(p) for p in files], chunksize=16))
        wall = time.perf_counter() - start
    end = os.times()
    BARE_CPU[func.__name__] = BARE_CPU.get(func.__name__, 0) + end.children_user + end.children_system - cpu.children_user - cpu.children_system
    return wall


def _warm_noop(_):
    return 0


def _descendants_cpu(exclude: int) -> float:
    """CPU seconds of this process's descendants except the ``exclude`` subtree: the extraction
    workers (forked by the fork server, so not children that os.times() would count)."""
    import psutil

    skip = {exclude, *(c.pid for c in psutil.Process(exclude).children(recursive=True))}
    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        if proc.pid not in skip:
            try:
                t = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


class MemorySampler(threading.Thread):
    """Peak resident memory of this process plus its descendants (except ``exclude``), summed
    (pages shared between forked workers counted once per process: an upper bound)."""

    def __init__(self, exclude: int):
        super().__init__(daemon=True)
        self.exclude, self.peak_total, self.peak_main, self.peak_child = exclude, 0, 0, 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self.stop.wait(0.1):
            try:
                skip = {self.exclude, *(c.pid for c in psutil.Process(self.exclude).children(recursive=True))}
                main = me.memory_info().rss
                kids = []
                for proc in me.children(recursive=True):
                    if proc.pid not in skip:
                        try:
                            kids.append(proc.memory_info().rss)
                        except psutil.NoSuchProcess:
                            pass
            except psutil.NoSuchProcess:
                continue
            self.peak_main = max(self.peak_main, main)
            self.peak_child = max([self.peak_child, *kids])
            self.peak_total = max(self.peak_total, main + sum(kids))


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (live ones, plus the reaped ones it waited for)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + (t.children_user + t.children_system if proc is root else 0.0)
    return total


# --------------------------------------------------------------------------- main


def serve_corpus(tmp: Path):
    """Start the corpus server (its own spawned process) on the 40 loopback hosts; the server
    process and the feed list file naming its feeds."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(str(tmp / "site"), child), daemon=True)
    server.start()
    ports = parent.recv()
    feeds_file = tmp / "feeds.yaml"
    feeds_file.write_text("".join(
        f"- {{name: outlet-{f:02d}, url: 'http://127.0.0.{f + 2}:{port}/feed.xml', language: en}}\n"
        for f, port in enumerate(ports)), encoding="utf-8")
    return server, feeds_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    # With 100 ms latency, 16 connections cap any fetcher at 160 pages/s and a 0.25 s host delay
    # caps 50 pages per host at 12.5 s: both are politeness limits, not pipeline costs. The
    # benchmark measures the pipeline, so by default it lifts them (32 connections, 0.05 s);
    # --concurrency 16 --host-delay 0.25 gives the production defaults.
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--host-delay", type=float, default=0.05)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    from pipeline.infra import db
    from pipeline.infra.config import Settings
    from pipeline.ingest.stage import run_ingest
    from pipeline.infra.progress import NullReporter
    from pipeline.infra.runtime import Runtime

    tmp = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    files = generate(tmp / "site", args.pages)
    print(f"corpus: {len(files)} pages, {sum(p.stat().st_size for p in files) / len(files) / 1024:.1f} KB each "
          f"(served gzipped, as news sites do), "
          f"{FEEDS} feeds on {FEEDS} hosts, {LATENCY_S * 1000:.0f} ms latency per response; cpus {os.cpu_count()}")
    server, feeds_file = serve_corpus(tmp)

    load_start = os.getloadavg()[0]
    # Bare extraction before and after the ingest: the machine may be shared, so the ratio
    # uses the mean of the two bracketing runs.
    t_meta_before = bare(files, _bare_meta)
    pg = db.EmbeddedPostgres(tmp / "pg")
    pg.start()
    try:
        url = pg.url("postgres")
        settings = Settings.from_env({"NEWSMON_ALLOW_PRIVATE_NETWORKS": "true", "NEWSMON_HOME": str(tmp / "home"),
                                      "NEWSMON_DATABASE_URL": url, "NEWSMON_HTTP_CONCURRENCY": str(args.concurrency),
                                      "NEWSMON_HOST_DELAY": str(args.host_delay), "NEWSMON_EXTRACT_WORKERS": "2"})
        postmaster = int((tmp / "pg" / "pgdata" / "postmaster.pid").read_text().split()[0])
        with Runtime.open(settings, url=url, auto_upgrade=True, progress=NullReporter()) as rt:
            pg_cpu, server_cpu = _tree_cpu(postmaster), _tree_cpu(server.pid)
            forked_cpu = _descendants_cpu(exclude=server.pid)
            memory = MemorySampler(exclude=server.pid)
            memory.start()
            start, cpu = time.perf_counter(), os.times()
            first = run_ingest(rt, feeds_file)
            t_first = time.perf_counter() - start
            cpu_end = os.times()
            cpu_main = cpu_end.user + cpu_end.system - cpu.user - cpu.system
            memory.stop.set()
            cpu_workers = cpu_end.children_user + cpu_end.children_system - cpu.children_user - cpu.children_system
            cpu_workers += _descendants_cpu(exclude=server.pid) - forked_cpu
            pg_cpu, server_cpu = _tree_cpu(postmaster) - pg_cpu, _tree_cpu(server.pid) - server_cpu
            start = time.perf_counter()
            second = run_ingest(rt, feeds_file)
            t_second = time.perf_counter() - start
            with rt.pool.connection() as conn:
                ok = conn.execute("SELECT count(*) FROM articles WHERE extract_status = 'ok'").fetchone()[0]
    finally:
        pg.stop()
        server.terminate()
        server.join()
    t_meta_after = bare(files, _bare_meta)
    t_meta = (t_meta_before + t_meta_after) / 2
    sample = files[: min(len(files), 500)]
    t_text = bare(sample, _bare_text) * len(files) / len(sample)
    shutil.rmtree(tmp, ignore_errors=True)

    n = len(files)
    per_host = (n // FEEDS) * max(settings.host_delay_s, LATENCY_S / settings.per_host_concurrency)
    overall = n * LATENCY_S / settings.http_concurrency
    print(f"politeness floor: {max(per_host, overall):.1f} s (per host {per_host:.1f} s, global {overall:.1f} s; "
          f"settings: {settings.http_concurrency} global, {settings.per_host_concurrency} per host, "
          f"{settings.host_delay_s:g} s host delay)")
    print(f"(a) ingest: {n} pages in {t_first:.1f} s = {n / t_first:.1f} pages/s "
          f"({ok} extracted ok; counts {first.counts})")
    print(f"    CPU during the ingest: main process {cpu_main:.1f} s, extraction workers {cpu_workers:.1f} s, "
          f"Postgres {pg_cpu:.1f} s, test server {server_cpu:.1f} s")
    print(f"(b) second ingest: {t_second:.2f} s, feeds answering 304: {second.counts.get('feeds_not_modified', 0)}/{FEEDS}, "
          f"new articles {second.counts.get('articles_new', 0)}")
    print(f"(c) bare trafilatura, 2 processes: bare_extraction+metadata {n / t_meta:.1f} pages/s "
          f"({t_meta_before:.1f} s before, {t_meta_after:.1f} s after the ingest); "
          f"extract() text only {n / t_text:.1f} pages/s (on {len(sample)} pages)")
    print(f"    CPU per page: ingest workers {1000 * cpu_workers / n:.1f} ms + main {1000 * cpu_main / n:.1f} ms; "
          f"bare_extraction+metadata workers {1000 * BARE_CPU['_bare_meta'] / (2 * n):.1f} ms (start-up included in both)")
    print(f"ratio ingest / bare (same work, text+metadata): {t_meta / t_first:.2f}   (target >= 0.8)")
    print(f"ratio ingest / bare extract() text only:        {t_text / t_first:.2f}")
    print(f"second run / first run: {100 * t_second / t_first:.1f} %   (target < 5 %)")
    mb = 1024 * 1024
    print(f"peak memory during the ingest (RSS, sampled every 0.1 s): main process {memory.peak_main / mb:.0f} MB, "
          f"largest worker {memory.peak_child / mb:.0f} MB, main + workers together {memory.peak_total / mb:.0f} MB "
          f"(shared pages counted in each)   (target < 1024 MB)")
    print(f"load average (1 min) at start {load_start:.1f}, at end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
