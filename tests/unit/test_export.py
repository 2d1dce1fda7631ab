"""``newsmon export``: analytics views to CSV and Parquet, against the real embedded Postgres."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys

import psycopg
import pyarrow.parquet as pq
import pytest

from pipeline.export import ExportError, export_view


@pytest.fixture
def seeded(db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO articles (url, canonical_url, title, language, published_at, body_text, extract_status,"
            " source, word_count) VALUES"
            # 22:30 UTC on 1 March is 23:30 in Berlin: still 1 March there
            " ('http://a/1', 'http://a/1', 'Zölle, \"Chips\"; und mehr', 'de', '2026-03-01 22:30+00', 'a,b\nc', 'ok', 'heise', 3),"
            # 23:30 UTC on 1 March is 00:30 on 2 March in Berlin
            " ('http://a/2', 'http://a/2', 'Second', 'en', '2026-03-01 23:30+00', 'text', 'ok', 'reuters', 1),"
            " ('http://a/3', 'http://a/3', 'Third', 'en', '2026-03-05 12:00+00', 'text', 'ok', 'reuters', 1);"
            "INSERT INTO stories (label, theme, first_seen, last_seen, article_count, languages)"
            " VALUES ('zölle', 'sanctions', '2026-03-01 22:30+00', '2026-03-05 12:00+00', 3, '{de,en}');"
            "INSERT INTO indicator_definitions (indicator, kind, unit) VALUES ('share', 'market_share', 'percent');"
            "INSERT INTO indicator_observations (indicator, subject, value, unit, observed_at, source_kind)"
            " VALUES ('share', 'China', 70.5, 'percent', '2026-03-02 00:00+00', 'api');"
        )
    return db_url


def test_csv_has_header_quoting_and_utc_timestamps(runtime, seeded, tmp_path):
    result = export_view(runtime, "articles", fmt="csv", out=tmp_path / "a.csv")
    path = result.path
    assert path == tmp_path / "a.csv" and result.rows == 3
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["title"] for r in rows] == ['Zölle, "Chips"; und mehr', "Second", "Third"]
    assert rows[0]["body_text"] == "a,b\nc"
    assert rows[0]["published_at"] == "2026-03-01 22:30:00+00"
    assert not list(tmp_path.glob("*.part"))


def test_since_is_midnight_in_the_configured_time_zone(runtime, seeded, tmp_path):
    path = export_view(runtime, "articles", fmt="csv", since=dt.date(2026, 3, 2), out=tmp_path / "a.csv").path
    with path.open(newline="", encoding="utf-8") as fh:
        assert [r["title"] for r in csv.DictReader(fh)] == ["Second", "Third"]
    path = export_view(runtime, "theme_daily", fmt="csv", since=dt.date(2026, 3, 2), out=tmp_path / "t.csv").path
    with path.open(newline="", encoding="utf-8") as fh:
        assert sorted(r["day"] for r in csv.DictReader(fh)) == ["2026-03-02", "2026-03-05"]


def test_parquet_keeps_types(runtime, seeded, tmp_path):
    table = pq.read_table(export_view(runtime, "articles", fmt="parquet", out=tmp_path / "a.parquet").path)
    assert table.num_rows == 3
    assert str(table.schema.field("article_id").type) == "int64"
    assert str(table.schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    first = table.to_pylist()[0]
    assert first["published_at"] == dt.datetime(2026, 3, 1, 22, 30, tzinfo=dt.timezone.utc)
    assert first["word_count"] == 3 and first["title"] == 'Zölle, "Chips"; und mehr'

    stories = pq.read_table(export_view(runtime, "stories", fmt="parquet", out=tmp_path / "s.parquet").path).to_pylist()
    assert stories[0]["languages"] == ["de", "en"] and stories[0]["article_count"] == 3
    obs = pq.read_table(export_view(runtime, "indicator_observations", fmt="parquet",
                                    out=tmp_path / "o.parquet").path).to_pylist()
    assert obs[0]["value"] == 70.5 and obs[0]["unit"] == "percent"


def test_parquet_of_an_empty_selection_is_a_valid_file(runtime, seeded, tmp_path):
    result = export_view(runtime, "stories", fmt="parquet", since=dt.date(2030, 1, 1), out=tmp_path / "s.parquet")
    table = pq.read_table(result.path)
    assert result.rows == 0
    assert table.num_rows == 0 and "label" in table.schema.names


def test_default_file_name_and_schema_prefix(runtime, seeded, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = export_view(runtime, "analytics.feed_health", fmt="csv").path
    assert path.name == "feed_health.csv" and path.read_text().startswith("feed,url,")


@pytest.mark.parametrize("name", ["articles; DROP TABLE articles", "articles\"", "public.articles", "raw_pages",
                                  "pg_authid", "ARTICLES"])
def test_only_analytics_views_can_be_exported(runtime, seeded, tmp_path, name):
    with pytest.raises(ExportError, match="no analytics view named") as info:
        export_view(runtime, name, fmt="csv", out=tmp_path / "x.csv")
    assert "articles" in str(info.value) and "feed_health" in str(info.value)  # lists what exists
    assert not (tmp_path / "x.csv").exists()
    with psycopg.connect(seeded) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 3


def test_bad_format(runtime, tmp_path):
    with pytest.raises(ExportError, match="unknown export format"):
        export_view(runtime, "articles", fmt="xlsx", out=tmp_path / "x")


def test_cli_export(seeded, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update({"NEWSMON_DATABASE_URL": seeded, "NEWSMON_HOME": str(tmp_path / "home")})
    out = tmp_path / "stories.parquet"
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "export", "stories", "--format", "parquet",
                           "--since", "2026-03-04", "--out", str(out)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(str(out))
    assert pq.read_table(out).column("label").to_pylist() == ["zölle"]
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "export", "nope"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "no analytics view named 'nope'" in proc.stderr


def test_csv_writes_booleans_as_true_false_and_arrays_as_json(runtime, seeded, tmp_path):
    with psycopg.connect(seeded) as conn:
        conn.execute("INSERT INTO feeds (name, url, language, enabled) VALUES ('on', 'http://f/on', 'de', true),"
                     " ('off', 'http://f/off', 'en', false)")
    feeds = export_view(runtime, "feed_health", fmt="csv", out=tmp_path / "f.csv").path
    with feeds.open(newline="", encoding="utf-8") as fh:
        enabled = {r["feed"]: r["enabled"] for r in csv.DictReader(fh)}
    assert enabled == {"on": "true", "off": "false"}
    stories = export_view(runtime, "stories", fmt="csv", out=tmp_path / "s.csv").path
    with stories.open(newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert json.loads(row["languages"]) == ["de", "en"]
    assert row["label"] == "zölle"  # other columns as they were


def test_existing_file_is_kept_without_force(runtime, seeded, tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("yesterday's export")
    with pytest.raises(ExportError, match="exists: use --force"):
        export_view(runtime, "articles", fmt="csv", out=target)
    assert target.read_text() == "yesterday's export"
    assert export_view(runtime, "articles", fmt="csv", out=target, force=True).rows == 3
    assert target.read_text().startswith("article_id,")


def test_unwritable_target_is_one_export_error(runtime, seeded, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="cannot write"):
        export_view(runtime, "articles", fmt="csv", out=blocker / "sub" / "a.csv")
    with pytest.raises(ExportError, match="is a directory"):
        export_view(runtime, "articles", fmt="csv", out=tmp_path)


def _cli(args, env_extra, tmp_path, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_cli_export_prints_row_count_and_refuses_overwrite(seeded, tmp_path):
    env = {"NEWSMON_DATABASE_URL": seeded, "NEWSMON_HOME": str(tmp_path / "home")}
    out = tmp_path / "a.csv"
    proc = _cli(["export", "articles", "--out", str(out)], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"3 row(s) written to {out}"
    again = _cli(["export", "articles", "--out", str(out)], env, tmp_path)
    assert again.returncode == 2 and again.stderr.strip() == f"newsmon: error: {out} exists: use --force to overwrite it"
    assert _cli(["export", "articles", "--out", str(out), "--force"], env, tmp_path).returncode == 0


def test_cli_export_to_an_unwritable_place_is_exit_2_one_line(seeded, tmp_path):
    env = {"NEWSMON_DATABASE_URL": seeded, "NEWSMON_HOME": str(tmp_path / "home")}
    (tmp_path / "file").write_text("x")
    proc = _cli(["export", "articles", "--out", str(tmp_path / "file" / "a.csv")], env, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("newsmon: error: cannot write")
    assert "Traceback" not in proc.stderr and "FileNotFoundError" not in proc.stderr


def test_cli_export_from_the_wrong_folder_refuses_instead_of_creating_a_database(tmp_path):
    """No NEWSMON_HOME, no database URL, a folder without .newsmon: exit 2, nothing created."""
    proc = _cli(["export", "articles", "--out", str(tmp_path / "a.csv")], {}, tmp_path, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "no newsmon database in" in proc.stderr and "newsmon db start" in proc.stderr
    assert not (tmp_path / ".newsmon" / "pgdata").exists() and not (tmp_path / "a.csv").exists()
