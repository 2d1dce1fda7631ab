"""The indicators stage on the real embedded Postgres, with API answers from a 127.0.0.1 server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

import psycopg
import pytest

from pipeline.indicators.stage import (EXTRACTOR_VERSION, extract_article_claims, load_definitions, parse_definitions,
                                       run_indicators)
from pipeline.indicators.text import Extractor
from pipeline.infra.progress import NullReporter
from pipeline.infra.runtime import Runtime
from pipeline.store.indicators import PendingArticle
from tests.support.httpserver import Response

API = Path(__file__).resolve().parents[1] / "resources" / "indicators" / "api"
JSON = {"Content-Type": "application/json"}
UTC = dt.timezone.utc
RUN_AT = dt.datetime(2025, 6, 2, 6, 0, tzinfo=UTC)

ARTICLES = {
    "https://news.example/de/peking-chips": (
        "de", "Peking setzt auf heimische Chips",
        "Peking will bis 2028 eine Selbstversorgungsquote von 70 Prozent bei Halbleitern erreichen. "
        "Derzeit liegt die Selbstversorgung Chinas bei rund 30 Prozent. Die Inflation lag bei 0,2 Prozent.",
        dt.datetime(2025, 5, 30, 8, 0, tzinfo=UTC)),
    "https://news.example/en/ascend": (
        "en", "Huawei's Ascend 910C closes in on the H100",
        "Huawei's Ascend 910C reaches roughly 60% of the inference performance of Nvidia's H100. "
        "The H100 sells for about $30,000.",
        dt.datetime(2025, 5, 31, 9, 0, tzinfo=UTC)),
}


def _insert_article(conn, url, language, title, body, published, **extra):
    cols = {"url": url, "canonical_url": url, "title": title, "language": language, "body_text": body,
            "published_at": published, "fetched_at": published, "extract_status": "ok", **extra}
    return conn.execute(
        f"INSERT INTO articles ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) RETURNING article_id",
        list(cols.values()),
    ).fetchone()[0]


def _defs(*sources):
    """The bundled definitions with a chosen list of API sources."""
    import yaml

    data = yaml.safe_load((Path(__file__).resolve().parents[2] / "pipeline" / "data" / "indicators.yaml")
                          .read_text(encoding="utf-8"))
    data["api_sources"] = [{"provider": p, "repo": r} for p, r in sources]
    return parse_definitions(data)


@pytest.fixture
def rt(settings, db_url, http_server):
    s = dataclasses.replace(settings, hf_api_url=http_server.base, github_api_url=http_server.base,
                            hf_token="hf_TOPSECRET", github_token="ghp_TOPSECRET", http_timeout_s=2.0)
    runtime = Runtime.open(s, url=db_url, auto_upgrade=False, progress=NullReporter())
    yield runtime
    runtime.close()


def _observations(conn, kind=None):
    q = ("SELECT indicator, subject, value::float8, unit, target_year, source_kind FROM analytics.indicator_observations"
         + (" WHERE source_kind = %s" if kind else "") + " ORDER BY 1, 2, 3")
    return conn.execute(q, (kind,) if kind else None).fetchall()


def test_stage_extracts_articles_and_reads_apis_idempotently(rt, db_url, http_server, caplog):
    caplog.set_level(logging.DEBUG)
    with psycopg.connect(db_url, autocommit=True) as conn:
        ids = {url: _insert_article(conn, url, *row) for url, row in ARTICLES.items()}
        dup = _insert_article(conn, "https://news.example/copy", "de", "Kopie", ARTICLES[
            "https://news.example/de/peking-chips"][2].replace("70", "75"), RUN_AT, duplicate_of=min(ids.values()))
        _insert_article(conn, "https://news.example/failed", "en", "x", "Nvidia holds 80% of the market.", RUN_AT,
                        extract_status="failed")
        other = _insert_article(conn, "https://news.example/fr", "fr", "x", "Nvidia détient 80 %.", RUN_AT)
    http_server.route("/api/models/Qwen/Qwen2.5-7B-Instruct",
                      Response(200, (API / "hf_model.json").read_bytes(), JSON))
    http_server.route("/repos/ollama/ollama", Response(200, (API / "github_repo.json").read_bytes(), JSON))
    http_server.route("/api/models/gone/missing", Response(404, b'{"error": "Repository not found"}', JSON))
    http_server.route("/repos/vllm-project/vllm", Response(200, b"{not json", JSON))
    defs = _defs(("huggingface", "Qwen/Qwen2.5-7B-Instruct"), ("huggingface", "gone/missing"),
                 ("github", "ollama/ollama"), ("github", "vllm-project/vllm"))

    result = run_indicators(rt, observed_at=RUN_AT, definitions=defs)
    assert result.counts["articles"] == 2 and result.counts["articles_skipped"] == 1
    assert result.counts["api_ok"] == 2 and result.counts["api_failed"] == 2
    assert result.counts["observations_added"] == 3 and result.counts["api_observations"] == 3
    assert any("gone/missing: HTTP 404" in n for n in result.notes)
    assert any("vllm-project/vllm: malformed JSON" in n for n in result.notes)

    with psycopg.connect(db_url) as conn:
        assert _observations(conn) == [
            ("chip_performance_ratio", "Ascend 910C", 60.0, "percent", None, "article"),
            ("chip_self_sufficiency", "China", 30.0, "percent", None, "article"),
            ("chip_self_sufficiency", "China", 70.0, "percent", 2028, "article"),
            ("github_stars", "ollama/ollama", 143210.0, "count", None, "api"),
            ("hf_downloads", "Qwen/Qwen2.5-7B-Instruct", 1834562.0, "count", None, "api"),
            ("hf_likes", "Qwen/Qwen2.5-7B-Instruct", 742.0, "count", None, "api"),
        ]
        row = conn.execute(
            "SELECT observed_at, article_url, quote, approximate FROM analytics.indicator_observations "
            "WHERE subject = 'Ascend 910C'").fetchone()
        assert row[0] == ARTICLES["https://news.example/en/ascend"][3]
        assert row[1] == "https://news.example/en/ascend" and row[2].startswith("Huawei's Ascend 910C reaches")
        assert row[3] is True
        api = conn.execute("SELECT observed_at, source_url, article_url FROM analytics.indicator_observations "
                           "WHERE indicator = 'github_stars'").fetchone()
        assert api == (RUN_AT, http_server.url("/repos/ollama/ollama"), None)
        fetches = conn.execute("SELECT repo, status, http_status, error FROM indicator_api_fetches ORDER BY repo").fetchall()
        assert [(f[0], f[1], f[2]) for f in fetches] == [
            ("Qwen/Qwen2.5-7B-Instruct", "ok", 200), ("gone/missing", "failed", 404),
            ("ollama/ollama", "ok", 200), ("vllm-project/vllm", "failed", 200)]
        progress = dict(conn.execute("SELECT article_id, status FROM indicator_article_progress").fetchall())
        assert progress == {**{i: "ok" for i in ids.values()}, other: "skipped"}
        assert dup not in progress
        defs_row = conn.execute("SELECT kind, unit, subjects FROM indicator_definitions "
                                "WHERE indicator = 'hf_downloads'").fetchone()
        assert defs_row == ("downloads", "count", ["Qwen/Qwen2.5-7B-Instruct", "gone/missing"])
    # tokens went to the servers, never into logs, notes or the database
    assert {h["Authorization"] for _, _, h in http_server.requests} == {"Bearer hf_TOPSECRET", "Bearer ghp_TOPSECRET"}
    assert "TOPSECRET" not in caplog.text and not any("TOPSECRET" in n for n in result.notes)

    # a re-run of the same interval adds nothing and reads no article again; only failed APIs are retried
    hits_before = http_server.hits("/repos/ollama/ollama")
    again = run_indicators(rt, observed_at=RUN_AT, definitions=defs)
    assert again.counts.get("articles", 0) == 0 and again.counts.get("observations_added", 0) == 0
    assert again.counts["api_observations"] == 0 and again.counts["api_already_read"] == 2
    assert http_server.hits("/repos/ollama/ollama") == hits_before
    with psycopg.connect(db_url) as conn:
        assert len(_observations(conn)) == 6
        assert conn.execute("SELECT attempts FROM indicator_api_fetches WHERE repo = 'gone/missing'").fetchone()[0] == 2

    # a new article is read; the old ones are not
    with psycopg.connect(db_url, autocommit=True) as conn:
        _insert_article(conn, "https://news.example/en/tsmc", "en", "TSMC",
                        "TSMC controls more than 90 percent of the world's production of advanced chips.",
                        dt.datetime(2025, 6, 1, tzinfo=UTC))
    third = run_indicators(rt, observed_at=RUN_AT, definitions=defs)
    assert third.counts["articles"] == 1 and third.counts["observations_added"] == 1


def test_changed_article_is_reread_and_its_old_figures_replaced(rt, db_url):
    url = "https://news.example/de/peking-chips"
    with psycopg.connect(db_url, autocommit=True) as conn:
        aid = _insert_article(conn, url, *ARTICLES[url])
    run_indicators(rt, collect_apis=False)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE articles SET body_text = %s, updated_at = now() WHERE article_id = %s",
                     ("Peking will bis 2030 eine Selbstversorgungsquote von 80 Prozent erreichen.", aid))
    result = run_indicators(rt, collect_apis=False)
    assert result.counts["articles"] == 1
    with psycopg.connect(db_url) as conn:
        assert _observations(conn) == [("chip_self_sufficiency", "China", 80.0, "percent", 2030, "article")]
        # an article that becomes a duplicate later loses its figures
        other = _insert_article(conn, "https://news.example/original", "de", "o", "kein Inhalt", RUN_AT)
        conn.execute("UPDATE articles SET duplicate_of = %s WHERE article_id = %s", (other, aid))
        conn.commit()
    result = run_indicators(rt, collect_apis=False)
    assert result.counts["observations_withdrawn"] == 1
    with psycopg.connect(db_url) as conn:
        assert _observations(conn) == []


def test_since_until_bound_the_articles(rt, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        for url, row in ARTICLES.items():
            _insert_article(conn, url, *row)
    result = run_indicators(rt, since=dt.datetime(2025, 5, 31, tzinfo=UTC), until=dt.datetime(2025, 6, 1, tzinfo=UTC),
                            collect_apis=False)
    assert result.counts["articles"] == 1
    with psycopg.connect(db_url) as conn:
        assert {r[1] for r in _observations(conn)} == {"Ascend 910C"}


def test_one_broken_article_is_recorded_and_the_rest_goes_on():
    class Fragile(Extractor):
        def extract(self, text, language, **kwargs):
            if "BROKEN" in text:
                raise RuntimeError("cannot parse this page")
            return super().extract(text, language, **kwargs)

    ok = PendingArticle(1, "https://a", "en", None, "Nvidia holds 80% of the AI chip market.", RUN_AT, None, False)
    bad = PendingArticle(2, "https://b", "en", None, "BROKEN page", RUN_AT, None, False)
    extractor = Fragile(load_definitions())
    assert extract_article_claims(extractor, ok).status == "ok"
    outcome = extract_article_claims(extractor, bad)
    assert outcome.status == "failed" and "cannot parse this page" in outcome.error


def test_views_latest_change_and_progress_to_target(rt, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        run_indicators(rt, collect_apis=False)  # definitions and targets from the YAML
        rows = [
            ("chip_self_sufficiency", "China", 25, "percent", None, dt.datetime(2024, 3, 1, tzinfo=UTC)),
            ("chip_self_sufficiency", "China", 30, "percent", None, dt.datetime(2025, 3, 1, tzinfo=UTC)),
            ("chip_self_sufficiency", "China", 70, "percent", 2028, dt.datetime(2025, 4, 1, tzinfo=UTC)),
            ("ai_chip_market_share", "Huawei", 20, "percent", None, dt.datetime(2025, 1, 1, tzinfo=UTC)),
            ("ai_chip_market_share", "Huawei", 40, "percent", 2027, dt.datetime(2025, 2, 1, tzinfo=UTC)),
            ("hf_downloads", "Qwen/Qwen2.5-7B-Instruct", 1000, "count", None, dt.datetime(2025, 6, 1, tzinfo=UTC)),
            ("hf_downloads", "Qwen/Qwen2.5-7B-Instruct", 1500, "count", None, dt.datetime(2025, 6, 2, tzinfo=UTC)),
        ]
        for ind, subj, value, unit, ty, at in rows:
            kind = "api" if ind.startswith("hf_") else "article"
            conn.execute("INSERT INTO indicator_observations (indicator, subject, value, unit, target_year, "
                         "observed_at, source_kind, quote) VALUES (%s, %s, %s, %s, %s, %s, %s, 'q')",
                         (ind, subj, value, unit, ty, at, kind))
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' "
            "AND table_name = 'indicator_observations' ORDER BY ordinal_position")]
        assert cols[:9] == ["indicator", "subject", "value", "unit", "target_year", "observed_at", "article_url",
                            "quote", "source_kind"]

        latest = {(r[0], r[1]): r[2:] for r in conn.execute(
            "SELECT indicator, subject, value::float8, target_year, previous_value::float8, change::float8, "
            "change_pct::float8, observation_count FROM analytics.indicators_latest")}
        assert latest[("hf_downloads", "Qwen/Qwen2.5-7B-Instruct")] == (1500, None, 1000, 500, 50.0, 2)
        # the latest China figure is a target; its previous comparable figure is none (no other 2028 target)
        assert latest[("chip_self_sufficiency", "China")] == (70, 2028, None, None, None, 3)

        progress = {(r[0], r[1]): r[2:] for r in conn.execute(
            "SELECT indicator, subject, current_value::float8, target_value::float8, target_year, target_source, "
            "gap::float8, pct_of_target::float8, years_left FROM analytics.indicator_progress")}
        # the newest target statement wins: the news claim of 2025 (70 % by 2028) over the YAML target
        # stated in 2015 (70 % by 2025)
        assert progress[("chip_self_sufficiency", "China")] == (30, 70, 2028, "article", 40, 42.9, 3)
        # Huawei has no YAML target: the latest news target counts
        assert progress[("ai_chip_market_share", "Huawei")] == (20, 40, 2027, "article", 20, 50.0, 2)
        # YAML targets without any observation yet still show up (current value unknown)
        assert progress[("ai_chip_market_share", "EU")][:5] == (None, 20, 2030, "definition", None)


def test_extractor_version_is_recorded(rt, db_url):
    url = "https://news.example/en/ascend"
    with psycopg.connect(db_url, autocommit=True) as conn:
        _insert_article(conn, url, *ARTICLES[url])
    run_indicators(rt, collect_apis=False)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT extractor_version FROM indicator_article_progress").fetchone()[0] == EXTRACTOR_VERSION


def test_unreachable_api_is_recorded_once_per_provider_and_the_run_goes_on(settings, db_url):
    s = dataclasses.replace(settings, hf_api_url="http://127.0.0.1:9", github_api_url="http://127.0.0.1:9")
    defs = _defs(("huggingface", "a/one"), ("huggingface", "b/two"), ("github", "c/three"))
    with Runtime.open(s, url=db_url, auto_upgrade=False, progress=NullReporter()) as runtime:
        result = run_indicators(runtime, observed_at=RUN_AT, definitions=defs)
    assert result.counts["api_failed"] == 3
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT repo, attempts, error FROM indicator_api_fetches ORDER BY repo").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("a/one", 1), ("b/two", 0), ("c/three", 1)]
    assert rows[1][2] == "skipped: huggingface API unreachable in this run"


def test_a_row_the_database_rejects_fails_only_its_article(rt, db_url):
    from pipeline.indicators.stage import Claim, _save_outcomes
    from pipeline.infra.runs import StageResult
    from pipeline.store.indicators import ArticleOutcome

    run_indicators(rt, collect_apis=False)  # definitions
    with psycopg.connect(db_url, autocommit=True) as conn:
        good_id = _insert_article(conn, "https://a.example/good", "en", "t", "x", RUN_AT)
        bad_id = _insert_article(conn, "https://a.example/bad", "en", "t", "x", RUN_AT)
    good = PendingArticle(good_id, "https://a.example/good", "en", None, "x", RUN_AT, None, False)
    bad = PendingArticle(bad_id, "https://a.example/bad", "en", None, "x", RUN_AT, None, False)
    claim = Claim("ai_chip_market_share", "market_share", "Nvidia", 80.0, "percent", None, False, "q")
    unknown = Claim("no_such_indicator", "market_share", "Nvidia", 80.0, "percent", None, False, "q")
    result = StageResult("indicators")
    _save_outcomes(rt, [ArticleOutcome(good, "ok", [claim]), ArticleOutcome(bad, "ok", [unknown])], result)
    assert result.counts["articles"] == 1 and result.counts["articles_failed"] == 1
    with psycopg.connect(db_url) as conn:
        status = dict(conn.execute("SELECT article_id, status FROM indicator_article_progress").fetchall())
        assert status == {good_id: "ok", bad_id: "failed"}
        assert conn.execute("SELECT count(*) FROM indicator_observations").fetchone()[0] == 1
