"""Where a Postgres server's CPU goes while a bench runs: samples pg_stat_activity every
``interval`` seconds from a thread and charges each backend's CPU time since the last sample
(psutil, same machine) to the query it is running now. Coarse (a statement shorter
than the interval is charged to whatever follows it), but enough to tell Airflow's metadata
queries from newsmon's claims and writes.

    with ActivitySampler(url) as sampler:
        ...
    sampler.report()
"""

from __future__ import annotations

import re
import threading
from collections import Counter

from proc_cpu import cpu_seconds  # bench/proc_cpu.py (bench/ is on sys.path)

_QUERY = """SELECT pid, coalesce(datname, ''), coalesce(backend_type, ''), coalesce(state, ''),
                   coalesce(wait_event_type || ':' || wait_event, ''), left(coalesce(query, ''), 400)
            FROM pg_stat_activity WHERE pid <> pg_backend_pid()"""


def _shape(query: str) -> str:
    """The statement with its literals and whitespace folded, so repeats add up."""
    query = re.sub(r"'[^']*'", "?", query)
    query = re.sub(r"\b\d+\b", "N", query)
    return " ".join(query.split())[:150]


class ActivitySampler:
    def __init__(self, url: str, interval: float = 0.25):
        self.url, self.interval = url, interval
        self.cpu: Counter = Counter()  # (database, state, statement) -> CPU seconds
        self.seen: Counter = Counter()  # same key -> samples
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psycopg

        last: dict[int, float] = {}
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.interval):
                for pid, db, kind, state, wait, query in conn.execute(_QUERY).fetchall():
                    now = cpu_seconds(pid)
                    if now is None:
                        continue
                    before = last.get(pid)
                    last[pid] = now
                    if before is None:
                        continue
                    key = (db or kind, state if not wait else f"{state} [{wait}]",
                           _shape(query) if state != "idle" else "(idle)")
                    self.cpu[key] += now - before
                    self.seen[key] += 1

    def report(self, title: str, top: int = 15) -> None:
        total = sum(self.cpu.values())
        print(f"\nPostgres backend CPU by statement, {title}: {total:.1f} s in all")
        for (db, state, query), seconds in self.cpu.most_common(top):
            print(f"  {seconds:7.1f} s {self.seen[(db, state, query)]:6d} samples  {db:16.16} {state:28.28} {query}")
