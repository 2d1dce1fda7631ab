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
    assert lines[0].endswith(": Connection refused")  # the driver's reason, not only its advice
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


def test_version(tmp_path):
    proc = _newsmon(["--version"], {}, tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("newsmon ")


def test_commands_refuse_to_create_a_new_embedded_database(tmp_path):
    """Run from the wrong folder, a command says where it looked instead of creating an empty
    database there; only `db start` (and `demo`) create one."""
    for args in (["db", "url"], ["db", "upgrade"], ["db", "psql"], ["ingest"], ["export", "articles"]):
        proc = _newsmon(args, {}, tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "no newsmon database in" in lines[0] and str(tmp_path / "home") in lines[0]
    assert not (tmp_path / "home" / "pgdata").exists()


def test_digest_out_in_an_unwritable_place_is_exit_2_one_line(db_url, tmp_path):
    (tmp_path / "file").write_text("x")
    proc = _newsmon(["digest", "--date", "2026-11-27", "--out", str(tmp_path / "file" / "d")],
                    {"NEWSMON_DATABASE_URL": db_url}, tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsmon: error: ") and "Traceback" not in proc.stderr
    assert str(tmp_path / "file") in lines[0]


def test_feeds_check_reports_every_problem_and_bad_hosts(tmp_path):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "- {name: spaced, url: 'http://exa mple.com/feed', language: de}\n"
        "- {name: french, url: 'https://ok.example/feed', language: fr}\n"
        "- {name: good, url: 'https://ok.example/a', language: en}\n"
        "- {name: good, url: 'https://ok.example/b', language: en}\n"
        "- {name: dotdot, url: 'https://bad..example/feed', language: en}\n"
        "- {name: umlaut, url: 'https://bücher.example/feed', language: de}\n", encoding="utf-8")
    proc = _newsmon(["feeds", "check", str(feeds)], {}, tmp_path)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("newsmon: error:")]
    assert len(errors) == 4, proc.stderr
    assert "entry 1 ('spaced'): url has an invalid host" in errors[0]
    assert "entry 2 ('french'): language" in errors[1]
    assert "entry 4 ('good'): duplicate name" in errors[2]
    assert "entry 5 ('dotdot'): url has an invalid host" in errors[3]
    assert proc.stderr.strip().endswith("4 problem(s), 2 feed(s) OK")  # the IDN host is fine


def test_db_psql_as_analyst_with_psql_arguments(db_url, tmp_path):
    env = {"NEWSMON_DATABASE_URL": db_url, "NEWSMON_ANALYST_PASSWORD": "an-" + "x" * 20}
    assert _newsmon(["db", "upgrade"], env, tmp_path).returncode == 0  # gives the role LOGIN
    proc = _newsmon(["db", "psql", "--analyst", "--", "-At", "-c", "select current_user"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "newsmon_analyst"
    owner = _newsmon(["db", "psql", "-At", "-c", "select current_user"], env, tmp_path)
    assert owner.returncode == 0 and owner.stdout.strip() == "postgres"
    denied = _newsmon(["db", "psql", "--analyst", "--", "-c", "select count(*) from public.articles"], env, tmp_path)
    assert denied.returncode != 0 and "permission denied" in denied.stderr


def test_embedded_db_start_then_analyst_psql_and_url(tmp_path):
    """On the embedded server the analyst role logs in without a password (trust on 127.0.0.1)."""
    try:
        start = _newsmon(["db", "start"], {}, tmp_path)
        assert start.returncode == 0, start.stderr
        proc = _newsmon(["db", "psql", "--analyst", "--", "-At", "-c", "select current_user, count(*) "
                         "from analytics.articles"], {}, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "newsmon_analyst|0"
        url = _newsmon(["db", "url", "--analyst"], {}, tmp_path).stdout.strip()
        assert url.startswith("postgresql://newsmon_analyst@127.0.0.1:") and url.endswith("/newsmon")
    finally:
        _newsmon(["db", "stop"], {}, tmp_path)
