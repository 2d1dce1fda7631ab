"""``newsmon demo``: the whole pipeline offline, on the bundled corpus and the embedded Postgres.

The demo site (``pipeline/data/demo/site``) is served on 127.0.0.1; its feed list
(``pipeline/data/demo/feeds.yaml``, URLs relative to ``{base}``) is resolved against the
server's address, then every stage runs and the digest is written to ``$NEWSMON_HOME/digests``.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipeline.infra.config import DATA_DIR, Settings
from pipeline.infra.runs import PIPELINE_STAGES, StageResult

DEMO_DIR = DATA_DIR / "demo"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the demo prints its own summary
        pass


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def resolve_demo_feeds(base: str, target: Path) -> Path:
    text = (DEMO_DIR / "feeds.yaml").read_text(encoding="utf-8").replace("{base}", base)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def _run_stage(rt, name: str, **kwargs) -> StageResult:
    from pipeline.stages import run_stage

    return run_stage(rt, name, **kwargs).print_report()


def run_demo(settings: Settings) -> int:
    from rich.console import Console

    from pipeline.infra.progress import RichReporter
    from pipeline.infra.runtime import Runtime
    from pipeline.store.analytics import pipeline_counts

    console = Console()
    # The demo site is the operator's own server on 127.0.0.1: no politeness delay needed.
    settings = dataclasses.replace(settings, allow_private_networks=True, host_delay_s=0)
    settings.home.mkdir(parents=True, exist_ok=True)
    with Runtime.open(settings, progress=RichReporter()) as rt:
        console.print(f"[bold]newsmon demo[/bold]  database: {rt.url}")
        results = []
        site = DEMO_DIR / "site"
        if (DEMO_DIR / "feeds.yaml").exists() and site.is_dir():
            with serve_directory(site) as base:
                # the API collectors read offline stand-ins served from the demo site
                rt.settings = settings = dataclasses.replace(
                    settings, hf_api_url=f"{base}/_api/hf", github_api_url=f"{base}/_api/github"
                )
                feeds_file = resolve_demo_feeds(base, settings.home / "demo-feeds.yaml")
                results.append(_run_stage(rt, "ingest", feeds_file=feeds_file))
                # syndicated demo sources are served by the same server, so stay inside the block
                for stage in PIPELINE_STAGES[1:]:
                    results.append(_run_stage(rt, stage))
        else:
            console.print("demo corpus not found; running the stages on what is stored")
            for stage in PIPELINE_STAGES[1:]:
                results.append(_run_stage(rt, stage))
        settings.digests_dir.mkdir(parents=True, exist_ok=True)
        digest = _run_stage(rt, "digest", day=None, send=False, out=None, demo=True)
        results.append(digest)
        with rt.pool.connection() as conn, conn.transaction():
            counts = pipeline_counts(conn)
        console.print(
            "[bold]summary[/bold]: feeds {}, articles {}, embeddings {}, themed {}, stories {}, "
            "indicator observations {}".format(*counts)
        )
        paths = [n for r in results for n in r.notes if n.startswith("digest: ")]
        for p in paths:
            console.print(p)
        # analysts query as the read-only role; the owner's URL is for ops
        console.print("query it: newsmon db psql --analyst   (URL: newsmon db url --analyst; "
                      "guide: docs/analysts.md)")
    return 0
