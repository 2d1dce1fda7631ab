"""The digest against the real embedded Postgres: what it gathers, and the files it writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy

import psycopg
import pytest

from pipeline.digest.stage import run_digest
from pipeline.digest.gather import gather
from tests.support.digest_data import (
    HOSTILE_TITLE,
    STORY_LABEL,
    TOP_HEADLINE,
    add_article,
    add_stage_run,
    at,
    seed_day,
)

DAY = dt.date(2026, 11, 27)
AS_OF = at(DAY + dt.timedelta(days=1), 6)


@pytest.fixture
def seeded(db_url):
    return seed_day(db_url, DAY)


def _gather(db_url, day=DAY, themes=("chips", "open_source", "sanctions")):
    with psycopg.connect(db_url) as conn:
        return gather(conn, day, timezone="Europe/Berlin", themes=themes, as_of=AS_OF)


def test_gather_counts_stories_indicators_and_ops(db_url, seeded):
    data = _gather(db_url)
    # 9 counted articles: the syndicated copy and the next day's article are not
    assert data.total_articles == 9
    chips, open_source, sanctions = data.themes
    assert (chips.count, chips.trailing_mean, chips.change_pct) == (4, 2.0, 100)
    assert chips.by_language == {"de": 2, "en": 2}
    assert (open_source.count, sanctions.count) == (2, 2)
    assert data.series.days[-1] == DAY and len(data.series.days) == 14
    assert data.series.counts["chips"][-1] == 4 and data.series.counts["chips"][0] == 1

    # the cross-lingual story ranks first: both languages, three outlets, headline per language
    top = chips.stories[0]
    assert top.key == f"s{seeded['chips_story']}"
    assert top.languages == ("de", "en") and top.articles == 4
    assert set(top.outlets) == {"Heise", "Golem", "Reuters Tech"}
    assert [h.language for h in top.headlines] == ["de", "en"]
    assert top.headlines[0].title.startswith("Nvidia darf H20-Chips")  # earliest German article
    assert top.headlines[1].url.startswith("https://reuters-tech.example/")
    assert top.extract == ("Die US-Regierung hat die Ausfuhr der H20-Chips wieder erlaubt. "
                           "Für Nvidia geht es um Milliarden.")
    assert top.first_seen == DAY - dt.timedelta(days=2)
    assert [s.key for s in chips.stories] == [f"s{seeded['chips_story']}", f"s{seeded['small_story']}"]
    assert data.top_story.key == top.key

    # the member of a merged story is counted in the live root story
    (deepseek,) = open_source.stories
    assert deepseek.key == f"s{seeded['open_root']}" and deepseek.articles == 2
    assert deepseek.languages == ("de", "en")

    # an unclustered article is its own story; its javascript: link is dropped
    (hostile,) = sanctions.stories
    assert hostile.key == f"a{seeded['hostile']}"
    assert hostile.label == HOSTILE_TITLE and hostile.headlines[0].url is None

    assert {(o.subject, o.value) for o in data.observations} == {("China", "35 %"),
                                                                 ("deepseek-ai/DeepSeek-V3", "1.23 M")}
    api = next(o for o in data.observations if o.source_kind == "api")
    assert api.url == "https://huggingface.co/deepseek-ai/DeepSeek-V3"
    # China moved today: listed first; its per-subject target (80 % by 2030) wins over the 70 % by 2028
    china, eu = data.progress
    assert (china.subject, china.value, china.target, china.target_year, china.progress_pct, china.previous) == (
        "China", "35 %", "80 %", 2030, 44, "30 %")
    assert (eu.subject, eu.value, eu.target, eu.target_year, eu.target_source, eu.previous) == (
        "EU", "10 %", "20 %", 2030, "article", None)

    assert [f.name for f in data.failing_feeds] == ["Broken Feed"]  # "Flaky Today" failed for hours only
    assert [(p.stage, p.problem) for p in data.stage_problems] == [("stories", "failed")]
    assert "clustering blew up" in data.stage_problems[0].detail


def test_gather_follows_the_digest_time_zone(db_url):
    # 23:30 UTC on the 26th is already the 27th in Berlin
    with psycopg.connect(db_url) as conn:
        add_article(conn, "Late news", language="en", source="X", theme="chips",
                    published_at=dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.timezone.utc))
    assert _gather(db_url).total_articles == 1
    with psycopg.connect(db_url) as conn:
        data = gather(conn, DAY, timezone="UTC", themes=("chips",), as_of=AS_OF)
    assert data.total_articles == 0


def test_ops_section_reports_stages_that_did_not_run(db_url):
    with psycopg.connect(db_url) as conn:
        add_stage_run(conn, "ingest", "ok", at(DAY, 5))
        add_stage_run(conn, "embed", "ok", at(DAY - dt.timedelta(days=1), 5))  # the day before: does not count
        add_stage_run(conn, "themes", "running", at(DAY, 5))
    data = _gather(db_url)
    assert {p.stage: p.problem for p in data.stage_problems} == {
        "embed": "did not run", "themes": "did not finish", "stories": "did not run", "indicators": "did not run"}


def test_out_writes_html_and_eml_and_sends_nothing(runtime, seeded, tmp_path, db_url):
    result = run_digest(runtime, day=DAY, out=tmp_path / "mine.html", as_of=AS_OF)
    html_file, eml_file = tmp_path / "mine.html", tmp_path / "mine.eml"
    home_html = runtime.settings.digests_dir / "digest-2026-11-27.html"
    assert f"digest: {home_html}" in result.notes
    assert [n for n in result.notes if n.startswith("digest: ")] == [f"digest: {home_html}"]
    html = html_file.read_text(encoding="utf-8")
    assert html == home_html.read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "cid:" not in html  # the file shows its chart offline
    assert TOP_HEADLINE in html and STORY_LABEL not in html  # the headline, never the term list
    msg = email.message_from_bytes(eml_file.read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == f"newsmon digest 2026-11-27: {TOP_HEADLINE} · 4 stories, 9 articles"
    assert msg["To"] == "newsmon <newsmon@localhost>"  # a preview without readers goes to the sender
    assert "undisclosed" not in eml_file.read_text(encoding="utf-8")
    assert msg.get_content_type() == "multipart/alternative"
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM digest_sends").fetchone()[0] == 0
        run = conn.execute("SELECT status, counts FROM stage_runs WHERE stage = 'digest'").fetchone()
    assert run[0] == "ok" and run[1]["articles"] == 9 and run[1]["stories"] == 4
    assert result.counts["observations"] == 2



def test_a_digest_sent_without_the_days_indicators_says_so(runtime, seeded, tmp_path):
    """The Airflow digest runs at its 07:00 deadline even when the indicators run has not
    finished; the mail's footer (HTML and text) and the run's notes say so."""
    plain = tmp_path / "plain"
    run_digest(runtime, day=DAY, out=plain, as_of=AS_OF)
    assert "were not ready" not in (tmp_path / "plain.html").read_text(encoding="utf-8")
    result = run_digest(runtime, day=DAY, out=tmp_path / "late", as_of=AS_OF, indicators_missing=True)
    assert any("without the day's indicators" in n for n in result.notes)
    assert "indicator figures were not ready by the 07:00 deadline" in (tmp_path / "late.html").read_text(encoding="utf-8")
    msg = email.message_from_bytes((tmp_path / "late.eml").read_bytes(), policy=email.policy.default)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "indicator figures were not ready by the 07:00 deadline" in text

def test_empty_day_says_so(runtime, tmp_path):
    result = run_digest(runtime, day="2026-11-27", out=tmp_path / "empty", as_of=AS_OF)
    html = (tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "Nothing to report for Friday, 27 November 2026" in html
    assert "No stories on this theme today." in html
    assert "ingest</strong> did not run" in html  # and the ops section says why it may be empty
    msg = email.message_from_bytes((tmp_path / "empty.eml").read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "newsmon digest 2026-11-27: no articles"
    assert "Nothing to report" in msg.get_body(("plain",)).get_content()
    assert result.counts["articles"] == 0


def test_demo_picks_the_latest_day_with_articles(runtime, seeded):
    result = run_digest(runtime, demo=True, as_of=at(DAY + dt.timedelta(days=5), 12))
    # the latest article is the one after midnight on the 28th
    html_path = runtime.settings.digests_dir / "digest-2026-11-28.html"
    assert f"digest: {html_path}" in result.notes
    assert html_path.exists() and html_path.with_suffix(".eml").exists()
    assert "Tomorrow&#39;s chips news" in html_path.read_text(encoding="utf-8")


def test_default_day_is_yesterday_in_the_digest_time_zone(runtime, seeded):
    # 00:30 in Berlin on the 28th (23:30 UTC on the 27th): yesterday is the 27th
    result = run_digest(runtime, as_of=dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.timezone.utc))
    assert any(n.endswith("digest-2026-11-27.html") for n in result.notes)
    assert result.counts["articles"] == 9


def test_send_without_smtp_settings_is_a_config_error(runtime, db_url):
    from pipeline.infra.config import ConfigError

    with pytest.raises(ConfigError, match="NEWSMON_SMTP_URL"):
        run_digest(runtime, day=DAY, send=True, as_of=AS_OF)
    rt = dataclasses.replace(runtime, settings=dataclasses.replace(runtime.settings, smtp_url="smtp://127.0.0.1:1"))
    with pytest.raises(ConfigError, match="NEWSMON_DIGEST_TO"):
        run_digest(rt, day=DAY, send=True, as_of=AS_OF)
    with psycopg.connect(db_url) as conn:  # refused before any work: no stage run recorded
        assert conn.execute("SELECT count(*) FROM stage_runs").fetchone()[0] == 0


def test_a_busy_day_lists_the_first_figures_and_counts_the_rest(runtime, db_url, tmp_path):
    from tests.support.digest_data import add_indicator, add_observation

    with psycopg.connect(db_url) as conn:
        add_indicator(conn, "model_downloads", "downloads", "count", description="Model downloads")
        for i in range(20):
            add_observation(conn, "model_downloads", f"org/model-{i:02d}", 1000 + i, "count", at(DAY, 6),
                            source_kind="api", source_url=f"https://huggingface.co/org/model-{i:02d}")
    data = _gather(db_url)
    assert len(data.observations) == 15 and data.more_observations == 5
    assert data.observations[0].subject == "org/model-00"
    assert len(data.readings) == 8 and data.more_readings == 12 and data.facts == []  # API values: readings
    run_digest(runtime, day=DAY, out=tmp_path / "busy", as_of=AS_OF)
    assert "+ 12 more readings" in (tmp_path / "busy.html").read_text(encoding="utf-8")


def test_a_figure_reported_in_both_languages_is_one_line_with_every_source(db_url, seeded):
    from tests.support.digest_data import add_observation

    with psycopg.connect(db_url) as conn:
        en = conn.execute("SELECT article_id, canonical_url FROM articles WHERE title LIKE 'US lets Nvidia%%' "
                          "AND duplicate_of IS NULL").fetchone()
        add_observation(conn, "cn_chip_self_sufficiency", "China", 35, "percent", at(DAY, 9), article_id=en[0],
                        article_url=en[1], quote="China makes 35 % of its chips today.")
    data = _gather(db_url)
    china = [f for f in data.facts if f.subject == "China"]
    assert len(china) == 1 and china[0].value == "35 %"
    assert [(s.outlet, s.language) for s in china[0].sources] == [("Heise", "de"), ("Reuters Tech", "en")]
    assert all(f.source_kind == "article" for f in data.facts)  # API values are readings, not news
    assert [(r.subject, r.value) for r in data.readings] == [("deepseek-ai/DeepSeek-V3", "1.23 M")]


def test_readable_story_headlines_canonical_links_and_no_bylines(db_url, seeded):
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE stories SET headline_de = 'Nvidia darf wieder liefern', "
                     "headline_en = 'Nvidia may ship H20 again' WHERE story_id = %s", (seeded["chips_story"],))
        conn.execute("UPDATE articles SET canonical_url = 'https://golem.example/h20?utm_source=rss&id=7&fbclid=x', "
                     "body_text = 'BERLIN (dpa) - Händler warten auf die Lizenzen. Zweiter Satz.' "
                     "WHERE title LIKE 'Ausfuhrgenehmigung%%'")
        conn.execute("UPDATE articles SET body_text = %s WHERE title LIKE 'Nvidia darf H20-Chips%%'",
                     ("Von Anna Lindqvist | 26.11.2026, 08:50 Uhr\nDie US-Regierung hat die Ausfuhr erlaubt. Mehr.",))
    top = _gather(db_url).themes[0].stories[0]
    assert [(t.language, t.text) for t in top.titles] == [("de", "Nvidia darf wieder liefern"),
                                                          ("en", "Nvidia may ship H20 again")]
    assert top.extract.startswith("Die US-Regierung hat die Ausfuhr erlaubt.") and top.extract_language == "de"
    golem = next(s for s in top.sources if s.outlet == "Golem")
    assert golem.url == "https://golem.example/h20?id=7"  # tracking parameters removed
    assert golem.published.strftime("%H:%M") == "11:00" and golem.published.utcoffset() == dt.timedelta(hours=1)
    assert [s.outlet for s in top.sources] == ["Heise", "Reuters Tech", "Golem", "Reuters Tech"]


def test_wire_datelines_are_not_the_lead():
    from pipeline.digest.gather import first_sentences

    assert first_sentences("BERLIN (dpa) - Händler warten auf Lizenzen. Mehr.").startswith("Händler warten")
    assert first_sentences("WASHINGTON, Nov 26 (Reuters) - The U.S. eased rules. More.").startswith("The U.S.")
