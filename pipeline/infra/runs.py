"""Stage results and the ``stage_runs`` record the digest's ops section reads."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

log = logging.getLogger(__name__)


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


@contextmanager
def record_stage(pool, stage: str) -> Iterator[StageResult]:
    """Run a stage body, then write its outcome to ``stage_runs`` (failures too, then re-raise)."""
    result = StageResult(stage)
    with pool.connection() as conn:
        run_id = conn.execute(
            "INSERT INTO stage_runs (stage, status) VALUES (%s, 'running') RETURNING run_id", (stage,)
        ).fetchone()[0]
    try:
        yield result
    except BaseException as exc:
        with pool.connection() as conn:
            conn.execute(
                "UPDATE stage_runs SET status = 'failed', finished_at = now(), error = %s, counts = %s "
                "WHERE run_id = %s",
                (f"{type(exc).__name__}: {exc}"[:2000], json.dumps(result.counts), run_id),
            )
        raise
    with pool.connection() as conn:
        conn.execute(
            "UPDATE stage_runs SET status = 'ok', finished_at = now(), counts = %s WHERE run_id = %s",
            (json.dumps(result.counts), run_id),
        )
    log.info(result.summary())
