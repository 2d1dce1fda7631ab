"""A stage run whose process dies (SIGKILL) no longer stays 'running' for ever: its heartbeat
stops, and the next stage to start marks it failed with where it ran, where ops see it."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from pipeline.infra import runs
from pipeline.infra.runs import record_stage

ROOT = Path(__file__).resolve().parents[2]

# A stage run in its own process: it records its start, says so, then blocks until killed.
CHILD = textwrap.dedent("""
    import sys
    from pipeline.infra.db import open_pool
    from pipeline.infra.runs import record_stage

    pool = open_pool(sys.argv[1], max_size=2)
    pool.open()
    with record_stage(pool, "extract_probe"):
        print("started", flush=True)
        sys.stdin.read()
""")


def _rows(url: str, stage: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT status, host, pid, error, heartbeat_at IS NOT NULL FROM stage_runs "
                            "WHERE stage = %s ORDER BY run_id", (stage,)).fetchall()


def test_a_killed_run_is_marked_failed_by_the_next_stage(runtime, db_url, caplog):
    child = subprocess.Popen([sys.executable, "-c", CHILD, db_url], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "started"
        [(status, host, pid, error, beating)] = _rows(db_url, "extract_probe")
        assert (status, pid, error, beating) == ("running", child.pid, None, True)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    with record_stage(runtime.pool, "embed"):  # heartbeat fresh: a just-killed run is not yet known dead
        pass
    assert _rows(db_url, "extract_probe")[0][0] == "running"

    with psycopg.connect(db_url, autocommit=True) as conn:  # the clock moves past the stale limit
        conn.execute("UPDATE stage_runs SET heartbeat_at = heartbeat_at - %s WHERE stage = 'extract_probe'",
                     (runs.STALE_AFTER + timedelta(seconds=1),))
    with caplog.at_level(logging.WARNING, logger="pipeline.infra.runs"), record_stage(runtime.pool, "embed"):
        pass
    [(status, host, pid, error, _)] = _rows(db_url, "extract_probe")
    assert status == "failed" and pid == child.pid
    assert error.startswith(f"abandoned: its process ({host}, pid {child.pid}) stopped without a result")
    assert "extract_probe" in caplog.text and "abandoned" in caplog.text
    assert [r[0] for r in _rows(db_url, "embed")] == ["ok", "ok"]
    with psycopg.connect(db_url, autocommit=True) as conn:  # ops see it in the stage view
        assert conn.execute("SELECT last_status, last_failure_error LIKE 'abandoned:%' FROM analytics.stage_status "
                            "WHERE stage = 'extract_probe'").fetchone() == ("failed", True)


def test_a_running_stage_keeps_beating_and_stops_when_done(runtime, db_url, monkeypatch):
    monkeypatch.setattr(runs, "HEARTBEAT_S", 0.01)
    beats = []
    with record_stage(runtime.pool, "stories"):
        with psycopg.connect(db_url, autocommit=True) as conn:
            first = conn.execute("SELECT heartbeat_at FROM stage_runs WHERE stage = 'stories'").fetchone()[0]
            for _ in range(2000):  # until the thread has beaten (bounded; no elapsed time asserted)
                now = conn.execute("SELECT heartbeat_at FROM stage_runs WHERE stage = 'stories'").fetchone()[0]
                if now > first:
                    beats.append(now)
                    break
                time.sleep(0.005)
    assert beats, "the heartbeat never moved"
    assert not [t for t in threading.enumerate() if t.name.startswith("heartbeat-")]
    assert _rows(db_url, "stories")[0][0] == "ok"


def test_a_failing_stage_stops_its_heartbeat(runtime, db_url):
    with pytest.raises(RuntimeError), record_stage(runtime.pool, "themes"):
        raise RuntimeError("boom")
    assert not [t for t in threading.enumerate() if t.name.startswith("heartbeat-")]
    assert [r[0] for r in _rows(db_url, "themes")] == ["failed"]
