"""Stage results, the stage names, and the ``stage_runs`` record the digest's ops section reads."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from pipeline.store import runs as store

log = logging.getLogger(__name__)

# The main job's stages in the order they run. The digest follows on its own schedule; it is
# not one of them. Here (not in pipeline/stages.py) so the digest can watch them without a cycle.
PIPELINE_STAGES = ("ingest", "embed", "themes", "stories", "indicators")
DIGEST_STAGE = "digest"


@dataclass
class StageResult:
    """What one stage did: counts by name plus notes worth a human's attention."""

    stage: str
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in self.counts.items()) or "nothing to do"
        return f"{self.stage}: {parts}"

    def merge(self, other: "StageResult") -> None:
        """Add ``other``'s counts and notes to these (a stage made of steps reports their sum)."""
        for key, n in other.counts.items():
            self.add(key, n)
        self.notes.extend(other.notes)

    def report_lines(self) -> list[str]:
        """The summary, then each note indented: what the CLI prints and the task log shows."""
        return [self.summary(), *(f"  {note}" for note in self.notes)]

    def print_report(self) -> "StageResult":
        """Print ``report_lines`` (the CLI's and the demo's output); returns self for chaining."""
        print(*self.report_lines(), sep="\n")
        return self


# A running stage beats every HEARTBEAT_S from a thread; a running row whose heartbeat is older
# than STALE_AFTER (five missed beats) belongs to a process that died (SIGKILL, OOM, a lost host).
HEARTBEAT_S = 60.0
STALE_AFTER = dt.timedelta(seconds=5 * HEARTBEAT_S)


@contextmanager
def record_stage(pool, stage: str) -> Iterator[StageResult]:
    """Run a stage body, then write its outcome to ``stage_runs`` (failures too, then re-raise).

    Each bookkeeping write commits on its own, so a failed stage still leaves its row. While the
    body runs, a thread keeps the row's heartbeat; a stage that starts first marks the rows of
    dead runs (no heartbeat for STALE_AFTER) as failed, so ops see them and the digest counts them."""
    result = StageResult(stage)
    with pool.connection() as conn, conn.transaction():
        for dead_id, name, error in store.abandon_stale(conn, STALE_AFTER):
            log.warning("stage run %s (%s) marked failed: %s", dead_id, name, error)
        run_id = store.start_run(conn, stage, socket.gethostname(), os.getpid())
    try:
        with _heartbeat(pool, run_id, stage):
            yield result
    except BaseException as exc:
        with pool.connection() as conn, conn.transaction():
            store.fail_run(conn, run_id, f"{type(exc).__name__}: {exc}", result.counts)
        raise
    with pool.connection() as conn, conn.transaction():
        store.finish_run(conn, run_id, result.counts)
    log.info(result.summary())


@contextmanager
def _heartbeat(pool, run_id: int, stage: str) -> Iterator[None]:
    """A thread that writes the run's heartbeat every HEARTBEAT_S until the block ends."""
    stop = threading.Event()

    def keep_beating() -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                with pool.connection() as conn, conn.transaction():
                    store.beat(conn, run_id)
            except Exception as exc:  # a missed beat is not the stage's failure; the next one may work
                log.warning("stage run %s: heartbeat not written (%s)", run_id, type(exc).__name__)

    beater = threading.Thread(target=keep_beating, name=f"heartbeat-{stage}", daemon=True)
    beater.start()
    try:
        yield
    finally:
        stop.set()
        beater.join()
