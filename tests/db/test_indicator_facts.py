"""Issue 13 on the real embedded Postgres: entities seeded and linked, candidates that turn into
observations once the alias exists, article entities, one fact per figure across languages,
latest/progress over facts, growing API series, value_usd from the dated rate table."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import psycopg
import pytest
import yaml

from pipeline.indicators.defs import DEFAULT_FILE, ENTITIES_FILE, parse_definitions
from pipeline.indicators.stage import run_indicators
from pipeline.infra.progress import NullReporter
from pipeline.infra.runtime import Runtime
from pipeline.store.indicators import facts_between
from tests.support.httpserver import Response

UTC = dt.UTC
API = Path(__file__).resolve().parents[1] / "resources" / "indicators" / "api"
JSON = {"Content-Type": "application/json"}


def _insert(conn, url, language, source, body, published):
    return conn.execute(
        "INSERT INTO articles (url, canonical_url, title, language, body_text, published_at, fetched_at, "
        "extract_status, source) VALUES (%s, %s, %s, %s, %s, %s, %s, 'ok', %s) RETURNING article_id",
        (url, url, "t", language, body, published, published, source)).fetchone()[0]


def _defs(extra_entities=None, api_sources=()):
    data = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    entities = yaml.safe_load(ENTITIES_FILE.read_text(encoding="utf-8"))["entities"]
    data["subjects"] = {**entities, **(extra_entities or {})}
    data["api_sources"] = [{"provider": p, "repo": r} for p, r in api_sources]
    return parse_definitions(data)


@pytest.fixture
def rt(settings, db_url, http_server):
    s = dataclasses.replace(settings, hf_api_url=http_server.base, github_api_url=http_server.base, http_timeout_s=2.0)
    runtime = Runtime.open(s, url=db_url, auto_upgrade=False, progress=NullReporter())
    yield runtime
    runtime.close()


def test_one_fact_per_figure_with_all_its_sources(rt, db_url):
    day = dt.datetime(2026, 11, 26, 7, tzinfo=UTC)
    with psycopg.connect(db_url, autocommit=True) as conn:
        _insert(conn, "https://valley.example/qwen", "en", "Valley Wire",
                "Qwen models were downloaded 1.6 million times last month.", day)
        _insert(conn, "https://technik.example/qwen", "de", "Technikblatt",
                "Die Qwen-Modelle wurden im vergangenen Monat 1,6 Millionen Mal heruntergeladen.", day + dt.timedelta(hours=3))
        # a month later: the same value again is a new fact (more than 14 days apart) ...
        _insert(conn, "https://valley.example/qwen-later", "en", "Valley Wire",
                "Qwen models have now been downloaded 1.6 million times.", day + dt.timedelta(days=30))
        # ... and a new value is the latest fact, compared with the previous fact, not with a translation
        _insert(conn, "https://valley.example/qwen-new", "en", "Valley Wire",
                "Qwen models have now been downloaded 2.4 million times.", day + dt.timedelta(days=31))
    run_indicators(rt, collect_apis=False, definitions=_defs())
    with psycopg.connect(db_url) as conn:
        facts = conn.execute(
            "SELECT entity, value::float8, report_count, languages, sources_label, jsonb_array_length(sources) "
            "FROM analytics.indicator_facts WHERE indicator = 'model_downloads' ORDER BY first_reported_at").fetchall()
        assert facts == [("Qwen", 1.6e6, 2, ["de", "en"], "Technikblatt (de), Valley Wire (en)", 2),
                         ("Qwen", 1.6e6, 1, ["en"], "Valley Wire (en)", 1),
                         ("Qwen", 2.4e6, 1, ["en"], "Valley Wire (en)", 1)]
        latest = conn.execute(
            "SELECT value::float8, previous_value::float8, change::float8, observation_count, fact_count, entity "
            "FROM analytics.indicators_latest WHERE indicator = 'model_downloads' AND subject = 'Qwen'").fetchone()
        assert latest == (2.4e6, 1.6e6, 0.8e6, 4, 3, "Qwen")
        lines = facts_between(conn, day, day + dt.timedelta(days=1))
        assert [(f.entity, f.value, f.report_count, [s["outlet"] for s in f.sources]) for f in lines] == [
            ("Qwen", 1.6e6, 2, ["Valley Wire", "Technikblatt"])]
        obs = conn.execute("SELECT entity, entity_id IS NOT NULL, entity_type FROM analytics.indicator_observations "
                           "LIMIT 1").fetchone()
        assert obs == ("Qwen", True, "model")


def test_candidates_turn_into_observations_when_the_alias_is_added(rt, db_url):
    at = dt.datetime(2026, 5, 4, tzinfo=UTC)
    with psycopg.connect(db_url, autocommit=True) as conn:
        _insert(conn, "https://a.example/atlantis", "en", "Wire",
                "Atlantis Semiconductor will invest $3 billion in a new chip fab. Huawei was not involved.", at)
    run_indicators(rt, collect_apis=False, definitions=_defs())
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT subject_phrase, value::float8, unit, sentence LIKE 'Atlantis%%' "
                            "FROM analytics.indicator_candidates").fetchall() == [("Atlantis Semiconductor", 3e9, "usd", True)]
        assert conn.execute("SELECT count(*) FROM indicator_observations").fetchone()[0] == 0
        assert conn.execute("SELECT entity, mentions FROM analytics.article_entities").fetchall() == [("Huawei", 1)]
    again = run_indicators(rt, collect_apis=False, definitions=_defs())
    assert again.counts.get("articles", 0) == 0  # nothing changed: nothing re-read

    with_alias = _defs({"Atlantis Semiconductor": {"type": "company", "aliases": ["Atlantis Semiconductor"]}})
    result = run_indicators(rt, collect_apis=False, definitions=with_alias)
    assert result.counts["articles"] == 1  # the entity list changed: the article is read again
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM analytics.indicator_candidates").fetchone()[0] == 0
        assert conn.execute("SELECT entity, value::float8, value_usd::float8 FROM analytics.indicator_observations"
                            ).fetchall() == [("Atlantis Semiconductor", 3e9, 3e9)]
        assert conn.execute("SELECT entity_type FROM analytics.entities WHERE name = 'Atlantis Semiconductor'"
                            ).fetchone() == ("company",)
        assert sorted(conn.execute("SELECT entity FROM analytics.article_entities").fetchall()) == [
            ("Atlantis Semiconductor",), ("Huawei",)]


def test_value_usd_from_the_rate_of_the_day_and_null_without_one(rt, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _insert(conn, "https://a.example/eur-2024", "en", "Wire", "Germany will invest €100 million in AI chips.",
                dt.datetime(2024, 12, 31, 15, tzinfo=UTC))
        _insert(conn, "https://a.example/eur-2026", "en", "Wire", "France will invest €200 million in AI chips.",
                dt.datetime(2026, 3, 2, tzinfo=UTC))
    run_indicators(rt, collect_apis=False, definitions=_defs())
    with psycopg.connect(db_url) as conn:
        rows = dict(conn.execute("SELECT entity, value_usd::float8 FROM analytics.indicator_observations").fetchall())
    assert rows == {"Germany": pytest.approx(103.89e6), "France": None}


def test_progress_takes_the_newest_target_and_series_grow_per_run(rt, db_url, http_server):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _insert(conn, "https://a.example/cn1", "en", "Wire",
                "China's chip self-sufficiency rate currently stands at about 30 %.", dt.datetime(2026, 3, 1, tzinfo=UTC))
        _insert(conn, "https://a.example/cn2", "en", "Wire",
                "China wants a chip self-sufficiency rate of 70 % by 2028.", dt.datetime(2026, 4, 1, tzinfo=UTC))
    http_server.route("/api/models/Qwen/Qwen2.5-7B-Instruct", Response(200, (API / "hf_model.json").read_bytes(), JSON))
    defs = _defs(api_sources=[("huggingface", "Qwen/Qwen2.5-7B-Instruct")])
    for day in (1, 2):
        run_indicators(rt, observed_at=dt.datetime(2026, 6, day, 6, tzinfo=UTC), definitions=defs)
    with psycopg.connect(db_url) as conn:
        progress = conn.execute(
            "SELECT current_value::float8, target_value::float8, target_year, target_source, current_source_kind "
            "FROM analytics.indicator_progress WHERE indicator = 'chip_self_sufficiency' AND subject = 'China'"
        ).fetchone()
        assert progress == (30, 70, 2028, "article", "article")  # the 2026 news target beats the 2015 YAML one
        series = conn.execute(
            "SELECT entity, day, value::float8, source_kind FROM analytics.indicator_series "
            "WHERE indicator = 'hf_downloads' ORDER BY day").fetchall()
        assert series == [("Qwen", dt.date(2026, 6, 1), 1834562.0, "api"), ("Qwen", dt.date(2026, 6, 2), 1834562.0, "api")]


def test_demo_corpus_german_and_english_reports_are_one_fact(rt, db_url):
    from pipeline.data.demo.articles import ARTICLES, OUTLETS

    with psycopg.connect(db_url, autocommit=True) as conn:
        for a in ARTICLES:
            outlet = OUTLETS[a["outlet"]]
            _insert(conn, f"https://demo.example/{a['slug']}", outlet["lang"], outlet["name"],
                    "\n\n".join(a["body"]), dt.datetime.fromisoformat(a["date"]))
    run_indicators(rt, collect_apis=False, definitions=_defs())
    with psycopg.connect(db_url) as conn:
        facts = conn.execute("SELECT indicator, entity, value::float8, target_year, languages, report_count "
                             "FROM analytics.indicator_facts WHERE source_kind = 'article'").fetchall()
    events = {}
    for a in ARTICLES:
        events.setdefault(a.get("event"), set()).add(OUTLETS[a["outlet"]]["lang"])
    assert sum(1 for langs in events.values() if langs == {"de", "en"}) >= 3
    shared = [f for f in facts if f[4] == ["de", "en"]]
    # every figure both languages report is one fact with two reports, never two facts
    assert {(f[0], f[1]) for f in shared} >= {("chip_self_sufficiency", "China"), ("model_downloads", "Qwen"),
                                              ("chip_performance_ratio", "Ascend 910C")}
    assert all(f[5] == 2 for f in shared)
    keys = [(f[0], f[1], f[2], f[3]) for f in facts]
    assert len(keys) == len(set(keys))
