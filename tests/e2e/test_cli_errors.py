"""The CLI's one-line errors and exit codes, run as a real subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def _newsmon(args, env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update({"NEWSMON_HOME": str(tmp_path / "home"), **env_extra})
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_database_one_line_masked_exit_2(tmp_path):
    url = f"postgresql://app:topsecret@127.0.0.1:{_closed_port()}/newsmon"
    proc = _newsmon(["db", "upgrade"], {"NEWSMON_DATABASE_URL": url}, tmp_path)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "127.0.0.1" in lines[0] and "cannot connect" in lines[0]
    assert "topsecret" not in proc.stderr + proc.stdout


def test_wrong_database_name(pg_server, tmp_path):
    url = pg_server.url("no_such_db").replace("postgres@", "postgres:pw@")
    proc = _newsmon(["db", "upgrade"], {"NEWSMON_DATABASE_URL": url}, tmp_path)
    assert proc.returncode == 2
    assert "no_such_db" in proc.stderr and "pw@" not in proc.stderr


def test_bad_setting_names_variable(tmp_path):
    proc = _newsmon(["db", "url"], {"NEWSMON_MAX_PAGE_BYTES": "lots"}, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("newsmon: error: NEWSMON_MAX_PAGE_BYTES:")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_malformed_database_url(tmp_path):
    proc = _newsmon(["db", "upgrade"], {"NEWSMON_DATABASE_URL": "postgresql://u:pw@host:port/x"}, tmp_path)
    assert proc.returncode == 2
    assert "NEWSMON_DATABASE_URL" in proc.stderr and "pw" not in proc.stderr.replace("port", "")


def test_db_upgrade_and_url_on_external_url(db_url, tmp_path):
    proc = _newsmon(["db", "upgrade"], {"NEWSMON_DATABASE_URL": db_url}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "schema up to date" in proc.stdout
    proc = _newsmon(["db", "url"], {"NEWSMON_DATABASE_URL": db_url}, tmp_path)
    assert proc.stdout.strip() == db_url
