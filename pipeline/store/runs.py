"""SQL of ``stage_runs``: one row per stage run (running -> ok | failed), read by the digest's
ops section."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from psycopg.rows import class_row


@dataclass(frozen=True)
class StageRun:
    stage: str
    status: str  # running | ok | failed
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None


def start_run(conn, stage: str) -> int:
    """A new run of ``stage`` in status ``running``; returns its id."""
    return conn.execute(
        "INSERT INTO stage_runs (stage, status) VALUES (%s, 'running') RETURNING run_id", (stage,)
    ).fetchone()[0]


def finish_run(conn, run_id: int, counts: dict[str, int]) -> None:
    conn.execute(
        "UPDATE stage_runs SET status = 'ok', finished_at = now(), counts = %s WHERE run_id = %s",
        (json.dumps(counts), run_id),
    )


def fail_run(conn, run_id: int, error: str, counts: dict[str, int]) -> None:
    conn.execute(
        "UPDATE stage_runs SET status = 'failed', finished_at = now(), error = %s, counts = %s "
        "WHERE run_id = %s",
        (error[:2000], json.dumps(counts), run_id),
    )


def runs_between(conn, stages: tuple[str, ...], start: dt.datetime, as_of: dt.datetime) -> list[StageRun]:
    """Runs of the given stages started in [start, as_of], newest first."""
    with conn.cursor(row_factory=class_row(StageRun)) as cur:
        cur.execute(
            """SELECT stage, status, started_at, finished_at, error
               FROM stage_runs
               WHERE stage = ANY(%(stages)s) AND started_at >= %(start)s AND started_at <= %(as_of)s
               ORDER BY started_at DESC, run_id DESC""",
            {"stages": list(stages), "start": start, "as_of": as_of},
        )
        return cur.fetchall()
