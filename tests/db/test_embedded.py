"""The embedded server: start, stop, restart, concurrent start; data survives."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import psycopg

from pipeline.infra import db


def test_start_stop_restart_keeps_data(tmp_path):
    server = db.EmbeddedPostgres(tmp_path / "home")
    url = server.start()
    try:
        assert url.startswith("postgresql://postgres@127.0.0.1:")
        assert server.start() == url  # idempotent: same server
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE keep (v text)")
            conn.execute("INSERT INTO keep VALUES ('still here')")
        assert server.stop() is True
        assert server.url() is None
        assert server.stop() is False
        url2 = server.start()
        with psycopg.connect(url2) as conn:
            assert conn.execute("SELECT v FROM keep").fetchone() == ("still here",)
            assert conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'").fetchone()[0] == 1
    finally:
        server.stop()


def test_two_processes_start_it_at_once(tmp_path):
    home = tmp_path / "home"
    code = textwrap.dedent(f"""
        from pathlib import Path
        from pipeline.infra.db import EmbeddedPostgres
        print(EmbeddedPostgres(Path({str(home)!r})).start())
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    try:
        assert all(p.returncode == 0 for p in procs)
        assert outs[0] == outs[1] and outs[0].startswith("postgresql://")
        with psycopg.connect(outs[0]) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        db.EmbeddedPostgres(home).stop()
