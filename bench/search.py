"""analytics.search side by side: the version of an earlier commit (one language per query, no
expansion) and the current one (both languages, expansion, semantic), on the same data in one run.

Reuses a database filled by bench/analytics.py (100,000 generated articles; every sanctions
article carries the searched terms: the worst case), creates the earlier function as
``analytics.search_before`` next to the current one, and prints the median of several runs:

    .venv/bin/python bench/analytics.py --url URL            # once: fills URL
    .venv/bin/python bench/search.py --url URL [--before-rev 448052c]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "repeat('Exportkontrollen & | ! '' \" ', 500)"  # 10.5 KB of query operators
CASES = [
    ("search('Exportkontrolle', 'de', 10)", "('Exportkontrolle', 'de', 10)", True),
    ("search('export controls')", "('export controls')", True),
    ("search('export controls', semantic => true)", "('export controls', semantic => true)", False),
    ("search('gallium or germanium')", "('gallium or germanium')", True),
    (f"search({HOSTILE})", f"({HOSTILE})", True),
]


def _before_sql(rev: str) -> str:
    text = subprocess.run(["git", "show", f"{rev}:sql/views/090_search.sql"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    return text.replace("analytics.search(", "analytics.search_before(")


def _median_ms(conn, query: str, repeat: int) -> tuple[float, int]:
    rows = conn.execute(query).fetchall()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        rows = conn.execute(query).fetchall()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), len(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="a database filled by bench/analytics.py --url")
    p.add_argument("--before-rev", default="448052c", help="commit whose analytics.search is 'before'")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute("DROP FUNCTION IF EXISTS analytics.search_before(text, text, integer)")
        conn.execute(_before_sql(args.before_rev))
        try:
            print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU(s)")
            print(f"{'query':<58} {'before ms':>10} {'rows':>5} {'now ms':>9} {'rows':>5}")
            for label, call, comparable in CASES:
                now_ms, now_rows = _median_ms(conn, f"SELECT * FROM analytics.search{call}", args.repeat)
                before = "-"
                before_rows = "-"
                if comparable:
                    ms, n = _median_ms(conn, f"SELECT * FROM analytics.search_before{call}", args.repeat)
                    before, before_rows = f"{ms:.1f}", str(n)
                print(f"{label[:58]:<58} {before:>10} {before_rows:>5} {now_ms:>9.1f} {now_rows:>5}")
        finally:
            conn.execute("DROP FUNCTION IF EXISTS analytics.search_before(text, text, integer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
