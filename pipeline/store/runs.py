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


def start_run(conn, stage: str, host: str | None = None, pid: int | None = None) -> int:
    """A new run of ``stage`` in status ``running`` (its heartbeat now); returns its id."""
    return conn.execute(
        "INSERT INTO stage_runs (stage, status, host, pid) VALUES (%s, 'running', %s, %s) RETURNING run_id",
        (stage, host, pid),
    ).fetchone()[0]


def beat(conn, run_id: int) -> None:
    """The run is alive: its heartbeat is now (only while it is running)."""
    conn.execute("UPDATE stage_runs SET heartbeat_at = now() WHERE run_id = %s AND status = 'running'", (run_id,))


def abandon_stale(conn, stale_after: dt.timedelta) -> list[tuple[int, str, str]]:
    """Mark as failed every running run whose heartbeat is older than ``stale_after`` on the
    database's clock (its process died without a result); returns (run_id, stage, error) of each."""
    return conn.execute(
        """UPDATE stage_runs
           SET status = 'failed', finished_at = heartbeat_at,
               error = format('abandoned: its process (%%s, pid %%s) stopped without a result; '
                              'last heartbeat %%s', coalesce(host, 'unknown host'), coalesce(pid::text, '?'),
                              to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'))
           WHERE status = 'running' AND heartbeat_at < now() - %s
           RETURNING run_id, stage, error""",
        (stale_after,),
    ).fetchall()


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
